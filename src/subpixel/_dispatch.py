"""Find, once per array type, the function that prepares a shuffle for arrays of that type.

The array's backend is the :mod:`subpixel._catalog` entry of its type's top-level module. A
backend with a fast path (``Entry.fast_path``, a module of :mod:`subpixel._fast`) shuffles with
its ``prepare(spec, plan) -> runner``; the runner applies the plan to one array. The module may
also define ``check_array(x, caller)`` (to reject objects of its library that are not arrays)
and ``SHUFFLES_CHUNKS = True`` (its arrays hold other libraries' arrays: its ``prepare`` also
takes ``shuffle_chunk``, see :func:`run`). Other arrays take the Array-API implementation of
:mod:`subpixel._shuffle` with the namespace that ``array_api_compat`` finds. Only entries with
``run_time_sizes`` take plans whose sizes are known only at run time. A fast path is imported
only when an array of its backend arrives, so importing :mod:`subpixel` imports no framework.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat

from subpixel import _catalog, _routes
from subpixel._fast import Runner
from subpixel._fast._torch_plain import apply_traced
from subpixel._plan import RunTimeSize, ShufflePlan, has_run_time_sizes
from subpixel._shuffle import apply_plan
from subpixel._spec import ShuffleSpec

__all__ = [
    "FAST_PATHS",
    "ROUTES",
    "Prepare",
    "Runner",
    "backend_for",
    "run",
    "runner_for",
    "traced_runner",
    "unreachable_routes",
]

#: The route every array without a fast path takes (see :mod:`subpixel._routes`).
ROUTES: dict[str, str] = {
    "array_api:generic": "the Array-API reshape, permute_dims, reshape of subpixel._shuffle",
}


def unreachable_routes() -> dict[str, str]:
    """Return the routes this machine cannot take, with why: the generic route always runs."""
    return {}


#: ``prepare(spec, plan)``: does the per-plan work once and returns the runner.
Prepare = Callable[[ShuffleSpec, ShufflePlan], Runner]

#: Fast-path modules by the top-level module that defines the array type, from the catalog
#: (read by the conformance route coverage).
FAST_PATHS: dict[str, str] = {
    module: entry.fast_path for entry in _catalog.entries() if entry.fast_path for module in entry.modules
}


class Backend(NamedTuple):
    """How arrays of one type are shuffled."""

    prepare: Prepare
    run_time_sizes: bool


_cache: dict[type, Backend] = {}
_lock = threading.Lock()


def backend_for(x: object, caller: str) -> Backend:
    """Return the backend of arrays of ``type(x)``, raising ``TypeError`` for a non-array."""
    kind = type(x)
    backend = _cache.get(kind)
    if backend is None:
        backend = _find_backend(x, caller)
        with _lock:
            backend = _cache.setdefault(kind, backend)
    return backend


def runner_for(x: Any, spec: ShuffleSpec) -> Runner:
    """Return a function of one array that applies ``spec`` to arrays of ``x``'s type and shape."""
    backend = backend_for(x, spec.caller)
    try:
        shape = tuple(x.shape)
    except ValueError:  # TensorFlow's shape of unknown rank cannot be iterated
        msg = (
            f"{spec.caller}: x has an unknown number of dimensions (shape {x.shape}); the rank must "
            "be known when the graph is traced (in TensorFlow, give tf.function an input_signature "
            "with one size or None per axis, for example tf.TensorSpec((None, None, None, 12)))"
        )
        raise ValueError(msg) from None
    plan = spec.plan(shape)
    if has_run_time_sizes(plan) and not backend.run_time_sizes:
        allowed = " and ".join(e.title for e in _catalog.entries() if e.run_time_sizes) or "no backend"
        msg = (
            f"{spec.caller}: x has unknown sizes (the plan is {plan}); every size must be known to "
            f"shuffle an array of type {type(x).__name__} (arrays of {allowed} only may have unknown sizes)"
        )
        raise ValueError(msg)
    return backend.prepare(spec, plan)


def run(x: Any, spec: ShuffleSpec) -> Any:
    """Apply ``spec`` to ``x`` (what a chunked backend calls on each chunk)."""
    return runner_for(x, spec)(x)


def traced_runner(x: Any, spec: ShuffleSpec) -> Runner:
    """Return the runner to use while PyTorch traces (compile, export, ``jit.trace``): no caches.

    PyTorch tensors take the traceable route of :mod:`subpixel._fast._torch_plain`, whose
    symbolic sizes pass through; arrays of other libraries take their usual route.
    """
    torch = sys.modules["torch"]
    if isinstance(x, torch.Tensor):
        return functools.partial(apply_traced, torch, spec=spec)
    return runner_for(x, spec)


def _find_backend(x: object, caller: str) -> Backend:
    entry = _catalog.entry_for_type(type(x))
    module = None if entry is None or entry.fast_path is None else _import(entry.fast_path)
    check_array = getattr(module, "check_array", None)
    if check_array is not None:
        check_array(x, caller)
        xp = None
    else:
        xp = _namespace(x, caller)
    run_time_sizes = entry is not None and entry.run_time_sizes
    if module is None:
        return Backend(functools.partial(_prepare_generic, xp), run_time_sizes)
    prepare: Prepare = module.prepare
    if getattr(module, "SHUFFLES_CHUNKS", False):
        prepare = functools.partial(module.prepare, shuffle_chunk=run)
    return Backend(prepare, run_time_sizes)


def _import(name: str) -> Any:
    """Import the module ``name`` with the built-in ``__import__``.

    Not :func:`importlib.import_module`: inside ``tf.function``, AutoGraph would try to convert
    importlib's functions and warn that it cannot; it calls built-ins as they are.
    """
    __import__(name)
    return sys.modules[name]


def _namespace(x: object, caller: str) -> Any:
    """Return the Array-API namespace of ``x``, raising ``TypeError`` for a non-array."""
    try:
        return array_api_compat.array_namespace(x)
    except TypeError:
        kinds = ", ".join(e.title for e in _catalog.entries() if e.fast_path)
        msg = f"{caller}: x must be an array ({kinds} or any Array API library), got {type(x).__name__}"
        raise TypeError(msg) from None


def _prepare_generic(xp: Any, spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    if has_run_time_sizes(plan):
        return functools.partial(_generic, xp, _inferred(plan, spec.caller))
    if 0 in plan.collapse_shape:
        return functools.partial(_generic_empty, xp, plan)
    return functools.partial(_generic, xp, plan)


def _generic(xp: Any, plan: ShufflePlan, x: Any) -> Any:
    """Run the Array-API path, counted as ``array_api:generic`` while a route listener is open."""
    if _routes.listening:
        _routes.record("array_api:generic")
    return apply_plan(xp, x, plan)


def _generic_empty(xp: Any, plan: ShufflePlan, x: Any) -> Any:
    """Return a new empty array of the output's shape: an output without elements moves nothing.

    Some libraries cannot reshape an empty array across a zero-size axis (Cubed raises), and
    none needs to.
    """
    if _routes.listening:
        _routes.record("array_api:generic")
    return xp.zeros(plan.collapse_shape, dtype=x.dtype, device=array_api_compat.device(x))


def _inferred(plan: ShufflePlan, caller: str) -> ShufflePlan:
    """Return ``plan`` with its one run-time size per shape as ``-1``, which the Array API's reshape infers.

    The standard's ``reshape`` takes sizes as ints, and infers one ``-1``: an input with one unknown
    axis (the batch of a model exported with a dynamic batch) can take the generic route; more is a
    ``ValueError``.
    """
    unknown = [s for s in plan.expand_shape if isinstance(s, RunTimeSize)]
    if len(unknown) > 1 or sum(isinstance(s, RunTimeSize) for s in plan.collapse_shape) > 1:
        msg = (
            f"{caller}: x has {len(unknown)} axes of unknown size (the plan is {plan}); the Array-API "
            "route infers one unknown size only (reshape's -1): give every axis but one a known size"
        )
        raise ValueError(msg)
    return plan._replace(
        expand_shape=tuple(int(s) for s in plan.expand_shape),
        collapse_shape=tuple(int(s) for s in plan.collapse_shape),
    )
