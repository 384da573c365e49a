"""LiteRT from torch: ``litert_torch.convert`` -> ``.tflite``, run by ``ai_edge_litert``'s Interpreter.

litert-torch 0.10 takes ``torch.export``'s ``dynamic_shapes``; where it cannot lower them (it
fails on torch's own ``pixel_shuffle`` as on subpixel's layer), the path converts the static
model, as a user would, and the artefact says it is static. The op types are the TFLite builtin
op names of the model, in execution order; the ranks are those of its tensors. The interpreter
runs with LiteRT's default delegate (XNNPACK), as users get it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, DeployPath, Model
from subpixel.conformance.deploy._torch_export import (
    check_framework,
    check_shape,
    dynamic_shapes,
    torch_input,
)

__all__ = ["PATHS"]

_NAME = "LiteRT (litert-torch)"


def _convert(model: Model, workdir: Path) -> Artefact:
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter

    check_framework(model, _NAME)
    example = (torch_input(model.example),)
    layer = model.layer.eval()
    shapes = dynamic_shapes(model)
    converted = None
    if shapes is not None:
        try:
            converted = litert_torch.convert(layer, example, dynamic_shapes=shapes)
        except Exception:  # litert-torch's own errors (jax tracer TypeError); fall back to static
            converted = None
    dynamic = converted is not None and shapes is not None
    if converted is None:
        converted = litert_torch.convert(layer, example)
    file = workdir / "model.tflite"
    converted.export(str(file))
    interpreter = Interpreter(model_path=str(file))
    op_types = [str(op["op_name"]) for op in interpreter._get_ops_details()]
    ranks = [len(tensor["shape_signature"]) for tensor in interpreter.get_tensor_details()]
    signature = interpreter.get_input_details()[0]["shape_signature"]
    axes = tuple(axis for axis, size in enumerate(signature) if size < 0) if dynamic else ()
    handle = (interpreter, tuple(model.example.shape), axes)
    return Artefact(handle, file, op_types, max(ranks, default=None), bool(axes))


def _run(artefact: Artefact, x: Any) -> Any:
    import numpy as np

    interpreter, shape, dynamic = artefact.handle
    check_shape(shape, dynamic, x, _NAME)
    (entry,) = interpreter.get_input_details()
    if tuple(entry["shape"]) != tuple(x.shape):
        interpreter.resize_tensor_input(entry["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], np.array(x, copy=True))
    interpreter.invoke()
    return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), copy=True)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="LiteRT",
        framework="torch",
        distributions=("torch", "litert-torch", "ai-edge-litert"),
        requires=("litert_torch", "ai_edge_litert.interpreter"),
        convert=_convert,
        run=_run,
        dtypes=("float32", "float16", "uint8", "int8"),
        note=(
            "litert-torch 0.10 cannot convert dynamic shapes here (torch's op and subpixel's alike): "
            "the row is the static model."
        ),
    ),
)
