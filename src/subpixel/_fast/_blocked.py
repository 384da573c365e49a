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

Routes recorded (see :mod:`subpixel._routes`): ``numpy:plain-copy`` (one ``np.copyto``: the
view needs no blocking), ``numpy:blocked`` (slice copies on the calling thread) and
``numpy:threaded`` (slice copies split over the pool).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from subpixel import _routes, _threads

__all__ = ["BLOCK_BYTES", "PARALLEL_BYTES", "copy_into"]

#: Destination bytes per block: a quarter of this machine's 1 MiB L2 per core leaves room for
#: the source rows and for the other thread's block when both cores share a cache.
BLOCK_BYTES = 256 * 1024

#: Copies of at least this many bytes are split over the worker threads.
PARALLEL_BYTES = 8 * 1024 * 1024

#: Longest run of trailing destination elements copied slice by slice.
MAX_TAIL = 64

#: Shortest source-contiguous row worth a slice of its own.
MIN_ROW = 8


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
        return 0
    if math.prod(dst.shape[row + 1 :]) > MAX_TAIL:
        return 0
    return inner - row


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


def _copy_blocks(
    dst: np.ndarray[Any, Any],
    src: np.ndarray[Any, Any],
    blocks: list[tuple[Any, ...]],
    tails: list[tuple[Any, ...]],
) -> None:
    for index in blocks:
        d = dst[index]
        s = src[index]
        for tail in tails:
            d[tail] = s[tail]


def _split(items: list[tuple[Any, ...]], parts: int) -> Iterator[list[tuple[Any, ...]]]:
    size = -(-len(items) // parts)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def copy_into(
    dst: np.ndarray[Any, Any],
    src: np.ndarray[Any, Any],
    /,
) -> None:
    """Copy ``src`` into ``dst`` (same shape and dtype, any strides) with cache-sized blocks.

    Parameters
    ----------
    dst : numpy.ndarray
        Writable destination; it must not overlap ``src``.
    src : numpy.ndarray
        Source view of the same shape and dtype.
    """
    if dst.size == 0:
        return
    dst, src = _simplify(dst, src)
    tail = _tail_length(dst, src) if dst.ndim else 0
    if not tail:
        if _routes.listening:
            _routes.record("numpy:plain-copy")
        np.copyto(dst, src, casting="no")
        return
    inner = dst.shape[dst.ndim - tail :]
    tails = [(Ellipsis, *idx) for idx in itertools.product(*map(range, inner))]
    blocks = _blocks(dst.shape, dst.ndim - tail, dst.itemsize)
    run_blocks(dst, src, blocks, tails)


def run_blocks(
    dst: np.ndarray[Any, Any],
    src: np.ndarray[Any, Any],
    blocks: list[tuple[Any, ...]],
    tails: list[tuple[Any, ...]],
) -> None:
    """Copy ``src[block][tail]`` into ``dst[block][tail]`` for every block and tail.

    Copies of at least :data:`PARALLEL_BYTES` split the blocks over the thread pool when the
    calling thread may use more than one thread (see :func:`subpixel._threads.threads_for_call`).
    """
    workers = _threads.threads_for_call()
    if dst.nbytes < PARALLEL_BYTES or workers == 1 or len(blocks) < 2:
        if _routes.listening:
            _routes.record("numpy:blocked")
        _copy_blocks(dst, src, blocks, tails)
        return
    if _routes.listening:
        _routes.record("numpy:threaded")
    pool = _threads.pool()
    futures = [pool.submit(_copy_blocks, dst, src, part, tails) for part in _split(blocks, workers)]
    for future in futures:
        future.result()
