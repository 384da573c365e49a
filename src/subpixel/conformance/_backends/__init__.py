"""Array backends: how to put a host input on a device, in a given memory layout, and read it back.

There is one adapter per entry of the backend catalog (:mod:`subpixel._catalog`): the entry's
own adapter module when it names one (``Entry.adapter``, a module of this package with an
``ADAPTER`` class), else the plain :class:`ArrayBackend`, which needs nothing but the entry.
Each Keras backend also gets a :class:`KerasBackend` (``keras.<backend>``): NumPy in and out,
the layers run in a worker process. :data:`ADAPTERS` reads the catalog when it is used, so a
backend registered at run time gets its adapter too.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator, Mapping

from subpixel import _catalog
from subpixel.conformance._backends._base import (
    ArrayBackend,
    HostResult,
    NotApplicableError,
    RowSpec,
    host_copy,
    library_call,
)
from subpixel.conformance._backends.jax import JaxBackend
from subpixel.conformance._backends.keras import KerasBackend
from subpixel.conformance._backends.tensorflow import TensorFlowBackend
from subpixel.conformance._backends.torch import TorchBackend

__all__ = [
    "ADAPTERS",
    "ArrayBackend",
    "HostResult",
    "JaxBackend",
    "KerasBackend",
    "NotApplicableError",
    "RowSpec",
    "TensorFlowBackend",
    "TorchBackend",
    "adapter_of",
    "host_copy",
    "keras_adapters",
    "library_call",
]

_lock = threading.Lock()
_built: dict[tuple[int, str], tuple[_catalog.Entry, ArrayBackend]] = {}


def _cached(entry: _catalog.Entry, kind: str) -> ArrayBackend:
    """Return the adapter of ``kind`` (``array`` or ``keras``) for ``entry``, built once."""
    key = (id(entry), kind)
    with _lock:
        found = _built.get(key)
    if found is not None and found[0] is entry:
        return found[1]
    if kind == "keras":
        adapter: ArrayBackend = KerasBackend(entry)
    elif entry.adapter is None:
        adapter = ArrayBackend(entry)
    else:
        adapter = importlib.import_module(entry.adapter).ADAPTER(entry)
    with _lock:
        _built[key] = (entry, adapter)
    return adapter


def adapter_of(entry: _catalog.Entry) -> ArrayBackend:
    """Return the conformance adapter of the catalog entry ``entry``."""
    return _cached(entry, "array")


def keras_adapters() -> list[KerasBackend]:
    """Return the adapter of the Keras layers on each backend Keras can run on."""
    found = [_cached(_catalog.entry(name), "keras") for name in _catalog.keras_backends()]
    return [adapter for adapter in found if isinstance(adapter, KerasBackend)]


class _Adapters(Mapping[str, ArrayBackend]):
    """Every adapter by backend name, read from the catalog at each use."""

    def _current(self) -> dict[str, ArrayBackend]:
        found = {entry.name: adapter_of(entry) for entry in _catalog.entries()}
        found.update((adapter.name, adapter) for adapter in keras_adapters())
        return found

    def __getitem__(self, name: str) -> ArrayBackend:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        return f"ADAPTERS({sorted(self._current())})"


#: The adapter of every backend by name (the names ``--backends`` and rows use).
ADAPTERS: Mapping[str, ArrayBackend] = _Adapters()
