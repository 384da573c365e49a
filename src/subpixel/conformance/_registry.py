"""The implementations the matrix checks: one row per implementation and device.

An implementation is a name, the array backend its inputs and outputs belong to, and a
callable ``(x, factor, inverse, channels_last, order) -> array``. The library's own functions
are registered for every backend; the layer wrappers (:mod:`subpixel.torch`,
:mod:`subpixel.flax`, :mod:`subpixel.keras`) are registered when their module exists, and
anyone can register more (a fast path, a planted bug in a test) with
:func:`register_implementation`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from subpixel import _catalog
from subpixel.conformance._backends import ADAPTERS, adapter_of, keras_adapters
from subpixel.conformance._calls import keras_call, layer_call, linen_call
from subpixel.conformance._cases import ALL_OPTIONS, Case, installed
from subpixel.conformance._keras_worker import worker

__all__ = [
    "Implementation",
    "ImplementationCall",
    "get_implementation",
    "implementations",
    "register_implementation",
    "unregister_implementation",
]

#: ``(x, factor, inverse, channels_last, order) -> array``.
ImplementationCall = Callable[[Any, Any, bool, bool, str], Any]


@dataclass(frozen=True)
class Implementation:
    """A row of the matrix.

    Parameters
    ----------
    name : str
        Row name, used by ``--backends``.
    backend : str
        Array backend of its inputs and outputs: the name of a backend of the catalog
        (``numpy``, ``torch``, ...) or ``keras.<backend>`` (NumPy in and out, the Keras layers
        run in a worker).
    call : callable
        ``call(x, factor, inverse, channels_last, order) -> array``: shuffle ``x`` (unshuffle
        when ``inverse``) with the given options.
    options : frozenset of str
        The options it supports among ``inverse``, ``channels_last``, ``order`` and
        ``tuple_factors``; cases needing others are "not applicable".
    requires : tuple of str
        Modules that must be installed for the row to run (``not installed`` otherwise).
    description : str
        One line for the report.
    setup : callable, optional
        Called once before the row runs (e.g. to import a wrapper module); an exception fails
        the row with its message.
    routes : str, optional
        Route prefix (``numpy``, ``torch``, ``jax``, ``dask``, ``array_api``) whose every
        route the row's cases must take in a full run (see :mod:`subpixel._routes`); None
        (the default for registered implementations) reports the routes taken without
        requiring any.
    compiles_per_shape : bool
        The row compiles a program for each input shape and dtype (XLA, a traced graph), so
        each case costs a compilation. Such a row runs the quick cases and the cases made for
        one dtype on every dtype, and each other case on one dtype of each element size,
        taking the dtypes of that size in turn (see :func:`~subpixel.conformance.runs_compiled`):
        every case still meets every element size, and every dtype every family.
    sample : callable, optional
        ``sample(case, dtype) -> bool``: the cases a row runs in each dtype, for a row whose
        every case costs a compilation and that runs a bounded set of them (it replaces
        ``compiles_per_shape``'s choice); None (the default) runs every case.
    """

    name: str
    backend: str
    call: ImplementationCall
    options: frozenset[str] = ALL_OPTIONS
    requires: tuple[str, ...] = ()
    description: str = ""
    setup: Callable[[], object] | None = None
    routes: str | None = None
    compiles_per_shape: bool = False
    sample: Callable[[Case, str], bool] | None = field(default=None, compare=False)
    builtin: bool = field(default=False, compare=False)
    #: Seconds the row took in a full CPU run (orders the worker groups); None: unknown.
    seconds: float | None = field(default=None, compare=False)


_registry: dict[str, Implementation] = {}
_lock = threading.Lock()
_wrappers_done = False
#: The catalog entries whose rows are registered, by name.
_entries_seen: dict[str, _catalog.Entry] = {}


def register_implementation(implementation: Implementation, *, replace: bool = False) -> None:
    """Add a row to the matrix.

    Raises
    ------
    ValueError
        If the name is taken (and ``replace`` is false) or the backend is unknown.
    """
    if implementation.backend not in ADAPTERS:
        msg = f"implementation backend must be one of {sorted(ADAPTERS)}, got {implementation.backend!r}"
        raise ValueError(msg)
    with _lock:
        if implementation.name in _registry and not replace:
            msg = f"an implementation named {implementation.name!r} is already registered"
            raise ValueError(msg)
        _registry[implementation.name] = implementation


def unregister_implementation(name: str) -> None:
    """Remove a row (no error if it is absent)."""
    with _lock:
        _registry.pop(name, None)


def implementations() -> dict[str, Implementation]:
    """Return every registered implementation by name, in registration order."""
    _register_builtins()
    with _lock:
        return dict(_registry)


def get_implementation(name: str) -> Implementation:
    """Return the implementation called ``name``; ``KeyError`` names the known ones."""
    found = implementations().get(name)
    if found is None:
        msg = f"no implementation named {name!r}; known: {sorted(implementations())}"
        raise KeyError(msg)
    return found


def keras_backend() -> str:
    """Return the array backend Keras runs on (or will run on once imported).

    ``KERAS_BACKEND`` when set, else the backend of an already imported Keras, else Keras's own
    default (the catalog's ``keras_default`` entry). The environment is read, never written.
    """
    name = os.environ.get("KERAS_BACKEND")
    if name is None:
        keras: Any = sys.modules.get("keras")
        name = _catalog.keras_backends()[0] if keras is None else str(keras.backend.backend())
    return name


def _importer(name: str) -> Callable[[], object]:
    return functools.partial(importlib.import_module, name)


def _module_exists(name: str) -> bool:
    """Whether ``name`` can be found, importing at most ``subpixel`` itself (never a framework)."""
    parent, _, leaf = name.rpartition(".")
    if parent.count(".") >= 1:  # subpixel.x.y: look for y inside the package subpixel.x without importing it
        spec = importlib.util.find_spec(parent)
        locations = [] if spec is None else list(spec.submodule_search_locations or [])
        return any(
            os.path.exists(os.path.join(folder, f"{leaf}.py")) or os.path.isdir(os.path.join(folder, leaf))
            for folder in locations
        )
    return installed(name)


def _row(
    name: str,
    backend: str,
    call: ImplementationCall,
    routes: str | None,
    description: str,
    requires: tuple[str, ...] = (),
    setup: Callable[[], object] | None = None,
    *,
    compiles: bool = False,
    seconds: float | None = None,
    sample: Callable[[Case, str], bool] | None = None,
) -> Implementation:
    return Implementation(
        name,
        backend,
        call,
        requires=requires or (backend,),
        routes=routes,
        description=description,
        setup=setup,
        compiles_per_shape=compiles,
        seconds=seconds,
        sample=sample,
    )


def _layer_row(
    name: str, backend: str, requires: tuple[str, ...], routes: str, what: str, seconds: float | None = None
) -> Implementation:
    """Return the row of the layer module ``name`` (``subpixel.torch``, ...), imported when it starts."""
    call = linen_call if name == "subpixel.flax.linen" else functools.partial(layer_call, name)
    description = f"{what} PixelShuffle / PixelUnshuffle"
    adapter = ADAPTERS.get(backend)
    compiles = adapter is not None and adapter.compiles
    setup = _importer(name)
    return _row(name, backend, call, routes, description, requires, setup, compiles=compiles, seconds=seconds)


def _library_rows(entries: Iterable[_catalog.Entry]) -> list[Implementation]:
    """Return the rows of each backend's adapter: the library's functions (and other calls)."""
    rows = []
    for entry in entries:
        adapter = adapter_of(entry)
        requires = entry.requires or (entry.name,)
        rows += [
            _row(
                spec.name,
                entry.name,
                spec.call,
                spec.routes,
                spec.description,
                requires,
                compiles=spec.compiles,
                seconds=spec.seconds,
                sample=spec.sample,
            )
            for spec in adapter.rows()
        ]
    return rows


def _builtin_rows() -> list[Implementation]:
    # Layer wrappers: registered only when their module exists in this installation.
    found = _module_exists("keras")
    keras = keras_backend()  # without Keras: the backend it would use (its default), for the install hint
    layers = [
        _layer_row("subpixel.torch", "torch", ("torch",), "torch", "subpixel.torch", 20),
        _layer_row("subpixel.flax", "jax", ("jax", "flax"), "jax", "subpixel.flax (NNX)"),
        _layer_row("subpixel.flax.linen", "jax", ("jax", "flax"), "jax", "subpixel.flax.linen"),
        _layer_row(
            "subpixel.keras",
            keras,
            ("keras", keras) if found else ("keras",),
            "keras:ops",
            f"subpixel.keras ({keras} backend)",
        ),
    ]
    rows = _library_rows(_catalog.entries())
    rows += [row for row in layers if _module_exists(row.name)]
    # The Keras layers on each Keras backend, each in a worker process started with KERAS_BACKEND set.
    rows += [
        _row(
            f"subpixel.{adapter.name}",
            adapter.name,
            functools.partial(keras_call, adapter.keras_backend),
            "keras:ops",
            f"subpixel.keras layers on the {adapter.keras_backend} backend (a worker process)",
            ("keras", adapter.keras_backend),
            functools.partial(worker, adapter.keras_backend),
            compiles=adapter_of(_catalog.entry(adapter.keras_backend)).compiles,
            # Keras compiles each op on a compiling backend: its worker row is the costliest.
            seconds=310 if adapter_of(_catalog.entry(adapter.keras_backend)).compiles else 20,
        )
        for adapter in keras_adapters()
    ]
    return rows


def _register_builtins() -> None:
    """Register the built-in rows once, and the rows of backends added to the catalog since."""
    global _wrappers_done
    with _lock:
        first = not _wrappers_done
        _wrappers_done = True
        new = [e for e in _catalog.entries() if _entries_seen.get(e.name) is not e]
        _entries_seen.update((e.name, e) for e in new)
    if not first and not new:
        return
    rows = _builtin_rows() if first else _library_rows(new)
    with _lock:
        for row in rows:
            object.__setattr__(row, "builtin", True)
            _registry.setdefault(row.name, row)
