"""Apache TVM: ``torch.onnx.export(dynamo=True)`` -> Relax's ONNX frontend -> ``llvm`` -> Relax VM.

The ONNX graph's symbolic dimensions stay symbolic in Relax (dynamic batch and spatial sizes).
The op types are the Relax operators the ONNX frontend imported (``relax.reshape``,
``relax.permute_dims``, ...), in binding order (read from the function's TVMScript); the ranks
are those of the ONNX graph it imported (the frontend keeps each tensor's rank).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import (
    check_framework,
    check_shape,
    onnx_export,
    onnx_max_rank,
)

__all__ = ["PATHS", "relax_ops"]

_NAME = "TVM Relax VM (torch.onnx dynamo)"

#: A binding's operator in TVMScript: ``lv: R.Tensor(...) = R.permute_dims(...)``.
_BOUND = re.compile(r"=\s*R\.([a-z_][\w.]*)\(")


def relax_ops(script: str) -> list[str]:
    """Return the Relax operators bound in a function's TVMScript text, in order.

    Examples
    --------
    >>> relax_ops("lv: R.Tensor((1, 2), dtype='float32') = R.reshape(x, R.shape([1, 2]))")
    ['relax.reshape']
    """
    return ["relax." + name for name in _BOUND.findall(script)]


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
    op_types = relax_ops(module["main"].script())
    module = relax.transform.DecomposeOpsForInference()(module)
    module = relax.transform.LegalizeOps()(module)
    executable = tvm.compile(module, target="llvm")
    machine = relax.VirtualMachine(executable, tvm.cpu())
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    dynamic = tuple(axis for axis, dim in enumerate(dims) if not dim.HasField("dim_value"))
    handle = (machine, tuple(model.example.shape), dynamic)
    return Artefact(handle, file, op_types, onnx_max_rank(proto), bool(dynamic))


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
