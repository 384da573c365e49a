"""ONNX export of the PyTorch layers, run by onnxruntime and by onnx.reference, bit for bit.

The default exporter of torch 2.13 (``dynamo=True``) needs ``onnxscript``; the TorchScript
exporter (``dynamo=False``) traces with ``torch.jit.trace``. What each exports is checked here:
PyTorch's own op where the plan is PyTorch's (the same graph as ``torch.nn.PixelShuffle`` /
``torch.nn.PixelUnshuffle``), ``DepthToSpace`` behind a transpose or a channel ``Gather``
where a square factor allows, otherwise reshapes and transposes of rank 4 (5 for volumes);
never a ``SpaceToDepth`` (some runtimes compute it in DCR order whatever its mode says). Every
case compares bytes with torch's eager output, on sizes other than the exported ones where the
sizes are dynamic.
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


def quieted(expected: np.ndarray) -> np.ndarray:
    """``expected`` with each signalling float16 NaN made quiet, as onnxruntime's ``DepthToSpace`` does.

    onnxruntime quiets them for PyTorch's own op too (see
    :func:`test_onnxruntime_quiets_float16_nans`).
    """
    bits = expected.view(np.uint16).copy()
    signalling = (bits & 0x7C00 == 0x7C00) & (bits & 0x03FF != 0) & (bits & 0x0200 == 0)
    bits[signalling] |= 0x0200
    result: np.ndarray = bits.view(np.float16)
    return result


def run_both(proto: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    """The exported model's output from onnxruntime and from the reference evaluator."""
    name = proto.graph.input[0].name
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    runtime = session.run(None, {name: x})[0]
    evaluated: Any = ReferenceEvaluator(proto).run(None, {name: x})
    reference = evaluated[0]
    return [np.asarray(runtime), np.asarray(reference)]


def highest_rank(proto: onnx.ModelProto) -> int:
    """The rank of the largest tensor in the graph.

    ONNX's shape inference gives most ranks; a ``Reshape`` to a computed shape (dynamic sizes)
    has the length of its shape input, and a ``Transpose`` the length of its permutation. A
    reshape whose rank cannot be told counts as rank 99.
    """
    inferred = onnx.shape_inference.infer_shapes(proto)
    graph = inferred.graph
    values = {value.name: value for value in [*graph.value_info, *graph.input, *graph.output]}
    lengths = {init.name: init.dims[0] for init in graph.initializer if len(init.dims) == 1}
    ranks = [len(value.type.tensor_type.shape.dim) for value in values.values()]
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Transpose":
            ranks.append(len(attributes["perm"]))
        elif node.op_type == "Reshape":
            shape = values.get(node.input[1])
            dims = shape.type.tensor_type.shape.dim if shape is not None else []
            known = [d.dim_value for d in dims if d.HasField("dim_value")]
            ranks.append(known[0] if len(dims) == 1 and known else lengths.get(node.input[1], 99))
    return max(ranks)


def op_types(proto: onnx.ModelProto) -> list[str]:
    """The graph's node types, in order."""
    return [node.op_type for node in proto.graph.node]


@pytest.mark.parametrize(("layer", "shape"), CASES, ids=lambda case: repr(case))
def test_shuffle_layers_export_bit_for_bit(layer: torch.nn.Module, shape: tuple[int, ...]) -> None:
    proto = export(layer, torch.from_numpy(special_array(shape, base="normal")))
    ops = op_types(proto)
    if getattr(layer, "upscale_factor", None) in (2, 3) and layer.extra_repr().count("=") == 1:
        # PyTorch's own shuffle: exported as torch.nn.PixelShuffle is, one CRD DepthToSpace.
        assert ops == ["DepthToSpace"], ops
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in proto.graph.node[0].attribute}
        assert attributes["mode"] == b"CRD", attributes
    elif (factor := getattr(layer, "downscale_factor", None)) in (2, 3) and "," not in layer.extra_repr():
        # PyTorch's own unshuffle: the graph torch.nn.PixelUnshuffle exports.
        native = export(torch.nn.PixelUnshuffle(factor), torch.zeros(shape))
        assert ops == op_types(native), (ops, op_types(native))
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
    if getattr(layer, "spec").torch_factor is None:  # noqa: B009 (a layer's attributes are untyped)  # PyTorch's own unshuffle exports a rank-6 transpose, as torch's
        assert highest_rank(proto) <= max(4, len(shape))
    y = special_array(other, seed=7, base="normal")
    expected = layer(torch.from_numpy(y)).numpy()
    for out in run_both(proto, y):
        assert_same_bits(out, expected)


# --- what the layers emit, per exporter ---------------------------------------------------------

#: The opsets each exporter of torch 2.13 writes: the TorchScript exporter stops at 20.
OPSETS = [("dynamo", opset) for opset in range(17, 24)] + [("torchscript", opset) for opset in range(17, 21)]


def export_with(
    model: torch.nn.Module, x: torch.Tensor, exporter: str, dynamic: tuple[int, ...], opset: int | None = None
) -> onnx.ModelProto:
    """Export ``model`` with either exporter, the ``dynamic`` axes of its input left dynamic."""
    options: dict[str, Any] = {} if opset is None else {"opset_version": opset}
    if exporter == "dynamo":
        dims = ({axis: torch.export.Dim(f"d{axis}") for axis in dynamic},) if dynamic else None
        program = torch.onnx.export(
            model.eval(), (x,), dynamo=True, dynamic_shapes=dims, verbose=False, **options
        )
        assert program is not None
        proto: onnx.ModelProto = program.model_proto
    else:
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter says it is legacy
            torch.onnx.export(
                model.eval(),
                (x,),
                buffer,  # type: ignore[arg-type]  # the exporter writes to a file object too
                dynamo=False,
                input_names=["x"],
                dynamic_axes={"x": {axis: f"d{axis}" for axis in dynamic}} if dynamic else None,
                **options,
            )
        proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto)
    return proto


def spatial_axes(shape: tuple[int, ...], spatial: int, channels_last: bool) -> tuple[int, ...]:
    """The batch axis and the spatial axes of an input of ``shape``: the axes exported as dynamic."""
    first = len(shape) - spatial - (1 if channels_last else 0)
    return (0, *range(first, first + spatial))


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize(("exporter", "opset"), OPSETS, ids=lambda case: str(case))
def test_unshuffle_exports_torchs_own_graph(exporter: str, opset: int, dynamic: bool) -> None:
    """PyTorch's plan exports the graph torch.nn.PixelUnshuffle exports: its bytes, never SpaceToDepth."""
    shape = (2, 3, 4, 6)
    axes = (0, 2, 3) if dynamic else ()
    x = torch.from_numpy(special_array(shape))
    proto = export_with(PixelUnshuffle(2), x, exporter, axes, opset)
    native = export_with(torch.nn.PixelUnshuffle(2), x, exporter, axes, opset)
    assert op_types(proto) == op_types(native)
    assert "SpaceToDepth" not in op_types(proto)
    for other in [(3, 3, 8, 2), (1, 3, 2, 10)] if dynamic else [shape]:
        y = special_array(other, seed=sum(other))
        expected = torch.nn.functional.pixel_unshuffle(torch.from_numpy(y), 2).numpy()
        for out in run_both(proto, y):
            assert_same_bits(out, expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.float16, np.float32], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
@pytest.mark.parametrize(
    ("layer", "shape", "other"),
    [
        (PixelUnshuffle(2), (2, 3, 4, 6), (1, 3, 6, 2)),
        (PixelShuffle(2), (2, 8, 3, 4), (3, 8, 1, 5)),
        (PixelShuffle(2, order="DCR"), (2, 8, 3, 4), (3, 8, 1, 5)),
        (PixelShuffle(3, channels_last=True), (1, 2, 3, 18), (2, 4, 1, 18)),
    ],
    ids=lambda case: repr(case),
)
def test_exported_dtypes_keep_bits(
    layer: torch.nn.Module, shape: tuple[int, ...], other: tuple[int, ...], exporter: str, dtype: type
) -> None:
    """Integer and float dtypes, NaN payloads, -0.0, inf and subnormals survive the exported graph."""
    x = torch.from_numpy(special_array(shape, dtype))
    last = bool(getattr(layer, "channels_last", False))
    proto = export_with(layer, x, exporter, spatial_axes(shape, 2, last))
    y = special_array(other, dtype, seed=3)
    expected = layer(torch.from_numpy(y)).numpy()
    runtime, reference = run_both(proto, y)
    assert_same_bits(reference, expected)
    if dtype is np.float16 and "DepthToSpace" in op_types(proto):
        expected = quieted(expected)
    assert_same_bits(runtime, expected)


def test_onnxruntime_quiets_float16_nans() -> None:
    """onnxruntime's float16 DepthToSpace quiets signalling NaNs for PyTorch's own op as well."""
    x = special_array((2, 8, 3, 4), np.float16)
    proto = export_with(torch.nn.PixelShuffle(2), torch.from_numpy(x), "dynamo", ())
    expected = torch.nn.functional.pixel_shuffle(torch.from_numpy(x), 2).numpy()
    runtime, reference = run_both(proto, x)
    assert_same_bits(reference, expected)
    assert not np.array_equal(runtime.view(np.uint16), expected.view(np.uint16))
    assert_same_bits(runtime, quieted(expected))


@pytest.mark.parametrize("shape", [(0, 3, 4, 6), (2, 0, 4, 6), (2, 3, 0, 6)], ids=str)
def test_traced_zero_size_unshuffle_keeps_subpixels_shape(shape: tuple[int, ...]) -> None:
    """PyTorch's own pixel_unshuffle keeps a zero-size input's shape; traced calls keep subpixel's."""
    x = torch.zeros(shape)
    expected = PixelUnshuffle(2)(x).shape
    assert expected != torch.nn.functional.pixel_unshuffle(x, 2).shape  # what is guarded against
    exported = torch.export.export(PixelUnshuffle(2), (x,)).module()
    assert exported(x).shape == expected
    compiled = torch.compile(PixelUnshuffle(2), backend="eager", fullgraph=True)
    assert compiled(x).shape == expected
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace says it is deprecated
        traced = torch.jit.trace(PixelUnshuffle(2), (x,))  # type: ignore[no-untyped-call]
    assert traced(x).shape == expected


#: Plans of every kind: (name, layer, spatial axes, input shape, another input shape, native).
PLANS = [
    ("CRD shuffle", PixelShuffle(2), 2, (2, 8, 3, 4), (3, 8, 5, 2), torch.nn.PixelShuffle(2)),
    ("CRD unshuffle", PixelUnshuffle(2), 2, (2, 3, 4, 6), (1, 3, 8, 2), torch.nn.PixelUnshuffle(2)),
    ("DCR shuffle", PixelShuffle(2, order="DCR"), 2, (2, 8, 3, 4), (3, 8, 5, 2), None),
    ("DCR unshuffle", PixelUnshuffle(2, order="DCR"), 2, (2, 3, 4, 6), (1, 3, 8, 2), None),
    ("channels-last shuffle", PixelShuffle(2, channels_last=True), 2, (2, 3, 4, 8), (1, 5, 2, 8), None),
    ("channels-last unshuffle", PixelUnshuffle(2, channels_last=True), 2, (2, 4, 6, 3), (3, 2, 8, 3), None),
    (
        "channels-last DCR",
        PixelShuffle(3, channels_last=True, order="DCR"),
        2,
        (1, 2, 2, 18),
        (2, 3, 1, 18),
        None,
    ),
    ("tuple shuffle", PixelShuffle((2, 3)), 2, (2, 12, 3, 4), (1, 12, 2, 5), None),
    ("tuple DCR unshuffle", PixelUnshuffle((2, 3), order="DCR"), 2, (2, 3, 4, 6), (3, 3, 2, 9), None),
    ("1-D shuffle", PixelShuffle((3,)), 1, (2, 6, 5), (1, 6, 7), None),
    ("3-D shuffle", PixelShuffle((2, 2, 2)), 3, (1, 16, 2, 3, 2), (2, 16, 1, 2, 3), None),
    ("3-D unshuffle", PixelUnshuffle((2, 2, 2)), 3, (1, 2, 4, 6, 4), (2, 2, 2, 4, 6), None),
]

#: Most nodes of each plan's graph (Constant nodes counted), by exporter and static/dynamic
#: sizes, as measured with torch 2.13: a graph that grows fails here. PyTorch's own plans must
#: also stay within the native op's count, checked against the native export itself.
BUDGETS = {
    "CRD shuffle": {"dynamo": (1, 1), "torchscript": (1, 1)},
    "CRD unshuffle": {"dynamo": (3, 18), "torchscript": (5, 11)},
    "DCR shuffle": {"dynamo": (2, 2), "torchscript": (8, 46)},
    "DCR unshuffle": {"dynamo": (5, 30), "torchscript": (8, 50)},
    "channels-last shuffle": {"dynamo": (3, 3), "torchscript": (3, 3)},
    "channels-last unshuffle": {"dynamo": (5, 32), "torchscript": (8, 55)},
    "channels-last DCR": {"dynamo": (4, 4), "torchscript": (8, 50)},
    "tuple shuffle": {"dynamo": (5, 22), "torchscript": (8, 52)},
    "tuple DCR unshuffle": {"dynamo": (5, 30), "torchscript": (8, 50)},
    "1-D shuffle": {"dynamo": (3, 10), "torchscript": (5, 28)},
    "3-D shuffle": {"dynamo": (7, 26), "torchscript": (11, 69)},
    "3-D unshuffle": {"dynamo": (7, 41), "torchscript": (11, 78)},
}


@pytest.mark.parametrize("dynamic", [False, True], ids=["static", "dynamic"])
@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
@pytest.mark.parametrize("plan", PLANS, ids=lambda plan: plan[0])
def test_node_counts_and_ranks(plan: tuple[Any, ...], exporter: str, dynamic: bool) -> None:
    """Each plan's graph: within its node budget and the native op's count, rank <= 4 (5), torch's bytes."""
    name, layer, spatial, shape, other, native = plan
    last = bool(getattr(layer, "channels_last", False))
    axes = spatial_axes(shape, spatial, last) if dynamic else ()
    x = torch.from_numpy(special_array(shape))
    proto = export_with(layer, x, exporter, axes)
    ops = op_types(proto)
    assert len(ops) <= BUDGETS[name][exporter][dynamic], ops
    assert "SpaceToDepth" not in ops
    if native is not None:
        reference = export_with(native, x, exporter, axes)
        assert len(ops) <= len(op_types(reference)), (ops, op_types(reference))
    else:  # PyTorch's own unshuffle is rank 6 as torch.nn.PixelUnshuffle exports it; others stay low
        assert highest_rank(proto) <= max(4, spatial + 2), ops
    if not dynamic:
        assert "Shape" not in ops, ops
    for size in (other if dynamic else shape,):
        y = special_array(size, seed=5)
        expected = layer(torch.from_numpy(y)).numpy()
        for out in run_both(proto, y):
            assert_same_bits(out, expected)
