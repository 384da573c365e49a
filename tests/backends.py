"""The frameworks the tests run on, chosen by the ``SUBPIXEL_BACKENDS`` environment variable.

``SUBPIXEL_BACKENDS`` is a comma-separated list of array backend ids (``numpy,torch,jax``), layer
frameworks (``flax``, ``keras``, ``tensorflow``) and ``numba`` (the ``speed`` extra's compiled
kernels), or ``all`` (every CPU backend and every layer framework that ``subpixel[all]`` installs;
the default; numba is not among them, as ``subpixel[all]`` does not install it). ``keras`` runs on
the library named by ``KERAS_BACKEND``, which must be installed too.

The run requests exactly these frameworks: a test module (or a test marked ``needs``) that needs a
framework the run does not request is not collected, and a requested framework that cannot be
imported fails the whole run, never a skip: a CI job that asked for it must not pass without it.
NumPy and the test tools are always installed (the ``test`` dependency group brings them).
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

#: Frameworks a run can request besides the array backends (layer libraries and TensorFlow).
LAYER_FRAMEWORKS = ("flax", "keras", "tensorflow")

#: What ``all`` requests besides :data:`CPU_BACKENDS`: the layer frameworks ``subpixel[all]`` installs.
ALL_LAYER_FRAMEWORKS = ("flax", "keras", "tensorflow")

#: Optional accelerators a run can request: the compiled copy kernels of the ``speed`` extra.
ACCELERATORS = ("numba",)

#: Frameworks requested by name as they are (not array backend ids).
NAMED_FRAMEWORKS = (*LAYER_FRAMEWORKS, *ACCELERATORS)

#: The framework (top-level module) each backend id runs on.
BACKEND_FRAMEWORK = {b: b.module_name.partition(".")[0] for b in Backend}

#: Every framework name a test can need: what is not NumPy or a test tool.
FRAMEWORKS = frozenset({*BACKEND_FRAMEWORK.values(), *NAMED_FRAMEWORKS}) - {"numpy"}


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


def _requested_names() -> list[str]:
    """The names ``SUBPIXEL_BACKENDS`` lists (``all`` expanded); an unknown name is an error."""
    raw = os.environ.get("SUBPIXEL_BACKENDS", "all").strip()
    if raw in ("", "all"):
        return [*(b.value for b in CPU_BACKENDS), *ALL_LAYER_FRAMEWORKS]
    known = sorted({*(b.value for b in Backend), *NAMED_FRAMEWORKS})
    names = [part.strip() for part in raw.split(",")]
    for name in names:
        if name not in known:
            msg = f"SUBPIXEL_BACKENDS names an unknown backend {name!r}; known: {known}"
            raise ValueError(msg)
    return names


def requested_backends() -> list[Backend]:
    """The array backends ``SUBPIXEL_BACKENDS`` requests, in its order."""
    values = {b.value: b for b in Backend}
    return [values[name] for name in _requested_names() if name in values]


def keras_backend() -> str:
    """The library Keras runs on in the tests (``KERAS_BACKEND``; conftest.py defaults it to JAX)."""
    return os.environ.get("KERAS_BACKEND", "jax")


def requested_frameworks() -> frozenset[str]:
    """The frameworks (top-level module names) the run requests, NumPy always among them."""
    chosen = {"numpy"}
    for name in _requested_names():
        if name in NAMED_FRAMEWORKS:
            chosen.add(name)
        else:
            chosen.add(BACKEND_FRAMEWORK[Backend(name)])
    return frozenset(chosen)


def required_modules() -> dict[str, str]:
    """Each module the requested frameworks need at run time, with the name that requests it."""
    modules = {name: name for name in sorted(requested_frameworks())}
    if "flax" in modules:
        modules["jax"] = "flax"
    if "keras" in modules:
        modules.setdefault(keras_backend(), f"keras (KERAS_BACKEND={keras_backend()})")
    return modules
