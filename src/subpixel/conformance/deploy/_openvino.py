"""OpenVINO on the CPU: ONNX files and ``openvino.convert_model``.

The dynamo exporter's ONNX file is read by ``openvino.Core``; the second path converts the
torch module itself with ``openvino.convert_model``.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy import _torch_onnx
from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model

__all__ = ["PATHS"]

#: Graph ops that move no data (inputs, outputs, constants): not counted.
_PLUMBING = frozenset({"Parameter", "Result", "Constant"})


def _describe(ov_model: Any) -> tuple[list[str], int, bool]:
    ops = [op.get_type_name() for op in ov_model.get_ordered_ops()]
    ranks = [
        op.get_output_partial_shape(i).rank.get_length()
        for op in ov_model.get_ordered_ops()
        for i in range(op.get_output_size())
        if op.get_output_partial_shape(i).rank.is_static
    ]
    dynamic = ov_model.inputs[0].get_partial_shape().is_dynamic
    return [op for op in ops if op not in _PLUMBING], max(ranks, default=0), bool(dynamic)


def _compile(ov_model: Any, file: Path | None) -> Artefact:
    import openvino

    ops, rank, dynamic = _describe(ov_model)
    # Exact precision: OpenVINO's CPU plugin may otherwise run float32 graphs in bf16/f16.
    config = {"INFERENCE_PRECISION_HINT": "f32"}
    compiled = openvino.Core().compile_model(ov_model, "CPU", config)
    return Artefact(handle=compiled, file=file, op_types=ops, max_rank=rank, dynamic=dynamic)


def _from_onnx(model: Model, workdir: Path) -> Artefact:
    import openvino

    path = _torch_onnx.export(model, workdir, "dynamo")
    return _compile(openvino.Core().read_model(str(path)), path)


def _from_torch(model: Model, workdir: Path) -> Artefact:
    import openvino
    import torch

    x = torch.from_numpy(model.example.copy())
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            # Without an input specification every axis is dynamic; the example fixes the dtype.
            ov_model = openvino.convert_model(model.layer, example_input=(x,))
    except Exception as error:
        message = f"openvino.convert_model: {type(error).__name__}: {str(error).strip().splitlines()[0]}"
        raise ConversionError(message) from error
    return _compile(ov_model, None)


def run(artefact: Artefact, x: Any) -> Any:
    """Infer on ``x``: the compiled model's first input in, its first output out."""
    compiled = artefact.handle
    result = compiled({0: x})
    return _torch_onnx.numpy_of(result[compiled.outputs[0]])


_COMMON: dict[str, Any] = {
    "runtime": "OpenVINO",
    "framework": "torch",
    "run": run,
    "dtypes": ("float32", "float16", "uint8", "int8"),
    "fast": True,
}

PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name="OpenVINO (torch.onnx dynamo file)",
        distributions=("torch", "onnx", "onnxscript", "openvino"),
        requires=("torch", "onnx", "onnxscript", "openvino"),
        convert=_from_onnx,
        group="torch.onnx dynamo",
        **_COMMON,
    ),
    DeployPath(
        name="OpenVINO (openvino.convert_model)",
        distributions=("torch", "openvino"),
        requires=("torch", "openvino"),
        convert=_from_torch,
        **{**_COMMON, "fast": False},
    ),
)
