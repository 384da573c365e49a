"""Fast path for NumPy arrays.

Small arrays take the three NumPy calls directly (no Array-API wrapper, no ``copy=``
keyword dance), large ones the cache-blocked copy of :mod:`subpixel._fast._blocked`. Arrays
of other types that live in NumPy (subclasses such as masked arrays) and object arrays take
the Array-API path.

Every route is decided here or in the copy engine and recorded with :mod:`subpixel._routes`;
:data:`ROUTES` lists them and :func:`unreachable_routes` says which cannot run here.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from subpixel import _routes, _threads
from subpixel._fast import Runner, _blocked
from subpixel._fast._blocked import copy_into
from subpixel._limits import (
    BLOCK_BYTES,
    JOIN_LANES,
    LANE_BYTES,
    NUMPY_SMALL_BYTES,
    PARALLEL_BYTES,
    SPLIT_LANES,
    routes,
)
from subpixel._plan import ShufflePlan
from subpixel._shuffle import apply_plan
from subpixel._spec import ShuffleSpec

__all__ = [
    "BLOCK_BYTES",
    "JOIN_LANES",
    "LANE_BYTES",
    "PARALLEL_BYTES",
    "ROUTES",
    "SMALL_BYTES",
    "SPLIT_LANES",
    "prepare",
    "shuffle_large",
    "unreachable_routes",
]

#: Below this many bytes the plain reshape/transpose/copy is fastest (no planning overhead).
SMALL_BYTES = NUMPY_SMALL_BYTES

#: Every route of the NumPy path, the copy engine's among them. The torch CPU path runs the same
#: copy engine through :func:`shuffle_large` but records only its own route.
ROUTES = routes("numpy")


def unreachable_routes() -> dict[str, str]:
    """Return the routes this process cannot take now, each with the reason.

    Returns
    -------
    dict of str to str
        ``"numpy:threaded"`` when :func:`subpixel.get_num_threads` is 1; the lanes kernels on a
        big-endian machine; the copy engine's compiled or lanes routes (see
        :func:`subpixel._fast._blocked.unreachable_routes`).
    """
    missing = _blocked.unreachable_routes()
    if _threads.get_num_threads() == 1:
        missing["numpy:threaded"] = "one copy thread allowed (subpixel.get_num_threads() == 1)"
    if not LANE_BYTES:
        for route in ("numpy:lanes-split", "numpy:lanes-join"):
            missing[route] = "the lanes kernels need a little-endian machine"
    return missing


def shuffle_large(
    x: np.ndarray[Any, Any],
    plan: ShufflePlan,
    out: np.ndarray[Any, Any] | None = None,
    *,
    backend: str | None = None,
) -> Any:
    """Apply ``plan`` to ``x`` with the cache-blocked copy, into ``out`` or a new array.

    ``out`` (shape ``plan.collapse_shape``, any strides, not overlapping ``x``) lets the torch
    fast path write a channels-last result. ``backend`` names the routes the copy engine
    records (``"numpy"`` from the NumPy fast path; nothing is recorded without it).
    """
    src = x.reshape(plan.expand_shape).transpose(plan.axes)
    if out is None:
        out = np.empty(plan.collapse_shape, dtype=x.dtype)
    dst = out.reshape(src.shape)
    if dst.size and not np.may_share_memory(dst, out):  # pragma: no cover - splitting axes is a view
        msg = "internal error: reshaping the result copied it"
        raise RuntimeError(msg)
    copy_into(dst, src, backend=backend)
    return out


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return a function that applies ``plan`` to one NumPy array."""
    expand, axes, collapse = plan
    ndarray = np.ndarray

    def run(x: Any) -> Any:
        if type(x) is not ndarray or x.dtype.hasobject:
            if _routes.listening:
                _routes.record("numpy:array-api")
            plain = x.view(ndarray) if isinstance(x, np.matrix) else x  # a matrix is 2-D only
            return apply_plan(array_api_compat.array_namespace(plain), plain, plan)
        if x.nbytes < SMALL_BYTES:
            if _routes.listening:
                _routes.record("numpy:small")
            return x.reshape(expand).transpose(axes).copy().reshape(collapse)
        return shuffle_large(x, plan, backend="numpy")

    return run
