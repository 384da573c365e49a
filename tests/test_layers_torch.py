from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import numpy as np
import pytest
import torch

import subpixel
from subpixel._spec import ShuffleSpec
from subpixel._validate import check_factors
from subpixel.torch import PixelShuffle, PixelUnshuffle, SubPixelConv
from tests.layer_helpers import (
    ICNR_CASES,
    first_of_groups,
    icnr_case_ids,
    nearest_upsample,
)
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch",)

nn = torch.nn


def tensor(shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(special_array(shape, seed=seed, base="normal"))


# --- drop-in for torch.nn ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factor", "shape"), [(1, (2, 3, 4, 5)), (2, (2, 8, 3, 5)), (3, (9, 2, 2)), (2, (2, 3, 4, 4, 3))]
)
def test_pixel_shuffle_is_torch_bit_for_bit(factor: int, shape: tuple[int, ...]) -> None:
    x = tensor(shape)
    before = x.numpy().tobytes()
    ours, theirs = PixelShuffle(factor), nn.PixelShuffle(factor)
    out = ours(x)
    assert_same_bits(out.numpy(), theirs(x).numpy())
    assert x.numpy().tobytes() == before
    assert out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize(
    ("factor", "shape"), [(1, (2, 3, 4, 5)), (2, (2, 2, 6, 4)), (3, (1, 3, 3)), (2, (2, 3, 1, 4, 4))]
)
def test_pixel_unshuffle_is_torch_bit_for_bit(factor: int, shape: tuple[int, ...]) -> None:
    x = tensor(shape)
    assert_same_bits(PixelUnshuffle(factor)(x).numpy(), nn.PixelUnshuffle(factor)(x).numpy())


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_repr_parameters_and_state_match_torch(factor: int) -> None:
    for ours, theirs in [
        (PixelShuffle(factor), nn.PixelShuffle(factor)),
        (PixelUnshuffle(factor), nn.PixelUnshuffle(factor)),
    ]:
        assert repr(ours) == repr(theirs)
        assert list(ours.parameters()) == []
        assert ours.state_dict() == {}
    assert PixelShuffle(factor).upscale_factor == nn.PixelShuffle(factor).upscale_factor
    assert PixelUnshuffle(factor).downscale_factor == nn.PixelUnshuffle(factor).downscale_factor


def test_script_compiles_the_int_factor_layers() -> None:
    x = tensor((2, 8, 3, 5))
    for ours, theirs in [(PixelShuffle(2), nn.PixelShuffle(2)), (PixelUnshuffle(2), nn.PixelUnshuffle(2))]:
        with warnings.catch_warnings():
            # torch.jit.script is deprecated since torch 2.13; the layers still script, as torch's do.
            warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
            scripted = torch.jit.script(ours)
        y = x if isinstance(ours, PixelShuffle) else tensor((2, 2, 6, 10))
        assert_same_bits(scripted(y).numpy(), theirs(y).numpy())
        assert scripted.state_dict() == {}


def test_non_tensor_input_is_a_type_error_naming_the_argument() -> None:
    for layer, name in [(PixelShuffle(2), "PixelShuffle"), (PixelUnshuffle(2), "PixelUnshuffle")]:
        for bad in (np.zeros((1, 4, 4, 4), np.float32), [[[[0.0] * 4] * 4] * 4], None):
            with pytest.raises(
                TypeError, match=rf"^{name}.forward: argument 'input' must be a torch.Tensor, got "
            ):
                layer(bad)
    with pytest.raises(TypeError, match=r"got numpy.ndarray"):
        PixelShuffle(2)(np.zeros((1, 4, 3, 3)))


def test_input_by_keyword_and_factor_set_after_construction_follow_torch() -> None:
    x = tensor((1, 36, 2, 2))
    ours, theirs = PixelShuffle(2), nn.PixelShuffle(2)
    assert_same_bits(ours(input=x).numpy(), theirs(input=x).numpy())
    ours.upscale_factor = theirs.upscale_factor = 3
    assert_same_bits(ours(x).numpy(), theirs(x).numpy())
    assert repr(ours) == repr(theirs) == "PixelShuffle(upscale_factor=3)"
    inverse = PixelUnshuffle(3)
    inverse.downscale_factor = 2
    assert_same_bits(inverse(x).numpy(), nn.PixelUnshuffle(2)(x).numpy())
    ours.upscale_factor = 0
    with pytest.raises(ValueError, match="upscale_factor"):
        ours(x)


def test_repr_of_extended_options() -> None:
    assert repr(PixelShuffle((2, 3), channels_last=True, order="DCR")) == (
        "PixelShuffle(upscale_factor=(2, 3), channels_last=True, order='DCR')"
    )
    unshuffle = PixelUnshuffle([4], order="DCR")  # type: ignore[arg-type]  # a list is accepted too
    assert repr(unshuffle) == "PixelUnshuffle(downscale_factor=(4,), order='DCR')"


def test_inside_sequential_and_state_dict_roundtrip() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 1), PixelShuffle(2), PixelUnshuffle(2))
    clone = nn.Sequential(nn.Conv2d(1, 4, 1), PixelShuffle(2), PixelUnshuffle(2))
    clone.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 3, 3)
    assert_same_bits(clone(x).detach().numpy(), model(x).detach().numpy())


# --- extended options give subpixel.pixel_shuffle's bits -------------------------------------

OPTIONS = [
    (factor, last, order)
    for factor, last, order in itertools.product([2, (3,), (2, 3), (1, 2, 2)], [False, True], ["CRD", "DCR"])
]


def _shuffle_input(factor: int | tuple[int, ...], last: bool) -> tuple[int, ...]:
    factors = check_factors(factor, "test", "factor")
    spatial = (3,) * len(factors)
    channels = 2 * math.prod(factors)
    return (2, *spatial, channels) if last else (2, channels, *spatial)


@pytest.mark.parametrize(("factor", "last", "order"), OPTIONS, ids=str)
def test_extended_options_match_functional(factor: int | tuple[int, ...], last: bool, order: str) -> None:
    x = tensor(_shuffle_input(factor, last))
    y = PixelShuffle(factor, channels_last=last, order=order)(x)  # type: ignore[arg-type]
    expected = subpixel.pixel_shuffle(x.numpy(), factor, channels_last=last, order=order)  # type: ignore[arg-type]
    assert_same_bits(y.numpy(), expected)
    back = PixelUnshuffle(factor, channels_last=last, order=order)(y)  # type: ignore[arg-type]
    assert_same_bits(back.numpy(), x.numpy())


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [
        (lambda: PixelShuffle(0), ValueError, "upscale_factor"),
        (lambda: PixelShuffle(2.0), TypeError, "upscale_factor"),  # type: ignore[arg-type]
        (lambda: PixelShuffle(True), TypeError, "upscale_factor"),
        (lambda: PixelUnshuffle(-1), ValueError, "downscale_factor"),
        (lambda: PixelShuffle(2, order="XYZ"), ValueError, "order"),  # type: ignore[arg-type]
        (lambda: PixelShuffle(2, channels_last=1), TypeError, "channels_last"),  # type: ignore[arg-type]
        (lambda: SubPixelConv(0, 1, 2), ValueError, "in_channels"),
        (lambda: SubPixelConv(1, 2.5, 2), TypeError, "out_channels"),  # type: ignore[arg-type]
        (lambda: SubPixelConv(1, 1, (2, 2, 2, 2)), ValueError, "upscale_factor"),
        (lambda: SubPixelConv(1, 1, 2, (3, 3, 3)), ValueError, "kernel_size"),
        (lambda: SubPixelConv(1, 1, 2, icnr="yes"), TypeError, "icnr"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_are_rejected(make: object, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        make()  # type: ignore[operator]


def test_bad_input_names_the_shape() -> None:
    with pytest.raises(ValueError, match=r"divisible by 4.*\(1, 3, 2, 2\)"):
        PixelShuffle(2)(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="divisible by 2"):
        PixelUnshuffle(2)(torch.zeros(1, 1, 3, 4))


# --- autograd, compile, export ---------------------------------------------------------------


def test_gradients_are_the_inverse_shuffle() -> None:
    x = torch.randn(2, 12, 3, 4, requires_grad=True)
    layer = PixelShuffle((2, 3), order="DCR")
    grad_out = torch.randn(2, 2, 6, 12)
    layer(x).backward(grad_out)
    assert x.grad is not None
    expected = PixelUnshuffle((2, 3), order="DCR")(grad_out)
    assert_same_bits(x.grad.numpy(), expected.numpy())


def test_gradcheck_sub_pixel_conv() -> None:
    torch.manual_seed(0)
    block = SubPixelConv(2, 1, (2, 1), 3, order="DCR").double()
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,))
    assert torch.autograd.gradcheck(
        PixelUnshuffle(2, channels_last=True).double(),
        (torch.randn(1, 4, 2, 3, dtype=torch.float64, requires_grad=True),),
    )


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("dynamic", [False, True])
@pytest.mark.parametrize(
    ("factor", "last", "order"), [(2, False, "CRD"), ((2, 3), True, "DCR"), ((3,), False, "DCR")], ids=str
)
def test_compile_fullgraph_matches_eager(
    dynamic: bool, factor: int | tuple[int, ...], last: bool, order: str
) -> None:
    torch._dynamo.reset()
    shuffle = PixelShuffle(factor, channels_last=last, order=order)  # type: ignore[arg-type]
    unshuffle = PixelUnshuffle(factor, channels_last=last, order=order)  # type: ignore[arg-type]
    model = nn.Sequential(shuffle, nn.Identity())
    # Inductor (the default backend) once, the cheaper aot_eager for the rest.
    backend = "inductor" if (factor, dynamic) == (2, False) else "aot_eager"
    compiled = torch.compile(model, fullgraph=True, dynamic=dynamic, backend=backend)
    compiled_inverse = torch.compile(unshuffle, fullgraph=True, dynamic=dynamic, backend="aot_eager")
    for batch in (2, 3):
        x = tensor((batch, *_shuffle_input(factor, last)[1:]), seed=batch)
        y = compiled(x)
        assert_same_bits(y.numpy(), shuffle(x).numpy())
        assert_same_bits(compiled_inverse(y).numpy(), x.numpy())


def test_compile_sub_pixel_conv_with_backward() -> None:
    torch._dynamo.reset()
    block = SubPixelConv(3, 2, 2)
    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(compiled(x), block(x), rtol=0, atol=0)
    compiled(x).sum().backward()
    assert block.conv.weight.grad is not None


def test_export_with_dynamic_batch_and_space() -> None:
    batch, height, width = torch.export.Dim("batch"), torch.export.Dim("height"), torch.export.Dim("width")
    model = nn.Sequential(PixelUnshuffle(2), PixelShuffle(2, order="DCR")).eval()
    program = torch.export.export(
        model,
        (torch.randn(2, 3, 8, 6),),
        dynamic_shapes=({0: batch, 2: 2 * height, 3: 2 * width},),
    )
    for shape in [(3, 3, 4, 10), (5, 3, 12, 6)]:
        x = tensor(shape)
        assert_same_bits(program.module()(x).numpy(), model(x).numpy())


def test_export_sub_pixel_conv_3d() -> None:
    block = SubPixelConv(2, 1, (1, 2, 2), 3, order="DCR").eval()
    x = torch.randn(1, 2, 3, 4, 4)
    program = torch.export.export(block, (x,))
    torch.testing.assert_close(program.module()(x), block(x), rtol=0, atol=0)


# --- SubPixelConv ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factor", "conv_type", "shape", "out_shape"),
    [
        ((3,), nn.Conv1d, (2, 4, 7), (2, 5, 21)),
        (2, nn.Conv2d, (2, 4, 5, 6), (2, 5, 10, 12)),
        ((2, 1), nn.Conv2d, (2, 4, 5, 6), (2, 5, 10, 6)),
        ((1, 2, 2), nn.Conv3d, (1, 4, 3, 4, 5), (1, 5, 3, 8, 10)),
    ],
)
def test_sub_pixel_conv_structure(
    factor: object, conv_type: type, shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> None:
    block = SubPixelConv(4, 5, factor, 3)  # type: ignore[arg-type]
    assert type(block.conv) is conv_type
    assert block.conv.out_channels == 5 * math.prod(check_factors(factor, "test", "factor"))
    assert tuple(block(torch.randn(shape)).shape) == out_shape


def test_sub_pixel_conv_repr_and_options() -> None:
    block = SubPixelConv(3, 1, 3, order="DCR", bias=False, icnr=False)
    assert block.conv.bias is None
    first = (
        "in_channels=3, out_channels=1, upscale_factor=3, kernel_size=3, order='DCR', bias=False, icnr=False"
    )
    assert repr(block).startswith(f"SubPixelConv(\n  {first}\n")
    assert "(shuffle): PixelShuffle(upscale_factor=3, order='DCR')" in repr(block)


def test_every_layer_has_the_attributes_its_repr_shows() -> None:
    shuffle = PixelShuffle((2, 3), channels_last=True, order="DCR")
    unshuffle = PixelUnshuffle(2)
    assert (shuffle.upscale_factor, shuffle.channels_last, shuffle.order) == ((2, 3), True, "DCR")
    assert (unshuffle.downscale_factor, unshuffle.channels_last, unshuffle.order) == (2, False, "CRD")
    assert not hasattr(shuffle, "downscale_factor")
    assert not hasattr(unshuffle, "upscale_factor")
    block = SubPixelConv(3, 2, (2, 1), 5, order="DCR", icnr=False)
    assert (block.in_channels, block.out_channels, block.upscale_factor) == (3, 2, (2, 1))
    assert (block.kernel_size, block.channels_last, block.order, block.icnr) == ((5, 5), False, "DCR", False)
    assert block.kernel_size == block.conv.kernel_size
    text = repr(block)
    assert text.startswith(
        "SubPixelConv(\n  in_channels=3, out_channels=2, upscale_factor=(2, 1), kernel_size=5, order='DCR', "
        "icnr=False\n"
    )
    assert "Spec" not in text
    assert "caller" not in text
    with pytest.raises(AttributeError):
        block.upscale_factor = 3  # type: ignore[misc]  # the convolution was made for the factor
    # Defaults are left out, so the text is torch's own.
    assert repr(PixelShuffle(3)) == repr(nn.PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"


def test_options_set_after_construction_take_effect_and_show() -> None:
    layer = PixelShuffle(2)
    layer.channels_last, layer.order = True, "DCR"
    x = tensor((1, 3, 3, 8))
    assert_same_bits(layer(x).numpy(), subpixel.pixel_shuffle(x, 2, channels_last=True, order="DCR").numpy())
    assert repr(layer) == "PixelShuffle(upscale_factor=2, channels_last=True, order='DCR')"


def test_sub_pixel_conv_without_icnr_is_not_grouped() -> None:
    torch.manual_seed(0)
    weight = SubPixelConv(2, 1, 2, icnr=False).conv.weight.detach()
    assert not torch.equal(weight[0], weight[1])


@pytest.mark.parametrize(
    ("factor", "kernel_size", "order"),
    [(f, k, o) for (f, k), o in itertools.product(ICNR_CASES, ("CRD", "DCR"))],
    ids=icnr_case_ids(),
)
def test_icnr_output_is_nearest_upsampling_of_sub_kernel_conv(
    factor: object, kernel_size: object, order: str
) -> None:
    torch.manual_seed(1)
    factors = check_factors(factor, "test", "factor")
    block = SubPixelConv(3, 2, factor, kernel_size, order=order).double()  # type: ignore[arg-type]
    x = torch.randn(2, 3, *(4 + i for i in range(len(factors))), dtype=torch.float64)
    picks = first_of_groups(2, factors, order)
    conv: Any = type(block.conv)  # Conv1d, Conv2d or Conv3d
    sub = conv(3, 2, kernel_size, padding="same", dtype=torch.float64)
    assert sub.bias is not None
    with torch.no_grad():
        sub.weight.copy_(block.conv.weight[picks])
        sub.bias.copy_(block.conv.bias[picks])  # type: ignore[index]
        got = block(x).numpy()
        expected = nearest_upsample(sub(x).numpy(), factors, channels_last=False)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert not np.allclose(got, 0)


@pytest.mark.parametrize(("factor", "last", "order"), OPTIONS, ids=str)
@pytest.mark.parametrize("inverse", [False, True])
def test_traced_plan_is_the_plan(
    factor: int | tuple[int, ...], last: bool, order: str, inverse: bool
) -> None:
    """The plan of sizes held as 0-d tensors (torch.jit.trace's sizes) is the plan of their values."""
    spec = ShuffleSpec.create(factor, inverse=inverse, channels_last=last, order=order)
    x = tensor(_shuffle_input(factor, last))
    if inverse:
        x = PixelShuffle(factor, channels_last=last, order=order)(x)  # type: ignore[arg-type]
    traced = spec.traced_plan(tuple(torch.tensor(size) for size in x.shape))
    plan = spec.plan(tuple(x.shape))
    assert traced.axes == plan.axes
    assert [int(size) for size in traced.expand_shape] == list(plan.expand_shape)
    assert [int(size) for size in traced.collapse_shape] == list(plan.collapse_shape)


@pytest.mark.parametrize("memory", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("inverse", [False, True])
def test_torch_export_graph_is_the_native_layers(inverse: bool, memory: torch.memory_format) -> None:
    # Exported programs (ExecuTorch, AOTInductor, ...) hold exactly what torch's own layer gives:
    # its op and nothing after it, so every lowering counts the same operators.
    native = (torch.nn.PixelUnshuffle if inverse else torch.nn.PixelShuffle)(2)
    ours = (PixelUnshuffle if inverse else PixelShuffle)(2)
    x = torch.from_numpy(special_array((2, 8, 6, 10), seed=4)).contiguous(memory_format=memory)

    def calls(module: torch.nn.Module) -> list[Any]:
        program = torch.export.export(module.eval(), (x,))
        return [node.target for node in program.graph.nodes if node.op == "call_function"]

    assert calls(ours) == calls(native)
    out, expected = ours(x), native(x)
    assert out.stride() == expected.stride()
    assert_same_bits(out, expected)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (PixelShuffle(2, order="DCR"), (3, 8, 5, 6)),
        (PixelUnshuffle(2, order="DCR"), (3, 2, 6, 8)),
        (PixelUnshuffle(2, channels_last=True), (3, 6, 8, 2)),
        (PixelShuffle(3, channels_last=True, order="DCR"), (3, 2, 2, 18)),
        (PixelShuffle((2, 3)), (3, 12, 3, 4)),
        (PixelShuffle((2, 2, 2)), (3, 16, 2, 3, 2)),
        (PixelUnshuffle((2, 2, 2), order="DCR"), (3, 2, 4, 6, 4)),
    ],
    ids=["DCR", "DCR-unshuffle", "last-unshuffle", "last-DCR", "tuple", "3-D", "3-D-DCR-unshuffle"],
)
def test_traced_reshapes_keep_the_batch_axis_apart(layer: Any, shape: tuple[int, ...]) -> None:
    """Every reshape of a traced graph keeps the batch axis as its first axis, of the batch's size.

    Converters that follow the batch axis through a graph (pnnx, for ncnn) lose it at a reshape
    that merges it with another axis, and then transpose the wrong axes.
    """
    x = torch.from_numpy(special_array(shape))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace is deprecated
        traced = torch.jit.trace(layer, (x,))  # type: ignore[no-untyped-call]
    reshapes = [node for node in traced.inlined_graph.nodes() if node.kind() == "aten::reshape"]
    assert reshapes
    for node in reshapes:
        sizes = node.output().type().sizes()
        assert sizes[0] == shape[0], sizes
        assert len(sizes) <= len(shape), sizes  # rank 4, or 5 for volumes
    assert_same_bits(traced(x).numpy(), layer(x).numpy())
