"""Fast path for NumPy arrays.

Small arrays take the three NumPy calls directly (no Array-API wrapper, no ``copy=``
keyword dance), large ones the cache-blocked copy of :mod:`subpixel._fast._blocked`. Arrays
of other types that live in NumPy (subclasses such as masked arrays) and object arrays take
the Array-API path.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from subpixel._dispatch import Executor, NativeSpec, Runner
from subpixel._fast._blocked import copy_into
from subpixel._plan import ShufflePlan
from subpixel._shuffle import apply_plan

__all__ = ["SMALL_BYTES", "NumpyExecutor", "make_executor", "shuffle_large"]

#: Below this many bytes the plain reshape/transpose/copy is fastest (no planning overhead).
SMALL_BYTES = 64 * 1024


def shuffle_large(x: np.ndarray[Any, Any], plan: ShufflePlan, out: np.ndarray[Any, Any] | None = None) -> Any:
    """Apply ``plan`` to ``x`` with the cache-blocked copy, into ``out`` or a new array.

    ``out`` (shape ``plan.collapse_shape``, any strides, not overlapping ``x``) lets the torch
    fast path write a channels-last result.
    """
    src = x.reshape(plan.expand_shape).transpose(plan.axes)
    if out is None:
        out = np.empty(plan.collapse_shape, dtype=x.dtype)
    dst = out.reshape(src.shape)
    if dst.size and not np.may_share_memory(dst, out):  # pragma: no cover - splitting axes is a view
        msg = "internal error: reshaping the result copied it"
        raise RuntimeError(msg)
    copy_into(dst, src)
    return out


class NumpyExecutor:
    """Executor for ``numpy.ndarray``; ``prepare(plan)`` gives a per-plan runner."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __call__(self, x: Any, plan: ShufflePlan) -> Any:
        """Apply ``plan`` to ``x``."""
        return self.prepare(plan)(x)

    def prepare(self, plan: ShufflePlan, native: NativeSpec | None = None) -> Runner:
        """Return a function that applies ``plan`` to one array."""
        xp = self.xp
        expand, axes, collapse = plan
        ndarray = np.ndarray

        def run(x: Any) -> Any:
            if type(x) is not ndarray or x.dtype.hasobject:
                return apply_plan(xp, x.view(ndarray) if isinstance(x, np.matrix) else x, plan)  # 2-D only
            if x.nbytes < SMALL_BYTES:
                return x.reshape(expand).transpose(axes).copy().reshape(collapse)
            return shuffle_large(x, plan)

        return run


def make_executor(xp: Any) -> Executor | None:
    """Return the NumPy executor."""
    return NumpyExecutor(xp)
