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
from subpixel._fast import Runner
from subpixel._fast._blocked import (
    BLOCK_BYTES,
    JOIN_LANES,
    LANE_BYTES,
    PARALLEL_BYTES,
    SPLIT_LANES,
    copy_into,
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
SMALL_BYTES = 64 * 1024

#: Every route of the NumPy path. The torch CPU path runs the same copy engine through
#: :func:`shuffle_large` but records only its own route.
ROUTES: dict[str, str] = {
    "numpy:small": f"under {SMALL_BYTES} bytes: NumPy's reshape, transpose and copy",
    "numpy:plain-copy": "no slicing needed: one np.copyto of the permuted view, on the calling thread",
    "numpy:blocked": "cache-blocked slice copies, one per index of the short trailing axes",
    "numpy:lanes-split": "unshuffle of 1- or 2-byte elements by 2: wide integers split with shifts",
    "numpy:lanes-join": "shuffle of 1-byte elements by 2: lanes joined into wide integers by shifts",
    "numpy:threaded": (
        "beside one of the copy engine's routes: its blocks split over the thread pool "
        f"(from {PARALLEL_BYTES} bytes, main thread only)"
    ),
    "numpy:array-api": "subclasses (masked arrays, matrices) and object arrays: the Array-API path",
}


def unreachable_routes() -> dict[str, str]:
    """Return the routes this process cannot take now, each with the reason.

    Returns
    -------
    dict of str to str
        ``"numpy:threaded"`` when :func:`subpixel.get_num_threads` is 1; the lanes kernels on a
        big-endian machine.
    """
    missing = {}
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
