"""What the slow torch paths share: exports, and the checks on what an artefact accepts.

``torch.export`` with the model's dynamic axes, the dynamo ONNX export, the ONNX graph's op types
and ranks, and the shape check of a run.

Every function imports torch (and ONNX) when called, never at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import ConversionError, DeployPath, Model

__all__ = [
    "PATHS",
    "check_framework",
    "check_shape",
    "dynamic_shapes",
    "export_program",
    "exported_dynamic",
    "onnx_export",
    "onnx_max_rank",
    "torch_input",
]


#: A helper of the runtime modules declares no path.
PATHS: tuple[DeployPath, ...] = ()


def check_framework(model: Model, path: str) -> None:
    """Raise :class:`ConversionError` unless ``model`` is a torch model (the slow paths take torch)."""
    if model.framework != "torch":
        msg = f"{path} takes torch models, got framework={model.framework!r}"
        raise ConversionError(msg)


def torch_input(x: Any) -> Any:
    """Return a torch tensor sharing nothing with the NumPy array ``x`` (a copy: the caller's array stays)."""
    import numpy as np
    import torch

    return torch.from_numpy(np.array(x, copy=True))


def dynamic_shapes(model: Model) -> tuple[dict[int, Any], ...] | None:
    """``torch.export``'s ``dynamic_shapes`` for the model's dynamic axes, or None for a static export.

    Each axis is ``Dim.AUTO`` (with ``max`` where given): torch keeps it dynamic where the graph
    allows and specialises it otherwise (a size-1 example axis is specialised to 1), instead of
    failing; :func:`exported_dynamic` reads which axes stayed dynamic.
    """
    if not model.dynamic_axes:
        return None
    from torch.export import Dim

    return (dict.fromkeys(model.dynamic_axes, Dim.AUTO),)


def export_program(model: Model, upper: int | None = None) -> Any:
    """``torch.export.export`` of the model's layer on its example, with its dynamic axes.

    Parameters
    ----------
    model : Model
        The torch model.
    upper : int or None
        Upper bound of each dynamic axis (runtimes that plan memory for the largest size need one).

    Returns
    -------
    torch.export.ExportedProgram
        The exported program.
    """
    import torch
    from torch.export import Dim

    example = torch_input(model.example)
    shapes: tuple[dict[int, Any], ...] | None = None
    if model.dynamic_axes:
        dim = Dim.AUTO if upper is None else Dim.AUTO(min=1, max=upper)
        shapes = (dict.fromkeys(model.dynamic_axes, dim),)
    return torch.export.export(model.layer.eval(), (example,), dynamic_shapes=shapes)


def exported_dynamic(program: Any) -> tuple[int, ...]:
    """Return the axes of the exported program's first input that stayed symbolic (dynamic)."""
    placeholders = [node for node in program.graph.nodes if node.op == "placeholder" and "val" in node.meta]
    if not placeholders:
        return ()
    shape = placeholders[0].meta["val"].shape
    return tuple(axis for axis, size in enumerate(shape) if not isinstance(size, int))


def onnx_export(model: Model, file: Path) -> Any:
    """Export the model with ``torch.onnx.export(dynamo=True)`` to ``file``; return the ONNX model.

    The dynamic axes become symbolic dimensions of the graph's input (torch's ONNX exporter keeps
    a size-1 batch symbolic).
    """
    import onnx
    import torch

    example = torch_input(model.example)
    try:
        program = torch.onnx.export(
            model.layer.eval(),
            (example,),
            dynamo=True,
            dynamic_shapes=dynamic_shapes(model),
            verbose=False,
        )
    except Exception as error:  # the exporter's own exceptions are many; the row shows the message
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        msg = f"torch.onnx.export (dynamo) failed: {type(error).__name__}: {first}"
        raise ConversionError(msg) from error
    if program is None:  # only without dynamo=True
        msg = "torch.onnx.export (dynamo) returned no program"
        raise ConversionError(msg)
    program.save(str(file))
    return onnx.load(str(file))


def onnx_max_rank(proto: Any) -> int | None:
    """Return the highest rank among the ONNX graph's typed values (inputs, outputs, inferred values)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(proto)
    graph = inferred.graph
    ranks = [
        len(value.type.tensor_type.shape.dim)
        for value in [*graph.input, *graph.output, *graph.value_info]
        if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape")
    ]
    return max(ranks, default=None)


def check_shape(expected: tuple[int, ...], dynamic: tuple[int, ...], x: Any, path: str) -> None:
    """Raise ValueError when ``x`` does not fit the artefact: same rank, same size on static axes."""
    shape = tuple(x.shape)
    fits = len(shape) == len(expected) and all(
        axis in dynamic or size == want for axis, (size, want) in enumerate(zip(shape, expected, strict=True))
    )
    if not fits:
        kept = ", ".join(str(a) for a in dynamic) or "none"
        msg = f"x has shape {shape}; the {path} artefact was exported for {expected} (dynamic axes: {kept})"
        raise ValueError(msg)
