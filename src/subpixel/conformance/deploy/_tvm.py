"""Apache TVM: ``torch.onnx.export(dynamo=True)`` -> Relax's ONNX frontend -> ``llvm`` -> Relax VM.

The ONNX graph's symbolic dimensions stay symbolic in Relax (dynamic batch and spatial sizes).
The op types are the Relax operators the ONNX frontend imported (``relax.reshape``,
``relax.permute_dims``, ...), in binding order; the ranks are those of the imported tensors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import check_framework, check_shape, onnx_export

__all__ = ["PATHS"]

_NAME = "TVM Relax VM (torch.onnx dynamo)"


def _relax_ops(function: Any) -> tuple[list[str], int | None]:
    """Return the operator names called by a Relax function's bindings, and the highest tensor rank."""
    from tvm import ir, relax

    op_types: list[str] = []
    ranks = [
        int(param.struct_info_.ndim)
        for param in function.params
        if isinstance(param.struct_info_, relax.TensorStructInfo)
    ]
    for block in function.body.blocks:
        for binding in block.bindings:
            value = binding.value
            if isinstance(value, relax.Call) and isinstance(value.op, ir.Op):
                op_types.append(str(value.op.name))
            info = binding.var.struct_info_
            if isinstance(info, relax.TensorStructInfo) and info.ndim >= 0:
                ranks.append(int(info.ndim))
    return op_types, max(ranks, default=None)


def _convert(model: Model, workdir: Path) -> Artefact:
    import tvm
    from tvm import relax
    from tvm.relax.frontend.onnx import from_onnx

    check_framework(model, _NAME)
    file = workdir / "model.onnx"
    proto = onnx_export(model, file)
    name = proto.graph.input[0].name
    try:
        module = from_onnx(proto, dtype_dict={name: str(model.example.dtype)})
    except Exception as error:  # the frontend's own exceptions (TVMError, KeyError, ...)
        first = (str(error).strip().splitlines() or [""])[0][:300]
        msg = f"TVM's ONNX frontend failed: {type(error).__name__}: {first}"
        raise ConversionError(msg) from error
    op_types, max_rank = _relax_ops(module["main"])
    module = relax.transform.DecomposeOpsForInference()(module)
    module = relax.transform.LegalizeOps()(module)
    executable = tvm.compile(module, target="llvm")
    machine = relax.VirtualMachine(executable, tvm.cpu())
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    dynamic = tuple(axis for axis, dim in enumerate(dims) if not dim.HasField("dim_value"))
    handle = (machine, tuple(model.example.shape), dynamic)
    return Artefact(handle, file, op_types, max_rank, bool(dynamic))


def _run(artefact: Artefact, x: Any) -> Any:
    import numpy as np
    import tvm

    machine, shape, dynamic = artefact.handle
    check_shape(shape, dynamic, x, _NAME)
    tensor = tvm.runtime.tensor(np.array(x, copy=True))
    return np.array(machine["main"](tensor).numpy(), copy=True)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="TVM",
        framework="torch",
        distributions=("torch", "onnx", "onnxscript", "apache-tvm"),
        requires=("tvm", "onnx", "onnxscript"),
        convert=_convert,
        run=_run,
        dtypes=("float32", "float16", "uint8", "int8"),
    ),
)
