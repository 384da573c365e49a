"""Find, once per array type, the function that applies a plan to arrays of that type.

The default is the Array-API implementation in :mod:`subpixel._shuffle` with the namespace
that ``array_api_compat`` finds. A backend may have a fast path in :mod:`subpixel._fast`; it is
imported only when an array of that backend arrives, so importing :mod:`subpixel` imports no
framework.
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from typing import Any

import array_api_compat

from subpixel import _routes
from subpixel._plan import ShufflePlan, has_run_time_sizes
from subpixel._shuffle import apply_plan

__all__ = ["ROUTES", "Executor", "NativeSpec", "Runner", "executor_for", "runner_for", "unreachable_routes"]

#: The route every array without a fast path takes (see :mod:`subpixel._routes`).
ROUTES: dict[str, str] = {
    "array_api:generic": "the Array-API reshape, permute_dims, reshape of subpixel._shuffle",
}


def unreachable_routes() -> dict[str, str]:
    """Return the routes this machine cannot take, with why: the generic route always runs."""
    return {}


#: Applies a plan to one array of the type it was made for.
Executor = Callable[[Any, ShufflePlan], Any]

#: ``(inverse, r)``: the plan is PyTorch's own op with square factor ``r`` (see :func:`runner_for`).
NativeSpec = tuple[bool, int]

#: Applies one fixed plan to an array: what :mod:`subpixel._api` caches per call signature.
Runner = Callable[[Any], Any]

#: Fast-path modules by the top-level module that defines the array type. Each exposes
#: ``make_executor(xp) -> Executor | None``; ``None`` means "use the Array-API path".
FAST_PATHS: dict[str, str] = {
    "numpy": "subpixel._fast.numpy",
    "torch": "subpixel._fast.torch",
    "dask": "subpixel._fast.dask",
    "jax": "subpixel._fast.jax",
    "jaxlib": "subpixel._fast.jax",
    # Listed for completeness (route lists); TensorFlow is dispatched before array_namespace,
    # which does not know it, and its module's make_executor takes (x, caller).
    "tensorflow": "subpixel._fast.tensorflow",
}

_cache: dict[type, Executor] = {}
_lock = threading.Lock()


def executor_for(x: object, caller: str) -> Executor:
    """Return the executor for arrays of ``type(x)``, raising ``TypeError`` for a non-array."""
    kind = type(x)
    executor = _cache.get(kind)
    if executor is None:
        executor = _make_executor(x, caller)
        with _lock:
            executor = _cache.setdefault(kind, executor)
    return executor


def runner_for(executor: Executor, plan: ShufflePlan, native: NativeSpec | None = None) -> Runner:
    """Return a function of ``x`` alone that applies ``plan`` with ``executor``.

    An executor with a ``prepare(plan, native)`` method (the fast paths) does the per-plan
    work once there; any other executor is called with the plan each time. ``native`` is
    ``(inverse, r)`` when the plan is exactly PyTorch's own ``pixel_shuffle`` (``inverse``
    False) or ``pixel_unshuffle`` with factor ``r`` for inputs of the shape it was made for.
    """
    if has_run_time_sizes(plan) and not getattr(executor, "run_time_sizes", False):
        msg = (
            f"x has unknown sizes (the plan is {plan}); every size must be known to shuffle an "
            "array of this type (only TensorFlow tensors may have unknown batch or spatial sizes)"
        )
        raise ValueError(msg)
    prepare = getattr(executor, "prepare", None)
    if prepare is not None:
        runner: Runner = prepare(plan, native)
        return runner
    return functools.partial(_call, executor, plan)


def _call(executor: Executor, plan: ShufflePlan, x: Any) -> Any:
    return executor(x, plan)


def _make_executor(x: object, caller: str) -> Executor:
    if type(x).__module__.startswith("tensorflow"):  # array-api-compat does not know TensorFlow
        # An import statement, not importlib: AutoGraph (inside tf.function) would try to
        # convert importlib's functions and warn that it cannot.
        from subpixel._fast import tensorflow as tensorflow_fast

        return tensorflow_fast.make_executor(x, caller)
    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        kind = type(x).__name__
        msg = (
            f"{caller}: x must be an array (NumPy, CuPy, JAX, PyTorch, TensorFlow, Dask or Array API), "
            f"got {kind}"
        )
        raise TypeError(msg) from None
    root = type(x).__module__.partition(".")[0]
    fast_module = FAST_PATHS.get(root)
    if fast_module is not None:
        fast: Executor | None = importlib.import_module(fast_module).make_executor(xp)
        if fast is not None:
            return fast
    return functools.partial(_generic, xp)


def _generic(xp: Any, x: Any, plan: ShufflePlan) -> Any:
    """Run the Array-API path, counted as ``array_api:generic`` while a route listener is open."""
    if _routes.listening:
        _routes.record("array_api:generic")
    return apply_plan(xp, x, plan)
