"""LiteRT from Keras on TensorFlow: ``tf.lite.TFLiteConverter``, builtin ops only.

The ``.tflite`` file runs in ``ai_edge_litert`` (LiteRT's own interpreter) where it is
installed, else in ``tf.lite.Interpreter``; the report says which.

Two paths: the model in its dtype (float32, float16, uint8, int8), and the float32 model
quantized to full integer (int8 in, int8 out), the form microcontrollers and NPUs take.
Keras must run on TensorFlow (``KERAS_BACKEND=tensorflow``): the deployment matrix runs these
paths in a worker process with that backend when this process uses another.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path
from typing import Any

from subpixel.conformance.deploy._path import Artefact, ConversionError, DeployPath, Model

__all__ = ["PATHS", "describe", "interpreter", "interpreter_name", "run", "to_tflite"]


def interpreter_name() -> str:
    """Return the interpreter that runs ``.tflite`` files here: ``ai_edge_litert`` or ``tf.lite``."""
    import importlib.util

    return "ai_edge_litert" if importlib.util.find_spec("ai_edge_litert") is not None else "tf.lite"


def interpreter(content: bytes) -> Any:
    """Return a LiteRT interpreter of the flatbuffer ``content`` (``ai_edge_litert``, else ``tf.lite``)."""
    if interpreter_name() == "ai_edge_litert":
        from ai_edge_litert.interpreter import Interpreter
    else:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter  # noqa: N806 - a class
    return Interpreter(model_content=content)


def describe(handle: Any, file: Path | None) -> Artefact:
    """Return an :class:`Artefact` of a LiteRT interpreter: builtin op names, highest rank, dynamic sizes."""
    ops = [str(op["op_name"]) for op in handle._get_ops_details()]
    ranks = [len(t["shape_signature"]) for t in handle.get_tensor_details()]
    first = handle.get_input_details()[0]["shape_signature"]
    return Artefact(handle, file, ops, max(ranks, default=None), bool((first == -1).any()))


def _concrete(model: Model, dtype: str) -> tuple[Any, Any]:
    """Return the Keras model around the layer and its concrete TensorFlow function (dynamic sizes)."""
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        msg = f"needs Keras on TensorFlow (KERAS_BACKEND=tensorflow), not {keras.backend.backend()}"
        raise ConversionError(msg)
    shape = [None if a in model.dynamic_axes else s for a, s in enumerate(model.example.shape)]
    inputs = keras.Input(batch_shape=tuple(shape), dtype=dtype)
    keras_model = keras.Model(inputs, model.layer(inputs))
    function = tf.function(lambda x: keras_model(x, training=False))
    return keras_model, function.get_concrete_function(tf.TensorSpec(shape, dtype))


def _convert(model: Model, workdir: Path, *, quantize: bool) -> Artefact:
    dtype = "float32" if quantize else str(model.example.dtype)
    keras_model, concrete = _concrete(model, dtype)
    return to_tflite(concrete, model, workdir, quantize=quantize, trackable=keras_model)


def to_tflite(
    concrete: Any, model: Model, workdir: Path, *, quantize: bool, trackable: Any = None
) -> Artefact:
    """Convert a concrete TensorFlow function to a ``.tflite`` file with builtin ops only; open it.

    Parameters
    ----------
    concrete : tensorflow.types.experimental.ConcreteFunction
        The function, with its input signature (``None`` for dynamic sizes).
    model : Model
        The model it computes: its name names the file; its example sizes the representative
        data of the quantized model.
    workdir : pathlib.Path
        Where the file is written.
    quantize : bool
        Quantize the (float32) function to full integer: int8 in, int8 out, builtin int8 ops.
    trackable : object, optional
        What holds the function's variables (the Keras model), as the converter asks.

    Raises
    ------
    ConversionError
        With the converter's first error line.
    """
    import numpy as np
    import tensorflow as tf

    dtype = "float32" if quantize else str(model.example.dtype)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], trackable)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize:
        example = model.example

        def representative() -> Any:
            spread = np.linspace(-128.0, 127.0, example.size, dtype=np.float32)
            yield [spread.reshape(example.shape)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            content = converter.convert()
    except Exception as error:
        lines = [line.strip() for line in str(error).splitlines() if "error:" in line.lower()]
        found = lines[0] if lines else str(error).strip().splitlines()[0]
        message = re.sub(r"^.*?error: ", "", found)
        raise ConversionError(f"TFLiteConverter: {message}") from error
    stem = re.sub(r"[^A-Za-z0-9]+", "-", model.name or "model").strip("-")
    file = workdir / f"{stem}.{'int8-quantized' if quantize else dtype}.tflite"
    file.write_bytes(content)
    return describe(interpreter(content), file)


def run(artefact: Artefact, x: Any) -> Any:
    """Resize the interpreter's first input to ``x``'s shape, invoke, return the first output."""
    handle = artefact.handle
    index = handle.get_input_details()[0]["index"]
    if tuple(handle.get_input_details()[0]["shape"]) != x.shape:
        handle.resize_tensor_input(index, list(x.shape), strict=True)
    handle.allocate_tensors()
    handle.set_tensor(index, x)
    handle.invoke()
    return handle.get_tensor(handle.get_output_details()[0]["index"]).copy()


def _float(model: Model, workdir: Path) -> Artefact:
    return _convert(model, workdir, quantize=False)


def _int8(model: Model, workdir: Path) -> Artefact:
    return _convert(model, workdir, quantize=True)


_COMMON: dict[str, Any] = {
    "runtime": "LiteRT",
    "framework": "keras",
    "distributions": ("keras", "tensorflow", "ai-edge-litert"),
    "requires": ("keras", "tensorflow"),
    "run": run,
    "fast": True,
    "group": "keras",
}

PATHS: tuple[DeployPath, ...] = (
    DeployPath(
        name="LiteRT (Keras on TensorFlow)",
        convert=_float,
        dtypes=("float32", "float16", "uint8", "int8"),
        note=f"builtin ops only (no TF Select); the .tflite files run in {interpreter_name()}",
        **_COMMON,
    ),
    DeployPath(
        name="LiteRT int8-quantized (Keras on TensorFlow)",
        convert=_int8,
        dtypes=("int8",),
        note="the float32 model quantized to full integer (int8 in and out); builtin int8 ops only; "
        f"run in {interpreter_name()}",
        **_COMMON,
    ),
)
