"""convert_order: trained weights move between the CRD and DCR channel orders, bit for bit.

The oracle for "TensorFlow" is a channels-last convolution with a ``(kh, kw, in, out)`` kernel
followed by ``depth_to_space``, emulated twice: with our ``order="DCR", channels_last=True`` and
with ONNX ``DepthToSpace`` run by ``onnx.reference.ReferenceEvaluator`` (pure NumPy, written
independently of this project). Convolutions use small integer values in float32, so every sum
is exact and the results can be compared byte for byte whatever the summation order.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest

from subpixel import pixel_shuffle, pixel_unshuffle
from subpixel._order import convert_order
from tests.backends import Backend, to_numpy
from tests.reference import ORDERS, Order
from tests.values import same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()


def requested_torch() -> Any:
    """Import torch (the tests that call this are collected only when the run requests torch)."""
    import torch

    return torch


def channel_index(order: str, c: int, o: int, channels: int, product: int) -> int:
    """Where output channel ``c`` at flat sub-pixel offset ``o`` lives, written from the definition."""
    return c * product + o if order == "CRD" else o * channels + c


# --------------------------------------------------------------------------- the permutation itself


@pytest.mark.parametrize(("source", "target"), list(itertools.product(ORDERS, ORDERS)))
@pytest.mark.parametrize("factor", [2, 3, (2,), (2, 3), (2, 1, 3)])
def test_moves_each_channel_where_the_definition_says(source: Order, target: Order, factor: Any) -> None:
    product = math.prod(factor) if isinstance(factor, tuple) else factor * factor
    channels = 3
    weight = np.arange(channels * product) * 10 + 7
    converted = convert_order(weight, factor, source=source, target=target)
    for c in range(channels):
        for o in range(product):
            new = converted[channel_index(target, c, o, channels, product)]
            old = weight[channel_index(source, c, o, channels, product)]
            assert new == old, (c, o)


@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -4])
def test_permutes_only_the_named_axis(axis: int) -> None:
    weight = special_array((4, 8, 4, 8), seed=axis + 10)
    converted = convert_order(weight, 2, source="DCR", target="CRD", axis=axis)
    # Expected: take along the axis with the permutation written from the definition.
    channels = weight.shape[axis] // 4
    perm = [channel_index("DCR", k // 4, k % 4, channels, 4) for k in range(weight.shape[axis])]
    assert same_bits(converted, np.take(weight, perm, axis=axis))


def test_round_trip_and_same_order_are_copies() -> None:
    weight = special_array((12, 5, 3, 3))
    before = weight.copy()
    there = convert_order(weight, 2, source="CRD", target="DCR")
    back = convert_order(there, 2, source="DCR", target="CRD")
    same = convert_order(weight, 2, source="DCR", target="DCR")
    assert not same_bits(there, weight)
    assert same_bits(back, weight)
    assert same_bits(same, weight)
    assert same_bits(weight, before)
    for out in (there, back, same):
        assert not np.shares_memory(out, weight)


@hypothesis.given(
    data=st.data(),
    factors=st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple),
    channels=st.integers(1, 3),
    channels_last=st.booleans(),
    source=st.sampled_from(ORDERS),
    target=st.sampled_from(ORDERS),
)
def test_shuffle_after_conversion_equals_shuffle_in_source_order(
    data: st.DataObject,
    factors: tuple[int, ...],
    channels: int,
    channels_last: bool,
    source: Order,
    target: Order,
) -> None:
    """A conv's output channels are independent, so permuting its weights permutes its output."""
    spatial = tuple(data.draw(st.lists(st.integers(1, 3), min_size=len(factors), max_size=len(factors))))
    batch = tuple(data.draw(st.lists(st.integers(1, 2), max_size=2)))
    depth = channels * math.prod(factors)
    shape = (*batch, *spatial, depth) if channels_last else (*batch, depth, *spatial)
    y = special_array(shape, seed=len(shape))
    axis = -1 if channels_last else len(batch)
    converted = convert_order(y, factors, source=source, target=target, axis=axis)
    expected = pixel_shuffle(y, factors, order=source, channels_last=channels_last)
    actual = pixel_shuffle(converted, factors, order=target, channels_last=channels_last)
    assert same_bits(actual, expected)


@pytest.mark.parametrize(("source", "target"), [("DCR", "CRD"), ("CRD", "DCR")])
def test_every_backend(backend: Backend, source: Order, target: Order) -> None:
    y = special_array((2, 8, 3, 2), seed=3)  # a conv output (N, C * 4, H, W)
    x = backend.from_numpy(y)
    converted = convert_order(x, 2, source=source, target=target, axis=1)
    assert type(converted) is type(x)
    assert same_bits(to_numpy(x), y)
    assert same_bits(to_numpy(converted), convert_order(y, 2, source=source, target=target, axis=1))
    # The converted channels feed a shuffle in the target order exactly as the originals fed the source.
    assert same_bits(pixel_shuffle(to_numpy(converted), 2, order=target), pixel_shuffle(y, 2, order=source))


def test_unshuffle_side_converts_the_input_channels() -> None:
    """The conv after a space_to_depth reads channels in the order; permute its input axis (1)."""
    x = special_array((2, 3, 4, 6))
    for source, target in itertools.permutations(ORDERS):
        converted = convert_order(
            pixel_unshuffle(x, 2, order=source), 2, source=source, target=target, axis=1
        )
        assert same_bits(converted, pixel_unshuffle(x, 2, order=target))


@pytest.mark.needs("torch")
def test_torch_parameter_in_place() -> None:
    torch = requested_torch()
    conv = torch.nn.Conv2d(2, 8, 3, padding=1)
    before = conv.weight.detach().clone()
    with torch.no_grad():
        conv.weight.copy_(convert_order(conv.weight, 2, source="DCR", target="CRD"))
    expected = convert_order(before.numpy(), 2, source="DCR", target="CRD")
    assert same_bits(conv.weight.detach().numpy(), expected)
    assert conv.weight.requires_grad


# --------------------------------------------------------------------------- TensorFlow / ONNX ports


def conv_nhwc(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """TensorFlow's ``conv2d`` with ``padding="VALID"``: NHWC input, ``(kh, kw, in, out)`` kernel."""
    kh, kw = kernel.shape[:2]
    n, h, w, _ = x.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, kernel.shape[-1]), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwi,io->nhwo", x[:, i : i + out.shape[1], j : j + out.shape[2]], kernel[i, j])
    result: np.ndarray = out + bias
    return result


def exact_values(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Small integers in float32: every product and sum below is exact."""
    return np.random.default_rng(seed).integers(-8, 9, size=shape).astype(np.float32)


@pytest.fixture
def tf_model() -> dict[str, np.ndarray]:
    """A trained "TensorFlow" sub-pixel layer: 3 input channels -> 2 output channels, factor 3."""
    return {
        "x": exact_values((2, 7, 6, 3), seed=1),  # NHWC
        "kernel": exact_values((3, 3, 3, 2 * 9), seed=2),  # (kh, kw, in, out)
        "bias": exact_values((2 * 9,), seed=3),
    }


@pytest.mark.needs("torch")
def test_tensorflow_port_to_torch(tf_model: dict[str, np.ndarray]) -> None:
    torch = requested_torch()
    x, kernel, bias = tf_model["x"], tf_model["kernel"], tf_model["bias"]
    # TensorFlow: conv2d then depth_to_space (DCR, channels last), written as our DCR shuffle.
    tf_out = pixel_shuffle(conv_nhwc(x, kernel, bias), 3, order="DCR", channels_last=True)

    # Port: convert the kernel's output axis, move to torch's (out, in, kh, kw) layout, use torch's CRD.
    weight = np.transpose(convert_order(kernel, 3, source="DCR", target="CRD", axis=-1), (3, 2, 0, 1))
    conv = torch.nn.Conv2d(3, 18, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight))
        conv.bias.copy_(torch.from_numpy(convert_order(bias, 3, source="DCR", target="CRD")))
        y = torch.nn.functional.pixel_shuffle(conv(torch.from_numpy(x).permute(0, 3, 1, 2)), 3)
    torch_out = y.permute(0, 2, 3, 1).numpy()
    assert same_bits(torch_out, tf_out)

    # Without the conversion the port is silently wrong: same shape, different pixels.
    wrong = torch.nn.Conv2d(3, 18, 3)
    with torch.no_grad():
        wrong.weight.copy_(torch.from_numpy(np.transpose(kernel, (3, 2, 0, 1))))
        wrong.bias.copy_(torch.from_numpy(bias))
        bad = torch.nn.functional.pixel_shuffle(wrong(torch.from_numpy(x).permute(0, 3, 1, 2)), 3)
    assert bad.shape == y.shape
    assert not same_bits(bad.permute(0, 2, 3, 1).numpy(), tf_out)


def onnx_run(nodes: list[Any], inputs: dict[str, np.ndarray], initializers: dict[str, np.ndarray]) -> Any:
    """Run a one-output ONNX graph with the pure-NumPy reference evaluator."""
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, name=k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    (out,) = ReferenceEvaluator(model).run(None, inputs)
    return out


@pytest.mark.needs("torch")
def test_onnx_dcr_model_equals_converted_crd(tf_model: dict[str, np.ndarray]) -> None:
    from onnx import helper

    torch = requested_torch()
    x = np.ascontiguousarray(tf_model["x"].transpose(0, 3, 1, 2))  # NCHW, as ONNX
    weight = np.ascontiguousarray(tf_model["kernel"].transpose(3, 2, 0, 1))  # (out, in, kh, kw)
    bias = tf_model["bias"]

    def conv_d2s(mode: str, w: np.ndarray, b: np.ndarray) -> Any:
        nodes = [
            helper.make_node("Conv", ["x", "w", "b"], ["h"]),
            helper.make_node("DepthToSpace", ["h"], ["y"], blocksize=3, mode=mode),
        ]
        return onnx_run(nodes, {"x": x}, {"w": w, "b": b})

    onnx_dcr = conv_d2s("DCR", weight, bias)  # as exported from TensorFlow (tf2onnx) or ONNX's default
    # ONNX's DepthToSpace and our DCR shuffle agree on ONNX's own conv output.
    onnx_conv = onnx_run(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"])], {"x": x}, {"w": weight, "b": bias}
    )
    assert same_bits(pixel_shuffle(onnx_conv, 3, order="DCR"), onnx_dcr)
    converted_w = convert_order(weight, 3, source="DCR", target="CRD")
    converted_b = convert_order(bias, 3, source="DCR", target="CRD")
    assert same_bits(conv_d2s("CRD", converted_w, converted_b), onnx_dcr)
    with torch.no_grad():
        h = torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(converted_w), torch.from_numpy(converted_b)
        )
    assert same_bits(pixel_shuffle(h, 3).numpy(), onnx_dcr)
    assert same_bits(torch.nn.functional.pixel_shuffle(h, 3).numpy(), onnx_dcr)
    # And the TensorFlow emulation (NHWC, our DCR channels-last) gives the same pixels.
    tf_out = pixel_shuffle(
        conv_nhwc(tf_model["x"], tf_model["kernel"], bias), 3, order="DCR", channels_last=True
    )
    assert same_bits(np.ascontiguousarray(tf_out.transpose(0, 3, 1, 2)), onnx_dcr)


def test_onnx_space_to_depth_then_conv() -> None:
    """ONNX SpaceToDepth is DCR only; the conv reading it converts along its input axis."""
    from onnx import helper

    x = exact_values((1, 2, 6, 9), seed=5)
    weight = exact_values((4, 2 * 9, 1, 1), seed=6)
    bias = exact_values((4,), seed=7)
    nodes = [
        helper.make_node("SpaceToDepth", ["x"], ["h"], blocksize=3),
        helper.make_node("Conv", ["h", "w", "b"], ["y"]),
    ]
    onnx_out = onnx_run(nodes, {"x": x}, {"w": weight, "b": bias})
    converted = convert_order(weight, 3, source="DCR", target="CRD", axis=1)
    h = pixel_unshuffle(x, 3)  # CRD, as torch
    ours = np.einsum("nihw,oi->nohw", h, converted[:, :, 0, 0]) + bias[:, None, None]
    assert same_bits(ours.astype(np.float32), onnx_out)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"weight": [1, 2, 3, 4]}, TypeError, "weight must be an array, got list"),
        ({"source": "NCHW"}, ValueError, "source must be 'CRD' or 'DCR', got 'NCHW'"),
        ({"target": "crd"}, ValueError, "target must be 'CRD' or 'DCR', got 'crd'"),
        ({"axis": 4}, ValueError, "axis=4 is out of range for weight with 4 dimensions"),
        ({"axis": -5}, ValueError, "axis=-5 is out of range"),
        ({"axis": 1.0}, TypeError, "axis must be an int, got 1.0"),
        ({"axis": True}, TypeError, "axis must be an int, got True"),
        ({"axis": 1}, ValueError, "weight.shape[1]=3 of shape (8, 3, 2, 2) is not divisible by 4"),
        ({"factor": 0}, ValueError, "factor must be positive, got 0"),
        ({"factor": 2.0}, TypeError, "factor must be a positive int"),
        ({"factor": (3,)}, ValueError, "not divisible by 3, the product of factor=(3,)"),
        (
            {"factor": 3},
            ValueError,
            "weight.shape[0]=8 of shape (8, 3, 2, 2) is not divisible by 9 (factor=3 squared)",
        ),
    ],
)
def test_bad_input(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    args: dict[str, Any] = {
        "weight": np.zeros((8, 3, 2, 2), np.float32),
        "factor": 2,
        "source": "DCR",
        "target": "CRD",
        "axis": 0,
    }
    args.update(kwargs)
    weight, factor = args.pop("weight"), args.pop("factor")
    with pytest.raises(error) as info:
        convert_order(weight, factor, **args)
    text = str(info.value).replace(" (NumPy, CuPy, JAX, PyTorch, Dask or Array API)", "")
    assert words in text
