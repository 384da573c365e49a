"""onnxruntime on the ONNX files of both ``torch.onnx`` exporters (dynamo and TorchScript)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy import _torch_onnx
from subpixel.conformance.deploy._path import Artefact, DeployPath, Model

__all__ = ["PATHS", "session"]

NAN_NOTE = (
    "onnxruntime canonicalises the NaN payloads of float16 for torch's op too: float16 is compared "
    "with the native op's result through onnxruntime"
)


def session(path: Path) -> Any:
    """Return an onnxruntime inference session of the ONNX file ``path`` on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _convert(exporter: str, model: Model, workdir: Path) -> Artefact:
    path = _torch_onnx.export(model, workdir, exporter)
    artefact = _torch_onnx.describe(path)
    artefact.handle = session(path)
    return artefact


def run(artefact: Artefact, x: Any) -> Any:
    """Run the session on ``x``: its first input in, its first output out."""
    handle = artefact.handle
    name = handle.get_inputs()[0].name
    return _torch_onnx.numpy_of(handle.run(None, {name: x}))


def _path(exporter: str) -> DeployPath:
    def convert(model: Model, workdir: Path) -> Artefact:
        return _convert(exporter, model, workdir)

    return DeployPath(
        name=f"onnxruntime (torch.onnx {exporter})",
        runtime="onnxruntime",
        framework="torch",
        distributions=("torch", "onnx", "onnxscript", "onnxruntime"),
        requires=("torch", "onnx", "onnxruntime", *(("onnxscript",) if exporter == "dynamo" else ())),
        convert=convert,
        run=run,
        dtypes=("float32", "float16", "uint8", "int8"),
        fast=True,
        group=f"torch.onnx {exporter}",
        note=NAN_NOTE,
    )


PATHS: tuple[DeployPath, ...] = tuple(_path(exporter) for exporter in _torch_onnx.EXPORTERS)
