"""The Keras layers' adapter: NumPy inputs and outputs, the layers run on one Keras backend in a worker."""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel._catalog import Entry
from subpixel.conformance._backends.numpy import NumpyBackend

__all__ = ["KerasBackend"]

#: NumPy dtypes Keras's torch backend rejects as layer inputs
#: (uint16 and bfloat16 measured; uint32 and uint64 not tried).
_KERAS_TORCH_MISSING = frozenset({"uint16", "uint32", "uint64", "bfloat16"})


class KerasBackend(NumpyBackend):
    """NumPy inputs and outputs of the Keras layers on one Keras backend (run in a worker).

    Parameters
    ----------
    backend : Entry
        The catalog entry of the library Keras runs on.
    """

    def __init__(self, backend: Entry) -> None:
        super().__init__()
        self.keras_backend = backend.name
        self.name = f"keras.{backend.name}"
        self.module = "keras"
        self.requires = ("keras", *self.requires)

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """Keras's torch backend cannot take NumPy inputs of some dtypes."""
        if self.keras_backend == "torch" and dtype in _KERAS_TORCH_MISSING:
            return f"Keras's torch backend does not convert NumPy {dtype} inputs"
        return super().dtype_problem(dtype, device)

    def is_array(self, y: Any) -> bool:
        """Check for a NumPy array (the worker answers with them)."""
        return isinstance(y, np.ndarray)
