"""The frameworks the tests run on, chosen by the ``SUBPIXEL_BACKENDS`` environment variable.

``SUBPIXEL_BACKENDS`` is a comma-separated list of array backend ids (``numpy,torch,jax``), layer
frameworks (``flax``, ``keras``, ``tensorflow``), the other backends of the catalog
(:mod:`subpixel._catalog`: ``ndonnx``, ``sparse``, ``marray``, ``cubed``), ``subpixel_kernels``
(the ``speed`` extra's compiled kernels), the deployment runtimes (``openvino``, ``ai_edge_litert``,
``executorch``, ``coremltools``, ``pnnx``), or ``all`` (every CPU backend and every layer framework that
``subpixel[all]`` installs; the default; subpixel_kernels and the catalog's other backends are not among
them). ``keras`` runs on the library named by ``KERAS_BACKEND``, which must be installed too.

The run requests exactly these frameworks: a test module (or a test marked ``needs``) that needs a
framework the run does not request is not collected, and a requested framework that cannot be
imported fails the whole run, never a skip: a CI job that asked for it must not pass without it.
NumPy and the test tools are always installed (the ``test`` dependency group brings them).
"""

from __future__ import annotations

import enum
import os
from types import ModuleType
from typing import Any

from subpixel import _catalog


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
    def entry(self) -> _catalog.Entry:
        """The backend's entry in the catalog (:mod:`subpixel._catalog`)."""
        return _catalog.entry(self.value.partition(":")[0])

    @property
    def module_name(self) -> str:
        return self.entry.namespace

    @property
    def device(self) -> str:
        """``cpu`` or ``gpu``: the id's suffix, else the backend's first device."""
        return self.value.partition(":")[2] or self.entry.devices[0]

    @property
    def on_gpu(self) -> bool:
        return self.device == "gpu"

    def namespace(self) -> ModuleType:
        """Import the library; raise (and so fail the test) when it is missing."""
        module: ModuleType = self.entry.load()
        return module

    def from_numpy(self, array: Any) -> Any:
        """Convert a NumPy array to this backend, on its device, keeping every bit (Dask: one chunk)."""
        return self.entry.from_numpy(array, self.device)


CPU_BACKENDS = (Backend.NUMPY, Backend.ARRAY_API_STRICT, Backend.TORCH, Backend.JAX, Backend.DASK)

#: Frameworks a run can request besides the array backends (layer libraries and TensorFlow).
LAYER_FRAMEWORKS = ("flax", "keras", "tensorflow")

#: What ``all`` requests besides :data:`CPU_BACKENDS`: the layer frameworks ``subpixel[all]`` installs.
ALL_LAYER_FRAMEWORKS = ("flax", "keras", "tensorflow")

#: Optional accelerators a run can request: the compiled copy kernels of the ``speed`` extra.
ACCELERATORS = ("subpixel_kernels",)

#: The catalog's other backends (Array API libraries of the generic route), requested by name;
#: ``all`` does not request them (their rows run in the conformance matrix).
CATALOG_FRAMEWORKS = tuple(
    entry.name
    for entry in _catalog.entries()
    if entry.name not in {b.value for b in Backend} and entry.name not in LAYER_FRAMEWORKS
)

#: Deployment runtimes and converters beyond the test group's onnx and onnxruntime (the ``deploy``,
#: ``deploy-slow`` and ``deploy-tvm`` dependency groups), requested by module name: tests and docs
#: examples that use them run when the run requests them by name; ``all`` does not request them.
RUNTIMES = (
    "openvino",
    "ai_edge_litert",
    "executorch",
    "litert_torch",
    "tvm",
    "MNN",
    "pnnx",
    "ncnn",
    "coremltools",
)
DEPLOY_RUNTIMES = RUNTIMES

#: Frameworks requested by name as they are (not array backend ids).
NAMED_FRAMEWORKS = (*LAYER_FRAMEWORKS, *CATALOG_FRAMEWORKS, *ACCELERATORS, *RUNTIMES)

#: The framework (top-level module) each backend id runs on.
BACKEND_FRAMEWORK = {b: b.module_name.partition(".")[0] for b in Backend}

#: Every framework name a test can need: what is not NumPy or a test tool.
FRAMEWORKS = frozenset({*BACKEND_FRAMEWORK.values(), *NAMED_FRAMEWORKS}) - {"numpy"}


def to_numpy(array: Any) -> Any:
    """Bring any backend's array to host NumPy, keeping every bit."""
    import numpy as np

    entry = _catalog.entry_for_type(type(array))
    return np.asarray(array) if entry is None else entry.to_numpy(array)


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
