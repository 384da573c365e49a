"""Export a torch model to ONNX (dynamo or TorchScript exporter) and describe the graph.

Shared by the paths that run ONNX files (onnxruntime, ``onnx.reference``, OpenVINO): a model
is exported once per exporter and dtype, into the work folder, and every path reads that file.
Imports torch and onnx only when called.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, Model

__all__ = ["EXPORTERS", "describe", "export"]

#: The exporters of ``torch.onnx.export``: the name in the path's row, and its ``dynamo`` flag.
EXPORTERS = {"dynamo": True, "TorchScript": False}


def _file_name(model: Model, exporter: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", model.name or "model").strip("-")
    return f"{stem}.{model.example.dtype}.{exporter}.onnx"


def export(model: Model, workdir: Path, exporter: str) -> Path:
    """Export ``model`` with ``exporter`` (``"dynamo"`` or ``"TorchScript"``) once; return the file.

    The batch and spatial axes (``model.dynamic_axes``) are exported as dynamic.

    Raises
    ------
    ConversionError
        If ``torch.onnx.export`` fails (its message, first line).
    """
    path = workdir / _file_name(model, exporter)
    failed = path.with_suffix(".failed")
    if failed.exists():
        raise ConversionError(failed.read_text(encoding="utf-8"))
    if path.exists():
        return path
    import torch

    x = torch.from_numpy(model.example.copy())
    logger = logging.getLogger("torch.onnx")  # its notes on torchvision's ops, once per export
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            if EXPORTERS[exporter]:
                dims = dict.fromkeys(model.dynamic_axes, torch.export.Dim.AUTO)
                torch.onnx.export(
                    model.layer, (x,), str(path), dynamo=True, dynamic_shapes=(dims,), verbose=False
                )
            else:
                axes = {a: f"d{a}" for a in model.dynamic_axes}
                torch.onnx.export(
                    model.layer,
                    (x,),
                    str(path),
                    dynamo=False,
                    input_names=["x"],
                    output_names=["y"],
                    dynamic_axes={"x": axes, "y": axes},
                )
    except Exception as error:
        message = f"torch.onnx ({exporter}): {type(error).__name__}: {_first_line(error)}"
        failed.write_text(message, encoding="utf-8")
        raise ConversionError(message) from error
    finally:
        logger.setLevel(level)
    return path


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(path: Path) -> Artefact:
    """Return an :class:`Artefact` of the ONNX file (no handle): op types, highest rank, dynamic."""
    import onnx
    import onnx.inliner

    model = onnx.load(str(path))
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    ranks = [
        len(v.type.tensor_type.shape.dim)
        for v in (*graph.input, *graph.output, *graph.value_info)
        if v.type.HasField("tensor_type") and v.type.tensor_type.HasField("shape")
    ]
    first = graph.input[0].type.tensor_type.shape.dim
    dynamic = any(not d.HasField("dim_value") for d in first)
    return Artefact(
        handle=None,
        file=path,
        op_types=[node.op_type for node in graph.node],
        max_rank=max(ranks, default=None),
        dynamic=dynamic,
    )


def numpy_of(value: Any) -> Any:
    """Return the NumPy array a runtime returned (a list of outputs: the first)."""
    import numpy as np

    if isinstance(value, (list, tuple)):
        value = value[0]
    return np.asarray(value)
