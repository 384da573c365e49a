"""Cache-blocked strided copy in plain NumPy: the engine behind the CPU fast paths.

A shuffle copies a permuted view into a fresh array. NumPy copies in the order of the
destination, so its innermost loop runs along the destination's last axis; for a shuffle that
axis is a factor axis of length ``r`` whose source stride is a whole plane. Every element then
costs a loop step and the source is read from a different plane each time.

This module copies the same view as a few slice assignments instead: it drops singleton axes,
merges axes that are contiguous in both arrays, and, when the last destination axes are short
and the source is contiguous one axis further out, copies one slice per index of those short
axes, so each inner loop reads a contiguous source row. Blocks of the leading axes sized for a
core's L2 cache keep the partly written destination lines in cache between those slice copies,
and large copies split their blocks over the shared thread pool of :mod:`subpixel._threads`
(NumPy releases the GIL while it copies).

Two patterns get kernels of their own when ``L`` adjacent narrow elements fill 2, 4 or 8 bytes
(chosen from the views' shapes, strides and element size alone, never by timing):

* **lanes-split** (unshuffles): the destination's rows are contiguous but the source reads them
  with a stride of ``L`` elements, because an axis of length ``L`` is the source's contiguous
  one. ``L`` adjacent source elements are one unsigned integer of ``L`` times the width: the
  kernel reads those wide integers and splits each into its ``L`` lanes with a shift and a
  truncating cast per lane.
* **lanes-join** (shuffles): the reverse; ``L`` contiguous source rows are joined into the
  wide integers of the destination with widening casts, shifts and ORs.

Every step is a contiguous, vectorised NumPy loop over a block that stays in cache. Bytes are
only moved, never interpreted, so every dtype of the element size copies bit for bit; lane
``k`` is bits ``[8*k*s, 8*(k+1)*s)`` of the wide integer on a little-endian machine (other byte
orders take the plain or blocked copy). :data:`SPLIT_LANES` and :data:`JOIN_LANES` list the
``(element bytes, L)`` pairs where the kernels measured faster than the slice copies.

Copies whose views have the join or split form go to the compiled kernels of
:mod:`subpixel._copy._compiled` instead, where subpixel-kernels is installed.

Routes recorded (see :mod:`subpixel._routes`) when the caller names its backend (the NumPy
fast path does; the torch path records its own route instead), as declared in
:data:`subpixel._limits.ENGINE_ROUTES`: ``numpy:plain-copy`` (one ``np.copyto``: the view needs
no blocking), ``numpy:blocked``, ``numpy:lanes-split`` and ``numpy:lanes-join`` (the kernels),
``numpy:compiled-join`` and ``numpy:compiled-split``, and ``numpy:threaded`` beside a kernel's
tag when its blocks were split over the pool.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from subpixel import _routes, _threads
from subpixel._copy import _compiled
from subpixel._limits import (
    BLOCK_BYTES,
    COMPILED_BLOCK_BYTES,
    JOIN_LANES,
    LANE_BYTES,
    MAX_TAIL,
    MIN_ROW,
    PARALLEL_BYTES,
    SPLIT_LANES,
)
from subpixel._plan import ShufflePlan

__all__ = ["copy_into", "shuffle_large"]

Blocks = list[tuple[Any, ...]]


def _simplify(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    """Return views of ``dst`` and ``src`` in destination stride order, singletons dropped, merged."""
    if 1 in dst.shape:
        keep = [a for a, n in enumerate(dst.shape) if n != 1]
        squeezed = tuple(dst.shape[a] for a in keep)
        dst = dst.reshape(squeezed)
        src = src.reshape(squeezed)
    order = sorted(range(dst.ndim), key=lambda a: -abs(dst.strides[a]))
    if order != list(range(dst.ndim)):
        dst = dst.transpose(order)
        src = src.transpose(order)
    shape: list[int] = []
    for a in range(dst.ndim):
        n = dst.shape[a]
        if shape and dst.strides[a - 1] == dst.strides[a] * n and src.strides[a - 1] == src.strides[a] * n:
            shape[-1] *= n
        else:
            shape.append(n)
    if len(shape) == dst.ndim:
        return dst, src
    merged_dst = dst.reshape(shape)
    if not np.may_share_memory(merged_dst, dst):  # pragma: no cover - merging contiguous axes is a view
        msg = "internal error: merging destination axes copied the destination"
        raise RuntimeError(msg)
    return merged_dst, src.reshape(shape)


def _tail_length(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> int:
    """How many trailing axes to copy slice by slice (0: one plain copy per block)."""
    ndim = dst.ndim
    if ndim < 2:
        return 0
    item = dst.itemsize
    inner = ndim - 1
    if abs(src.strides[inner]) == item or dst.shape[inner] >= MAX_TAIL:
        return 0
    row = min(range(ndim), key=lambda a: abs(src.strides[a]))
    if row == inner or abs(src.strides[row]) != item or dst.shape[row] < MIN_ROW:
        return _short_tail(dst.shape)
    if math.prod(dst.shape[row + 1 :]) > MAX_TAIL:
        return 0
    return inner - row


def _short_tail(shape: tuple[int, ...]) -> int:
    """Trailing axes shorter than MIN_ROW in front of a long one: copied slice by slice (or 0).

    Channels-last shuffles end in two short axes (a factor and the channels) that no source
    row runs along; NumPy's own copy then loops over a handful of elements at a time. One slice
    per index of those axes makes every inner loop run along the long axis in front of them
    (strided on both sides): measured 4x faster on an NHWC uint8 shuffle by 2 of 3 channels.
    """
    count = 0
    while count < len(shape) - 1 and shape[-1 - count] < MIN_ROW:
        count += 1
    if not count or shape[-1 - count] < MIN_ROW or math.prod(shape[len(shape) - count :]) > MAX_TAIL:
        return 0
    return count


def _blocks(shape: tuple[int, ...], stop: int, item: int) -> list[tuple[Any, ...]]:
    """Index tuples that cut axes ``[0, stop)`` of ``shape`` into blocks of about BLOCK_BYTES."""
    row_bytes = math.prod(shape[stop:]) * item
    split = stop
    while split > 0 and row_bytes * shape[split - 1] <= BLOCK_BYTES:
        split -= 1
        row_bytes *= shape[split]
    if split == 0:
        return [()]
    axis = split - 1
    step = max(1, BLOCK_BYTES // row_bytes)
    chunks = [slice(i, i + step) for i in range(0, shape[axis], step)]
    return [(*lead, chunk) for lead in itertools.product(*map(range, shape[:axis])) for chunk in chunks]


def _split_axis(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any], minimum: int = MIN_ROW) -> int | None:
    """Return the axis whose index picks a lane of a lanes-split copy, or None.

    Its source stride is one element, and the destination's last axis, contiguous there, steps
    over exactly its length in the source: every destination row reads every ``L``-th element
    of a contiguous source run.
    """
    ndim = dst.ndim
    if ndim < 2:
        return None
    item = dst.itemsize
    inner = ndim - 1
    if dst.strides[inner] != item or dst.shape[inner] < minimum:
        return None
    for axis in range(inner):
        if src.strides[axis] == item and dst.shape[axis] > 1 and src.strides[inner] == item * dst.shape[axis]:
            return axis
    return None


def _unsigned(a: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return a.view(np.dtype(f"u{a.itemsize}"))


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
    # A C-contiguous input into a C-contiguous result: the compiled copy prepared for this plan
    # and dtype runs on flat views of both (see _plan_jobs).
    dense = _compiled.AVAILABLE and x.flags.c_contiguous and (out is None or out.flags.c_contiguous)
    if dense:
        job = _plan_jobs.get((plan, x.dtype))
        if job is not None and x.flags.aligned and (out is None or out.flags.aligned):
            if out is None:
                out = np.empty(plan.collapse_shape, dtype=x.dtype)
            unsigned = job.unsigned
            _run_job(job, out.reshape(-1).view(unsigned), x.reshape(-1).view(unsigned), out.nbytes, backend)
            return out
    src = x.reshape(plan.expand_shape).transpose(plan.axes)
    if out is None:
        out = np.empty(plan.collapse_shape, dtype=x.dtype)
    dst = out.reshape(src.shape)
    if dst.size and not np.may_share_memory(dst, out):  # pragma: no cover - splitting axes is a view
        msg = "internal error: reshaping the result copied it"
        raise RuntimeError(msg)
    job = _copy_into(dst, src, backend)
    if dense and job is not None:
        if len(_plan_jobs) >= MAX_JOBS:
            _plan_jobs.clear()
        _plan_jobs[plan, x.dtype] = job
    return out


def copy_into(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any], /, *, backend: str | None = None) -> None:
    """Copy ``src`` into ``dst`` (same shape and dtype, any strides) with cache-sized blocks.

    Parameters
    ----------
    dst : numpy.ndarray
        Writable destination; it must not overlap ``src``.
    src : numpy.ndarray
        Source view of the same shape and dtype.
    backend : str, optional
        Record the route taken as ``"<backend>:<route>"`` (nothing is recorded without it).
    """
    _copy_into(dst, src, backend)


def _copy_into(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any], backend: str | None) -> _Job | None:
    """:func:`copy_into`; return the compiled copy that ran, or None when another route copied."""
    if dst.size == 0:
        return None
    item = dst.itemsize
    lanes_ok = not dst.dtype.hasobject
    if _compiled.AVAILABLE and lanes_ok and item in _compiled.ITEM_SIZES:
        key = (dst.shape, dst.strides, src.strides, item)
        job = _jobs.get(key)
        if job is None:
            job = _compiled_job(*_simplify(dst, src))
            if job is not None:
                if len(_jobs) >= MAX_JOBS:
                    _jobs.clear()
                _jobs[key] = job
        if job is not None and dst.flags.aligned and src.flags.aligned:
            unsigned = job.unsigned
            flat_dst = _flat(dst.view(unsigned), writeable=True)
            _run_job(job, flat_dst, _flat(src.view(unsigned), writeable=False), dst.nbytes, backend)
            return job
    dst, src = _simplify(dst, src)
    # Where the compiled kernels work, the lanes kernels never run (the views the compiled ones
    # decline, unaligned or reversed, take the slice copies), so their routes are unreachable.
    lanes_ok = lanes_ok and (not _compiled.AVAILABLE or _compiled.reason_unavailable() is not None)
    axis = _split_axis(dst, src) if lanes_ok and item in {n // 2 for n in LANE_BYTES} else None
    if axis is not None and (item, dst.shape[axis]) in SPLIT_LANES:
        order = [a for a in range(dst.ndim) if a != axis] + [axis]
        dst = dst.transpose(order)
        src = src.transpose(order)
        blocks = _blocks(dst.shape, dst.ndim - 2, item)
        _run("lanes-split", backend, _split_kernel(_unsigned(dst), _unsigned(src)), blocks, dst.nbytes)
        return None
    tail = _tail_length(dst, src) if dst.ndim else 0
    if not tail:
        # One call on this thread: split over two threads, these copies measured 0.77x to 0.97x
        # (busy 2-core machine), so they are not split.
        if _routes.listening and backend:
            _routes.record(f"{backend}:plain-copy")
        np.copyto(dst, src, casting="no")
        return None
    lanes = dst.shape[-1]
    if (
        tail == 1
        and lanes_ok
        and lanes * item in LANE_BYTES
        and (item, lanes) in JOIN_LANES
        and dst.strides[-1] == item
        and dst.strides[-2] == item * lanes
    ):
        blocks = _blocks(dst.shape, dst.ndim - 2, item)
        _run("lanes-join", backend, _join_kernel(_unsigned(dst), _unsigned(src)), blocks, dst.nbytes)
        return None
    inner = dst.shape[dst.ndim - tail :]
    tails = [(Ellipsis, *idx) for idx in itertools.product(*map(range, inner))]
    blocks = _blocks(dst.shape, dst.ndim - tail, item)
    _run("blocked", backend, _copy_kernel(dst, src, tails), blocks, dst.nbytes)
    return None


Kernel = Callable[[Blocks], None]


class _Job(NamedTuple):
    """A compiled copy prepared for one geometry.

    The kernel, its route, its blocks of rows (for the threads), the same rows as the fewest
    calls (for one thread) and the unsigned dtype of the element size it moves.
    """

    kernel: Callable[..., None]
    route: str
    blocks: Blocks
    runs: Blocks
    unsigned: np.dtype[Any]


#: Prepared compiled copies by ``(shape, destination strides, source strides, element size)``:
#: repeated calls on one geometry skip the planning.
_jobs: dict[tuple[Any, ...], _Job] = {}
#: The same for :func:`shuffle_large` on a C-contiguous input into a C-contiguous result, by
#: ``(plan, dtype)``: such a call skips the views and their checks too (about 4 us of a 6 us
#: call on 64 KiB).
_plan_jobs: dict[tuple[Any, ...], _Job] = {}
MAX_JOBS = 256


class _Form(NamedTuple):
    """How a copy maps onto a compiled kernel (see :mod:`subpixel._copy._compiled`).

    ``lanes`` lanes in runs of ``inner``, lane ``k`` at ``(k // inner) * outer + (k % inner) *
    lane`` elements on the laned side; rows of ``width`` groups; the kernel's rows walk the axes
    ``walk`` (views' axes, outermost first).
    """

    direction: str
    lanes: int
    width: int
    lane: int
    inner: int
    outer: int
    walk: list[int]


def _compiled_form(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> _Form | None:
    """Return the compiled kernel's form of a copy between simplified views, or None.

    Join: the destination's last axis, or last two axes, are contiguous groups of ``L`` lanes,
    and the source reads each lane as a contiguous row. Split: the destination's last axis is
    contiguous, and one other axis of length ``L``, or two, pick every ``L``-th element of a
    contiguous source run. Lanes of two axes come from channels-last copies (the factor's two
    offsets are the lanes, the channels the row).
    """
    ndim = dst.ndim
    item = dst.itemsize
    if ndim < 2 or dst.strides[-1] != item:
        return None
    if any(s < 0 or s % item for s in (*dst.strides, *src.strides)):
        return None
    lanes = dst.shape[-1]
    if src.strides[-2] == item and dst.strides[-2] == item * lanes and lanes in _compiled.LANES:
        return _Form("join", lanes, dst.shape[-2], src.strides[-1] // item, lanes, 0, list(range(ndim - 2)))
    if ndim >= 3 and dst.strides[-2] == item * dst.shape[-1]:  # a group of two axes
        lanes = dst.shape[-2] * dst.shape[-1]
        width = dst.shape[-3]
        if src.strides[-3] == item and dst.strides[-3] == item * lanes and lanes in _compiled.LANES:
            lane, outer = src.strides[-1] // item, src.strides[-2] // item
            return _Form("join", lanes, width, lane, dst.shape[-1], outer, list(range(ndim - 3)))
    width = dst.shape[-1]
    found = _split_axis(dst, src, minimum=1)
    if found is not None and dst.shape[found] in _compiled.LANES:
        lanes = dst.shape[found]
        lane = dst.strides[found] // item
        # Rows in source order: the source is read once, front to back, and each destination
        # lane is written as a few sequential streams (as the join reads its source).
        walk = sorted((a for a in range(ndim - 1) if a != found), key=lambda a: -src.strides[a])
        return _Form("split", lanes, width, lane, lanes, 0, walk)
    pair = _split_pair(dst, src)
    if pair is None:
        return None
    first, second = pair
    lanes = dst.shape[first] * dst.shape[second]
    if lanes not in _compiled.LANES:
        return None
    lane, outer = dst.strides[second] // item, dst.strides[first] // item
    walk = sorted((a for a in range(ndim - 1) if a not in pair), key=lambda a: -src.strides[a])
    return _Form("split", lanes, width, lane, dst.shape[second], outer, walk)


def _split_pair(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> tuple[int, int] | None:
    """Return the two axes whose indices pick a lane of a split, outer first, or None.

    Together they step over one contiguous source run of ``L`` elements (the second one element
    at a time), and the destination's last axis steps over whole runs.
    """
    item = dst.itemsize
    inner = dst.ndim - 1
    for second in range(inner):
        if src.strides[second] != item or dst.shape[second] < 2:
            continue
        for first in range(inner):
            run = dst.shape[first] * dst.shape[second]
            if (
                first != second
                and dst.shape[first] > 1
                and src.strides[first] == item * dst.shape[second]
                and src.strides[inner] == item * run
            ):
                return first, second
    return None


def _compiled_job(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> _Job | None:
    """Prepare a compiled join or split copy when the views have that form (see :func:`_compiled_form`)."""
    form = _compiled_form(dst, src)
    if form is None:
        return None
    item = dst.itemsize
    compiled = _compiled.kernel(form.direction, form.lanes)
    if compiled is None:
        return None
    # Three outer axes go to the kernel; any further (leading) ones are looped here.
    axes = [(dst.shape[a], dst.strides[a] // item, src.strides[a] // item) for a in form.walk]
    axes = [(1, 0, 0)] * (3 - len(axes)) + axes
    inner, leading = axes[-3:], axes[:-3]
    rows = math.prod(n for n, _, _ in inner)
    step = max(1, COMPILED_BLOCK_BYTES // (form.width * form.lanes * item))
    blocks: Blocks = []
    for index in itertools.product(*(range(n) for n, _, _ in leading)):
        base_dst = sum(i * a[1] for i, a in zip(index, leading, strict=True))
        base_src = sum(i * a[2] for i, a in zip(index, leading, strict=True))
        walk = itertools.chain(*inner)
        lanes = (form.inner, form.outer)
        geometry = np.array([base_dst, base_src, form.width, form.lane, *walk, *lanes], np.uint64)
        geometry.flags.writeable = False
        blocks += [(geometry, start, min(start + step, rows)) for start in range(0, rows, step)]
    runs = [(geometry, 0, rows) for geometry, start, _ in blocks if start == 0]
    return _Job(compiled, f"compiled-{form.direction}", blocks, runs, np.dtype(f"u{item}"))


def _run_job(
    job: _Job,
    flat_dst: np.ndarray[Any, Any],
    flat_src: np.ndarray[Any, Any],
    nbytes: int,
    backend: str | None,
) -> None:
    """Run a prepared compiled copy of ``nbytes`` between flat views of the buffers it was prepared for."""
    compiled = job.kernel
    if nbytes < PARALLEL_BYTES:  # one thread (see _run): the fewest calls
        if _routes.listening and backend:
            _routes.record(f"{backend}:{job.route}")
        for geometry, start, stop in job.runs:
            compiled(flat_dst, flat_src, geometry, start, stop)
        return

    def run(part: Blocks) -> None:
        u64 = np.uint64
        geometry, start, stop = part[0]
        for following, begin, end in part[1:]:
            if following is geometry and begin == stop:
                stop = end
                continue
            compiled(flat_dst, flat_src, geometry, u64(start), u64(stop))
            geometry, start, stop = following, begin, end
        compiled(flat_dst, flat_src, geometry, u64(start), u64(stop))

    _run(job.route, backend, run, job.blocks, nbytes)


def _flat(view: np.ndarray[Any, Any], *, writeable: bool) -> np.ndarray[Any, Any]:
    """Return a 1-D array of every element from ``view``'s first to its last (non-negative strides)."""
    # A dense view (a permutation of a contiguous block) ravels in memory order without a copy,
    # from its first element: much cheaper than as_strided.
    flat = view.ravel(order="K")
    if np.may_share_memory(flat, view):
        if not writeable:
            flat.flags.writeable = False  # one compiled signature for every source
        return flat
    extent = 1 + sum((n - 1) * s for n, s in zip(view.shape, view.strides, strict=True)) // view.itemsize
    return np.lib.stride_tricks.as_strided(view, (extent,), (view.itemsize,), writeable=writeable)


def _copy_kernel(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any], tails: Blocks) -> Kernel:
    """Slice copies: ``dst[block][tail] = src[block][tail]`` for every block, then every tail."""

    def run(blocks: Blocks) -> None:
        for index in blocks:
            d = dst[index]
            s = src[index]
            for tail in tails:
                d[tail] = s[tail]

    return run


def _split_kernel(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> Kernel:
    """Lanes-split: ``dst[..., k]`` is lane ``k`` of the wide integers ``src`` makes with its last axis."""
    lanes = dst.shape[-1]
    bits = 8 * dst.itemsize
    wide = src.view(np.dtype(f"u{dst.itemsize * lanes}"))[..., 0]

    def run(blocks: Blocks) -> None:
        scratch: np.ndarray[Any, Any] | None = None
        for index in blocks:
            w = wide[index]
            d = dst[index]
            np.copyto(d[..., 0], w, casting="unsafe")  # the low lane: a truncating cast
            if scratch is None or scratch.size < w.size:
                scratch = np.empty(w.size, wide.dtype)
            shifted = scratch[: w.size].reshape(w.shape)
            for lane in range(1, lanes):
                np.right_shift(w, bits * lane, out=shifted)
                np.copyto(d[..., lane], shifted, casting="unsafe")

    return run


def _join_kernel(dst: np.ndarray[Any, Any], src: np.ndarray[Any, Any]) -> Kernel:
    """Lanes-join: lane ``k`` of the wide integers ``dst`` makes with its last axis is ``src[..., k]``."""
    lanes = dst.shape[-1]
    bits = 8 * dst.itemsize
    wide = dst.view(np.dtype(f"u{dst.itemsize * lanes}"))[..., 0]

    def run(blocks: Blocks) -> None:
        scratch: np.ndarray[Any, Any] | None = None
        for index in blocks:
            w = wide[index]
            s = src[index]
            np.copyto(w, s[..., 0], casting="unsafe")  # a widening cast: the high lanes are zero
            if scratch is None or scratch.size < w.size:
                scratch = np.empty(w.size, wide.dtype)
            lane_bits = scratch[: w.size].reshape(w.shape)
            for lane in range(1, lanes):
                np.copyto(lane_bits, s[..., lane], casting="unsafe")
                np.left_shift(lane_bits, bits * lane, out=lane_bits)
                np.bitwise_or(w, lane_bits, out=w)

    return run


#: Each thread of a threaded copy takes about this many parts of the blocks, one at a time.
PARTS_PER_THREAD = 4


def _parts(items: Blocks, count: int) -> list[Blocks]:
    """Cut ``items`` into at most ``count`` runs of consecutive items, as equal as they come."""
    size = -(-len(items) // count)
    return [items[start : start + size] for start in range(0, len(items), size)]


def _run(route: str, backend: str | None, kernel: Kernel, blocks: Blocks, nbytes: int) -> None:
    """Run ``kernel`` over ``blocks``: on this thread, or shared with the pool for large copies.

    Copies of at least :data:`PARALLEL_BYTES` share the blocks with the thread pool when the
    calling thread may use more than one thread (see :func:`subpixel._threads.threads_for_call`).
    The calling thread works too, and the blocks are handed out in parts as threads come for
    them, so a thread slowed by other work (PyTorch's spinning OpenMP workers after a
    multi-threaded op) takes fewer parts instead of holding the copy back.
    """
    workers = _threads.threads_for_call()
    threaded = nbytes >= PARALLEL_BYTES and workers > 1 and len(blocks) > 1
    if _routes.listening and backend:
        _routes.record(f"{backend}:{route}")
        if threaded:
            _routes.record(f"{backend}:threaded")
    if not threaded:
        kernel(blocks)
        return
    parts = _parts(blocks, workers * PARTS_PER_THREAD)
    handed = itertools.count()  # next() on a count is atomic: each part goes to one thread

    def work() -> None:
        while (index := next(handed)) < len(parts):
            kernel(parts[index])

    helpers = min(workers, len(parts)) - 1
    pool = _threads.pool()
    futures = [pool.submit(work) for _ in range(helpers)]
    try:
        work()
    finally:
        for future in futures:
            future.result()
