"""The backend catalog: one entry per array library, which the library and every tool read.

Each entry (a subclass of :class:`Entry`, one module per backend in this package) says how to
recognise the backend's arrays, which fast path shuffles them, whether they may have sizes
known only at run time, how its conformance row is built, what installs it and how to convert
to and from NumPy or raw bytes. :mod:`subpixel._dispatch` finds the entry of an array's type
here; the demo, the conformance matrix, the report header, the Keras layers and the tests take
their lists of backends from :func:`entries`.

Adding a backend is adding one module here (and its extra in ``pyproject.toml``). A backend can
also be registered at run time with :func:`register` (a test does, with a throw-away library).
Importing this package imports no framework: entries import their library inside methods.
"""

from __future__ import annotations

import threading

from subpixel._catalog._entry import Entry
from subpixel._catalog.array_api_strict import ArrayApiStrict
from subpixel._catalog.cubed import Cubed
from subpixel._catalog.cupy import CuPy
from subpixel._catalog.dask import Dask
from subpixel._catalog.jax import Jax
from subpixel._catalog.marray import MArray
from subpixel._catalog.ndonnx import Ndonnx
from subpixel._catalog.numpy import NumPy
from subpixel._catalog.sparse import Sparse
from subpixel._catalog.tensorflow import TensorFlow
from subpixel._catalog.torch import Torch

__all__ = [
    "Entry",
    "entries",
    "entry",
    "entry_for_type",
    "keras_backends",
    "register",
    "unregister",
]

_lock = threading.Lock()

#: Every entry by name, in the order tools list them.
_entries: dict[str, Entry] = {
    e.name: e
    for e in (
        NumPy(),
        ArrayApiStrict(),
        Torch(),
        Jax(),
        Dask(),
        CuPy(),
        TensorFlow(),
        Ndonnx(),
        Sparse(),
        MArray(),
        Cubed(),
    )
}

#: Top-level module of an array type -> its entry (kept in step with ``_entries``).
_by_module: dict[str, Entry] = {module: e for e in _entries.values() for module in e.modules}


def entries() -> tuple[Entry, ...]:
    """Return every entry, built-in and registered, in order."""
    with _lock:
        return tuple(_entries.values())


def entry(name: str) -> Entry:
    """Return the entry called ``name``; ``KeyError`` names the known ones."""
    found = _entries.get(name)
    if found is None:
        msg = f"no backend named {name!r} in the catalog; known: {sorted(_entries)}"
        raise KeyError(msg)
    return found


def entry_for_type(kind: type) -> Entry | None:
    """Return the entry whose library defines ``kind`` (by its top-level module), or None."""
    return _by_module.get(kind.__module__.partition(".")[0])


def keras_backends() -> tuple[str, ...]:
    """Return the names of the backends Keras 3 can run on, its default (``KERAS_BACKEND`` unset) first."""
    found = [e for e in entries() if e.keras_backend]
    return tuple(e.name for e in sorted(found, key=lambda e: not e.keras_default))


def register(new: Entry, *, replace: bool = False) -> None:
    """Add ``new`` to the catalog.

    Arrays of its modules' types that were already shuffled in this process keep the route
    they were given (the dispatch looks each array type up once).

    Raises
    ------
    ValueError
        If its name or one of its modules is taken (and ``replace`` is false), or it has no
        name or no module.
    """
    if not new.name or not new.modules:
        msg = f"a catalog entry needs a name and at least one module, got {new.name!r} and {new.modules!r}"
        raise ValueError(msg)
    with _lock:
        taken = [m for m in new.modules if m in _by_module and _by_module[m].name != new.name]
        if (new.name in _entries or taken) and not replace:
            msg = (
                f"backend {new.name!r} or its modules {taken or list(new.modules)} are already in the catalog"
            )
            raise ValueError(msg)
        old = _entries.pop(new.name, None)
        for module in () if old is None else old.modules:
            _by_module.pop(module, None)
        _entries[new.name] = new
        _by_module.update(dict.fromkeys(new.modules, new))


def unregister(name: str) -> None:
    """Remove the entry called ``name`` (no error if it is absent)."""
    with _lock:
        old = _entries.pop(name, None)
        for module in () if old is None else old.modules:
            if _by_module.get(module) is old:
                del _by_module[module]
