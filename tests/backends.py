"""The array backends the tests run on, chosen by the ``SUBPIXEL_BACKENDS`` environment variable.

``SUBPIXEL_BACKENDS`` is a comma-separated list of backend ids (``numpy,torch,jax``) or ``all``
(every CPU backend; the default). A backend that is named but cannot be imported is a test
failure, never a skip: a CI job that asked for it must not pass without it.
"""

from __future__ import annotations

import enum
import importlib
import os
from types import ModuleType
from typing import Any


class Backend(enum.Enum):
    """A library and device, with the id used on the command line and in ``pytest -k``."""

    NUMPY = "numpy"
    ARRAY_API_STRICT = "array_api_strict"
    TORCH = "torch"
    JAX = "jax"
    DASK = "dask"
    CUPY = "cupy"
    TORCH_GPU = "torch:gpu"
    JAX_GPU = "jax:gpu"

    def __str__(self) -> str:
        return self.value

    @property
    def module_name(self) -> str:
        return {
            Backend.NUMPY: "numpy",
            Backend.ARRAY_API_STRICT: "array_api_strict",
            Backend.TORCH: "torch",
            Backend.TORCH_GPU: "torch",
            Backend.JAX: "jax.numpy",
            Backend.JAX_GPU: "jax.numpy",
            Backend.DASK: "dask.array",
            Backend.CUPY: "cupy",
        }[self]

    @property
    def on_gpu(self) -> bool:
        return self in (Backend.CUPY, Backend.TORCH_GPU, Backend.JAX_GPU)

    def namespace(self) -> ModuleType:
        """Import the library; raise (and so fail the test) when it is missing."""
        return importlib.import_module(self.module_name)

    def from_numpy(self, array: Any) -> Any:
        """Convert a NumPy array to this backend, on its device, keeping every bit."""
        if self is Backend.NUMPY:
            return array.copy()
        if self is Backend.ARRAY_API_STRICT:
            return self.namespace().asarray(array)
        if self in (Backend.TORCH, Backend.TORCH_GPU):
            import torch

            tensor = torch.from_numpy(array.copy())
            return tensor.cuda() if self is Backend.TORCH_GPU else tensor
        if self in (Backend.JAX, Backend.JAX_GPU):
            import jax

            device = jax.devices("gpu" if self is Backend.JAX_GPU else "cpu")[0]
            return jax.device_put(array, device)
        if self is Backend.DASK:
            import dask.array as da

            # One chunk: chunkings (and the warning for ones that split channel groups) are tested in
            # tests/test_dask.py.
            return da.from_array(array.copy(), chunks=-1)
        return self.namespace().asarray(array)


CPU_BACKENDS = (Backend.NUMPY, Backend.ARRAY_API_STRICT, Backend.TORCH, Backend.JAX, Backend.DASK)


def to_numpy(array: Any) -> Any:
    """Bring any backend's array to host NumPy, keeping every bit."""
    import numpy as np

    module = type(array).__module__
    if module.startswith("torch"):
        return array.detach().cpu().numpy()
    if module.startswith("dask"):
        return np.asarray(array.compute())
    if module.startswith("cupy"):
        return array.get()
    if module.startswith("array_api_strict"):
        return np.asarray(array._array)
    return np.asarray(array)


def requested_backends() -> list[Backend]:
    """Parse ``SUBPIXEL_BACKENDS``; an unknown id is an error."""
    raw = os.environ.get("SUBPIXEL_BACKENDS", "all").strip()
    if raw in ("", "all"):
        return list(CPU_BACKENDS)
    known = {b.value: b for b in Backend}
    chosen = []
    for name in (part.strip() for part in raw.split(",")):
        if name not in known:
            msg = f"SUBPIXEL_BACKENDS names an unknown backend {name!r}; known: {sorted(known)}"
            raise ValueError(msg)
        chosen.append(known[name])
    return chosen
