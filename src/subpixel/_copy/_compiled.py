"""Compiled interleave kernels for the copy engine, built with numba when it is installed.

Two copies make up almost every channels-first shuffle once the copy engine has merged and
sorted the axes (see :mod:`subpixel._copy._blocked`):

* **join** (shuffles): each destination row holds ``width`` groups of ``L`` adjacent elements;
  lane ``k`` of the groups is one contiguous source row. ``dst[w * L + k] = src_k[w]``.
* **split** (unshuffles): the reverse; each contiguous source row of ``width * L`` elements is
  dealt out to ``L`` contiguous destination rows. ``dst_k[w] = src[w * L + k]``.

NumPy's loops copy these one element at a time (its inner loop runs along an axis of length
``L``); a compiled loop whose lane count ``L`` is a compile-time constant lets LLVM turn the
groups into vector shuffles. Each kernel is specialised on ``L`` (:data:`LANES`), on the
element size (as an unsigned integer of 1, 2, 4 or 8 bytes, so every dtype of that size copies
bit for bit) and on the direction: at most ``len(LANES) * 4 * 2`` kernels, whatever the plan's
shape, order, layout or number of axes. They are compiled on first use and cached on disk
(numba's ``cache=True``), so a process pays the compile once per kernel and later processes
load it.

The kernels never start threads of their own (no numba threading layer, which is not
fork-safe): they release the GIL, and the copy engine splits their rows over its own pool
(:mod:`subpixel._threads`), so :func:`subpixel.set_num_threads`, the main-thread-only rule and
the fork handling apply unchanged.

Importing this module imports neither NumPy nor numba: numba loads with the first copy that
uses a kernel.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable
from typing import Any

from subpixel._limits import COMPILED_ITEM_SIZES, COMPILED_LANES

__all__ = ["AVAILABLE", "LANES", "kernel", "reason_unavailable"]

#: Lane counts (the innermost factor) with a kernel of their own.
LANES = COMPILED_LANES

#: Element sizes (bytes) the kernels move, as unsigned integers of that size.
ITEM_SIZES = COMPILED_ITEM_SIZES


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a broken entry
        return False


#: Whether numba is installed (decided once, without importing it).
AVAILABLE = _installed("numba")

_lock = threading.Lock()
_kernels: dict[tuple[str, int], Callable[..., None]] = {}
_broken: str | None = None


def reason_unavailable() -> str | None:
    """Return why the compiled kernels cannot run in this process, or None when they can."""
    if not AVAILABLE:
        return "numba is not installed (pip install 'subpixel[speed]')"
    return _broken


def _join(lanes: int) -> Callable[..., None]:
    """Return the join kernel for ``lanes`` lanes, as Python (compiled by the caller)."""

    def join(dst: Any, src: Any, geometry: Any, start: Any, stop: Any) -> None:
        # geometry: base offsets, width, lane step, then (count, dst step, src step) of three
        # outer axes, outermost first; all unsigned, so no index needs a wrap-around test.
        d, s, width, lane, i0, i1, i2 = _begin(geometry, start)
        n1, n2 = geometry[7], geometry[10]
        d0, d1, d2 = geometry[5], geometry[8], geometry[11]
        s0, s1, s2 = geometry[6], geometry[9], geometry[12]
        size = _np.uint64(lanes)
        for _ in range(start, stop):
            for w in range(width):
                for k in range(lanes):
                    dst[d + w * size + _np.uint64(k)] = src[s + _np.uint64(k) * lane + w]
            # The next row: the last outer axis fastest (unsigned arithmetic wraps exactly).
            i2 += 1
            d += d2
            s += s2
            if i2 == n2:
                i2 = 0
                i1 += 1
                d += d1 - n2 * d2
                s += s1 - n2 * s2
                if i1 == n1:
                    i1 = 0
                    i0 += 1
                    d += d0 - n1 * d1
                    s += s0 - n1 * s1

    return join


def _split(lanes: int) -> Callable[..., None]:
    """Return the split kernel for ``lanes`` lanes, as Python (compiled by the caller)."""

    def split(dst: Any, src: Any, geometry: Any, start: Any, stop: Any) -> None:
        d, s, width, lane, i0, i1, i2 = _begin(geometry, start)
        n1, n2 = geometry[7], geometry[10]
        d0, d1, d2 = geometry[5], geometry[8], geometry[11]
        s0, s1, s2 = geometry[6], geometry[9], geometry[12]
        size = _np.uint64(lanes)
        for _ in range(start, stop):
            for w in range(width):
                for k in range(lanes):
                    dst[d + _np.uint64(k) * lane + w] = src[s + w * size + _np.uint64(k)]
            i2 += 1
            d += d2
            s += s2
            if i2 == n2:
                i2 = 0
                i1 += 1
                d += d1 - n2 * d2
                s += s1 - n2 * s2
                if i1 == n1:
                    i1 = 0
                    i0 += 1
                    d += d0 - n1 * d1
                    s += s0 - n1 * s1

    return split


def _begin_py(geometry: Any, start: Any) -> tuple[Any, ...]:
    """Offsets of row ``start``, the width and lane step, and the row's three outer indices."""
    n1, n2 = geometry[7], geometry[10]
    i2 = start % n2
    i1 = (start // n2) % n1
    i0 = start // n2 // n1
    d = geometry[0] + i0 * geometry[5] + i1 * geometry[8] + i2 * geometry[11]
    s = geometry[1] + i0 * geometry[6] + i1 * geometry[9] + i2 * geometry[12]
    return d, s, geometry[2], geometry[3], i0, i1, i2


_np: Any = None
_begin: Any = None


def _compile(direction: str, lanes: int) -> Callable[..., None]:
    """Compile (or load from numba's cache) the kernel for one direction and lane count."""
    global _np, _begin
    numba = importlib.import_module("numba")
    if _np is None:
        _np = importlib.import_module("numpy")
        _begin = numba.njit(nogil=True, cache=True)(_begin_py)
    source = _join(lanes) if direction == "join" else _split(lanes)
    compiled: Callable[..., None] = numba.njit(nogil=True, cache=True, boundscheck=False)(source)
    return compiled


def kernel(direction: str, lanes: int) -> Callable[..., None] | None:
    """Return the compiled kernel for ``direction`` (``"join"``/``"split"``) and ``lanes``, or None.

    None when numba is not installed, when ``lanes`` has no kernel, or when numba failed to load
    (the reason is then kept for :func:`reason_unavailable`, and the NumPy engine copies).
    """
    global _broken
    if not AVAILABLE or _broken is not None or lanes not in LANES:
        return None
    key = (direction, lanes)
    found = _kernels.get(key)
    if found is not None:
        return found
    with _lock:
        found = _kernels.get(key)
        if found is None:
            try:
                found = _kernels[key] = _compile(direction, lanes)
            except Exception as error:  # a broken numba install must not break copies
                _broken = f"numba failed to load: {type(error).__name__}: {error}"
                return None
    return found
