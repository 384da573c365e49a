"""NumPy's conformance adapter: ``bfloat16`` through ml_dtypes, and masked arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel._catalog import Entry, entry
from subpixel.conformance._backends._base import ArrayBackend, host_copy
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import host_dtype

__all__ = ["ADAPTER", "NumpyBackend"]


class NumpyBackend(ArrayBackend):
    """NumPy (``bfloat16`` through ml_dtypes when installed)."""

    seconds = 10

    def __init__(self, entry: Entry | None = None) -> None:
        super().__init__(entry or _numpy())

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """NumPy has every dtype but bfloat16, which ml_dtypes adds."""
        if dtype == "bfloat16" and host_dtype(dtype) == np.dtype(np.uint16):
            return "numpy has no bfloat16 (install ml_dtypes)"
        return None

    def dtype_object(self, dtype: str) -> Any:
        """NumPy dtype, ml_dtypes' for bfloat16."""
        return host_dtype(dtype)

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """Copy, so that the input never aliases the reference book's array."""
        return host_copy(x, dtype)

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """NumPy layouts, and a masked array (a subclass) with no element masked."""
        if case.layout == "numpy_masked":
            owner = self.from_host(x, dtype, device)
            return np.ma.masked_array(owner, mask=False), owner
        return super().make_input(case, x, dtype, device)

    def namespace(self) -> Any:
        """array-api-compat's NumPy namespace."""
        import array_api_compat.numpy

        return array_api_compat.numpy


def _numpy() -> Entry:
    return entry("numpy")


ADAPTER = NumpyBackend
