"""Dask arrays: lazy, chunk-local shuffles, bit for bit with the NumPy path."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import dask
import dask.array as da
import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

import subpixel
from subpixel._dispatch import backend_for
from subpixel._fast.dask import aligned_chunks
from subpixel._warnings import ChunkingWarning
from tests.values import same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("dask",)

DTYPES = ["float32", "float64", "float16", "complex64", "int8", "uint16", "int64", "bool"]
FACTORS: list[Any] = [1, 2, 3, (2, 3), (3,), (2, 1, 2)]


def shuffle(x: Any, factor: Any, inverse: bool, **kwargs: Any) -> Any:
    fn = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    return fn(x, factor, **kwargs)


def input_shape(
    factor: Any, inverse: bool, channels_last: bool, batch: tuple[int, ...] = (2,)
) -> tuple[int, ...]:
    factors = (factor, factor) if isinstance(factor, int) else tuple(factor)
    product = math.prod(factors)
    spatial = tuple(3 + i for i in range(len(factors)))
    if inverse:
        spatial = tuple(s * f for s, f in zip(spatial, factors, strict=True))
        channels = 3
    else:
        channels = 3 * product
    return (*batch, *spatial, channels) if channels_last else (*batch, channels, *spatial)


def new_layers(y: Any, x: Any) -> dict[str, Any]:
    return {name: layer for name, layer in y.dask.layers.items() if name not in x.dask.layers}


def expect_local(x: Any, expected_warning: bool) -> Any:
    if expected_warning:
        return pytest.warns(ChunkingWarning)
    return warnings.catch_warnings()


# --------------------------------------------------------------------------------------------
# Bit for bit against NumPy, over dtypes, layouts, orders, factors and chunkings.


def chunkings(shape: tuple[int, ...]) -> list[Any]:
    """Whole array, halves, single elements, and an uneven split of every axis."""
    uneven = tuple(tuple(c for c in (1, s - 1) if c) if s > 1 else (s,) for s in shape)
    return [shape, tuple(max(1, s // 2) for s in shape), (1,) * len(shape), uneven]


@pytest.mark.parametrize("order", ["CRD", "DCR"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["first", "last"])
@pytest.mark.parametrize("inverse", [False, True], ids=["shuffle", "unshuffle"])
@pytest.mark.parametrize("factor", FACTORS, ids=str)
def test_matches_numpy_every_layout(order: str, channels_last: bool, inverse: bool, factor: Any) -> None:
    shape = input_shape(factor, inverse, channels_last, batch=(1,))
    data = special_array(shape, "float32", seed=len(shape))
    expected = shuffle(data, factor, inverse, channels_last=channels_last, order=order)
    for chunks in chunkings(shape):
        x = da.from_array(data, chunks=chunks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChunkingWarning)
            y = shuffle(x, factor, inverse, channels_last=channels_last, order=order)
        assert isinstance(y, da.Array)
        assert same_bits(y.compute(), expected), (chunks, y.chunks)
    assert same_bits(data, special_array(shape, "float32", seed=len(shape)))  # input untouched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ["CRD", "DCR"])
@pytest.mark.parametrize("inverse", [False, True], ids=["shuffle", "unshuffle"])
def test_matches_numpy_every_dtype(dtype: str, order: str, inverse: bool) -> None:
    shape = input_shape((2, 3), inverse, channels_last=False, batch=(3,))
    data = special_array(shape, dtype, seed=7)
    expected = shuffle(data, (2, 3), inverse, order=order)
    for chunks in [(2, 6, 6, 6), (1, 5, 3, 4)]:  # whole groups, then split groups
        x = da.from_array(data, chunks=chunks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ChunkingWarning)
            y = shuffle(x, (2, 3), inverse, order=order)
        assert y.dtype == expected.dtype
        assert same_bits(y.compute(), expected), (chunks, y.chunks)


@st.composite
def chunked_case(draw: st.DrawFn) -> tuple[np.ndarray, tuple[tuple[int, ...], ...], Any, bool, bool, str]:
    k = draw(st.integers(1, 3))
    factors = tuple(draw(st.integers(1, 3)) for _ in range(k))
    inverse = draw(st.booleans())
    channels_last = draw(st.booleans())
    order = draw(st.sampled_from(["CRD", "DCR"]))
    batch = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    small = tuple(draw(st.integers(1, 4)) for _ in range(k))
    channels = draw(st.integers(1, 3))
    if inverse:
        spatial = tuple(s * f for s, f in zip(small, factors, strict=True))
        depth = channels
    else:
        spatial, depth = small, channels * math.prod(factors)
    shape = (*batch, *spatial, depth) if channels_last else (*batch, depth, *spatial)
    chunks: list[tuple[int, ...]] = []
    for size in shape:
        if size == 0:
            chunks.append((0,))
            continue
        cuts = sorted(draw(st.sets(st.integers(1, size - 1), max_size=size - 1)) if size > 1 else set())
        edges = [0, *cuts, size]
        chunks.append(tuple(b - a for a, b in itertools.pairwise(edges)))
    data = special_array(shape, "float32", seed=draw(st.integers(0, 2**16)))
    return data, tuple(chunks), factors, inverse, channels_last, order


@hypothesis.given(chunked_case())
def test_any_chunking_matches_numpy(case: tuple[Any, ...]) -> None:
    data, chunks, factors, inverse, channels_last, order = case
    expected = shuffle(data, factors, inverse, channels_last=channels_last, order=order)
    x = da.from_array(data, chunks=chunks)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ChunkingWarning)
        y = shuffle(x, factors, inverse, channels_last=channels_last, order=order)
    assert same_bits(y.compute(), expected)
    rechunked = y.dask.dependencies[y.name] != {x.name}
    assert bool(caught) == (rechunked and data.size > 0), (chunks, [str(w.message) for w in caught])
    assert all(w.category is ChunkingWarning for w in caught)
    if not rechunked:
        assert len(new_layers(y, x)) == 1
        assert len(y.dask.layers[y.name]) == x.npartitions


# --------------------------------------------------------------------------------------------
# Chunk locality: one task per input chunk, chunks scaled, no rechunk.


CHUNK_LOCAL = [
    # (input shape, input chunks, factor, inverse, options, expected output chunks)
    ((4, 16, 6, 8), (1, 8, 3, 5), 2, False, {}, ((1,) * 4, (2, 2), (6, 6), (10, 6))),
    ((2, 7, 18), (1, 7, 6), (3,), False, {"channels_last": True}, ((1, 1), (21,), (2, 2, 2))),
    ((2, 12, 4, 4, 4), (2, 4, 2, 2, 2), (2, 1, 2), False, {}, ((2,), (1,) * 3, (4, 4), (2, 2), (4, 4))),
    ((4, 16, 6, 8), (1, 16, 3, 5), 2, False, {"order": "DCR"}, ((1,) * 4, (4,), (6, 6), (10, 6))),
    ((3, 5, 8, 12), (2, 2, 4, 6), 2, True, {}, ((2, 1), (8, 8, 4), (2, 2), (3, 3))),
    ((3, 8, 12, 5), (1, 4, 3, 5), (4, 3), True, {"channels_last": True}, ((1,) * 3, (1, 1), (1,) * 4, (60,))),
    ((3, 5, 8, 12), (2, 5, 2, 6), 2, True, {"order": "DCR"}, ((2, 1), (20,), (1,) * 4, (3, 3))),
    ((2, 3, 4, 4), (1, 1, 3, 1), 1, False, {"order": "DCR"}, ((1, 1), (1, 1, 1), (3, 1), (1,) * 4)),
    ((0, 8, 2, 2), (0, 4, 1, 1), 2, False, {}, ((0,), (1, 1), (2, 2), (2, 2))),
]


@pytest.mark.parametrize(("shape", "chunks", "factor", "inverse", "options", "out_chunks"), CHUNK_LOCAL)
def test_chunk_local_one_task_per_chunk(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    factor: Any,
    inverse: bool,
    options: dict[str, Any],
    out_chunks: tuple[tuple[int, ...], ...],
) -> None:
    data = special_array(shape, "float32")
    x = da.from_array(data, chunks=chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = shuffle(x, factor, inverse, **options)
    added = new_layers(y, x)
    assert list(added) == [y.name]  # one new layer: no rechunk, nothing else
    assert y.name.startswith("pixel_unshuffle" if inverse else "pixel_shuffle")
    assert len(added[y.name]) == x.npartitions  # exactly one task per input chunk
    assert y.numblocks == x.numblocks
    assert y.chunks == out_chunks
    assert added[y.name].get_dependencies  # a real graph layer
    assert y.dask.dependencies[y.name] == {x.name}
    assert same_bits(y.compute(), shuffle(data, factor, inverse, **options))


RECHUNK_CASES = [
    # (shape, chunks, factor, inverse, options, axis, new chunks on that axis)
    ((2, 16, 4, 4), (1, 3, 4, 4), 2, False, {}, 1, (4, 4, 4, 4)),
    ((2, 16, 4, 4), (1, 6, 4, 4), 2, False, {}, 1, (8, 4, 4)),
    ((2, 4, 18), (1, 4, 5), (3,), False, {"channels_last": True}, 2, (6, 3, 6, 3)),
    ((2, 16, 4, 4), (1, 8, 4, 4), 2, False, {"order": "DCR"}, 1, (16,)),
    ((2, 3, 9, 4), (1, 3, 4, 4), (3, 2), True, {}, 2, (3, 6)),
    ((2, 3, 8, 8), (1, 1, 8, 8), 2, True, {"order": "DCR"}, 1, (3,)),
]


@pytest.mark.parametrize(("shape", "chunks", "factor", "inverse", "options", "axis", "new"), RECHUNK_CASES)
def test_split_groups_rechunk_once_and_warn(
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    factor: Any,
    inverse: bool,
    options: dict[str, Any],
    axis: int,
    new: tuple[int, ...],
) -> None:
    data = special_array(shape, "float32")
    x = da.from_array(data, chunks=chunks)
    with pytest.warns(ChunkingWarning, match=rf"axis {axis} from chunks \(.*\) to ") as caught:
        y = shuffle(x, factor, inverse, **options)
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller
    added = new_layers(y, x)
    rechunks = [name for name in added if name.startswith("rechunk")]
    assert rechunks
    assert set(added) == {*rechunks, y.name}
    (source,) = y.dask.dependencies[y.name]
    assert source in rechunks
    expected_chunks = list(x.chunks)
    expected_chunks[axis] = new
    assert len(y.dask.layers[y.name]) == math.prod(len(c) for c in expected_chunks)
    assert y.numblocks == tuple(len(c) for c in expected_chunks)
    assert same_bits(y.compute(), shuffle(data, factor, inverse, **options))


@pytest.mark.parametrize(
    ("chunks", "multiple", "expected"),
    [
        ((3, 3, 3, 3), 4, (4, 4, 4)),
        ((1,) * 8, 4, (4, 4)),
        ((5, 11), 4, (4, 12)),
        ((8, 8), 4, (8, 8)),
        ((2, 2), 4, (4,)),
        ((0,), 4, (0,)),
        ((7, 1), 8, (8,)),
    ],
)
def test_aligned_chunks(chunks: tuple[int, ...], multiple: int, expected: tuple[int, ...]) -> None:
    assert aligned_chunks(chunks, multiple) == expected
    assert sum(expected) == sum(chunks)


# --------------------------------------------------------------------------------------------
# Laziness, aliasing, errors, dispatch.


def test_stays_lazy() -> None:
    calls = []

    def source(block: np.ndarray) -> np.ndarray:
        calls.append(block.shape)
        return block

    meta = np.empty((0, 0, 0, 0), dtype="float32")
    x = da.zeros((2, 8, 4, 4), chunks=(1, 4, 2, 2), dtype="float32").map_blocks(source, meta=meta)
    y = subpixel.pixel_shuffle(x, 2)
    z = subpixel.pixel_unshuffle(y, 2)
    assert calls == []
    assert isinstance(z, da.Array)
    z.compute()
    assert len(calls) == x.npartitions


@pytest.mark.parametrize("factor", [1, 2])
def test_output_never_aliases_input(factor: int) -> None:
    data = special_array((1, 4, 2, 2), "float32")
    keep = data.copy()
    x = da.from_array(data, chunks=data.shape, asarray=False)
    with dask.config.set(scheduler="sync"):
        out = subpixel.pixel_shuffle(x, factor).compute()
    assert not np.shares_memory(out, data)
    out[...] = 0
    assert same_bits(data, keep)


def test_unknown_chunk_sizes_are_an_error() -> None:
    x = da.from_array(special_array((4, 8, 2, 2), "float32"), chunks=(2, 8, 2, 2))
    unknown = x[x[:, 0, 0, 0] == x[:, 0, 0, 0]]  # boolean index: batch chunk sizes become NaN
    assert math.isnan(unknown.shape[0])
    with pytest.raises(ValueError, match=r"unknown (chunk )?sizes.*compute_chunk_sizes"):
        subpixel.pixel_shuffle(unknown, 2)


@pytest.mark.parametrize("inverse", [False, True])
def test_unknown_channel_or_spatial_sizes_are_an_error(inverse: bool) -> None:
    x = da.from_array(special_array((2, 8, 4, 4), "float32"), chunks=(1, 4, 2, 2))
    axis = 2 if inverse else 1
    keep = da.from_array(np.ones(x.shape[axis], bool), chunks=2) > 0  # sizes known only after compute
    unknown = x[:, :, keep] if inverse else x[:, keep]
    assert math.isnan(unknown.shape[axis])
    with pytest.raises(ValueError, match=rf"x.shape\[{axis}\]=nan|unknown"):
        shuffle(unknown, 2, inverse)


def test_keeps_meta_and_dispatches_to_the_dask_path() -> None:
    x = da.from_array(special_array((1, 4, 2, 2), "int8"), chunks=(1, 4, 1, 1))
    from subpixel._fast import dask as dask_path

    prepare: Any = backend_for(x, "pixel_shuffle").prepare  # a functools.partial of the Dask path
    assert prepare.func is dask_path.prepare
    y = subpixel.pixel_shuffle(x, 2)
    assert type(y._meta) is np.ndarray
    assert y.dtype == np.int8
