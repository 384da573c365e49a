"""MNN: ``torch.onnx.export(dynamo=True)`` -> MNN's converter -> ``.mnn``, run by ``MNN.nn``.

The converter runs in a child process through MNN's compiled ``_tools.mnnconvert`` (a converter
that aborts takes only its row). The path never imports ``MNN.tools``: its Python wrapper imports
a usage logger that runs ``pip install -U aliyun-log-python-sdk`` into the running interpreter when
that package is missing and then reports each conversion (with a machine id) to a remote server.

The op types are the MNN operator types of the ``.mnn`` graph (``Input`` and ``Const`` left out)
in the order of their tensor names (the file's execution order is not exposed by ``MNN.expr``);
the ranks are read from the ONNX graph the converter took (the ``.mnn`` file records no
intermediate shapes for dynamic inputs; MNN's converter keeps the ONNX tensors' ranks).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import (
    check_framework,
    check_shape,
    onnx_export,
    onnx_max_rank,
)

__all__ = ["PATHS"]

_NAME = "MNN (torch.onnx dynamo)"

#: The child's program: MNN's compiled converter, without the ``MNN.tools`` wrapper.
_CONVERTER = "import sys, _tools; _tools.mnnconvert(sys.argv)"

_LEFT_OUT = frozenset({"Input", "Const"})

#: The dtypes ``MNN.expr.const`` takes among the matrix's (it has no float16 nor int8 input).
_DTYPES = ("float32", "uint8")


def _convert(model: Model, workdir: Path) -> Artefact:
    import MNN.expr

    check_framework(model, _NAME)
    if str(model.example.dtype) not in _DTYPES:
        msg = f"MNN's Python inputs take {', '.join(_DTYPES)} here, got dtype {model.example.dtype}"
        raise ConversionError(msg)
    source = workdir / "model.onnx"
    proto = onnx_export(model, source)
    file = workdir / "model.mnn"
    arguments = ["-f", "ONNX", "--modelFile", str(source), "--MNNModel", str(file), "--bizCode", "subpixel"]
    done = subprocess.run(
        [sys.executable, "-c", _CONVERTER, *arguments], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or not file.is_file():
        lines = (done.stdout + done.stderr).strip().splitlines() or ["no message"]
        msg = f"MNN's converter exited {done.returncode}: {lines[-1][:300]}"
        raise ConversionError(msg)
    graph = MNN.expr.load_as_dict(str(file))
    op_types = [str(var.op_type) for var in graph.values() if str(var.op_type) not in _LEFT_OUT]
    inputs = [name for name, var in graph.items() if str(var.op_type) == "Input"]
    # The converter writes a symbolic ONNX batch as 1 in its Input op, yet the module resizes to
    # any batch (measured): the ONNX graph's symbolic axes are the artefact's dynamic axes.
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    dynamic = tuple(axis for axis, dim in enumerate(dims) if not dim.HasField("dim_value"))
    module = MNN.nn.load_module_from_file(str(file), inputs[:1], [])
    handle = (module, tuple(model.example.shape), dynamic)
    return Artefact(handle, file, op_types, onnx_max_rank(proto), bool(dynamic))


def _run(artefact: Artefact, x: Any) -> Any:
    import MNN.expr
    import numpy as np

    module, shape, dynamic = artefact.handle
    check_shape(shape, dynamic, x, _NAME)
    sample = np.array(x, copy=True)
    kind = MNN.expr.uint8 if sample.dtype == np.uint8 else MNN.expr.float
    out = module.forward(MNN.expr.const(sample, list(sample.shape), MNN.expr.NCHW, kind))
    return np.array(out.read(), copy=True)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="MNN",
        framework="torch",
        distributions=("torch", "onnx", "onnxscript", "MNN"),
        requires=("MNN", "_tools", "onnx", "onnxscript"),
        convert=_convert,
        run=_run,
        dtypes=_DTYPES,
    ),
)
