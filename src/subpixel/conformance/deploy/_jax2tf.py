"""LiteRT from JAX: ``jax2tf.convert`` with polymorphic shapes -> ``tf.lite.TFLiteConverter``.

The JAX function is converted with symbolic batch and spatial sizes (``(b, s1, s2, 8)``; an
unshuffle's sizes are multiples of its factor, ``(b, 2*s1, 2*s2, 2)``), wrapped in a
``tf.function`` whose input signature has ``None`` there, and converted to a ``.tflite`` file
with builtin ops only, as the Keras paths are (:mod:`._litert_keras`); it runs in
``ai_edge_litert`` where it is installed, else in ``tf.lite.Interpreter``.

Two paths: the model in its dtype (float32, float16, uint8, int8), and the float32 model
quantized to full integer (int8 in, int8 out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._jax_export import check_framework, polymorphic_shape
from subpixel.conformance.deploy._litert_keras import interpreter_name, run, to_tflite
from subpixel.conformance.deploy._path import Artefact, DeployPath, Model

__all__ = ["PATHS", "concrete_function"]

_NAME = "LiteRT (jax2tf)"


def concrete_function(model: Model, dtype: str) -> Any:
    """Return the TensorFlow concrete function of the JAX model, dynamic where the model asks."""
    import tensorflow as tf
    from jax.experimental import jax2tf

    check_framework(model, _NAME)
    shapes = [f"({polymorphic_shape(model)})"] if model.dynamic_axes else None
    function = tf.function(jax2tf.convert(model.layer, polymorphic_shapes=shapes), autograph=False)
    signature = [None if a in model.dynamic_axes else s for a, s in enumerate(model.example.shape)]
    return function.get_concrete_function(tf.TensorSpec(signature, dtype))


def _float(model: Model, workdir: Path) -> Artefact:
    concrete = concrete_function(model, str(model.example.dtype))
    return to_tflite(concrete, model, workdir, quantize=False)


def _int8(model: Model, workdir: Path) -> Artefact:
    concrete = concrete_function(model, "float32")
    return to_tflite(concrete, model, workdir, quantize=True)


_COMMON: dict[str, Any] = {
    "runtime": "LiteRT",
    "framework": "jax",
    "distributions": ("jax", "jaxlib", "tensorflow", "ai-edge-litert", "keras"),
    "requires": ("jax", "tensorflow", "keras"),
    "run": run,
    "fast": True,
    "group": "jax",
}

PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name=_NAME,
        convert=_float,
        dtypes=("float32", "float16", "uint8", "int8"),
        note="jax2tf with polymorphic batch and spatial sizes, builtin ops only (no TF Select); "
        "the native op is keras.ops.depth_to_space / space_to_depth on Keras's JAX backend; "
        f"run in {interpreter_name()}",
        **_COMMON,
    ),
    DeployPath(
        name="LiteRT int8-quantized (jax2tf)",
        convert=_int8,
        dtypes=("int8",),
        note="the float32 function quantized to full integer (int8 in and out); builtin int8 ops only; "
        f"run in {interpreter_name()}",
        **_COMMON,
    ),
)
