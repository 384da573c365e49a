"""XLA from JAX: ``jax.export`` -> serialized StableHLO, deserialized and run by XLA on CPU.

What JAX programs ship to serving: ``jax.export.export`` writes the function's StableHLO with
symbolic batch and spatial sizes (``b, 2*s1, 2*s2, 2`` for an unshuffle by 2, whose sizes are
multiples of 2), ``Exported.serialize`` gives the bytes, and ``jax.export.deserialize`` reads
them back and runs them on XLA's CPU backend. The op types are the StableHLO operations on the
array (those whose result has rank 2 or more; the shape arithmetic and shape assertions of
symbolic sizes work on scalars and size vectors); the ranks are those of every tensor of the
module.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model

__all__ = ["PATHS", "check_framework", "polymorphic_shape", "stablehlo_ops"]

_NAME = "XLA CPU (jax.export)"

#: A StableHLO operation and the rest of its line (its operand and result types).
_OP = re.compile(r"\b(stablehlo\.[a-z_]+)\b(.*)$")
_TENSOR = re.compile(r"tensor<([^<>]*)>")


def check_framework(model: Model, path: str) -> None:
    """Refuse a model of another framework than JAX, naming ``path``.

    Raises
    ------
    ConversionError
        If ``model`` is not a JAX function.
    """
    if model.framework != "jax":
        msg = f"{path} takes JAX functions, got framework={model.framework!r}"
        raise ConversionError(msg)


def polymorphic_shape(model: Model) -> str:
    """Return the symbolic shape of the model's input: ``b, s1, s2, 8`` (``2*s1`` for an unshuffle by 2).

    Axis 0 is ``b`` where it is dynamic; every other dynamic axis is a spatial size, a multiple of
    :attr:`Model.multiple`; the others keep the example's size.
    """
    found: list[str] = []
    spatial = 0
    for axis, size in enumerate(model.example.shape):
        if axis not in model.dynamic_axes:
            found.append(str(size))
        elif axis == 0:
            found.append("b")
        else:
            spatial += 1
            found.append(f"s{spatial}" if model.multiple == 1 else f"{model.multiple}*s{spatial}")
    return ", ".join(found)


def _rank(text: str) -> int:
    """Return the rank of a tensor type's body: ``?x2x8xf32`` has rank 3, ``i32`` rank 0."""
    return len(text.split("x")) - 1


def stablehlo_ops(module: str) -> tuple[list[str], int | None]:
    """Return the operations on arrays (result rank 2 or more) of a StableHLO module, and its top rank.

    ``stablehlo.reshape`` and ``stablehlo.dynamic_reshape``, ``stablehlo.transpose``, ... in the
    order written; constants and the scalar shape arithmetic are left out.
    """
    ops: list[str] = []
    for line in module.splitlines():
        found = _OP.search(line)
        if found is None or found.group(1) == "stablehlo.constant":
            continue
        types = _TENSOR.findall(found.group(2))
        if types and _rank(types[-1]) >= 2:
            ops.append(found.group(1).removeprefix("stablehlo."))
    ranks = [_rank(body) for body in _TENSOR.findall(module)]
    return ops, max(ranks, default=None)


def _convert(model: Model, workdir: Path) -> Artefact:
    import jax
    from jax import export

    check_framework(model, _NAME)
    dtype = model.example.dtype
    shape: Any = model.example.shape
    if model.dynamic_axes:
        shape = export.symbolic_shape(polymorphic_shape(model))
    exported = export.export(jax.jit(model.layer), platforms=("cpu",))(jax.ShapeDtypeStruct(shape, dtype))
    blob = exported.serialize()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", model.name or "model").strip("-")
    file = workdir / f"{stem}.{dtype}.jax-export.bin"
    file.write_bytes(blob)
    loaded = export.deserialize(bytearray(file.read_bytes()))
    ops, rank = stablehlo_ops(loaded.mlir_module())
    dynamic = not all(isinstance(size, int) for size in loaded.in_avals[0].shape)
    return Artefact(loaded, file, ops, rank, dynamic)


def _run(artefact: Artefact, x: Any) -> Any:
    import jax.numpy as jnp
    import numpy as np

    return np.array(artefact.handle.call(jnp.asarray(x)), copy=True)


PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        runtime="XLA CPU",
        framework="jax",
        distributions=("jax", "jaxlib", "keras"),
        requires=("jax", "keras"),
        convert=_convert,
        run=_run,
        dtypes=("float32", "float16", "uint8", "int8"),
        fast=True,
        group="jax",
        note="serialized StableHLO with symbolic batch and spatial sizes, deserialized and run by XLA "
        "on CPU; ops are the StableHLO operations on the array (result rank 2 or more), shape arithmetic "
        "left out; the native op is keras.ops.depth_to_space / space_to_depth on Keras's JAX backend",
    ),
)
