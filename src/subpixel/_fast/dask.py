"""Fast path for Dask arrays: shuffle each chunk on its own, one task per input chunk.

A pixel shuffle moves data only inside groups of channels and blocks of pixels, so a chunked
array can be shuffled chunk by chunk when no chunk boundary cuts such a group. Each chunk is
then shuffled on the chunk's own library (NumPy, CuPy, ...) in one ``map_blocks`` task, and
the result stays lazy.

When a chunk may be shuffled on its own (``F`` is the product of the factors, ``C`` the
channel count of the shuffled side):

========================  ==============================================================
operation                 chunk-local when
========================  ==============================================================
shuffle, ``"CRD"``        every channel chunk is a multiple of ``F`` (whole groups)
shuffle, ``"DCR"``        the channel axis is one chunk (or ``F == 1``)
unshuffle, ``"CRD"``      every chunk of spatial axis ``i`` is a multiple of ``f_i``
unshuffle, ``"DCR"``      as ``"CRD"``, and the channel axis is one chunk (or ``F == 1``)
========================  ==============================================================

In ``"DCR"`` the ``F`` input channels of one output channel ``c`` are ``c, c + C, ...,
c + (F - 1) * C``: they span the whole channel axis, and a contiguous slab of channels (one
sub-pixel offset, all ``C`` channels) lands on a strided lattice of output pixels, which is
no block of the output. So no split of the channel axis is chunk-local in ``"DCR"``.

Batch axes may be chunked freely. Otherwise the offending axis is rechunked once, to the
nearest aligned chunk boundaries, and a :class:`subpixel.ChunkingWarning` says so.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from subpixel import _routes
from subpixel._fast import Runner
from subpixel._limits import routes
from subpixel._plan import ShufflePlan
from subpixel._spec import ShuffleSpec
from subpixel._warnings import ChunkingWarning

__all__ = ["ROUTES", "SHUFFLES_CHUNKS", "aligned_chunks", "prepare"]

#: The routes of this fast path (see :mod:`subpixel._routes`).
ROUTES = routes("dask")


Chunks = tuple[tuple[int, ...], ...]

#: Shuffles one chunk with the chunk's own library: ``shuffle_chunk(chunk, spec)``.
ChunkShuffle = Callable[[Any, ShuffleSpec], Any]

#: Files under this folder are the library's own frames, skipped when a warning names its caller.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


#: Dask arrays hold other libraries' arrays: :func:`prepare` takes the function that
#: shuffles one chunk (see :mod:`subpixel._dispatch`).
SHUFFLES_CHUNKS = True


def prepare(spec: ShuffleSpec, plan: ShufflePlan, *, shuffle_chunk: ChunkShuffle) -> Runner:
    """Return the function that shuffles a Dask array of the plan's shape chunk by chunk.

    Parameters
    ----------
    spec : ShuffleSpec
        The shuffle.
    plan : ShufflePlan
        Its plan for the whole array.
    shuffle_chunk : callable
        ``shuffle_chunk(chunk, spec)`` shuffles one chunk with the chunk's own library.

    Returns
    -------
    callable
        ``run(x)`` returning a lazy Dask array.
    """
    return functools.partial(_execute, spec=spec, plan=plan, shuffle_chunk=shuffle_chunk)


def aligned_chunks(chunks: Sequence[int], multiple: int) -> tuple[int, ...]:
    """Move each chunk boundary to the nearest multiple of ``multiple``.

    Boundaries that meet are merged, so every chunk but possibly none is a multiple of
    ``multiple`` and chunks keep about their old sizes. The total must be a multiple.

    Parameters
    ----------
    chunks : sequence of int
        Chunk sizes along one axis.
    multiple : int
        Required multiple of every chunk size.

    Returns
    -------
    tuple of int
        The new chunk sizes.

    Examples
    --------
    >>> aligned_chunks((3, 3, 3, 3), 4)
    (4, 4, 4)
    >>> aligned_chunks((1,) * 8, 4)
    (4, 4)
    """
    total = sum(chunks)
    edges = {0, total}
    position = 0
    for size in chunks[:-1]:
        position += size
        edges.add(min(total, (position + multiple // 2) // multiple * multiple))
    ordered = sorted(edges)
    return tuple(b - a for a, b in itertools.pairwise(ordered)) or (0,)


def _execute(x: Any, *, spec: ShuffleSpec, plan: ShufflePlan, shuffle_chunk: ChunkShuffle) -> Any:
    """Shuffle a Dask array chunk by chunk, rechunking first where chunks split groups."""
    import dask.array as da
    import dask.array.utils
    import dask.base

    # Typed through Any: dask's annotations are partial, and this file is checked strictly.
    map_blocks: Any = da.map_blocks
    meta_from_array: Any = dask.array.utils.meta_from_array

    _check_known(x, spec.caller)
    ndim = x.ndim
    k = len(spec.factors)
    nb = ndim - k - 1
    channel_axis = ndim - 1 if spec.channels_last else nb
    spatial_axes = range(nb, nb + k) if spec.channels_last else range(nb + 1, ndim)
    product = math.prod(spec.factors)

    changes = _rechunks_needed(x.chunks, spec, channel_axis, spatial_axes, product)
    if _routes.listening:
        one = all(len(sizes) <= 1 for sizes in x.chunks)
        _routes.record("dask:rechunked" if changes else "dask:one-chunk" if one else "dask:chunked")
    if changes:
        if x.size:  # an empty array is rechunked for free
            warnings.warn(_rechunk_message(x, spec, changes), ChunkingWarning, stacklevel=_user_stacklevel())
        x = x.rechunk({axis: new for axis, (new, _) in changes.items()})

    out_chunks = list(x.chunks)
    for axis, f in zip(spatial_axes, spec.factors, strict=True):
        out_chunks[axis] = tuple(c // f if spec.inverse else c * f for c in x.chunks[axis])
    channel_chunks = x.chunks[channel_axis]
    if spec.order == "DCR" and product > 1:
        out_chunks[channel_axis] = (plan.collapse_shape[channel_axis],)
    elif spec.inverse:
        out_chunks[channel_axis] = tuple(c * product for c in channel_chunks)
    else:
        out_chunks[channel_axis] = tuple(c // product for c in channel_chunks)

    token = dask.base.tokenize(x.name, spec.factors, spec.inverse, spec.channels_last, spec.order)
    out = map_blocks(
        shuffle_chunk,
        x,
        spec,
        chunks=tuple(out_chunks),
        dtype=x.dtype,
        meta=meta_from_array(x),
        # A full, unique key name (``token=`` is deprecated in several dask releases).
        name=f"{spec.caller}-{token}",
    )
    if tuple(out.shape) != plan.collapse_shape:  # pragma: no cover - guards the arithmetic above
        msg = f"{spec.caller}: internal error, chunked result {out.shape} != planned {plan.collapse_shape}"
        raise AssertionError(msg)
    return out


def _user_stacklevel() -> int:
    """Stack level, seen from the caller of this function, of the first frame outside subpixel."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level


def _check_known(x: Any, caller: str) -> None:
    for axis, sizes in enumerate(x.chunks):
        if any(math.isnan(size) for size in sizes):
            msg = (
                f"{caller}: x has unknown chunk sizes on axis {axis} (shape {x.shape}); call "
                "x.compute_chunk_sizes() before shuffling it"
            )
            raise ValueError(msg)


def _rechunks_needed(
    chunks: Chunks, spec: ShuffleSpec, channel_axis: int, spatial_axes: range, product: int
) -> dict[int, tuple[tuple[int, ...], str]]:
    """Return ``{axis: (new chunks, reason)}`` for each axis whose chunks split a group."""
    changes: dict[int, tuple[tuple[int, ...], str]] = {}
    channel_chunks = chunks[channel_axis]
    if spec.order == "DCR" and product > 1:
        if len(channel_chunks) > 1:
            group = (
                f"the {product} output channels made from one input channel"
                if spec.inverse
                else f"the {product} input channels of one output channel"
            )
            reason = f"in order='DCR' {group} are spread over the whole channel axis, so it must be one chunk"
            changes[channel_axis] = ((sum(channel_chunks),), reason)
    elif not spec.inverse and any(c % product for c in channel_chunks):
        reason = (
            f"channel chunks must hold whole groups of {product} channels "
            f"(the product of the factors {spec.factors})"
        )
        changes[channel_axis] = (aligned_chunks(channel_chunks, product), reason)
    if spec.inverse:
        for axis, f in zip(spatial_axes, spec.factors, strict=True):
            if any(c % f for c in chunks[axis]):
                reason = f"chunks of this spatial axis must be multiples of its factor {f}"
                changes[axis] = (aligned_chunks(chunks[axis], f), reason)
    return changes


def _rechunk_message(x: Any, spec: ShuffleSpec, changes: dict[int, tuple[tuple[int, ...], str]]) -> str:
    parts = [
        f"axis {axis} from chunks {_short(x.chunks[axis])} to {_short(new)} ({reason})"
        for axis, (new, reason) in sorted(changes.items())
    ]
    return (
        f"{spec.caller}: rechunking x of shape {tuple(x.shape)} before shuffling it chunk by chunk: "
        + "; ".join(parts)
        + ". Store the data with such chunks to avoid this extra copy."
    )


def _short(values: tuple[int, ...]) -> str:
    text = str(values)
    return text if len(text) <= 60 else text[:56] + "...)"
