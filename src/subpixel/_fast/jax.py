"""Fast path for JAX arrays: one ``jax.jit``-compiled executable per plan.

The Array-API path dispatches three operations one by one (each a small XLA computation);
compiling the three together gives one dispatch per call and lets XLA emit a single transpose
(copy) fusion. Inside a user's ``jax.jit`` the compiled function is simply inlined into the
caller's trace, so the result is the same computation either way.
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from subpixel import _routes
from subpixel._fast import Runner
from subpixel._fast.jax_sharding import apply_plan_sharded, explicit_spec
from subpixel._limits import routes
from subpixel._plan import ShufflePlan
from subpixel._spec import ShuffleSpec

__all__ = ["ROUTES", "prepare", "unreachable_routes"]

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


def _apply(x: Any, plan: ShufflePlan) -> Any:
    sharded = apply_plan_sharded(x, plan)  # explicit-mesh shardings need their own reshapes
    if sharded is not None:
        return sharded
    return x.reshape(plan.expand_shape).transpose(plan.axes).reshape(plan.collapse_shape)


#: Jitted functions kept alive. Each holds its executables (about 3 MiB per input shape on CPU,
#: twice what JAX keeps once the function is gone), so this bounds what subpixel holds for
#: inputs of many shapes; a shape whose function was dropped compiles again (tens of ms).
JITTED_FUNCTIONS = 64


@functools.lru_cache(maxsize=JITTED_FUNCTIONS)
def _compiled(plan: ShufflePlan) -> Runner:
    runner: Runner = jax.jit(functools.partial(_apply, plan=plan))
    return runner


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return the function that applies ``plan`` with its jitted function (route counted when listened to).

    The runner looks the jitted function up at each call instead of holding it: the library's
    runner cache (thousands of shapes) must not keep every shape's executables alive.
    """

    def run(x: Any) -> Any:
        if _routes.listening:
            _record(x)
        return _compiled(plan)(x)

    return run
