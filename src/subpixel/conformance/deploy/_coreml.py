"""Core ML: ``torch.jit.trace`` -> ``coremltools.convert`` (ML program, iOS 16), conversion only.

Core ML cannot run models on Linux: the row checks that the model converts, with dynamic sizes
(``ct.RangeDim`` on each dynamic axis, up to :data:`UPPER`) and ``minimum_deployment_target``
iOS 16 (the first with ``pixel_unshuffle``), and lists the MIL operations of the converted program
(``const`` left out) with the highest rank among their outputs. Core ML rejects tensors above rank 5.
Inputs are float32 or float16 (Core ML's input types besides int32).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import check_framework, torch_input

__all__ = ["PATHS", "UPPER"]

_NAME = "Core ML iOS 16 (torch.jit.trace)"

#: Upper bound of each dynamic axis.
UPPER = 4096


def _convert(model: Model, workdir: Path) -> Artefact:
    import coremltools as ct
    import numpy as np
    import torch

    check_framework(model, _NAME)
    dtype = str(model.example.dtype)
    if dtype not in ("float32", "float16"):
        msg = f"Core ML inputs are float32, float16 or int32; the path takes float32 and float16, got {dtype}"
        raise ConversionError(msg)
    traced = torch.jit.trace(model.layer.eval(), torch_input(model.example))  # type: ignore[no-untyped-call]
    dims = [
        ct.RangeDim(lower_bound=1, upper_bound=UPPER, default=int(size))
        if axis in model.dynamic_axes
        else int(size)
        for axis, size in enumerate(model.example.shape)
    ]
    try:
        converted = ct.convert(
            traced,
            inputs=[ct.TensorType(name="x", shape=ct.Shape(shape=dims), dtype=np.dtype(dtype).type)],
            minimum_deployment_target=ct.target.iOS16,
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32 if dtype == "float32" else ct.precision.FLOAT16,
            skip_model_load=True,
        )
    except TypeError as error:
        if "0-dimensional arrays" not in str(error):
            raise
        msg = (
            f"coremltools {ct.__version__} with NumPy {np.__version__} cannot fold traced size "
            "arithmetic (apple/coremltools#2633, fixed after coremltools 9.0; NumPy < 2.4 converts)"
        )
        raise ConversionError(msg) from error
    file = workdir / "model.mlpackage"
    converted.save(str(file))
    operations = [op for function in converted._mil_program.functions.values() for op in function.operations]
    op_types = [str(op.op_type) for op in operations if op.op_type != "const"]
    ranks = [len(var.shape) for op in operations for var in op.outputs if op.op_type != "const"]
    return Artefact(None, file, op_types, max(ranks, default=None), bool(model.dynamic_axes))


def _run(artefact: Artefact, x: Any) -> Any:
    msg = "Core ML cannot run models on this platform (only on macOS): the row checks conversion only"
    raise RuntimeError(msg)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="Core ML",
        framework="torch",
        distributions=("torch", "coremltools"),
        requires=("coremltools",),
        convert=_convert,
        run=_run,
        dtypes=("float32", "float16"),
        runs_here=False,
        note="Conversion and MIL op types only: Core ML runs models on macOS, not here.",
    ),
)
