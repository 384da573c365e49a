"""The compiled join and split kernels of the copy engine (subpixel-kernels, the ``speed`` extra).

Runs that request ``subpixel_kernels`` (``SUBPIXEL_BACKENDS=numpy,subpixel_kernels``) run the
kernels and check each result bit for bit against the index formula, and the route taken, and
check that the extension refuses calls that would reach past its buffers; a run that requests it
where it is not installed fails. Every run checks that the NumPy engine copies without it.
"""

from __future__ import annotations

import itertools
import os
import platform
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import subpixel
from subpixel import _copy, _limits, _routes
from subpixel._copy import _blocked, _compiled
from subpixel._fast import numpy as fast_numpy
from subpixel._plan import shuffle_plan
from tests.reference import call
from tests.reference import expected as reference
from tests.values import same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

needs_kernels = pytest.mark.needs("subpixel_kernels")

#: The copy engine's compiled routes, as the NumPy path records them.
COMPILED_ROUTES = {"numpy:compiled-join", "numpy:compiled-split"}


def _input(
    factor: Any, inverse: bool, channels_last: bool, dtype: str, width: int = 24
) -> np.ndarray[Any, Any]:
    """A batch-2 input past SMALL_BYTES for ``factor`` (one int, or one per spatial axis)."""
    factors = (factor, factor) if isinstance(factor, int) else factor
    spatial = [9 + i for i in range(len(factors) - 1)] + [width]
    channels = 3 * int(np.prod(factors))
    while 2 * channels * int(np.prod(spatial)) * np.dtype(dtype).itemsize < 2 * fast_numpy.SMALL_BYTES:
        spatial[0] *= 2
    if inverse:
        spatial = [s * f for s, f in zip(spatial, factors, strict=True)]
        channels = 3
    return special_array(
        (2, *spatial, channels) if channels_last else (2, channels, *spatial), dtype, seed=11
    )


@needs_kernels
@pytest.mark.parametrize("dtype", ["uint8", "bool", "int16", "float16", "float32", "float64", "complex64"])
@pytest.mark.parametrize("factor", [2, 3, (2, 5), (3, 2, 2)])
def test_kernels_match_reference(dtype: str, factor: Any) -> None:
    """Both directions, layouts and orders, bit for bit; channels-first copies take the kernels."""
    last = factor if isinstance(factor, int) else factor[-1]
    for inverse, channels_last, order in itertools.product((False, True), (False, True), ("CRD", "DCR")):
        x = special_array(_input(factor, inverse, channels_last, dtype).shape, dtype, seed=12)
        with _routes.counting() as counter:
            y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, reference(x, factor, inverse, channels_last, order)), (
            inverse,
            channels_last,
            order,
        )
        if not channels_last and last in _compiled.LANES:
            route = "numpy:compiled-split" if inverse else "numpy:compiled-join"
            assert route in counter, (inverse, order, dict(counter))


@needs_kernels
@pytest.mark.parametrize("lanes", _compiled.LANES)
@pytest.mark.parametrize("width", [2, 7, 33])
def test_every_lane_count_and_short_rows(lanes: int, width: int) -> None:
    """Every specialised lane count, on rows shorter and longer than one vector."""
    for inverse in (False, True):
        x = _input((2, lanes), inverse, False, "uint16", width=width)
        with _routes.counting() as counter:
            y = call(x, (2, lanes), inverse, False, "CRD")
        assert same_bits(y, reference(x, (2, lanes), inverse, False, "CRD"))
        assert f"numpy:compiled-{'split' if inverse else 'join'}" in counter, dict(counter)


@needs_kernels
def test_many_outer_axes_and_threads() -> None:
    """A 3-d shuffle (more than three outer axes: the leading ones loop in Python), threaded."""
    x = special_array((3, 2 * 8 * 4, 10, 20, 64), "float32", seed=13)
    assert x.nbytes >= _limits.PARALLEL_BYTES
    previous = subpixel.get_num_threads()
    subpixel.set_num_threads(2)
    try:
        for inverse, source in ((False, x), (True, reference(x, (2, 2, 4), False, False, "CRD"))):
            with _routes.counting() as counter:
                y = call(source, (2, 2, 4), inverse, False, "DCR")
            assert same_bits(y, reference(source, (2, 2, 4), inverse, False, "DCR"))
            direction = "split" if inverse else "join"
            assert set(counter) == {f"numpy:compiled-{direction}", "numpy:threaded"}, dict(counter)
    finally:
        subpixel.set_num_threads(previous)


@needs_kernels
def test_odd_views_and_strided_destination() -> None:
    """Unaligned and negative-stride sources keep the NumPy engine; channels-last destinations do not."""
    base = special_array((2, 3, 96, 128), "uint16", seed=14)
    raw = np.empty(base.nbytes + 1, np.uint8)[1:].view(np.uint16).reshape(base.shape)  # odd address
    raw[...] = base
    flipped = np.ascontiguousarray(base[:, ::-1])[:, ::-1]
    for x in (raw, flipped, base):
        for inverse in (False, True):
            plan = shuffle_plan(x.shape if inverse else (2, 12, 48, 64), 2, inverse=inverse)
            source = x if inverse else x.reshape(2, 12, 48, 64)  # a copy where x cannot reshape
            kernel = source.flags.aligned and min(source.strides) > 0
            expected = reference(source, 2, inverse, False, "CRD")
            n, c, h, w = plan.collapse_shape
            channels_last = np.empty((n, h, w, c), source.dtype).transpose(0, 3, 1, 2)
            for out in (None, channels_last):
                with _routes.counting() as counter:
                    result = _blocked.shuffle_large(source, plan, out, backend="numpy")
                assert same_bits(np.ascontiguousarray(result), expected)
                taken = any(route.startswith("numpy:compiled") for route in counter)
                # A shuffle's channels-last destination too (the factor's two offsets are the
                # lanes); an unshuffle's is one plain copy.
                assert taken == (kernel and (out is None or not inverse)), (kernel, inverse, dict(counter))


@needs_kernels
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize(("factor", "channels"), [(2, 16), (2, 3), (3, 2), ((2, 3), 5)])
def test_channels_last_copies_take_the_kernels(dtype: str, factor: Any, channels: int) -> None:
    """NHWC shuffles and unshuffles, CRD: the factor's two offsets are the lanes (two strides apart)."""
    factors = (factor, factor) if isinstance(factor, int) else factor
    lanes = factors[0] * factors[1]
    low = special_array((2, 12, 10, channels * lanes), dtype, seed=17)  # the unshuffle's result
    high = reference(low, factor, False, True, "CRD")
    for inverse, x in ((False, low), (True, high)):
        with _routes.counting() as counter:
            y = _blocked.shuffle_large(
                x, shuffle_plan(x.shape, factor, inverse=inverse, channels_last=True), backend="numpy"
            )
        assert same_bits(y, reference(x, factor, inverse, True, "CRD")), (inverse, dtype, factor)
        assert set(counter) & COMPILED_ROUTES, dict(counter)


@needs_kernels
def test_dense_copies_are_prepared_once_per_plan_and_dtype(monkeypatch: pytest.MonkeyPatch) -> None:
    """A C-contiguous input into a C-contiguous result reuses its prepared copy; others copy as before."""
    monkeypatch.setattr(_blocked, "_plan_jobs", {})
    base = special_array((2, 12, 48, 64), "float32", seed=15)
    plan = shuffle_plan(base.shape, 2, inverse=False)
    expected = reference(base, 2, False, False, "CRD")
    for _ in range(2):
        with _routes.counting() as counter:
            result = _blocked.shuffle_large(base, plan, backend="numpy")
        assert same_bits(result, expected)
        assert dict(counter) == {"numpy:compiled-join": 1}
    assert list(_blocked._plan_jobs) == [(plan, base.dtype)]
    out = np.empty(plan.collapse_shape, base.dtype)
    assert _blocked.shuffle_large(base, plan, out) is out
    assert same_bits(out, expected)
    # Odd addresses (input or result) and other memory orders never run the prepared copy.
    odd = np.empty(base.nbytes + 1, np.uint8)[1:].view(np.float32).reshape(base.shape)
    odd[...] = base
    odd_out = np.empty(base.nbytes + 1, np.uint8)[1:].view(np.float32).reshape(plan.collapse_shape)
    fortran = np.asfortranarray(base)
    for x, into in ((odd, None), (base, odd_out), (fortran, None)):
        with _routes.counting() as counter:
            result = _blocked.shuffle_large(x, plan, into, backend="numpy")
        assert same_bits(np.ascontiguousarray(result), expected)
        taken = any(route.startswith("numpy:compiled") for route in counter)
        assert taken == (x is fortran), dict(counter)  # the Fortran view is aligned: the kernel
    assert list(_blocked._plan_jobs) == [(plan, base.dtype)]
    # Each dtype has its own entry; the table is emptied when full.
    monkeypatch.setattr(_blocked, "MAX_JOBS", 1)
    as_int = base.view(np.int32)
    assert same_bits(_blocked.shuffle_large(as_int, plan), expected.view(np.int32))
    assert list(_blocked._plan_jobs) == [(plan, as_int.dtype)]


def test_without_the_kernels_the_numpy_engine_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    """With subpixel-kernels absent the compiled routes are not reachable, and the lanes kernels are."""
    monkeypatch.setattr(_compiled, "AVAILABLE", False)
    missing = {k: v for k, v in _copy.unreachable_routes("numpy").items() if k != "numpy:threaded"}
    assert set(missing) == COMPILED_ROUTES
    assert all(
        reason.startswith("not reachable here: subpixel-kernels is not installed")
        for reason in missing.values()
    )
    x = _input(2, True, False, "uint8")
    with _routes.counting() as counter:
        y = call(x, 2, True, False, "CRD")
    assert same_bits(y, reference(x, 2, True, False, "CRD"))
    assert "numpy:lanes-split" in counter, dict(counter)


@needs_kernels
def test_with_the_kernels_the_lanes_kernels_are_not_reachable() -> None:
    missing = {k: v for k, v in _copy.unreachable_routes("numpy").items() if k != "numpy:threaded"}
    assert set(missing) == {"numpy:lanes-split", "numpy:lanes-join"}
    assert all("subpixel-kernels is installed" in reason for reason in missing.values())


def test_kernels_that_fail_to_load_leave_the_numpy_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken install is remembered as the reason, and copies go on without it."""

    def fail(direction: str, lanes: int) -> Any:
        msg = "undefined symbol: PyInit__interleave"
        raise ImportError(msg)

    monkeypatch.setattr(_compiled, "AVAILABLE", True)
    monkeypatch.setattr(_compiled, "_kernels", {})
    monkeypatch.setattr(_compiled, "_broken", None)
    monkeypatch.setattr(_compiled, "_load", fail)
    monkeypatch.setattr(_blocked, "_jobs", {})  # copies prepared with the working kernels
    monkeypatch.setattr(_blocked, "_plan_jobs", {})
    x = _input(3, False, False, "float32")
    with _routes.counting() as counter:
        y = call(x, 3, False, False, "CRD")
    assert same_bits(y, reference(x, 3, False, False, "CRD"))
    assert not any(route.startswith("numpy:compiled") for route in counter), dict(counter)
    assert _compiled.reason_unavailable() == (
        "subpixel-kernels failed to load: ImportError: undefined symbol: PyInit__interleave"
    )
    assert set(_copy.unreachable_routes("numpy")) >= COMPILED_ROUTES


def test_importing_subpixel_imports_no_kernels() -> None:
    code = "import subpixel, sys; print('subpixel_kernels' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


@needs_kernels
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_fork_after_a_threaded_kernel_copy() -> None:
    """The kernels start no threads of their own: a forked child copies with its own pool."""
    code = """
import os, numpy as np, subpixel
from subpixel import _routes
subpixel.set_num_threads(2)
x = np.arange(4 * 64 * 96 * 96, dtype=np.uint32).view(np.float32).reshape(4, 64, 96, 96)
expected = subpixel.pixel_shuffle(x, 2).tobytes()
pid = os.fork()
if pid == 0:
    with _routes.counting() as counter:
        ok = subpixel.pixel_shuffle(x, 2).tobytes() == expected
    os._exit(0 if ok and set(counter) == {"numpy:compiled-join", "numpy:threaded"} else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0"], out.stderr


@needs_kernels
def test_views_the_kernels_decline_skip_the_lanes_kernels() -> None:
    """An unaligned source: no compiled route, and no lanes route either (declared unreachable)."""
    base = _input(2, True, False, "uint16")
    raw = np.empty(base.nbytes + 1, np.uint8)[1:].view(np.uint16).reshape(base.shape)  # odd address
    raw[...] = base
    with _routes.counting() as counter:
        y = call(raw, 2, True, False, "CRD")
    assert same_bits(y, reference(base, 2, True, False, "CRD"))
    assert not set(counter) & {*COMPILED_ROUTES, "numpy:lanes-split", "numpy:lanes-join"}, dict(counter)


def _geometry(width: int, lanes: int, rows: tuple[int, int, int], join: bool) -> np.ndarray[Any, Any]:
    """The geometry of a contiguous join or split over ``rows`` (three outer axes), no offsets."""
    n0, n1, n2 = rows
    row = width * lanes  # elements of one destination (join) or source (split) row
    lane = n0 * n1 * n2 * width  # the lane step: each lane is a contiguous block of the rows
    grouped = (n1 * n2 * row, n2 * row, row)
    laned = (n1 * n2 * width, n2 * width, width)
    steps = (grouped, laned) if join else (laned, grouped)
    outer = [v for axis in range(3) for v in (rows[axis], steps[0][axis], steps[1][axis])]
    return np.array([0, 0, width, lane, *outer, lanes, 0], np.uint64)


@needs_kernels
@pytest.mark.parametrize("item", _compiled.ITEM_SIZES)
@pytest.mark.parametrize("lanes", _compiled.LANES)
def test_extension_kernels_match_the_index_formula(item: int, lanes: int) -> None:
    """Each kernel alone, on a part of its rows: the formula's elements, and no byte outside them."""
    import subpixel_kernels

    width, rows = 5, (2, 3, 4)
    count = int(np.prod(rows))
    unsigned = np.dtype(f"u{item}")
    values = np.random.default_rng(item * lanes).integers(
        0, 2 ** (8 * item) - 1, count * width * lanes, unsigned
    )
    grouped = values.reshape(count, width, lanes)  # [row, w, k]
    laned = np.ascontiguousarray(grouped.transpose(2, 0, 1))  # [k, row, w]
    start, stop = 5, 19
    for join in (True, False):
        source, expected = (laned, grouped) if join else (grouped, laned)
        guard = np.iinfo(unsigned).max // 3  # the three elements past the end must keep it
        padded = np.zeros(expected.size + 3, unsigned)
        padded[expected.size :] = guard
        function = getattr(subpixel_kernels, f"{'join' if join else 'split'}_{lanes}")
        function(padded, source.ravel(), _geometry(width, lanes, rows, join), np.uint64(start), stop)
        result = padded[: expected.size].reshape(expected.shape)
        want = np.zeros_like(expected)
        if join:
            want[start:stop] = expected[start:stop]
        else:
            want[:, start:stop] = expected[:, start:stop]
        assert np.array_equal(result, want), (join, lanes, item)
        assert padded[expected.size :].tolist() == [guard] * 3


def _walk(geometry: np.ndarray[Any, Any], lanes: int, join: bool, start: int, stop: int) -> Any:
    """The destination and source index of every element the rows ``start..stop`` move."""
    base_dst, base_src, width, lane, *walk, inner, outer = (int(v) for v in geometry)
    counts, dst_steps, src_steps = walk[0::3], walk[1::3], walk[2::3]
    rows = np.arange(start, stop)
    index = np.unravel_index(rows, counts)
    d = base_dst + np.zeros(len(rows), np.int64)
    s = base_src + np.zeros(len(rows), np.int64)
    for i, dst_step, src_step in zip(index, dst_steps, src_steps, strict=True):
        d += i * dst_step
        s += i * src_step
    w, k = np.meshgrid(np.arange(width), np.arange(lanes), indexing="ij")
    grouped, laned = w * lanes + k, (k // inner) * outer + (k % inner) * lane + w
    at, source = (grouped, laned) if join else (laned, grouped)
    return d[:, None, None] + at, s[:, None, None] + source


def _random_walk(rng: np.random.Generator, join: bool) -> tuple[np.ndarray[Any, Any], int, int, int]:
    """A geometry whose rows write disjoint elements; mostly short rows back to back in dst."""
    lanes = int(rng.choice(_compiled.LANES))
    short = rng.random() < 0.7
    width = int(rng.choice([1, 2, 3, 5, 7] if short else [1, 3, 15, 16, 17, 31, 32, 33, 40, 63, 90]))
    lane = width if short or (join and rng.random() < 0.5) else width + int(rng.integers(1, 9))
    if join and rng.random() < 0.1:
        lane = 0  # every lane reads the same source row (a source broadcast along the lanes)
    # Lanes in runs of `inner`, the runs `outer` apart (channels-last copies); a split writes them,
    # so there the runs do not overlap.
    inner = lanes
    outer = 0
    if rng.random() < 0.4:
        inner = int(rng.choice([n for n in range(1, lanes) if lanes % n == 0]))
        outer = inner * lane + int(rng.integers(0, 9))
        if join and rng.random() < 0.2:
            outer = int(rng.integers(0, outer + 1))  # reads may overlap, or repeat (zero steps)
    extent = (lanes // inner - 1) * outer + (inner - 1) * lane + width  # a row's laned elements
    row = width * lanes if short else max(width * lanes, extent)
    counts = [int(rng.integers(1, 4)), int(rng.integers(1, 6)), int(rng.integers(1, 400))]
    gap = [int(rng.integers(0, 3)), int(rng.integers(0, 3))]
    d2 = row
    d1 = counts[2] * d2 + gap[1]
    d0 = counts[1] * d1 + gap[0]
    source_row = extent if join else width * lanes
    s2 = int(rng.integers(1, source_row + 3)) if rng.random() < 0.5 else source_row
    # Sources broadcast along an outer axis: a zero step (np.broadcast_to, torch's expand).
    s2 = 0 if rng.random() < 0.15 else s2
    s1 = 0 if rng.random() < 0.1 else counts[2] * s2 + int(rng.integers(0, 5))
    s0 = counts[1] * s1 + int(rng.integers(0, 5))
    base = [int(rng.integers(0, 5)), int(rng.integers(0, 5))]
    geometry = np.array(
        [*base, width, lane, counts[0], d0, s0, counts[1], d1, s1, counts[2], d2, s2, inner, outer], np.uint64
    )
    return geometry, lanes, int(np.prod(counts)), row


@needs_kernels
@pytest.mark.parametrize("item", _compiled.ITEM_SIZES)
def test_extension_fast_paths_match_the_index_formula(item: int) -> None:
    """Random walks on the byte-shuffle paths (short rows back to back, rows of 4 one-byte lanes, in
    16- and 32-byte steps) and on the loops alone: the formula's elements, nothing past them, the
    source untouched. Some sources repeat along an outer axis or the lanes (zero steps).

    The source buffer ends at the walk's last element, so the paths' 16-byte loads near its end
    must fall back to the loops. Each level runs where the CPU has it (a lower one otherwise).
    """
    import subpixel_kernels
    from subpixel_kernels import _interleave

    if platform.machine().lower() in {"x86_64", "amd64", "i686", "x86"}:
        assert subpixel_kernels._interleave.SIMD in {"avx2", "ssse3", ""}
    rng = np.random.default_rng(20261207 + item)
    unsigned = np.dtype(f"u{item}")
    for case in range(300):
        join = bool(case % 2)
        geometry, lanes, rows, _ = _random_walk(rng, join)
        start = int(rng.integers(0, rows))
        stop = int(rng.integers(start, rows + 1)) if rng.random() < 0.5 else rows
        at, source = _walk(geometry, lanes, join, 0, rows)
        src = rng.integers(0, 2 ** (8 * item) - 1, int(source.max()) + 1, unsigned, endpoint=True)
        before = src.copy()
        want = np.zeros(int(at.max()) + 4, unsigned)
        part_at, part_from = _walk(geometry, lanes, join, start, stop)
        want[part_at] = src[part_from]
        function = getattr(subpixel_kernels, f"{'join' if join else 'split'}_{lanes}")
        for simd in ("avx2", "ssse3", ""):
            previous = _interleave._set_simd(simd)
            try:
                dst = np.zeros_like(want)
                function(dst, src, geometry, start, stop)
            finally:
                _interleave._set_simd(previous)
            assert np.array_equal(dst, want), (simd, case, join, lanes, geometry.tolist(), start, stop)
        assert np.array_equal(src, before)


@needs_kernels
def test_extension_simd_levels_are_chosen_by_name() -> None:
    """``_set_simd`` takes a level by name (or True/False), keeps to what the CPU has, returns the last."""
    from subpixel_kernels import _interleave

    best = _interleave._set_simd(True)
    try:
        assert _interleave._set_simd("") == best
        assert _interleave._set_simd("ssse3") == ""
        assert _interleave._set_simd(False) in {"ssse3", ""}
        assert _interleave._set_simd(True) == ""
        assert _interleave._set_simd(True) == best
        with pytest.raises(ValueError, match="avx512"):
            _interleave._set_simd("avx512")
    finally:
        _interleave._set_simd(best)


@needs_kernels
def test_extension_refuses_calls_past_its_buffers() -> None:
    """Every check of the extension raises before a byte is written."""
    import subpixel_kernels

    geometry = _geometry(4, 2, (1, 2, 3), join=True)
    src = np.arange(48, dtype=np.uint16)
    dst = np.zeros(48, np.uint16)
    subpixel_kernels.join_2(dst, src, geometry, 0, 6)  # the call that fits
    assert dst.any()
    halves = np.zeros(48, np.float16)  # any element type of the size moves: bits, not values
    subpixel_kernels.join_2(halves, src.astype(np.float16), geometry, 0, 6)
    assert same_bits(halves, dst.astype(np.float16))
    far_lanes = _with(_with(geometry, 13, 1), 14, 48)
    cases: list[tuple[tuple[Any, ...], type[Exception], str]] = [
        ((np.zeros(47, np.uint16), src, geometry, 0, 6), ValueError, "reaches past the end"),
        ((np.zeros(48, np.uint16), src[:47], geometry, 0, 6), ValueError, "reaches past the end"),
        (
            (np.zeros(48, np.uint16), src, geometry, 0, 7),
            ValueError,
            "rows 0 to 7 are outside the walk's 6 rows",
        ),
        ((np.zeros(48, np.uint16), src, geometry, 4, 3), ValueError, "rows 4 to 3"),
        ((np.zeros(48, np.uint16), src, geometry, -1, 3), ValueError, "start must be a non-negative integer"),
        ((np.zeros(48, np.uint16), src.view(np.uint8), geometry, 0, 6), ValueError, "one element size"),
        (
            (np.zeros(6, np.complex128), src.view(np.complex128), geometry, 0, 1),
            ValueError,
            "1, 2, 4 or 8",
        ),
        ((np.zeros(48, np.uint16), src, geometry.astype(np.float64), 0, 6), ValueError, "15 unsigned 64-bit"),
        ((np.zeros(48, np.uint16), src, geometry[:14], 0, 6), ValueError, "15 unsigned 64-bit"),
        ((np.zeros(48, np.uint16), src, _with(geometry, 13, 3), 0, 6), ValueError, "inner must divide .* 2"),
        ((np.zeros(48, np.uint16), src, _with(geometry, 13, 0), 0, 6), ValueError, "not be 0"),
        # lanes in runs of 1, the runs 48 apart: the second lane reads past src
        ((np.zeros(48, np.uint16), src, far_lanes, 0, 6), ValueError, "past the end"),
        ((np.zeros(48, np.uint16), src, geometry, 0), TypeError, r"takes 5 arguments \(4 given\)"),
        ((np.zeros(96, np.uint16)[::2], src, geometry, 0, 6), ValueError, "contiguous"),
    ]
    for args, error, message in cases:
        before = args[0].copy()
        with pytest.raises(error, match=message):
            subpixel_kernels.join_2(*args)
        assert same_bits(args[0], before), message
    read_only = np.zeros(48, np.uint16)
    read_only.flags.writeable = False
    with pytest.raises((BufferError, ValueError), match="read-only"):
        subpixel_kernels.join_2(read_only, src, geometry, 0, 6)


def _with(geometry: np.ndarray[Any, Any], index: int, value: int) -> np.ndarray[Any, Any]:
    changed: np.ndarray[Any, Any] = geometry.copy()
    changed[index] = value
    return changed


def test_kernels_of_another_calling_convention_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An extension built for another engine is not called: the reason names both conventions."""
    import types

    newer = types.ModuleType("subpixel_kernels")
    newer.__dict__.update(ABI=3, LANES=_compiled.LANES, ITEM_SIZES=_compiled.ITEM_SIZES, __version__="9.0")
    monkeypatch.setitem(sys.modules, "subpixel_kernels", newer)
    with pytest.raises(ImportError, match=r"subpixel-kernels 9.0 has calling convention 3 .*needs 2"):
        _compiled._load("join", 2)
    newer.__dict__.update(ABI=2, LANES=(2, 3, 4))
    with pytest.raises(ImportError, match=r"lanes \(2, 3, 4\)"):
        _compiled._load("join", 2)
