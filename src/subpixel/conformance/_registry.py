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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from subpixel.conformance._cases import ALL_OPTIONS

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
        Array backend of its inputs and outputs: ``numpy``, ``array_api_strict``, ``torch``,
        ``jax``, ``cupy`` or ``dask``.
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
    """

    name: str
    backend: str
    call: ImplementationCall
    options: frozenset[str] = ALL_OPTIONS
    requires: tuple[str, ...] = ()
    description: str = ""
    setup: Callable[[], object] | None = None
    routes: str | None = None
    builtin: bool = field(default=False, compare=False)


_registry: dict[str, Implementation] = {}
_lock = threading.Lock()
_wrappers_done = False


def register_implementation(implementation: Implementation, *, replace: bool = False) -> None:
    """Add a row to the matrix.

    Raises
    ------
    ValueError
        If the name is taken (and ``replace`` is false) or the backend is unknown.
    """
    from subpixel.conformance._backends import ADAPTERS

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


def _library_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    from subpixel import pixel_shuffle, pixel_unshuffle

    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def _jax_jit_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    import jax

    def run(y: Any) -> Any:
        return _library_call(y, factor, inverse, channels_last, order)

    return jax.jit(run)(x)


def _torch_layer_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    module = importlib.import_module("subpixel.torch")
    layer = module.PixelUnshuffle if inverse else module.PixelShuffle
    return layer(factor, channels_last=channels_last, order=order)(x)


def _flax_nnx_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    module = importlib.import_module("subpixel.flax")
    layer = module.PixelUnshuffle if inverse else module.PixelShuffle
    return layer(factor, channels_last=channels_last, order=order)(x)


def _flax_linen_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    module = importlib.import_module("subpixel.flax.linen")
    layer = module.PixelUnshuffle if inverse else module.PixelShuffle
    return layer(factor, channels_last=channels_last, order=order).apply({}, x)


def _keras_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    module = importlib.import_module("subpixel.keras")
    layer = module.PixelUnshuffle if inverse else module.PixelShuffle
    data_format = "channels_last" if channels_last else "channels_first"
    return layer(factor, data_format=data_format, order=order)(x)


def keras_backend() -> str:
    """Return the array backend Keras runs on (or will run on once imported).

    ``KERAS_BACKEND`` when set, else the backend of an already imported Keras, else Keras's own
    default, ``tensorflow``. The environment is read, never written.
    """
    name = os.environ.get("KERAS_BACKEND")
    if name is None:
        keras: Any = sys.modules.get("keras")
        name = "tensorflow" if keras is None else str(keras.backend.backend())
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
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _register_builtins() -> None:
    global _wrappers_done
    with _lock:
        if _wrappers_done:
            return
        _wrappers_done = True
    rows = [
        Implementation(
            "numpy",
            "numpy",
            _library_call,
            requires=("numpy",),
            routes="numpy",
            description="subpixel on NumPy",
        ),
        Implementation(
            "array_api_strict",
            "array_api_strict",
            _library_call,
            requires=("array_api_strict",),
            routes="array_api",
            description="subpixel on array-api-strict",
        ),
        Implementation(
            "torch",
            "torch",
            _library_call,
            requires=("torch",),
            routes="torch",
            description="subpixel on torch tensors",
        ),
        Implementation(
            "jax",
            "jax",
            _library_call,
            requires=("jax",),
            routes="jax",
            description="subpixel on JAX arrays (eager)",
        ),
        Implementation(
            "jax.jit",
            "jax",
            _jax_jit_call,
            requires=("jax",),
            routes="jax",
            description="subpixel inside jax.jit",
        ),
        Implementation(
            "cupy",
            "cupy",
            _library_call,
            requires=("cupy",),
            routes="array_api",
            description="subpixel on CuPy arrays",
        ),
        Implementation(
            "dask",
            "dask",
            _library_call,
            requires=("dask", "numpy"),
            routes="dask",
            description="subpixel on dask arrays of NumPy chunks",
        ),
    ]
    # Layer wrappers: registered only when their module exists in this installation.
    if _module_exists("subpixel.torch"):
        rows.append(
            Implementation(
                "subpixel.torch",
                "torch",
                _torch_layer_call,
                requires=("torch",),
                routes="torch",
                description="subpixel.torch.PixelShuffle / PixelUnshuffle layers",
                setup=_importer("subpixel.torch"),
            )
        )
    if _module_exists("subpixel.flax"):
        rows.append(
            Implementation(
                "subpixel.flax",
                "jax",
                _flax_nnx_call,
                requires=("jax", "flax"),
                routes="jax",
                description="subpixel.flax (NNX) PixelShuffle / PixelUnshuffle",
                setup=_importer("subpixel.flax"),
            )
        )
        if _module_exists("subpixel.flax.linen"):
            rows.append(
                Implementation(
                    "subpixel.flax.linen",
                    "jax",
                    _flax_linen_call,
                    requires=("jax", "flax"),
                    routes="jax",
                    description="subpixel.flax.linen PixelShuffle / PixelUnshuffle",
                    setup=_importer("subpixel.flax.linen"),
                )
            )
    if _module_exists("subpixel.keras") and _module_exists("keras"):
        backend = keras_backend()
        rows.append(
            Implementation(
                "subpixel.keras",
                backend,
                _keras_call,
                requires=("keras", backend),
                description=f"subpixel.keras layers on the {backend} backend",
                setup=_importer("subpixel.keras"),
            )
        )
    elif _module_exists("subpixel.keras"):
        rows.append(
            Implementation(
                "subpixel.keras",
                "jax",
                _keras_call,
                requires=("keras",),
                description="subpixel.keras layers",
                setup=_importer("subpixel.keras"),
            )
        )
    from subpixel.conformance._tensorflow import implementations as tensorflow_rows

    rows += tensorflow_rows()
    with _lock:
        for row in rows:
            object.__setattr__(row, "builtin", True)
            _registry.setdefault(row.name, row)
