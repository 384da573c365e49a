"""PyTorch autodiff through every size route, bit for bit against PyTorch's own op.

Reverse mode, forward mode (dual tensors and ``torch.func``), double backward, forward over
reverse and ``vmap``, at sizes that cross each threshold of the torch fast path (the native op,
just below and above :data:`subpixel._fast.torch.SMALL_BYTES`, above the engine's threaded
copy), for both directions, both channel orders, both layouts and ``torch.channels_last``
memory. Results, gradients and tangents must be the inverse (or the same) shuffle of their
inputs byte for byte, with the strides PyTorch's op gives. Only torch is needed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any, Literal

import pytest
import torch
import torch.autograd.forward_ad as _forward_ad
import torch.nn.functional as nnf

import subpixel
from subpixel import _limits, _routes
from subpixel._copy import _compiled
from subpixel._fast import torch as fast_torch
from tests.reference import reference as index_formula
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch",)

#: torch's forward-AD module and torch.func, loosely typed in torch's annotations.
fwad: Any = _forward_ad
func: Any = torch.func

# PyTorch's first dual tensor scripts its forward-AD decompositions, which warns in torch 2.13.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

#: The engine's threaded-copy threshold, from the library's thresholds so the sizes follow it.
PARALLEL_BYTES = _limits.PARALLEL_BYTES

#: Input bytes of each size route (float32), from the thresholds in the code.
SIZES = {
    "tiny": 4 * 8 * 8 * 4,
    "below": fast_torch.SMALL_BYTES - 2 * 64 * 4,
    "above": fast_torch.SMALL_BYTES + 2 * 64 * 4,
    "kernel": fast_torch.KERNEL_ELEMENTS * 4 + 2 * 64 * 4,
    "threaded": PARALLEL_BYTES + 2 * 64 * 4,
}

#: (order, channels_last) options; CRD channels-first is PyTorch's own op.
OPTIONS = [("CRD", False), ("DCR", False), ("CRD", True), ("DCR", True)]


def input_shape(nbytes: int, item: int, inverse: bool, channels_last: bool) -> tuple[int, ...]:
    """A shape of about ``nbytes`` (factor 2, even spatial sizes), 16 rows high, 4 channels."""
    width = max(2, nbytes // (item * 4 * 16) // 2 * 2)
    if inverse:
        shape = (1, 1, 2 * 16, 2 * width)
        return (1, 2 * 16, 2 * width, 1) if channels_last else shape
    return (1, 16, width, 4) if channels_last else (1, 4, 16, width)


def finite_tensor(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """float64 normal values with -0.0 mixed in (for numerical gradient checks)."""
    generator = torch.Generator().manual_seed(seed)
    values = torch.randn(shape, dtype=torch.float64, generator=generator)
    values.view(-1)[::97] = -0.0
    return values


def reference(x: torch.Tensor, inverse: bool, order: str, channels_last: bool) -> torch.Tensor:
    """The shuffle (factor 2) by the index formula (tests/reference.py)."""
    y = index_formula(x.detach().numpy(), 2, inverse=inverse, channels_last=channels_last, order=order)
    return torch.from_numpy(y)


def shuffle_fn(inverse: bool, order: str, channels_last: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle

    def run(t: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = function(t, 2, order=order, channels_last=channels_last)  # type: ignore[arg-type]
        return result

    return run


def native(x: torch.Tensor, inverse: bool) -> torch.Tensor:
    return nnf.pixel_unshuffle(x, 2) if inverse else nnf.pixel_shuffle(x, 2)


CASES = list(itertools.product(SIZES, (False, True), OPTIONS))
CASE_IDS = [f"{s}-{'unshuffle' if i else 'shuffle'}-{o}-{'last' if c else 'first'}" for s, i, (o, c) in CASES]


@pytest.mark.parametrize(("size", "inverse", "option"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("memory", ["contiguous", "channels_last"])
def test_forward_ad_dual_tensors(size: str, inverse: bool, option: tuple[str, bool], memory: str) -> None:
    order, last = option
    shape = input_shape(SIZES[size], 4, inverse, last)
    fmt = torch.channels_last if memory == "channels_last" else torch.contiguous_format
    x = torch.from_numpy(special_array(shape, seed=1)).contiguous(memory_format=fmt)
    t = torch.from_numpy(special_array(shape, seed=2)).contiguous(memory_format=fmt)
    run = shuffle_fn(inverse, order, last)
    for requires_grad in (False, True):
        primal = x.clone(memory_format=torch.preserve_format).requires_grad_(requires_grad)
        with fwad.dual_level():
            y = run(fwad.make_dual(primal, t))
            out, tangent = fwad.unpack_dual(y)
            assert_same_bits(out, reference(x, inverse, order, last), "primal")
            assert_same_bits(tangent, reference(t, inverse, order, last), "tangent")
            assert tangent is not None
            assert tangent.stride() == out.stride()
            if order == "CRD" and not last:
                expected = fwad.unpack_dual(native(fwad.make_dual(primal, t), inverse))
                assert out.stride() == expected.primal.stride()
                assert tangent.stride() == expected.tangent.stride()
        if requires_grad:
            g = torch.from_numpy(special_array(tuple(out.shape), seed=3))
            (gx,) = torch.autograd.grad(run(primal), primal, g)
            assert_same_bits(gx, reference(g, not inverse, order, last), "gradient")


@pytest.mark.parametrize("spatial", [(68, 164), (136, 328)])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("order", ["CRD", "DCR"])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("primal_last", [False, True], ids=["primal-contiguous", "primal-channels-last"])
def test_forward_ad_with_a_tangent_laid_out_unlike_its_primal(
    spatial: tuple[int, int], channels: int, order: Literal["CRD", "DCR"], inverse: bool, primal_last: bool
) -> None:
    # The tangent of a dual tensor may have other strides than its primal (a contiguous tangent
    # of a channels-last view); forward AD then needs the result's tangent laid out as the result.
    # One channel (its strides read as both layouts) above the engine's threshold once raised
    # PyTorch's internal assert "the tangent have the same layout as primal" (found by the fuzz).
    factor = 4
    height, width = spatial
    depth = channels * factor * factor if not inverse else channels
    shape = (2, depth, height, width)
    assert math.prod(shape) * 4 >= fast_torch.SMALL_BYTES
    nhwc = (shape[0], shape[2], shape[3], shape[1])
    primal = torch.from_numpy(special_array(shape, seed=1))
    tangent = torch.from_numpy(special_array(shape, seed=2))
    # Channels-last views of NHWC tensors: views, as a user's permuted array is.
    if primal_last:
        primal = torch.from_numpy(special_array(nhwc, seed=1)).permute(0, 3, 1, 2)
    else:
        tangent = torch.from_numpy(special_array(nhwc, seed=2)).permute(0, 3, 1, 2)
    run = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    with fwad.dual_level():
        out, result = fwad.unpack_dual(run(fwad.make_dual(primal, tangent), factor, order=order))
    assert result is not None
    assert result.stride() == out.stride()
    expected = torch.from_numpy(
        index_formula(tangent.numpy(), factor, inverse=inverse, channels_last=False, order=order)
    )
    assert_same_bits(result, expected, "tangent")


@pytest.mark.parametrize(("size", "inverse", "option"), CASES, ids=CASE_IDS)
def test_reverse_double_backward_and_forward_over_reverse(
    size: str, inverse: bool, option: tuple[str, bool]
) -> None:
    order, last = option
    shape = input_shape(SIZES[size], 4, inverse, last)
    run = shuffle_fn(inverse, order, last)
    x = torch.from_numpy(special_array(shape, seed=4)).requires_grad_()
    y = run(x)
    assert_same_bits(y, reference(x, inverse, order, last))
    g = torch.from_numpy(special_array(tuple(y.shape), seed=5)).requires_grad_()
    (gx,) = torch.autograd.grad(y, x, g, create_graph=True)
    assert_same_bits(gx, reference(g, not inverse, order, last), "gradient")
    v = torch.from_numpy(special_array(shape, seed=6))
    (gg,) = torch.autograd.grad(gx, g, v)
    assert_same_bits(gg, reference(v, inverse, order, last), "double backward")
    # Forward over reverse: a dual cotangent's tangent goes through the backward.
    t = torch.from_numpy(special_array(tuple(y.shape), seed=7))
    with fwad.dual_level():
        (gd,) = torch.autograd.grad(run(x), x, fwad.make_dual(g.detach(), t))
        assert_same_bits(
            fwad.unpack_dual(gd).tangent, reference(t, not inverse, order, last), "tangent of grad"
        )


@pytest.mark.parametrize(("size", "inverse", "option"), CASES, ids=CASE_IDS)
def test_torch_func_transforms(size: str, inverse: bool, option: tuple[str, bool]) -> None:
    order, last = option
    shape = input_shape(SIZES[size], 4, inverse, last)
    run = shuffle_fn(inverse, order, last)
    x = torch.from_numpy(special_array(shape, seed=8))
    t = torch.from_numpy(special_array(shape, seed=9))
    out, tangent = func.jvp(run, (x,), (t,))
    assert_same_bits(out, reference(x, inverse, order, last))
    assert_same_bits(tangent, reference(t, inverse, order, last), "jvp tangent")
    y, vjp_fn = func.vjp(run, x)
    g = torch.from_numpy(special_array(tuple(y.shape), seed=10))
    (gx,) = vjp_fn(g)
    assert_same_bits(gx, reference(g, not inverse, order, last), "vjp")
    # Forward over reverse with torch.func: the jvp of the vjp.
    _, gt = func.jvp(lambda c: vjp_fn(c)[0], (g,), (y.detach(),))
    assert_same_bits(gt, reference(y, not inverse, order, last), "jvp of vjp")
    finite = finite_tensor(shape, seed=11)
    weight = finite_tensor(tuple(y.shape), seed=12)
    grad = torch.func.grad(lambda a: (run(a) * weight).sum())(finite)
    assert_same_bits(grad, reference(weight, not inverse, order, last), "grad")
    stacked = torch.stack([x, t])
    batched = torch.func.vmap(run)(stacked)
    expected = [reference(x, inverse, order, last), reference(t, inverse, order, last)]
    assert_same_bits(batched, torch.stack(expected), "vmap")


#: (size, inverse, order): every option below the threaded size, a covering pair above it.
GRADCHECK_CASES = [
    *itertools.product(("tiny", "above", "kernel"), (False, True), ("CRD", "DCR")),
    ("threaded", False, "CRD"),
    ("threaded", True, "DCR"),
]


@pytest.mark.parametrize(("size", "inverse", "order"), GRADCHECK_CASES)
def test_gradcheck_and_gradgradcheck_float64(size: str, inverse: bool, order: str) -> None:
    shape = input_shape(SIZES[size] * 2, 8, inverse, False)  # float64: twice the bytes, same route
    run = shuffle_fn(inverse, order, False)
    x = finite_tensor(shape, seed=13).requires_grad_()
    assert torch.autograd.gradcheck(run, (x,), check_forward_ad=True, fast_mode=True)
    assert torch.autograd.gradgradcheck(run, (x,), check_fwd_over_rev=True, fast_mode=True)


#: Shapes whose memory format is ambiguous (contiguous in both formats) or not dense.
MEMORY_CASES = [
    ("unshuffle", (4, 1, 1024, 1024), 4, "empty_channels_last"),
    ("unshuffle", (4, 1, 64, 64), 2, "empty_channels_last"),
    ("unshuffle", (4, 1, 64, 64), 2, "channels_last"),
    ("shuffle", (4, 4, 1, 1), 2, "empty_channels_last"),
    ("shuffle", (2, 16, 1, 1), 2, "empty_channels_last"),
    ("shuffle", (1, 4, 8, 8), 2, "empty_channels_last"),
    ("shuffle", (1, 4, 256, 256), 2, "empty_channels_last"),
    ("shuffle", (2, 16, 64, 64), 2, "sliced_channels_last"),
    ("unshuffle", (2, 16, 128, 128), 2, "sliced_channels_last"),
    ("shuffle", (2, 16, 64, 64), 2, "transposed"),
    ("shuffle", (2, 4, 128, 128), 2, "channels_last"),
    ("unshuffle", (2, 4, 128, 128), 2, "contiguous"),
]


def laid_out(shape: tuple[int, ...], layout: str, seed: int) -> torch.Tensor:
    if layout == "empty_channels_last":
        x = torch.empty(shape, memory_format=torch.channels_last)
        x.copy_(torch.from_numpy(special_array(shape, seed=seed)))
        return x
    if layout == "sliced_channels_last":
        wide = (shape[0], 2 * shape[1], *shape[2:])
        return torch.from_numpy(special_array(wide, seed=seed)).contiguous(memory_format=torch.channels_last)[
            :, ::2
        ]
    if layout == "transposed":
        return torch.from_numpy(special_array((*shape[:2], shape[3], shape[2]), seed=seed)).transpose(-1, -2)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    return torch.from_numpy(special_array(shape, seed=seed)).contiguous(memory_format=fmt)


@pytest.mark.parametrize(("direction", "shape", "factor", "layout"), MEMORY_CASES)
def test_strides_equal_torch(direction: str, shape: tuple[int, ...], factor: int, layout: str) -> None:
    inverse = direction == "unshuffle"
    ours = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    theirs = nnf.pixel_unshuffle if inverse else nnf.pixel_shuffle
    x = laid_out(shape, layout, seed=14)
    expected = theirs(x, factor)
    for order in ("CRD", "DCR"):
        y = ours(x, factor, order=order)
        assert y.stride() == expected.stride(), (order, x.stride())
    y = ours(x, factor)
    assert_same_bits(y, expected)
    # Gradients: the cotangent's own layout decides, as in PyTorch's backward.
    a = x.detach().clone(memory_format=torch.preserve_format).requires_grad_()
    b = x.detach().clone(memory_format=torch.preserve_format).requires_grad_()
    ya, yb = ours(a, factor), theirs(b, factor)
    assert ya.stride() == yb.stride()
    for cotangent_layout in ("contiguous", "channels_last", "empty_channels_last"):
        g = laid_out(tuple(yb.shape), cotangent_layout, seed=15)
        (ga,) = torch.autograd.grad(ya, a, g, retain_graph=True)
        (gb,) = torch.autograd.grad(yb, b, g, retain_graph=True)
        assert_same_bits(ga, gb, "gradient")
        assert ga.stride() == gb.stride(), cotangent_layout
    torch.autograd.backward([ya, yb], [g, g])
    assert a.grad is not None
    assert b.grad is not None
    assert a.grad.stride() == b.grad.stride()


def torch_routes(seen: Any) -> set[str]:
    """The torch routes among those recorded (the NumPy engine records its own too)."""
    return {route for route in seen if route.startswith("torch:")}


def test_routes_of_autodiff() -> None:
    """Each autodiff route is taken where it should be (NumPy installed or not)."""
    big = input_shape(SIZES["kernel"], 4, False, False)
    x = torch.from_numpy(special_array(big, seed=16)).requires_grad_()
    t = torch.from_numpy(special_array(big, seed=17))
    # float32 copies: the engine with the compiled kernels, else PyTorch's copy into NumPy memory.
    engine = "torch:numpy-free"
    if fast_torch.HAS_NUMPY:
        engine = "torch:kernel" if _compiled.AVAILABLE else "torch:copy-into"
    wrapped = "torch:kernel-autograd"
    with _routes.counting() as seen:
        y = subpixel.pixel_shuffle(x, 2, order="DCR")
    assert torch_routes(seen) == {wrapped, engine}
    with _routes.counting() as seen:
        torch.autograd.backward(y, torch.ones_like(y))
    assert torch_routes(seen) == {engine}
    with _routes.counting() as seen, fwad.dual_level():
        subpixel.pixel_shuffle(fwad.make_dual(x.detach(), t), 2, order="DCR")
    assert torch_routes(seen) == {wrapped, "torch:kernel-forward-ad", engine}
    above = torch.from_numpy(special_array(input_shape(SIZES["above"], 4, False, False)))
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(above, 2, order="DCR")
    # From SMALL_BYTES, the engine where it starts this low (ENGINE_ELEMENTS), else the methods.
    in_engine = not fast_torch.HAS_NUMPY or above.numel() >= fast_torch.ENGINE_ELEMENTS
    assert torch_routes(seen) == {engine if in_engine else "torch:plain"}
    with _routes.counting() as seen:
        torch.func.jvp(lambda a: subpixel.pixel_shuffle(a, 2, order="DCR"), (x.detach(),), (t,))
    assert torch_routes(seen) == {"torch:plain"}
    with _routes.counting() as seen:
        subpixel.pixel_shuffle(x[:, :, :4, :4].detach(), 2)
    assert torch_routes(seen) == {"torch:native"}
