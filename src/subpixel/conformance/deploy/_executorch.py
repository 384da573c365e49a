"""ExecuTorch: ``torch.export`` -> ``to_edge`` -> ``.pte``, on the portable kernels and with XNNPACK.

Both paths run on one runtime (``executorch.runtime``). Dynamic axes are exported as
``Dim.AUTO`` with an upper bound of :data:`UPPER`: ExecuTorch plans memory for the largest size,
so a run on a larger axis fails. torch specialises a size-1 example axis (the batch of a
``(1, C, H, W)`` example) to 1. The op types are the edge-dialect ops of the lowered program;
inside an XNNPACK delegate they are the delegated ops, prefixed ``xnnpack:``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, DeployPath, Model
from subpixel.conformance.deploy._torch_export import (
    check_framework,
    check_shape,
    export_program,
    exported_dynamic,
    torch_input,
)

__all__ = ["PATHS", "UPPER"]

#: Upper bound of each dynamic axis in the exported program (memory is planned for it).
UPPER = 64

_DELEGATE = "executorch_call_delegate"


def _target_name(target: Any) -> str:
    """``aten.permute_copy.default`` for an edge op, the function name otherwise."""
    name = getattr(target, "__name__", None) or str(target)
    schema = getattr(target, "_schema", None)
    if schema is not None:  # EdgeOpOverload and OpOverload: namespace.op.overload
        overload = getattr(target, "_overloadname", "") or "default"
        return f"{schema.name.replace('::', '.')}.{overload}"
    return str(name)


def _walk(program: Any, prefix: str, op_types: list[str], ranks: list[int]) -> None:
    """Collect the op types and tensor ranks of ``program`` and of the delegates it calls."""
    module = program.graph_module
    for node in program.graph.nodes:
        value = node.meta.get("val")
        shape = getattr(value, "shape", None)
        if shape is not None:
            ranks.append(len(shape))
        if node.op != "call_function":
            continue
        name = _target_name(node.target)
        if name == _DELEGATE:
            lowered = getattr(module, node.args[0].target)
            backend = str(getattr(lowered, "backend_id", "delegate")).removesuffix("Backend").lower()
            _walk(lowered.original_module, f"{backend}:", op_types, ranks)
            continue
        # Not the size arithmetic of dynamic axes (sym_size, mul), nor a delegate's outputs (getitem).
        if shape is not None and name != "getitem":
            op_types.append(prefix + name)


def _convert(model: Model, workdir: Path, xnnpack: bool) -> Artefact:
    from executorch.exir import to_edge, to_edge_transform_and_lower
    from executorch.runtime import Runtime

    path = "ExecuTorch (XNNPACK)" if xnnpack else "ExecuTorch (portable)"
    check_framework(model, path)
    program = export_program(model, upper=UPPER)
    if xnnpack:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    else:
        edge = to_edge(program)
    op_types: list[str] = []
    ranks: list[int] = []
    _walk(edge.exported_program(), "", op_types, ranks)
    executable = edge.to_executorch()
    file = workdir / ("model_xnnpack.pte" if xnnpack else "model_portable.pte")
    file.write_bytes(executable.buffer)
    method = Runtime.get().load_program(file).load_method("forward")
    dynamic = exported_dynamic(program)
    handle = (method, tuple(model.example.shape), dynamic, path)
    return Artefact(handle, file, op_types, max(ranks, default=None), bool(dynamic))


def _run(artefact: Artefact, x: Any) -> Any:
    method, shape, dynamic, path = artefact.handle
    check_shape(shape, dynamic, x, path)
    if any(size > UPPER for axis, size in enumerate(x.shape) if axis in dynamic):
        msg = f"x has shape {tuple(x.shape)}; the {path} artefact takes dynamic axes up to {UPPER}"
        raise ValueError(msg)
    (out,) = method.execute([torch_input(x)])
    return out.numpy().copy()


def _convert_portable(model: Model, workdir: Path) -> Artefact:
    return _convert(model, workdir, xnnpack=False)


def _convert_xnnpack(model: Model, workdir: Path) -> Artefact:
    return _convert(model, workdir, xnnpack=True)


_COMMON: dict[str, Any] = {
    "runtime": "ExecuTorch",
    "framework": "torch",
    "distributions": ("torch", "executorch"),
    "requires": ("executorch.exir", "executorch.runtime"),
    "run": _run,
    "dtypes": ("float32", "float16", "uint8", "int8"),
}

PATHS: tuple[DeployPath, ...] = (
    DeployPath(name="ExecuTorch portable (torch.export)", convert=_convert_portable, **_COMMON),
    DeployPath(
        name="ExecuTorch XNNPACK (torch.export)",
        convert=_convert_xnnpack,
        note="XNNPACK takes the float ops it supports; other dtypes run on the portable kernels.",
        **_COMMON,
    ),
)
