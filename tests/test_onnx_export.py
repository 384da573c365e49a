"""ONNX export of the PyTorch layers, run by onnxruntime and by onnx.reference, bit for bit.

The default exporter of torch 2.13 (``dynamo=True``) needs ``onnxscript``. ONNX's
``SpaceToDepth`` has no ``mode`` (it is DCR only), so an exporter that maps ``PixelUnshuffle``
to it would give the wrong order: every case here compares bytes with torch's eager output,
and the graph of each shuffle layer is checked to hold only Reshape and Transpose.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from subpixel.torch import PixelShuffle, PixelUnshuffle, SubPixelConv
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch",)

# The exporter's own modules warn while they run (pytree API deprecations); none of these come
# from subpixel.
pytestmark = [
    pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.onnx"),
]

CASES = [
    (PixelShuffle(2), (2, 8, 3, 4)),
    (PixelShuffle(3), (1, 18, 2, 2)),
    (PixelUnshuffle(2), (2, 3, 4, 6)),
    (PixelUnshuffle(3), (1, 2, 6, 3)),
    (PixelUnshuffle(2, order="DCR"), (2, 3, 4, 6)),
    (PixelShuffle((2, 3), order="DCR"), (2, 12, 3, 3)),
    (PixelUnshuffle((2, 1), channels_last=True), (2, 4, 3, 5)),
    (PixelShuffle((3,), channels_last=True, order="DCR"), (2, 5, 6)),
    (PixelUnshuffle((1, 2, 2)), (1, 2, 3, 4, 4)),
]


def export(model: torch.nn.Module, x: torch.Tensor) -> onnx.ModelProto:
    """Export with the default (dynamo) exporter and a dynamic batch axis."""
    program = torch.onnx.export(
        model.eval(), (x,), dynamo=True, dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False
    )
    assert program is not None
    proto: onnx.ModelProto = program.model_proto
    onnx.checker.check_model(proto)
    return proto


def run_both(proto: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    """The exported model's output from onnxruntime and from the reference evaluator."""
    name = proto.graph.input[0].name
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    runtime = session.run(None, {name: x})[0]
    evaluated: Any = ReferenceEvaluator(proto).run(None, {name: x})
    reference = evaluated[0]
    return [np.asarray(runtime), np.asarray(reference)]


def highest_rank(proto: onnx.ModelProto) -> int:
    """The rank of the largest tensor in the graph, from ONNX's shape inference."""
    inferred = onnx.shape_inference.infer_shapes(proto)
    values = [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    return max(len(value.type.tensor_type.shape.dim) for value in values)


@pytest.mark.parametrize(("layer", "shape"), CASES, ids=lambda case: repr(case))
def test_shuffle_layers_export_bit_for_bit(layer: torch.nn.Module, shape: tuple[int, ...]) -> None:
    proto = export(layer, torch.from_numpy(special_array(shape, base="normal")))
    ops = [node.op_type for node in proto.graph.node]
    if getattr(layer, "upscale_factor", None) in (2, 3) and layer.extra_repr().count("=") == 1:
        # PyTorch's own shuffle: exported as torch.nn.PixelShuffle is, one CRD DepthToSpace.
        assert ops == ["DepthToSpace"], ops
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
        assert attributes["mode"] == b"CRD", attributes
    else:
        # Reshapes and transposes of rank 4 (rank 5 for volumes): what ncnn, Core ML and
        # TensorRT-style runtimes take; never a SpaceToDepth, whose order some runtimes mistake.
        assert set(ops) <= {"Reshape", "Transpose"}, ops
        assert highest_rank(proto) <= max(4, len(shape)), ops
    for batch in (shape[0], 3):
        x = special_array((batch, *shape[1:]), seed=batch, base="normal")
        expected = layer(torch.from_numpy(x)).numpy()
        for out in run_both(proto, x):
            assert_same_bits(out, expected)


def test_unshuffle_matches_torch_nn_after_export() -> None:
    # The exported subpixel layer is torch.nn.PixelUnshuffle bit for bit (CRD, not DCR).
    x = special_array((2, 3, 6, 4), base="normal")
    proto = export(PixelUnshuffle(2), torch.from_numpy(x))
    expected = torch.nn.PixelUnshuffle(2)(torch.from_numpy(x)).numpy()
    for out in run_both(proto, x):
        assert_same_bits(out, expected)


def test_legacy_exporter_bit_for_bit() -> None:
    layer = PixelUnshuffle((2, 3), order="DCR").eval()
    x = special_array((2, 3, 4, 6), base="normal")
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter says it is legacy
        torch.onnx.export(
            layer,
            (torch.from_numpy(x),),
            buffer,  # type: ignore[arg-type]  # the exporter writes to a file object too
            dynamo=False,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    assert "SpaceToDepth" not in {node.op_type for node in proto.graph.node}
    for batch in (2, 5):
        y = special_array((batch, 3, 4, 6), seed=batch, base="normal")
        expected = layer(torch.from_numpy(y)).numpy()
        for out in run_both(proto, y):
            assert_same_bits(out, expected)


@pytest.mark.parametrize(("factor", "order"), [(2, "CRD"), ((3,), "DCR"), ((1, 2, 2), "CRD")], ids=str)
def test_sub_pixel_conv_exports(factor: object, order: str) -> None:
    torch.manual_seed(0)
    block = SubPixelConv(3, 2, factor, 3, order=order).eval()  # type: ignore[arg-type]
    spatial = {1: (7,), 2: (5, 6), 3: (3, 4, 5)}[len(factor) if isinstance(factor, tuple) else 2]
    x = torch.randn(2, 3, *spatial)
    proto = export(block, x)
    with torch.no_grad():
        expected = block(x).numpy()
    for out in run_both(proto, x.numpy()):
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


DYNAMIC = [
    (PixelShuffle(2), (2, 8, 3, 4), (3, 8, 5, 2)),
    (PixelUnshuffle(2), (2, 3, 4, 6), (1, 3, 8, 2)),
    (PixelShuffle(3, order="DCR"), (1, 18, 2, 2), (2, 18, 3, 1)),
    (PixelShuffle(2, channels_last=True), (2, 3, 4, 8), (1, 5, 2, 8)),
    (PixelUnshuffle((2, 3), order="DCR"), (2, 3, 4, 6), (3, 3, 2, 9)),
    (PixelShuffle((2, 2, 2)), (1, 16, 2, 3, 2), (2, 16, 1, 2, 3)),
]


@pytest.mark.parametrize(("layer", "shape", "other"), DYNAMIC, ids=lambda case: repr(case))
@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "torchscript"])
def test_batch_and_spatial_sizes_stay_dynamic(
    layer: torch.nn.Module, shape: tuple[int, ...], other: tuple[int, ...], dynamo: bool
) -> None:
    """Exported once, run on other batch and spatial sizes: torch's bytes, no tensor above rank 4 (5)."""
    x = torch.from_numpy(special_array(shape, base="normal"))
    spatial = range(2, len(shape)) if not getattr(layer, "channels_last", False) else range(1, len(shape) - 1)
    dynamic = [0, *spatial]
    if dynamo:
        dims = {axis: torch.export.Dim(f"d{axis}") for axis in dynamic}
        program = torch.onnx.export(layer.eval(), (x,), dynamo=True, dynamic_shapes=(dims,), verbose=False)
        assert program is not None
        proto = program.model_proto
    else:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter says it is legacy
            torch.onnx.export(
                layer.eval(),
                (x,),
                buffer,  # type: ignore[arg-type]  # the exporter writes to a file object too
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {axis: f"d{axis}" for axis in dynamic}},
            )
        proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto)
    assert "SpaceToDepth" not in {node.op_type for node in proto.graph.node}
    if dynamo:
        assert highest_rank(proto) <= max(4, len(shape))
    y = special_array(other, seed=7, base="normal")
    expected = layer(torch.from_numpy(y)).numpy()
    for out in run_both(proto, y):
        assert_same_bits(out, expected)
