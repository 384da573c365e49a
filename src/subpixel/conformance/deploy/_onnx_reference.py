"""``onnx.reference.ReferenceEvaluator`` (the ONNX specification in Python) on both exporters' files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy import _torch_onnx
from subpixel.conformance.deploy._path import Artefact, DeployPath, Model

__all__ = ["PATHS"]


def _convert(exporter: str, model: Model, workdir: Path) -> Artefact:
    from onnx.reference import ReferenceEvaluator

    path = _torch_onnx.export(model, workdir, exporter)
    artefact = _torch_onnx.describe(path)
    artefact.handle = ReferenceEvaluator(str(path))
    return artefact


def run(artefact: Artefact, x: Any) -> Any:
    """Evaluate the graph on ``x``: its first input in, its first output out."""
    evaluator = artefact.handle
    return _torch_onnx.numpy_of(evaluator.run(None, {evaluator.input_names[0]: x}))


def _path(exporter: str) -> DeployPath:
    def convert(model: Model, workdir: Path) -> Artefact:
        return _convert(exporter, model, workdir)

    return DeployPath(
        name=f"onnx.reference (torch.onnx {exporter})",
        runtime="onnx.reference",
        framework="torch",
        distributions=("torch", "onnx", "onnxscript"),
        requires=("torch", "onnx", *(("onnxscript",) if exporter == "dynamo" else ())),
        convert=convert,
        run=run,
        dtypes=("float32", "float16", "uint8", "int8"),
        fast=True,
        group=f"torch.onnx {exporter}",
    )


PATHS: tuple[DeployPath, ...] = tuple(_path(exporter) for exporter in _torch_onnx.EXPORTERS)
