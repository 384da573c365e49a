"""Optional compiled copy kernel (numba), used for large CPU copies when numba is installed.

The kernel copies a strided view into a destination of the same shape with a parallel loop over
the leading axes and plain nested loops over the trailing ones, so the short factor axes cost a
register move each instead of a NumPy inner-loop call. It sees elements as unsigned integers of
the same size (any dtype with an item size of 1, 2, 4 or 8 bytes copies bit for bit), and every
view is given as 4 parallel plus 4 serial axes, so one signature per element size is compiled
(plus a variant for read-only inputs).

The kernel is off unless ``SUBPIXEL_NUMBA=1`` is set: on the 2-core benchmark machine it did
not beat the cache-blocked NumPy copy, and a second OpenMP runtime beside PyTorch's is a risk
not worth taking by default (see ``docs/performance.md``). When enabled, numba is imported the
first time a large array arrives, never by ``import subpixel``, and the compiled code is cached
on disk (``cache=True``), so only the first call on a machine pays the compile time.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["available", "copy_compiled"]

_UINTS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_SLOTS = 4
#: Fewest parallel iterations worth spreading over threads.
_MIN_PARALLEL = 64

_kernel: Callable[..., None] | None = None
_state = "unloaded"  # "unloaded" | "ready" | "missing"
_load_lock = threading.Lock()
#: numba's default "workqueue" threading layer must not be entered from two threads at once;
#: a call that finds the kernel busy takes the NumPy path instead of waiting.
_run_lock = threading.Lock()


def _build() -> Callable[..., None] | None:
    if os.environ.get("SUBPIXEL_NUMBA", "0") != "1":
        return None
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(parallel=True, cache=True, nogil=True, boundscheck=False)
    def copy8(dst: Any, src: Any) -> None:  # pragma: no cover - compiled
        s = dst.shape
        for t in numba.prange(s[0] * s[1] * s[2] * s[3]):
            i3 = t % s[3]
            rest = t // s[3]
            i2 = rest % s[2]
            rest = rest // s[2]
            i1 = rest % s[1]
            i0 = rest // s[1]
            for i4 in range(s[4]):
                for i5 in range(s[5]):
                    for i6 in range(s[6]):
                        for i7 in range(s[7]):
                            dst[i0, i1, i2, i3, i4, i5, i6, i7] = src[i0, i1, i2, i3, i4, i5, i6, i7]

    kernel: Callable[..., None] = copy8
    return kernel


def available() -> bool:
    """Load the kernel on first use; return whether it can run."""
    global _kernel, _state
    if _state == "unloaded":
        with _load_lock:
            if _state == "unloaded":
                _kernel = _build()
                _state = "ready" if _kernel is not None else "missing"
    return _state == "ready"


def _layout(shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Eight-axis shape: the leading axes run in parallel, up to four trailing axes serially."""
    ndim = len(shape)
    serial = min(3, ndim - 1) if ndim > 1 else 0
    while serial > 1 and math.prod(shape[: ndim - serial]) < _MIN_PARALLEL:
        serial -= 1
    parallel = ndim - serial
    if parallel > _SLOTS:
        return None
    lead = (1,) * (_SLOTS - parallel) + shape[:parallel]
    tail = (1,) * (_SLOTS - serial) + shape[parallel:]
    return lead + tail


def copy_compiled(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any], /, *, tail: int = 0) -> bool:
    """Copy ``src`` into ``dst`` with the compiled kernel; return False if it cannot.

    The arrays should be simplified (no singleton axes, merged axes, destination stride order)
    and must not overlap. ``tail`` trailing axes are short: the loop runs them outside the axis
    just before them, which then reads a contiguous source row in the innermost loop.
    """
    uint = _UINTS.get(dst.itemsize)
    if uint is None or dst.dtype.hasobject or not available():
        return False
    if tail:
        ndim = dst.ndim
        order = [*range(ndim - tail - 1), *range(ndim - tail, ndim), ndim - tail - 1]
        dst = dst.transpose(order)
        src = src.transpose(order)
    layout = _layout(dst.shape)
    if layout is None:
        return False
    kernel = _kernel
    if kernel is None or not _run_lock.acquire(blocking=False):
        return False
    try:
        kernel(dst.view(uint).reshape(layout), src.view(uint).reshape(layout))
    finally:
        _run_lock.release()
    return True
