"""Find, once per array type, the function that prepares a shuffle for arrays of that type.

A backend's fast path is a module of :mod:`subpixel._fast` with a function
``prepare(spec, plan) -> runner``; the runner applies the plan to one array. Arrays without a
fast path take the Array-API implementation of :mod:`subpixel._shuffle` with the namespace
that ``array_api_compat`` finds. A fast path is imported only when an array of its backend
arrives, so importing :mod:`subpixel` imports no framework.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat

from subpixel import _routes
from subpixel._fast import Runner
from subpixel._fast._torch_plain import apply_traced
from subpixel._plan import ShufflePlan, has_run_time_sizes
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

#: Fast-path modules by the top-level module that defines the array type. Each has
#: ``prepare(spec, plan)``; a module may also define ``check_array(x, caller)`` (reject
#: objects of its library that are not arrays), ``RUN_TIME_SIZES = True`` (it takes plans
#: with sizes known only at run time) and ``SHUFFLES_CHUNKS = True`` (its arrays hold
#: other libraries' arrays: its ``prepare`` also takes ``shuffle_chunk``, see :func:`run`).
FAST_PATHS: dict[str, str] = {
    "numpy": "subpixel._fast.numpy",
    "torch": "subpixel._fast.torch",
    "dask": "subpixel._fast.dask",
    "jax": "subpixel._fast.jax",
    "jaxlib": "subpixel._fast.jax",
    "tensorflow": "subpixel._fast.tensorflow",
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
        msg = (
            f"{spec.caller}: x has unknown sizes (the plan is {plan}); every size must be known to "
            "shuffle an array of this type (only TensorFlow tensors may have unknown sizes)"
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
    root = type(x).__module__.partition(".")[0]
    if root == "tensorflow":  # array-api-compat does not know TensorFlow
        # An import statement, not importlib: AutoGraph (inside tf.function) would try to
        # convert importlib's functions and warn that it cannot.
        from subpixel._fast import tensorflow as tensorflow_fast

        tensorflow_fast.check_array(x, caller)
        return Backend(tensorflow_fast.prepare, run_time_sizes=True)
    try:
        xp = array_api_compat.array_namespace(x)
    except TypeError:
        kind = type(x).__name__
        msg = (
            f"{caller}: x must be an array (NumPy, CuPy, JAX, PyTorch, TensorFlow, Dask or Array API), "
            f"got {kind}"
        )
        raise TypeError(msg) from None
    fast_module = FAST_PATHS.get(root)
    if fast_module is None:
        return Backend(functools.partial(_prepare_generic, xp), run_time_sizes=False)
    module = importlib.import_module(fast_module)
    prepare: Prepare = module.prepare
    if getattr(module, "SHUFFLES_CHUNKS", False):
        prepare = functools.partial(module.prepare, shuffle_chunk=run)
    return Backend(prepare, run_time_sizes=False)


def _prepare_generic(xp: Any, spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    return functools.partial(_generic, xp, plan)


def _generic(xp: Any, plan: ShufflePlan, x: Any) -> Any:
    """Run the Array-API path, counted as ``array_api:generic`` while a route listener is open."""
    if _routes.listening:
        _routes.record("array_api:generic")
    return apply_plan(xp, x, plan)
