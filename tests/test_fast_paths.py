"""Every fast path against the index formula (NumPy) or the Array-API path (torch), byte for byte.

The fast paths are chosen by size, dtype, layout and tracing state, so these tests drive each
route on purpose (small and large inputs, strided views, every dtype family, zero-size arrays)
and check the route taken where it matters (autograd nodes, fallbacks).
"""

from __future__ import annotations

import concurrent.futures
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import subpixel
from subpixel import _limits, _routes
from subpixel._api import _runners
from subpixel._copy import _blocked, _compiled
from subpixel._fast import numpy as fast_numpy
from subpixel._plan import shuffle_plan
from subpixel._shuffle import apply_plan
from tests.reference import Order, as_order, call
from tests.reference import expected as reference
from tests.values import byte_view, same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

DTYPES = ["float32", "float64", "float16", "uint8", "int16", "int64", "bool", "complex64", "complex128"]

# (factor, inverse, channels_last, order); each case is run small and large.
CASES = [
    (factor, inverse, channels_last, order)
    for factor in (2, 3, (2, 3), (4,), (2, 2, 2))
    for inverse in (False, True)
    for channels_last in (False, True)
    for order in ("CRD", "DCR")
]


def shape_for(factor: Any, inverse: bool, channels_last: bool, large: bool) -> tuple[int, ...]:
    """An input shape that the case accepts; ``large`` passes the fast paths' size threshold."""
    factors = (factor, factor) if isinstance(factor, int) else factor
    k = len(factors)
    product = int(np.prod(factors))
    channels = 2 * product
    spatial = [5 + 2 * i for i in range(k)]
    scale = 1
    while large and 2 * channels * int(np.prod([s * scale for s in spatial])) < 70_000:
        scale += 1
    spatial = [s * scale for s in spatial]
    if inverse:
        spatial = [s * f for s, f in zip(spatial, factors, strict=True)]
        channels = 3
    batch = (2,)
    return (*batch, *spatial, channels) if channels_last else (*batch, channels, *spatial)


# --- NumPy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize(("factor", "inverse", "channels_last", "order"), CASES)
def test_numpy_matches_array_api_path(
    factor: Any, inverse: bool, channels_last: bool, order: Order, large: bool
) -> None:
    shape = shape_for(factor, inverse, channels_last, large)
    x = special_array(shape, "float32")
    before = x.copy()
    y = call(x, factor, inverse, channels_last, order)
    assert same_bits(y, reference(x, factor, inverse, channels_last, order))
    assert not np.shares_memory(x, y)
    assert same_bits(x, before)
    assert (x.nbytes >= fast_numpy.SMALL_BYTES) == large


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_numpy_dtypes(dtype: str, large: bool) -> None:
    for factor, inverse, channels_last, order in [(2, False, False, "CRD"), (3, True, True, "DCR")]:
        x = special_array(shape_for(factor, inverse, channels_last, large), dtype, seed=1)
        y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, reference(x, factor, inverse, channels_last, order)), (dtype, factor)


STRIDED_CASES = [(2, False, False, "CRD"), (2, True, False, "DCR"), (3, False, True, "CRD")]

STRIDED: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "transposed": lambda a: np.ascontiguousarray(np.swapaxes(a, -1, -2)).swapaxes(-1, -2),
    "step": lambda a: np.repeat(a, 2, axis=-1)[..., ::2],
    "reversed": lambda a: np.ascontiguousarray(a[..., ::-1])[..., ::-1],
    "fortran": np.asfortranarray,
    "readonly": lambda a: _readonly(a),
}


def _readonly(a: Any) -> Any:
    view = a.copy()
    view.flags.writeable = False
    return view


@pytest.mark.parametrize("layout", list(STRIDED))
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_numpy_strided_inputs(layout: str, large: bool) -> None:
    for factor, inverse, channels_last, order in [
        (2, False, False, "CRD"),
        (2, True, False, "DCR"),
        (3, False, True, "CRD"),
    ]:
        base = special_array(shape_for(factor, inverse, channels_last, large), "float32", seed=2)
        x = STRIDED[layout](base)
        assert same_bits(x, base)
        y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, reference(base, factor, inverse, channels_last, order))


@pytest.mark.parametrize("shape", [(0, 8, 4, 4), (2, 0, 4, 4), (2, 8, 0, 4)])
def test_numpy_zero_size(shape: tuple[int, ...]) -> None:
    x = np.zeros(shape, np.float32)
    for inverse in (False, True):
        if inverse and shape[1] == 8:
            x = np.zeros((*shape[:2], shape[2] * 2, shape[3] * 2), np.float32)
        y = call(x, 2, inverse, False, "CRD")
        assert same_bits(y, reference(x, 2, inverse, False, "CRD"))


def test_numpy_subclass_and_object_take_array_api_path() -> None:
    masked = np.ma.masked_array(np.arange(32.0).reshape(1, 8, 2, 2))
    assert same_bits(
        np.asarray(subpixel.pixel_shuffle(masked, 2)), reference(np.asarray(masked), 2, False, False, "CRD")
    )
    objects = np.arange(32).astype(object).reshape(1, 8, 2, 2)
    assert subpixel.pixel_shuffle(objects, 2).tolist() == reference(objects, 2, False, False, "CRD").tolist()


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64", "complex128"])
def test_copy_engine_against_numpy_copy(dtype: str) -> None:
    rng = np.random.default_rng(3)
    for shape in [(6, 5, 2, 33, 3), (40, 2, 17, 2), (3, 1, 7, 1, 9, 2, 2, 2, 3), (2, 3, 4, 5, 6, 7, 2)]:
        x = special_array(shape, dtype, seed=4)
        axes = tuple(rng.permutation(len(shape)))
        view = x.transpose(axes)
        out = np.empty(view.shape, x.dtype)
        _blocked.copy_into(out, view)
        assert byte_view(out).tobytes() == byte_view(view.copy()).tobytes()


def test_copy_engine_parallel_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_blocked, "PARALLEL_BYTES", 1)
    monkeypatch.setattr(_blocked, "BLOCK_BYTES", 4096)
    x = special_array((4, 8, 2, 2, 40, 40), "float32", seed=5)
    view = x.transpose(0, 1, 4, 2, 5, 3)
    out = np.empty(view.shape, x.dtype)
    _blocked.copy_into(out, view)
    assert byte_view(out).tobytes() == byte_view(view.copy()).tobytes()


def test_cache_does_not_confuse_bool_float_and_int() -> None:
    x = np.zeros((1, 4, 2, 2), np.float32)
    subpixel.pixel_shuffle(x, 1)
    subpixel.pixel_shuffle(x, 2)
    subpixel.pixel_shuffle(x, (1, 1))
    assert _runners
    for bad in (True, 2.0, (True, 1), (2.0, 2)):
        with pytest.raises(TypeError, match="upscale_factor"):
            subpixel.pixel_shuffle(x, bad)  # type: ignore[arg-type]
    subpixel.pixel_shuffle(x, 2, channels_last=False)
    with pytest.raises(TypeError, match="channels_last"):
        subpixel.pixel_shuffle(x, 2, channels_last=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order"):
        subpixel.pixel_shuffle(x, 2, order="crd")  # type: ignore[arg-type]


def test_last_call_is_reused_only_for_the_same_type_shape_and_arguments() -> None:
    """Each public function reuses its last call's runner: never for another shape, type or option."""
    small = special_array((1, 8, 2, 2), "float32", seed=11)
    large = special_array((1, 8, 4, 6), "float32", seed=12)
    cases = [
        (small, 2, False, "CRD"),
        (small, 2, False, "CRD"),
        (large, 2, False, "CRD"),
        (small, 2, False, "CRD"),
        (special_array((1, 8, 2, 2), "float64", seed=13), 2, False, "CRD"),
        (small, 2, False, "DCR"),
        (small, 1, False, "CRD"),
        (small, (2, 2), False, "CRD"),
        (small.transpose(0, 2, 3, 1), 2, True, "CRD"),
    ]
    for x, factor, channels_last, order in cases:
        for inverse in (False, True):
            args = (factor, inverse, channels_last, order)
            assert same_bits(call(x, *args), reference(x, *args))
    subpixel.pixel_shuffle(small, 2)
    for bad in (True, 2.0):
        with pytest.raises(TypeError, match="upscale_factor"):
            subpixel.pixel_shuffle(small, bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="channels_last"):
        subpixel.pixel_shuffle(small, 2, channels_last=0)  # type: ignore[arg-type]


def test_concurrent_calls_from_eight_threads() -> None:
    inputs = [special_array((2, 16, 96, 96), "float32", seed=s) for s in range(8)]
    expected = [reference(x, 2, False, False, "CRD") for x in inputs]

    def work(i: int) -> bool:
        return all(same_bits(subpixel.pixel_shuffle(inputs[i], 2), expected[i]) for _ in range(3))

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))


# --- NumPy copy engine: the lanes kernels and the thresholds ---------------------------------

#: Every dtype of each element size the lanes kernels handle (they move bits, never values).
LANE_DTYPES = ["uint8", "int8", "bool", "uint16", "int16", "float16", "float32", "int32"]
ALL_LANE_PAIRS = frozenset({(1, 2), (1, 4), (2, 2), (2, 4), (4, 2)})


def _threshold_shape(
    nbytes: int, itemsize: int, inverse: bool, channels_last: bool, step: int
) -> tuple[int, ...]:
    """A factor-2 input of about ``nbytes`` (``step`` moves it by one column of each row pair)."""
    h = 32
    w = max(1, nbytes // (4 * h * itemsize)) + step
    spatial = (2 * h, 2 * w) if inverse else (h, w)
    channels = 1 if inverse else 4
    return (1, *spatial, channels) if channels_last else (1, channels, *spatial)


@pytest.mark.parametrize("dtype", LANE_DTYPES)
@pytest.mark.parametrize(
    ("threshold", "step"),
    [("NUMPY_SMALL_BYTES", -1), ("NUMPY_SMALL_BYTES", 1), ("PARALLEL_BYTES", -1), ("PARALLEL_BYTES", 1)],
    ids=["below-small", "above-small", "below-parallel", "above-parallel"],
)
def test_numpy_lanes_kernels_at_the_thresholds(
    monkeypatch: pytest.MonkeyPatch, dtype: str, threshold: str, step: int
) -> None:
    """Factor 2, both directions, layouts and orders, just below and above each size threshold."""
    monkeypatch.setattr(_compiled, "AVAILABLE", False)  # the NumPy kernels, also where subpixel-kernels is
    itemsize = np.dtype(dtype).itemsize
    for inverse, channels_last, order in itertools.product((False, True), (False, True), ("CRD", "DCR")):
        if threshold == "PARALLEL_BYTES" and (channels_last or order == "DCR"):
            continue  # the large sizes cover the lanes layouts only (channels first)
        shape = _threshold_shape(getattr(_limits, threshold), itemsize, inverse, channels_last, step)
        x = special_array(shape, dtype, seed=7)
        assert (x.nbytes >= getattr(_limits, threshold)) == (step > 0)
        with _routes.counting() as counter:
            y = call(x, 2, inverse, channels_last, order)
        assert same_bits(y, reference(x, 2, inverse, channels_last, order)), (inverse, channels_last, order)
        if x.nbytes < fast_numpy.SMALL_BYTES:
            assert set(counter) == {"numpy:small"}
            continue
        table = _limits.SPLIT_LANES if inverse else _limits.JOIN_LANES
        if not channels_last and (itemsize, 2) in table:
            assert f"numpy:lanes-{'split' if inverse else 'join'}" in counter, dict(counter)
        big = x.nbytes >= _limits.PARALLEL_BYTES and subpixel.get_num_threads() > 1
        assert ("numpy:threaded" in counter) == (big and "numpy:plain-copy" not in counter), dict(counter)


@pytest.mark.parametrize("dtype", ["uint8", "bool", "float16", "int16", "float32"])
@pytest.mark.parametrize("factor", [2, 4, (2, 4), (4, 2), (2, 2, 2)])
def test_numpy_lanes_kernels_for_every_pair(monkeypatch: pytest.MonkeyPatch, dtype: str, factor: Any) -> None:
    """With every (size, lanes) pair switched on, each kernel matches the reference bit for bit."""
    monkeypatch.setattr(_compiled, "AVAILABLE", False)
    monkeypatch.setattr(_blocked, "SPLIT_LANES", ALL_LANE_PAIRS)
    monkeypatch.setattr(_blocked, "JOIN_LANES", ALL_LANE_PAIRS)
    lanes_seen = set()
    for inverse, channels_last, order in itertools.product((False, True), (False, True), ("CRD", "DCR")):
        x = special_array(shape_for(factor, inverse, channels_last, large=True), dtype, seed=8)
        with _routes.counting() as counter:
            y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, reference(x, factor, inverse, channels_last, order)), (
            inverse,
            channels_last,
            order,
        )
        lanes_seen |= {route for route in counter if "lanes" in route}
    last = factor if isinstance(factor, int) else factor[-1]
    if np.dtype(dtype).itemsize * last <= 8:
        assert lanes_seen == {"numpy:lanes-split", "numpy:lanes-join"}


def test_numpy_lanes_kernels_on_odd_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unaligned and negative-stride sources, and a strided destination (the torch channels-last case)."""
    monkeypatch.setattr(_compiled, "AVAILABLE", False)
    monkeypatch.setattr(_blocked, "SPLIT_LANES", ALL_LANE_PAIRS)
    monkeypatch.setattr(_blocked, "JOIN_LANES", ALL_LANE_PAIRS)
    base = special_array((2, 3, 96, 128), "uint16", seed=9)
    raw = np.empty(base.nbytes + 1, np.uint8)[1:].view(np.uint16).reshape(base.shape)  # odd address
    raw[...] = base
    assert raw.ctypes.data % 2 == 1
    flipped = np.ascontiguousarray(base[:, ::-1])[:, ::-1]
    for x in (raw, flipped):
        for inverse in (False, True):
            plan = shuffle_plan(x.shape if inverse else (2, 12, 48, 64), 2, inverse=inverse)
            source = x if inverse else x.reshape(2, 12, 48, 64)
            expected = reference(source, 2, inverse, False, "CRD")
            assert same_bits(_blocked.shuffle_large(source, plan), expected)
            n, c, h, w = plan.collapse_shape
            channels_last = np.empty((n, h, w, c), source.dtype).transpose(0, 3, 1, 2)
            _blocked.shuffle_large(source, plan, channels_last)
            assert same_bits(np.ascontiguousarray(channels_last), expected)


# --- PyTorch ----------------------------------------------------------------------------------


def _torch() -> Any:
    import torch  # the tests that call this declare torch (@pytest.mark.needs)

    return torch


TORCH_DTYPES = [
    "uint16",
    "uint32",
    "uint64",
    "float8_e4m3fn",
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "uint8",
    "int8",
    "int32",
    "int64",
    "bool",
    "complex64",
    "complex128",
]


#: dtypes PyTorch's own pixel_shuffle implements on the CPU (compared with it as well).
NATIVE_DTYPES = ("float32", "float64", "float16", "bfloat16", "uint8", "int8", "int32", "int64", "bool")

TORCH_DTYPE_CASES = [(2, False, False, "CRD"), (2, True, False, "CRD"), (3, True, True, "DCR")]


def torch_input(torch: Any, shape: tuple[int, ...], dtype: str, seed: int = 0) -> Any:
    """A tensor of random bytes (NaN payloads and subnormals included for floats)."""
    kind = getattr(torch, dtype)
    size = int(np.prod(shape))
    if kind is torch.bool:
        return torch.from_numpy(special_array(shape, "bool", seed))
    item = torch.empty((), dtype=kind).element_size()
    raw = special_array((size * item,), "uint8", seed)
    if dtype in ("float32", "float64", "float16"):
        return torch.from_numpy(special_array(shape, dtype, seed).copy())
    return torch.from_numpy(raw.copy()).view(kind).reshape(shape)


def torch_reference(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    torch = _torch()
    xp = compat_torch()
    plan = shuffle_plan(
        tuple(x.shape), factor, inverse=inverse, channels_last=channels_last, order=as_order(order)
    )
    with torch.no_grad():
        return apply_plan(xp, x.detach(), plan)


def compat_torch() -> Any:
    import array_api_compat.torch as xp

    return xp


@pytest.mark.needs("torch")
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize(("factor", "inverse", "channels_last", "order"), CASES)
def test_torch_matches_array_api_path(
    factor: Any, inverse: bool, channels_last: bool, order: Order, large: bool
) -> None:
    torch = _torch()
    x = torch_input(torch, shape_for(factor, inverse, channels_last, large), "float32")
    before = byte_view(x).tobytes()
    y = call(x, factor, inverse, channels_last, order)
    assert same_bits(y, torch_reference(x, factor, inverse, channels_last, order))
    assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    assert byte_view(x).tobytes() == before


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_torch_dtypes(dtype: str, large: bool) -> None:
    torch = _torch()
    for factor, inverse, channels_last, order in [
        (2, False, False, "CRD"),
        (2, True, False, "CRD"),
        (3, True, True, "DCR"),
    ]:
        x = torch_input(torch, shape_for(factor, inverse, channels_last, large), dtype, seed=6)
        y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, torch_reference(x, factor, inverse, channels_last, order)), (
            dtype,
            factor,
            inverse,
        )
        if order == "CRD" and not channels_last and dtype in NATIVE_DTYPES:
            native = torch.pixel_unshuffle(x, factor) if inverse else torch.pixel_shuffle(x, factor)
            assert same_bits(y, native)


@pytest.mark.needs("torch")
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_torch_channels_last_memory_format_is_kept(large: bool) -> None:
    torch = _torch()
    for inverse, order in itertools.product((False, True), ("CRD", "DCR")):
        shape = shape_for(2, inverse, False, large)
        x = torch_input(torch, shape, "float32", seed=7).contiguous(memory_format=torch.channels_last)
        y = call(x, 2, inverse, False, order)
        assert y.is_contiguous(memory_format=torch.channels_last)
        assert same_bits(y, torch_reference(x, 2, inverse, False, order))
        if order == "CRD":
            native = torch.pixel_unshuffle(x, 2) if inverse else torch.pixel_shuffle(x, 2)
            assert native.stride() == y.stride()


@pytest.mark.needs("torch")
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_torch_channels_last_3d_falls_back(large: bool) -> None:
    """PyTorch's own op rejects 5-d channels_last_3d inputs; the route must fall back, not raise."""
    torch = _torch()
    side = 40 if large else 4
    x = torch_input(torch, (2, 3, 8, side, side + 2), "float32", seed=13)
    x = x.contiguous(memory_format=torch.channels_last_3d)
    for inverse in (False, True):
        source = x if not inverse else torch_input(torch, (2, 3, 2, 2 * side, 2 * side), "int16", seed=14)
        source = source.contiguous(memory_format=torch.channels_last_3d)
        y = call(source, 2, inverse, False, "CRD")
        assert same_bits(y, torch_reference(source, 2, inverse, False, "CRD"))


@pytest.mark.needs("torch")
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_torch_strided_and_special_inputs(large: bool) -> None:
    torch = _torch()
    base = torch_input(torch, shape_for(2, False, False, large), "float32", seed=8)
    views = {
        "transposed": base.transpose(-1, -2).contiguous().transpose(-1, -2),
        "step": base.repeat_interleave(2, dim=-1)[..., ::2],
        "expanded": base[:1].expand(*base.shape),
        "conj": torch.view_as_complex(torch.stack([base, base], -1)).conj(),
        "neg": torch.view_as_complex(torch.stack([base, base], -1)).conj().imag,
    }
    for name, x in views.items():
        y = subpixel.pixel_shuffle(x, 2)
        expected = torch_reference(x.resolve_conj().resolve_neg(), 2, False, False, "CRD")
        assert same_bits(y.resolve_conj().resolve_neg(), expected), name


@pytest.mark.needs("torch")
def test_torch_zero_size_gives_documented_shape() -> None:
    torch = _torch()
    x = torch.zeros(2, 3, 0, 4)
    assert subpixel.pixel_unshuffle(x, 2).shape == (2, 12, 0, 2)
    assert subpixel.pixel_shuffle(torch.zeros(0, 8, 3, 3), 2).shape == (0, 2, 6, 6)


@pytest.mark.needs("torch")
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("order", ["CRD", "DCR"])
def test_torch_autograd(large: bool, order: Order) -> None:
    torch = _torch()
    shape = shape_for(2, False, False, large)
    x = torch_input(torch, shape, "float64", seed=9).nan_to_num(0.0, 0.0, 0.0).requires_grad_()
    y = subpixel.pixel_shuffle(x, 2, order=order)
    if large:
        assert type(y.grad_fn).__name__ == "_ShuffleBackward"
    g = torch.randn_like(y).requires_grad_()
    (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
    assert same_bits(gx, subpixel.pixel_unshuffle(g.detach(), 2, order=order))
    (gg,) = torch.autograd.grad(gx, g, torch.ones_like(gx))
    assert same_bits(gg, torch.ones_like(g))
    small = torch.randn(1, 8, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: subpixel.pixel_shuffle(t, 2, order=order), (small,))


def torch_routes(seen: Any) -> dict[str, int]:
    """The torch routes among those recorded (the NumPy engine records its own too)."""
    return {route: count for route, count in seen.items() if route.startswith("torch:")}


def _large_torch_route(
    fast_torch: Any, item: int, *, channels_last_result: bool, channels_last_plan: bool = False
) -> str:
    """The route of a plain CPU tensor of KERNEL_ELEMENTS or more with ``item``-byte elements."""
    if item == 16:
        return "torch:plain"
    if not fast_torch.HAS_NUMPY:
        return "torch:numpy-free"
    if _compiled.AVAILABLE or item == 1 or channels_last_result or channels_last_plan:
        return "torch:kernel"
    return "torch:copy-into"


@pytest.mark.parametrize("library", ["numpy", pytest.param("torch", marks=pytest.mark.needs("torch"))])
@pytest.mark.parametrize(
    ("shape", "factor", "inverse"),
    [((1, 128, 64, 8), 2, False), ((1, 256, 256, 1), 4, True), ((2, 192, 192, 3), 2, True)],
    ids=["shuffle", "unshuffle-by-4", "unshuffle-by-2"],
)
def test_inputs_broadcast_along_a_spatial_axis(
    library: str, shape: tuple[int, ...], factor: int, inverse: bool
) -> None:
    """Channels-last uint8 inputs repeated along their width (``np.broadcast_to``, torch's ``expand``).

    Their copies read the same source row again and again (a zero source step); with
    subpixel-kernels their short rows take its byte gather, which once divided by that step.
    """
    one = special_array((shape[0], shape[1], 1, shape[3]), "uint8", seed=31)
    x: Any = np.broadcast_to(one, shape)
    if library == "torch":
        torch = _torch()
        x = torch.from_numpy(one).expand(shape)
        assert x.stride(2) == 0
    y = call(x, factor, inverse, True, "CRD")
    want = reference(np.ascontiguousarray(np.broadcast_to(one, shape)), factor, inverse, True, "CRD")
    assert same_bits(y, want)


@pytest.mark.needs("torch")
def test_torch_routes() -> None:
    torch = _torch()
    from subpixel import _routes
    from subpixel._fast import torch as fast_torch

    assert set(fast_torch.unreachable_routes()) <= set(fast_torch.ROUTES)
    # Large float32 tensors: the engine with the compiled kernels, PyTorch's copy into a result
    # NumPy allocates without them; 1-byte elements always take the engine.
    engine = _large_torch_route(fast_torch, 4, channels_last_result=False)
    big = torch.zeros(2, 16, 64, 64)
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(big, 2, order="DCR")
    assert torch_routes(seen) == {engine: 1}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(big.to(torch.uint8), 2, order="DCR")
    assert torch_routes(seen) == {"torch:kernel" if fast_torch.HAS_NUMPY else "torch:numpy-free": 1}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(big.to(torch.complex128), 2)  # 16-byte elements: plain methods
        subpixel.pixel_shuffle(torch.zeros(1, 8, 4, 4), 2, order="DCR")  # small: plain methods
    assert torch_routes(seen) == {"torch:plain": 2}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(torch.zeros(1, 8, 4, 4), 2)  # small: PyTorch's own op
    assert torch_routes(seen) == {"torch:native": 1}
    tiny = torch.zeros(1, 8, 4, 4, requires_grad=True)
    assert type(subpixel.pixel_shuffle(tiny, 2).grad_fn).__name__ == "PixelShuffleBackward0"
    with torch.no_grad(), _routes.counting() as seen:
        assert subpixel.pixel_shuffle(big.requires_grad_(), 2).grad_fn is None
    assert torch_routes(seen) == {engine: 1}
    with _routes.counting() as seen:
        assert type(subpixel.pixel_shuffle(big, 2).grad_fn).__name__ == "_ShuffleBackward"
    assert torch_routes(seen) == {"torch:kernel-autograd": 1, engine: 1}
    middle = torch.zeros(1, 16, 40, 40)  # from SMALL_ELEMENTS to KERNEL_ELEMENTS
    assert fast_torch.SMALL_ELEMENTS <= middle.numel() < fast_torch.KERNEL_ELEMENTS
    assert middle.numel() * 4 >= fast_torch.SMALL_BYTES > middle.numel() * 2
    # With subpixel-kernels the engine starts at SMALL_BYTES: these 4- and 8-byte tensors take it.
    engine_here = middle.numel() >= fast_torch.ENGINE_ELEMENTS
    assert engine_here == _compiled.AVAILABLE
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(middle.to(torch.uint8), 2)  # PyTorch's op is slow on 1 byte
        subpixel.pixel_unshuffle(middle.to(torch.int16), 2)  # and on 2-byte unshuffles
    assert torch_routes(seen) == {"torch:plain": 2}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(middle, 2, order="DCR")
    assert torch_routes(seen) == {"torch:kernel" if engine_here else "torch:plain": 1}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(middle.to(torch.int16), 2)  # below SMALL_BYTES: PyTorch's op
        subpixel.pixel_shuffle(middle, 2)  # elsewhere below the engine: PyTorch's op
        subpixel.pixel_unshuffle(middle.double(), 2)
    expected = {"torch:native": 1, "torch:kernel": 2} if engine_here else {"torch:native": 3}
    assert torch_routes(seen) == expected
    low = torch.zeros(1, 4, 48, 48)  # from SMALL_BYTES of 8-byte elements, below SMALL_ELEMENTS
    assert low.numel() < fast_torch.SMALL_ELEMENTS
    assert low.numel() * 8 >= fast_torch.SMALL_BYTES
    engine_here = low.numel() >= fast_torch.ENGINE_ELEMENTS
    assert engine_here == _compiled.AVAILABLE
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(low.double(), 2)  # the engine with subpixel-kernels
        subpixel.pixel_unshuffle(low.double(), 2)
    assert torch_routes(seen) == {"torch:kernel" if engine_here else "torch:native": 2}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(low.to(torch.uint8), 2)  # below SMALL_ELEMENTS: no METHODS_FIRST
        subpixel.pixel_unshuffle(low.to(torch.int16), 2)
        subpixel.pixel_shuffle(low, 2)
    assert torch_routes(seen) == {"torch:native": 3}
    with torch.device("meta"), _routes.counting() as seen:  # tensors the kernel does not take: the op
        subpixel.pixel_shuffle(torch.zeros(1, 16, 40, 40), 2)
    assert torch_routes(seen) == {"torch:native": 1}


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", ["uint16", "uint32", "uint64"])
def test_torch_op_stand_in(dtype: str) -> None:
    """Unsigned dtypes PyTorch's op lacks take it through a signed view of the same bits."""
    torch = _torch()
    from subpixel import _routes

    for shape, inverse in (((2, 8, 4, 4), False), ((2, 2, 8, 8), True)):
        x = torch_input(torch, shape, dtype, seed=21)
        with _routes.counting() as seen:
            y = call(x, 2, inverse, False, "CRD")
        assert torch_routes(seen) == {"torch:native": 1}
        assert y.dtype == x.dtype
        assert same_bits(y, torch_reference(x, 2, inverse, False, "CRD")), (dtype, inverse)


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_kernel_every_dtype(dtype: str) -> None:
    """From KERNEL_ELEMENTS every dtype of 1 to 8 bytes takes the engine (or, without the compiled
    kernels, 2 to 8 bytes PyTorch's copy into a NumPy-allocated result); 16-byte ones the methods."""
    torch = _torch()
    from subpixel import _routes
    from subpixel._fast import torch as fast_torch

    item = torch.empty((), dtype=getattr(torch, dtype)).element_size()
    side = 2 * int((fast_torch.KERNEL_ELEMENTS / 2 / 12) ** 0.5 / 3 + 1) * 3
    for factor, inverse, channels_last, order in [(2, False, False, "CRD"), (3, True, True, "DCR")]:
        shape = (2, side, side, 12) if channels_last else (2, 12, side, side)
        x = torch_input(torch, shape, dtype, seed=16)
        assert x.numel() >= fast_torch.KERNEL_ELEMENTS
        with _routes.counting() as seen:
            y = call(x, factor, inverse, channels_last, order)
        assert same_bits(y, torch_reference(x, factor, inverse, channels_last, order)), (dtype, factor)
        route = _large_torch_route(
            fast_torch, item, channels_last_result=False, channels_last_plan=channels_last
        )
        assert torch_routes(seen) == {route: 1}


@pytest.mark.needs("torch")
@pytest.mark.parametrize("dtype", ["uint8", "float16"])
@pytest.mark.parametrize("allocator", ["numpy", "torch"])
@pytest.mark.parametrize("channels_last", [False, True], ids=["contiguous", "channels_last"])
def test_torch_kernel_results_are_fresh_tensors_laid_out_as_pytorchs(
    monkeypatch: pytest.MonkeyPatch, dtype: str, allocator: str, channels_last: bool
) -> None:
    """Both allocators of the engine's results (NumPy below the ceiling, PyTorch from it) give
    a fresh, writable tensor with the bytes, dtype and strides of PyTorch's own op."""
    torch = _torch()
    from subpixel._fast import torch as fast_torch

    if not fast_torch.HAS_NUMPY:
        pytest.skip("the copy engine needs NumPy")  # pragma: no cover - NumPy is a test dependency
    if allocator == "torch":  # every result counts as at the ceiling
        monkeypatch.setattr(fast_torch, "RESULT_NUMPY_MAX_BYTES", 0)
    x = torch_input(torch, (2, 12, 96, 96), dtype, seed=21)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    before = x.clone()
    with _routes.counting() as seen:
        first, second = subpixel.pixel_shuffle(x, 2), subpixel.pixel_unshuffle(x, 2)
    route = _large_torch_route(fast_torch, x.element_size(), channels_last_result=channels_last)
    assert torch_routes(seen) == {route: 2}
    for y, expected in ((first, torch.pixel_shuffle(x, 2)), (second, torch.pixel_unshuffle(x, 2))):
        assert (y.dtype, y.shape, y.stride()) == (x.dtype, expected.shape, expected.stride())
        assert same_bits(y, expected)
        assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
        y.zero_()  # writable, and its own memory
    assert same_bits(x, before)
    assert first.untyped_storage().data_ptr() != second.untyped_storage().data_ptr()


@pytest.mark.needs("torch")
def test_torch_vmap_takes_plain_path() -> None:
    torch = _torch()
    x = torch_input(torch, (3, 2, 16, 40, 40), "float32", seed=10)
    y = torch.func.vmap(lambda t: subpixel.pixel_shuffle(t, 2))(x)
    assert same_bits(y, torch_reference(x, 2, False, False, "CRD"))


@pytest.mark.needs("torch")
@pytest.mark.slow
@pytest.mark.needs("torch")  # the warning filter below imports torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning:torch")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torch_compile_and_export() -> None:
    torch = _torch()

    class Model(torch.nn.Module):  # type: ignore[misc,name-defined]  # torch is imported at run time
        def forward(self, t: Any) -> Any:
            return subpixel.pixel_unshuffle(subpixel.pixel_shuffle(t, 2, order="DCR"), 2, order="DCR") + 1

    x = torch_input(torch, (1, 8, 64, 64), "float32", seed=11).nan_to_num(0.0, 0.0, 0.0)
    compiled = torch.compile(Model().forward, fullgraph=True)
    assert same_bits(compiled(x), x + 1)
    exported = torch.export.export(Model(), (x,))
    assert same_bits(exported.module()(x), x + 1)
    traced = torch.jit.trace(Model(), (x,), check_trace=False)
    assert same_bits(traced(x), x + 1)


@pytest.mark.needs("torch")
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize(
    ("shape", "dtype", "memory"),
    [
        ((1, 8, 6, 5), "uint16", "contiguous"),  # PyTorch's op has no unsigned 16/32/64-bit kernels
        ((2, 2, 8, 3, 4), "uint64", "contiguous"),
        ((2, 3, 8, 2, 3), "float32", "channels_last_3d"),  # PyTorch's op refuses this format
    ],
)
def test_traced_route_runs_where_pytorchs_op_does_not(
    shape: tuple[int, ...], dtype: str, memory: str
) -> None:
    """While PyTorch traces, an input PyTorch's op cannot take still gets the shuffle (found by
    the matrix's ``torch.jit.trace`` row); eagerly these take the copy engine."""
    torch = _torch()
    x = torch_input(torch, shape, dtype, seed=13)
    if memory == "channels_last_3d":
        x = x.contiguous(memory_format=torch.channels_last_3d)
    want = reference(x.numpy(), 2, False, False, "CRD")

    def shuffle(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2)

    traced = torch.jit.trace(shuffle, x, check_trace=False)
    assert same_bits(traced(x).numpy(), want)
    compiled = torch.compile(shuffle, backend="eager", fullgraph=True, dynamic=False)
    assert same_bits(compiled(x).numpy(), want)


@pytest.mark.needs("torch")
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental:UserWarning")
@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2", "bits8", "bits16", "complex32"])
@pytest.mark.parametrize("order", ["CRD", "DCR"])
def test_traced_route_moves_dtypes_without_pytorchs_op(dtype: str, order: Order) -> None:
    """float8, bits and complex32 tensors, which PyTorch's op does not implement, are shuffled
    under ``torch.jit.trace`` and ``torch.compile`` as they are eagerly (the matrix's traced
    rows check them too)."""
    torch = _torch()
    target = getattr(torch, dtype, None)
    if target is None:
        pytest.skip(f"this PyTorch has no {dtype}")  # pragma: no cover - every tested PyTorch has them
    bits = {1: torch.uint8, 2: torch.int16, 4: torch.int32}[torch.empty((), dtype=target).element_size()]
    x = torch.arange(2 * 8 * 3 * 4, dtype=torch.int32).to(bits).reshape(2, 8, 3, 4).view(target)
    want = subpixel.pixel_shuffle(x, 2, order=order).view(bits)

    def shuffle(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2, order=order)

    assert torch.equal(torch.jit.trace(shuffle, x, check_trace=False)(x).view(bits), want)
    torch._dynamo.reset()  # each dtype compiles afresh (Dynamo's limit of recompiles per function)
    compiled = torch.compile(shuffle, backend="eager", fullgraph=True, dynamic=False)
    assert torch.equal(compiled(x).view(bits), want)
    assert torch.equal(want, torch.from_numpy(reference(x.view(bits).numpy(), 2, False, False, order)))


# --- JAX --------------------------------------------------------------------------------------


@pytest.mark.needs("jax")
@pytest.mark.parametrize(("factor", "inverse", "channels_last", "order"), CASES[::3])
def test_jax_matches_array_api_path(factor: Any, inverse: bool, channels_last: bool, order: Order) -> None:
    import jax

    x_np = special_array(shape_for(factor, inverse, channels_last, False), "float32", seed=12)
    x = jax.numpy.asarray(x_np)
    y = call(x, factor, inverse, channels_last, order)
    assert same_bits(np.asarray(y), reference(x_np, factor, inverse, channels_last, order))
    inside = jax.jit(lambda t: call(t, factor, inverse, channels_last, order))(x)
    assert same_bits(np.asarray(inside), np.asarray(y))


@pytest.mark.needs("jax")
@pytest.mark.parametrize(
    ("symbols", "factor", "options", "highest"),
    [
        ("b, 8, h, w", 2, {}, 4),
        ("b, 18, h, w", 3, {"order": "DCR"}, 4),
        ("b, h, w, 12", (2, 3), {"channels_last": True}, 4),
        ("b, 16, h, w, d", (2, 2, 2), {}, 5),
        ("b, h, w, 8", 2, {"channels_last": True, "order": "DCR"}, 6),  # TensorFlow's own op
    ],
)
def test_jax_export_with_symbolic_sizes_emits_low_rank_transposes(
    symbols: str, factor: Any, options: dict[str, Any], highest: int
) -> None:
    """What ``jax.export`` (and ``jax2tf``) serialise: no transpose above rank 4 (5 for volumes)
    but for TensorFlow's own op; the exported function keeps the eager bits on other sizes."""
    import re

    import jax
    from jax import export

    names = [name.strip() for name in symbols.split(",")]
    shuffle_input = jax.ShapeDtypeStruct(export.symbolic_shape(symbols), np.float32)
    unshuffle_input = jax.eval_shape(lambda a: subpixel.pixel_shuffle(a, factor, **options), shuffle_input)
    for inverse, abstract in ((False, shuffle_input), (True, unshuffle_input)):
        fn = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
        exported = export.export(jax.jit(lambda a, fn=fn: fn(a, factor, **options)))(abstract)
        module = exported.mlir_module()
        transposes = re.finditer(r"stablehlo\.transpose[^\n]*-> tensor<([^>]*)>", module)
        ranks = [m.group(1).count("x") for m in transposes]
        assert ranks, module
        assert max(ranks) <= highest, ranks
        assert highest < 6 or max(ranks) == 6, ranks  # TensorFlow's op keeps its one transpose
        for sizes in ({"b": 1, "h": 2, "w": 3, "d": 2}, {"b": 3, "h": 5, "w": 4, "d": 3}):
            shape = tuple(int(name) if name.isdigit() else sizes[name] for name in names)
            x = special_array(shape, "float32", seed=sum(shape))
            if inverse:
                x = subpixel.pixel_shuffle(x, factor, **options)
            y = np.asarray(exported.call(jax.numpy.asarray(x)))
            assert same_bits(y, fn(x, factor, **options)), (symbols, inverse, sizes)


@pytest.mark.needs("jax")
def test_jax_compiles_each_shape_once_and_holds_one_function_per_call_signature() -> None:
    """Shapes beyond any bound of subpixel's caches never compile twice (JAX keeps each shape's
    executable for the one jitted function of the call's options, as for any jitted function)."""
    import jax

    from subpixel._fast import jax as fast_jax

    compiles: list[str] = []

    def listen(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        inputs = [jax.numpy.zeros((1, 4, 3, width), jax.numpy.float32) for width in range(3, 3 + 80)]
        first = [subpixel.pixel_shuffle(x, 2) for x in inputs]
        compiled = len(compiles)
        second = [subpixel.pixel_shuffle(x, 2) for x in inputs]
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiled >= len(inputs)
    assert len(compiles) == compiled  # the second pass compiled nothing
    assert fast_jax._compiled.cache_info().currsize <= fast_jax.JITTED_FUNCTIONS
    for a, b in zip(first, second, strict=True):
        assert same_bits(np.asarray(a), np.asarray(b))


@pytest.mark.needs("jax")
def test_jax_many_call_signatures_never_compile_twice() -> None:
    """A mix of a hundred factor and option signatures, cycled twice, compiles each once."""
    import jax

    compiles: list[str] = []

    def listen(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    calls = [(a, b, inverse) for a in range(1, 6) for b in range(1, 11) for inverse in (False, True)]
    inputs = {
        (a, b, inverse): jax.numpy.zeros((1, 2, 2 * a, 2 * b) if inverse else (1, 2 * a * b, 2, 2))
        for a, b, inverse in calls
    }
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        for pass_number in range(2):
            for a, b, inverse in calls:
                function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
                function(inputs[a, b, inverse], (a, b))
            if pass_number == 0:
                compiled = len(compiles)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert compiled >= len(calls)
    assert len(compiles) == compiled  # the second pass compiled nothing


@pytest.mark.needs("torch")
def test_torch_op_refusing_one_input_keeps_its_route_for_others() -> None:
    """An input PyTorch's op refuses changes nothing for the next input of its dtype.

    PyTorch's op raises ``NotImplementedError`` for a sparse tensor (which subpixel then rejects);
    later dense float32 tensors must still take the op, with its gradient strides.
    """
    torch = _torch()
    from subpixel import _routes

    x = torch_input(torch, (2, 8, 4, 4), "float32", seed=22)
    with pytest.raises(TypeError, match="dense"):
        call(x.to_sparse(), 2, False, False, "CRD")
    with _routes.counting() as seen:
        y = call(x, 2, False, False, "CRD")
    assert torch_routes(seen) == {"torch:native": 1}
    assert same_bits(y, torch_reference(x, 2, False, False, "CRD"))


@pytest.mark.parametrize(
    ("dtype", "factor", "inverse"), [("uint8", 2, False), ("float32", 2, False), ("int16", 3, True)]
)
def test_numpy_channels_last_copies_slice_by_slice(
    monkeypatch: pytest.MonkeyPatch, dtype: str, factor: int, inverse: bool
) -> None:
    """An NHWC shuffle of few channels (two short trailing axes, no source row) takes slice copies."""
    monkeypatch.setattr(_compiled, "AVAILABLE", False)
    channels = 3
    shape = (
        (2, 40, 90, channels * factor * factor) if not inverse else (2, 40 * factor, 90 * factor, channels)
    )
    x = special_array(shape, dtype, seed=3)
    assert x.nbytes >= fast_numpy.SMALL_BYTES
    with _routes.counting() as counter:
        y = call(x, factor, inverse, True, "CRD")
    assert same_bits(y, reference(x, factor, inverse, True, "CRD"))
    if not inverse:
        assert "numpy:blocked" in counter, dict(counter)
        assert "numpy:plain-copy" not in counter, dict(counter)


def test_short_tail_needs_a_long_axis_in_front() -> None:
    """Only trailing axes shorter than MIN_ROW, in front of a long one and at most MAX_TAIL in all."""
    assert _blocked._short_tail((100, 960, 2, 3)) == 2
    assert _blocked._short_tail((100, 960, 64)) == 0
    assert _blocked._short_tail((4, 2, 3)) == 0
    assert _blocked._short_tail((3,)) == 0
    assert _blocked._short_tail((100, 960, 7, 7, 7)) == 0
