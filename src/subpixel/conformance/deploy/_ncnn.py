"""ncnn: ``torch.jit.trace`` -> pnnx -> ncnn ``.param``/``.bin``, run by ncnn's Python binding.

ncnn's ``Mat`` has no batch axis (it holds ``c, [d,] h, w``): the model is converted with batch 1
and run on one item of the batch at a time, as ncnn applications run it; the outputs are
stacked. pnnx converts with a second input shape (the dynamic axes doubled, which keeps every
factor dividing them) so that it keeps those sizes symbolic; ncnn itself has no static shapes.
The op types are the ncnn layer types of the ``.param`` file (the ``Input`` layer left out); a
layer type pnnx could not lower keeps torch's name (``Tensor.unflatten``), which ncnn refuses to
load. pnnx learns which axis is the batch from the layers it knows (convolutions, pooling,
padding), and a reshape it cannot place drops or keeps the wrong axis: each model is converted
behind a zero padding (``nn.ConstantPad2d(0, 0.0)``, which moves no value), as a network's
convolution stands before its shuffle; that ``Padding`` layer is not counted. The ranks are
read from pnnx's own graph (``.pnnx.param``, batch axis included). Float32
only: ncnn computes and stores in float32 (the path turns its float16/bfloat16 storage off,
which would round the values).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import check_framework, check_shape, torch_input

__all__ = ["PATHS", "layer_types", "pnnx_max_rank"]

_NAME = "ncnn (pnnx from torch.jit.trace)"
_OPERAND = re.compile(r"#\S+=\(([^)]*)\)")


def layer_types(param: str) -> list[str]:
    r"""Return the layer types of an ncnn ``.param`` text, in order, without the ``Input`` layers.

    Examples
    --------
    >>> layer_types("7767517\n2 2\nInput in0 0 1 in0\nPixelShuffle ps 1 1 in0 out0 0=2\n")
    ['PixelShuffle']
    """
    lines = [line.split() for line in param.splitlines()[2:]]
    return [fields[0] for fields in lines if fields and fields[0] != "Input"]


def pnnx_max_rank(param: str) -> int | None:
    r"""Return the highest rank of the operand shapes (``#0=(1,8,6,10)f32``) of a ``.pnnx.param`` text.

    Examples
    --------
    >>> pnnx_max_rank("pnnx.Input in 0 1 0 #0=(1,8,6,10)f32\nop 1 1 0 1 #1=(1,2,2,2,6,10)f32")
    6
    """
    ranks = [len(found.split(",")) for found in _OPERAND.findall(param) if found.strip()]
    return max(ranks, default=None)


def _shape_arg(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(size) for size in shape) + "]f32"


def _convert(model: Model, workdir: Path) -> Artefact:
    import ncnn
    import pnnx
    import torch

    check_framework(model, _NAME)
    shape = tuple(int(size) for size in model.example.shape)
    if str(model.example.dtype) != "float32":
        msg = f"ncnn runs float32 only, got dtype {model.example.dtype}"
        raise ConversionError(msg)
    if len(shape) < 2:
        msg = f"ncnn takes a batch of images, got example shape {shape}"
        raise ConversionError(msg)
    shape = (1, *shape[1:])  # one item of the batch: a Mat has no batch axis
    item = torch_input(model.example[:1])
    pads = {3: torch.nn.ConstantPad1d, 4: torch.nn.ConstantPad2d, 5: torch.nn.ConstantPad3d}
    if len(shape) not in pads:
        msg = f"ncnn holds at most four axes besides the batch, got example shape {shape}"
        raise ConversionError(msg)
    anchored = torch.nn.Sequential(pads[len(shape)](0, 0.0), model.layer).eval()
    traced = torch.jit.trace(anchored, item)  # type: ignore[no-untyped-call]
    traced.save(str(workdir / "model.pt"))
    dynamic = tuple(axis for axis in model.dynamic_axes if axis != 0)
    command = [str(pnnx.EXEC_PATH), "model.pt", "inputshape=" + _shape_arg(shape), "fp16=0"]
    if dynamic:
        other = tuple(2 * size if axis in dynamic else size for axis, size in enumerate(shape))
        command.append("inputshape2=" + _shape_arg(other))
    done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False)
    param, weights = workdir / "model.ncnn.param", workdir / "model.ncnn.bin"
    if done.returncode != 0 or not param.is_file():
        tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        msg = f"pnnx exited {done.returncode}: {tail}"
        raise ConversionError(msg)
    text = param.read_text()
    op_types = layer_types(text)[1:]  # the zero padding first
    pnnx_param = workdir / "model.pnnx.param"
    max_rank = pnnx_max_rank(pnnx_param.read_text()) if pnnx_param.is_file() else None
    net = ncnn.Net()
    # ncnn stores and computes in float16/bfloat16 where the CPU allows: that rounds the values.
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_packed = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_bf16_storage = False
    if net.load_param(str(param)) != 0 or net.load_model(str(weights)) != 0:
        unknown = sorted({kind for kind in op_types if "." in kind})
        why = f"layer types unknown to ncnn: {', '.join(unknown)}" if unknown else "load failed"
        msg = f"ncnn cannot load the converted model ({why})"
        raise ConversionError(msg)
    handle = (net, shape, (0, *dynamic))
    return Artefact(handle, param, op_types, max_rank, bool(dynamic))


def _run(artefact: Artefact, x: Any) -> Any:
    import ncnn
    import numpy as np

    net, shape, dynamic = artefact.handle
    check_shape(shape, dynamic, x, _NAME)
    outputs = []
    for item in x:
        sample = np.array(item, dtype=np.float32, copy=True)  # the Mat borrows this buffer: keep it
        extractor = net.create_extractor()
        extractor.input("in0", ncnn.Mat(sample))
        status, out = extractor.extract("out0")
        if status != 0:
            msg = f"ncnn's extractor failed with status {status} on shape {tuple(x.shape)}"
            raise RuntimeError(msg)
        outputs.append(np.array(out, copy=True))
    return np.stack(outputs)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="ncnn",
        framework="torch",
        distributions=("torch", "pnnx", "ncnn"),
        requires=("pnnx", "ncnn"),
        convert=_convert,
        run=_run,
        dtypes=("float32",),
        note="One image at a time (ncnn Mats have no batch axis); float16/bfloat16 storage turned off.",
    ),
)
