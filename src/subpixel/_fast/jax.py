"""Fast path for JAX arrays: one ``jax.jit``-compiled function per call signature, run per shape.

The Array-API path dispatches three operations one by one (each a small XLA computation);
compiling them together gives one dispatch per call and lets XLA emit a single transpose (copy)
fusion. Inside a user's ``jax.jit`` the compiled function is simply inlined into the caller's
trace, so the result is the same computation either way. What is traced is also what
``jax2tf`` and ``jax.export`` export: with symbolic sizes, plans other than TensorFlow's own op
are spelled with low-rank transposes (see :func:`low_rank`).
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from subpixel import _routes
from subpixel._fast import Runner
from subpixel._fast._low_rank import apply_low_rank
from subpixel._fast.jax_sharding import apply_plan_sharded, explicit_spec
from subpixel._limits import routes
from subpixel._plan import ShufflePlan
from subpixel._spec import ShuffleSpec

__all__ = ["ROUTES", "low_rank", "prepare", "unreachable_routes"]

#: The routes of this fast path (see :mod:`subpixel._routes`).
ROUTES = routes("jax")


def unreachable_routes() -> dict[str, str]:
    """Return the routes this machine cannot take, with why (sharding needs several devices)."""
    count = len(jax.devices())
    if count > 1:
        return {}
    return {
        "jax:sharded": f"JAX sees {count} device: sharding needs several (on CPU, start with "
        "XLA_FLAGS=--xla_force_host_platform_device_count=N)"
    }


def _record(x: Any) -> None:
    _routes.record("jax:sharded" if explicit_spec(x) is not None else "jax:jit")


def _apply(x: Any, spec: ShuffleSpec) -> Any:
    """Apply ``spec`` to ``x`` (traced by ``jax.jit``: the plan is made for the traced shape)."""
    plan = spec.plan(x.shape)
    sharded = apply_plan_sharded(x, plan)  # explicit-mesh shardings need their own reshapes
    if sharded is not None:
        return sharded
    if low_rank(spec, plan):
        return apply_low_rank(x, plan, _transpose)
    return x.reshape(plan.expand_shape).transpose(plan.axes).reshape(plan.collapse_shape)


def _transpose(x: Any, axes: tuple[int, ...]) -> Any:
    return x.transpose(axes)


def low_rank(spec: ShuffleSpec, plan: ShufflePlan) -> bool:
    """Whether ``plan`` is spelled with low-rank transposes: symbolic sizes, and not TensorFlow's op.

    A plan with symbolic sizes is being exported (``jax.export``, ``jax2tf`` with polymorphic
    shapes), and its one transpose has rank 6 (8 for volumes): TensorFlow Lite refuses a
    transpose above rank 6, other converters above 4 or 5. The steps of
    :func:`~subpixel._fast._low_rank.apply_low_rank` keep every tensor at rank 4 (5). Plans of
    fixed sizes keep the one transpose, which XLA's sharding propagation follows for sharded
    spatial axes (the steps merge such an axis into a larger one, and XLA then gathers it);
    XLA runs both spellings at the same speed (one copy). TensorFlow's own op (DCR, channels
    last, factor ``(r, r)``) keeps it too: it is what Keras's ``depth_to_space`` /
    ``space_to_depth`` emit, with fewer ops than the steps.
    """
    if spec.order == "DCR" and spec.channels_last and spec.square_factor is not None:
        return False
    return not all(type(size) is int for size in plan.expand_shape)


#: Jitted functions kept alive: one per spec (options, factors, caller), each holding JAX's
#: executables for it, one per input shape, dtype and sharding (``jax.clear_caches()`` releases
#: them). A caller cycling more specs than this recompiles on every call (64 did, for 365 specs).
JITTED_FUNCTIONS = 1024


@functools.lru_cache(maxsize=JITTED_FUNCTIONS)
def _compiled(spec: ShuffleSpec) -> Runner:
    runner: Runner = jax.jit(functools.partial(_apply, spec=spec))
    return runner


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return the function that applies ``plan`` with the jitted function of ``spec``.

    The function is looked up at each call instead of held: the library's runner cache
    (thousands of shapes) must not keep a function per shape. One jitted function serves every
    shape of a spec; JAX compiles each shape once and keeps it.
    """
    del plan  # made again, and cached, inside the trace

    def run(x: Any) -> Any:
        if _routes.listening:
            _record(x)
        return _compiled(spec)(x)

    return run
