"""Keras 3 layers, on the process's Keras backend and (in a child process) on the other one.

``KERAS_BACKEND`` is fixed when Keras is imported, so this file reruns itself in a subprocess
for each backend in :data:`BACKENDS` other than the current one.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import subpixel
from subpixel._validate import check_factors
from subpixel.keras import ICNR, PixelShuffle, PixelUnshuffle, SubPixelConv
from tests.layer_helpers import (
    ICNR_CASES,
    first_of_groups,
    icnr_case_ids,
    nearest_upsample,
)
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("keras",)

#: The Keras backends these tests run on: the current one here, each other installed one in a
#: child process (TensorFlow is installed by the tensorflow extra).
BACKENDS = ("jax", "torch", "tensorflow")
#: The other Keras backends, each collected only when the run requests its library.
OTHERS = [
    pytest.param(name, marks=pytest.mark.needs(name)) for name in BACKENDS if name != keras.backend.backend()
]
CHILD = "SUBPIXEL_KERAS_CHILD"

ops = keras.ops

# Keras's convert_to_numpy calls np.array() on torch tensors and on its own Variables, whose
# __array__ lacks NumPy 2's copy keyword: a DeprecationWarning from Keras internals (saving,
# set_weights, fit), not from subpixel.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def numpy(x: object) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor (the torch backend)
        return np.asarray(x.detach().cpu().numpy())
    return np.asarray(ops.convert_to_numpy(x))


SHUFFLE_CASES = list(
    itertools.product([2, (3,), (2, 3), (1, 2, 2)], ["channels_last", "channels_first"], ["CRD", "DCR"])
)


def shuffle_input(factor: object, data_format: str, seed: int = 0) -> np.ndarray:
    factors = check_factors(factor, "test", "factor")
    spatial = tuple(3 + i for i in range(len(factors)))
    channels = 2 * math.prod(factors)
    shape = (2, *spatial, channels) if data_format == "channels_last" else (2, channels, *spatial)
    return special_array(shape, seed=seed, base="normal")


@pytest.mark.parametrize(("factor", "data_format", "order"), SHUFFLE_CASES, ids=str)
def test_shuffle_layers_are_the_functional_form(factor: object, data_format: str, order: str) -> None:
    x = shuffle_input(factor, data_format)
    last = data_format == "channels_last"
    y = PixelShuffle(factor, data_format=data_format, order=order)(x)  # type: ignore[arg-type]
    assert_same_bits(numpy(y), subpixel.pixel_shuffle(x, factor, channels_last=last, order=order))  # type: ignore[arg-type]
    back = PixelUnshuffle(factor, data_format=data_format, order=order)(y)  # type: ignore[arg-type]
    assert_same_bits(numpy(back), x)


@pytest.mark.parametrize("dtype", ["float16", "int8", "uint8", "int32", "bool"])
def test_shuffle_keeps_dtype_and_bits(dtype: str) -> None:
    # Keras casts float inputs to the compute dtype (float32) unless a layer opts out.
    x = np.random.default_rng(0).integers(0, 100, (2, 8, 3, 3)).astype(dtype)
    if dtype == "float16":
        x.view(np.uint16)[0, :2, 0, 0] = [0x7E01, 0x8000]  # a NaN payload and -0.0
    y = numpy(PixelShuffle(2, data_format="channels_first")(x))
    assert_same_bits(y, subpixel.pixel_shuffle(x, 2))
    assert_same_bits(numpy(PixelUnshuffle(2, data_format="channels_first")(y)), x)


def keras_input(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Bytes of ``dtype`` that a wrong permutation shows (floats with NaN payloads, -0.0, inf, subnormals)."""
    if dtype == "bool":
        return np.random.default_rng(seed).integers(0, 2, shape).astype(bool)
    return special_array(shape, dtype, seed=seed)


#: The dtypes the backend keeps (JAX without x64 makes float64 float32, and int64 int32).
KEPT_DTYPES = [
    name
    for name in ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]
    if keras.backend.standardize_dtype(ops.convert_to_tensor(np.zeros(1, name)).dtype) == name
]


@pytest.mark.parametrize("dtype", KEPT_DTYPES)
@pytest.mark.parametrize("order", ["CRD", "DCR"])
@pytest.mark.parametrize("factor", [2, 3])
def test_channels_last_square_shuffles_keep_bits(factor: int, order: str, dtype: str) -> None:
    # Keras's default layout by (r, r): depth_to_space and space_to_depth on TensorFlow (a channel
    # take for CRD), the plan elsewhere; the bytes of the functional form on every backend.
    for batch in (2, 0):
        x = ops.convert_to_tensor(keras_input((batch, 3, 2, 2 * factor * factor), dtype))
        given = numpy(x)
        y = PixelShuffle(factor, data_format="channels_last", order=order)(x)  # type: ignore[arg-type]
        assert_same_bits(numpy(y), subpixel.pixel_shuffle(given, factor, channels_last=True, order=order))  # type: ignore[arg-type]
        back = PixelUnshuffle(factor, data_format="channels_last", order=order)(y)  # type: ignore[arg-type]
        assert_same_bits(numpy(back), given)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (PixelShuffle(1, data_format="channels_first"), (1, 4, 3, 3)),
        (PixelShuffle((1, 4), data_format="channels_last"), (2, 3, 1, 4)),
        (PixelShuffle((2,), data_format="channels_first"), (1, 2, 1)),
        (PixelUnshuffle(1, data_format="channels_last"), (1, 4, 3, 3)),
    ],
    ids=str,
)
def test_output_never_aliases_input(layer: keras.layers.Layer, shape: tuple[int, ...]) -> None:
    # Plans that only move axes of size one: the reshapes alone would return views.
    x = ops.convert_to_tensor(special_array(shape, base="normal"))
    before = numpy(x).copy()
    y = layer(x)
    assert_same_bits(numpy(y).ravel(), before.ravel())
    if keras.backend.backend() == "torch":  # the backend whose tensors can share memory
        assert y.data_ptr() != x.data_ptr()
        y.add_(1)
    assert_same_bits(numpy(x), before)


def test_channels_first_is_torch_order_on_every_backend() -> None:
    # keras.ops.depth_to_space differs between backends here; our layer must not.
    x = np.arange(2 * 8 * 2 * 3, dtype=np.float32).reshape(2, 8, 2, 3)
    expected = subpixel.pixel_shuffle(x, 2)
    assert_same_bits(numpy(PixelShuffle(2, data_format="channels_first")(x)), expected)


def test_data_format_none_follows_keras_config() -> None:
    before = keras.config.image_data_format()
    try:
        keras.config.set_image_data_format("channels_first")
        assert PixelShuffle(2).data_format == "channels_first"
        assert SubPixelConv(1, 2).data_format == "channels_first"
        keras.config.set_image_data_format("channels_last")
        assert PixelUnshuffle(2).data_format == "channels_last"
    finally:
        keras.config.set_image_data_format(before)


def test_config_roundtrip_and_registration() -> None:
    layers: list[Any] = [
        PixelShuffle((2, 3), data_format="channels_first", order="DCR", name="up"),
        PixelUnshuffle(2),
        SubPixelConv(3, (2,), 5, order="DCR", use_bias=False, kernel_initializer="he_normal"),
    ]
    for layer in layers:
        name = keras.saving.get_registered_name(type(layer))
        assert name == f"subpixel>{type(layer).__name__}"
        config = layer.get_config()
        clone = type(layer).from_config(config)
        assert clone.get_config() == config
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
        assert type(restored) is type(layer)
        assert restored.get_config() == config
    assert layers[0].get_config()["upscale_factor"] == [2, 3]
    assert keras.saving.get_registered_name(ICNR) == "subpixel>ICNR"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="data_format"):
        PixelShuffle(2, data_format="NHWC")
    with pytest.raises(ValueError, match="upscale_factor"):
        PixelShuffle(0)
    with pytest.raises(TypeError, match="downscale_factor"):
        PixelUnshuffle(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="order"):
        SubPixelConv(1, 2, order="CDR")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="upscale_factor"):
        SubPixelConv(1, (2, 2, 2, 2))
    with pytest.raises(ValueError, match="divisible by 4"):
        PixelShuffle(2)(np.zeros((1, 2, 2, 6), np.float32))


def test_functional_model_with_unknown_sizes_saves_and_loads(tmp_path: Path) -> None:
    inputs = keras.Input((None, None, 3))
    hidden = SubPixelConv(4, 2, order="DCR", bias_initializer="random_normal")(inputs)
    hidden = PixelUnshuffle(2, name="down")(hidden)
    outputs = PixelShuffle(2, order="DCR", name="up")(hidden)
    model = keras.Model(inputs, outputs)
    assert tuple(model.output.shape) == (None, None, None, 4)
    assert tuple(model.get_layer("down").output.shape) == (None, None, None, 16)
    x = np.random.default_rng(0).standard_normal((2, 5, 7, 3)).astype(np.float32)
    y = numpy(model(x))
    assert y.shape == (2, 10, 14, 4)
    assert numpy(model.predict(x[:1, :4, :6], verbose=0)).shape == (1, 8, 12, 4)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert_same_bits(numpy(loaded(x)), y)
    # Batch unknown, spatial sizes known: the shape is inferred exactly.
    known = keras.Input((4, 6, 8))
    assert tuple(PixelShuffle((2, 1))(known).shape) == (None, 8, 6, 4)
    assert tuple(PixelUnshuffle((3, 2), data_format="channels_first")(known).shape) == (None, 24, 2, 4)


# --- settings as attributes, repr and config ----------------------------------------------------


def test_attributes_repr_and_config_agree() -> None:
    shuffle = PixelShuffle((2, 3), data_format="channels_first", order="DCR", name="up")
    unshuffle = PixelUnshuffle(2, data_format="channels_last")
    block = SubPixelConv(3, (2,), 5, data_format="channels_first", order="DCR", use_bias=False)
    assert (shuffle.upscale_factor, shuffle.data_format, shuffle.order) == ((2, 3), "channels_first", "DCR")
    assert (unshuffle.downscale_factor, unshuffle.data_format, unshuffle.order) == (2, "channels_last", "CRD")
    assert not hasattr(shuffle, "downscale_factor")
    assert not hasattr(unshuffle, "upscale_factor")
    assert not hasattr(shuffle, "channels_last")  # Keras names the layout data_format
    assert (block.filters, block.upscale_factor, block.kernel_size) == (3, (2,), (5,))
    assert (block.data_format, block.order, block.use_bias, block.icnr) == (
        "channels_first",
        "DCR",
        False,
        True,
    )
    assert repr(shuffle) == (
        "<PixelShuffle name=up, built=False, upscale_factor=(2, 3), data_format='channels_first', "
        "order='DCR'>"
    )
    assert repr(unshuffle).endswith(", downscale_factor=2, data_format='channels_last', order='CRD'>")
    assert repr(block).endswith(
        ", filters=3, upscale_factor=(2,), kernel_size=5, data_format='channels_first', order='DCR'>"
    )
    cases: list[tuple[Any, list[str]]] = [
        (shuffle, ["upscale_factor", "data_format", "order"]),
        (unshuffle, ["downscale_factor", "data_format", "order"]),
        (block, ["filters", "upscale_factor", "kernel_size", "data_format", "order", "use_bias", "icnr"]),
    ]
    for layer, names in cases:
        config = layer.get_config()
        clone = type(layer).from_config(config)
        for name in names:
            value = getattr(layer, name)
            assert getattr(clone, name) == value, name
            assert config[name] == (list(value) if isinstance(value, tuple) else value), name
        assert repr(clone) == repr(layer)
    with pytest.raises(AttributeError):
        shuffle.upscale_factor = 3  # type: ignore[misc]  # read-only: the config holds it


def _symbolic_errors() -> list[str]:
    """The messages of three layers given symbolic inputs they cannot take (the first line of each)."""
    cases = [
        (PixelShuffle(2), (None, None, 10)),
        (PixelUnshuffle(2), (None, 5, 10)),
        (PixelShuffle((2, 3), data_format="channels_first"), (10, None, 4)),
    ]
    messages = []
    for layer, shape in cases:
        with pytest.raises(ValueError, match=r"of shape \(None, ") as caught:
            layer(keras.Input(shape))
        messages.append(next(line for line in str(caught.value).splitlines() if "shape" in line))
    return messages


SYMBOLIC_ERRORS = [
    "the channel axis of x must be divisible by 4 (upscale_factor=2 squared), but x.shape[3]=10 "
    "of shape (None, None, None, 10) is not divisible by 4",
    "the spatial sizes of x must be divisible by downscale_factor=2, but x.shape[2]=5 of shape "
    "(None, None, 5, 10) is not divisible by 2",
    "the channel axis of x must be divisible by 6, the product of upscale_factor=(2, 3), but x.shape[1]=10 "
    "of shape (None, 10, None, 4) is not divisible by 6",
]


def test_symbolic_input_errors_show_the_shape_as_given() -> None:
    # Not the stand-in shape the output shape was once planned with, (1, 2, 2, 10).
    for message, expected in zip(_symbolic_errors(), SYMBOLIC_ERRORS, strict=True):
        assert expected in message
    with pytest.raises(ValueError, match=r"must be known, got shape \(None, None, None, None\)"):
        PixelShuffle(2)(keras.Input((None, None, None)))


if keras.backend.backend() != "tensorflow":

    @pytest.mark.needs("tensorflow")
    def test_symbolic_input_errors_show_the_shape_as_given_on_tensorflow() -> None:
        program = (
            "import json\n"
            "from tests.test_layers_keras import _symbolic_errors\n"
            "print(json.dumps(_symbolic_errors()))\n"
        )
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", CHILD: "1"}
        root = Path(__file__).resolve().parent.parent
        result = subprocess.run(
            [sys.executable, "-c", program], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        messages = json.loads(result.stdout.strip().splitlines()[-1])
        for message, expected in zip(messages, SYMBOLIC_ERRORS, strict=True):
            assert expected in message


# --- a saved model in another process ----------------------------------------------------------

LOAD_PROGRAM = """
import sys
import keras
import numpy as np
{import_line}
path, x_path, y_path = sys.argv[1:]
try:
    model = keras.saving.load_model(path)
except TypeError as error:
    print(f"TypeError: {{error}}")
    raise SystemExit(3)
y = model(np.load(x_path))
y = y.detach().cpu().numpy() if hasattr(y, "detach") else keras.ops.convert_to_numpy(y)
np.save(y_path, np.asarray(y))
"""


def _load_in_new_process(tmp_path: Path, import_line: str) -> subprocess.CompletedProcess[str]:
    paths = [str(tmp_path / name) for name in ("model.keras", "x.npy", "loaded.npy")]
    program = LOAD_PROGRAM.format(import_line=import_line)
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend()}
    return subprocess.run(
        [sys.executable, "-c", program, *paths], env=env, capture_output=True, text=True, timeout=300
    )


def test_saved_model_loads_in_a_new_process_that_imports_subpixel_keras(tmp_path: Path) -> None:
    # Keras imports only its own packages while loading: the serving process imports subpixel.keras.
    inputs = keras.Input((None, None, 3))
    hidden = SubPixelConv(4, 2, order="DCR", bias_initializer="random_normal")(inputs)
    outputs = PixelShuffle(2, name="up")(PixelUnshuffle(2, name="down")(hidden))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(1).standard_normal((2, 5, 7, 3)).astype(np.float32)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", x)
    served = _load_in_new_process(tmp_path, "import subpixel.keras")
    assert served.returncode == 0, served.stdout + served.stderr[-3000:]
    assert_same_bits(np.load(tmp_path / "loaded.npy"), numpy(model(x)))
    # Without the import: the failure the layers page and the docstrings describe.
    bare = _load_in_new_process(tmp_path, "")
    assert bare.returncode == 3, bare.stdout + bare.stderr[-3000:]
    assert "could not be deserialized properly" in bare.stdout
    assert "Could not locate class 'SubPixelConv'" in bare.stdout


def test_sub_pixel_conv_trains() -> None:
    model = keras.Sequential([keras.Input((6, 6, 2)), SubPixelConv(1, 2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).standard_normal((8, 6, 6, 2)).astype(np.float32)
    target = np.repeat(np.repeat(x[..., :1], 2, axis=1), 2, axis=2)
    history = model.fit(x, target, epochs=3, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]


ICNR_PARAMS = [(f, k, o) for (f, k), o in itertools.product(ICNR_CASES, ("CRD", "DCR"))]
_CONVS = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}


@pytest.mark.parametrize(("factor", "kernel_size", "order"), ICNR_PARAMS, ids=icnr_case_ids())
def test_icnr_property(factor: object, kernel_size: object, order: str) -> None:
    factors = check_factors(factor, "test", "factor")
    block = SubPixelConv(
        2,
        factor,  # type: ignore[arg-type]
        kernel_size,  # type: ignore[arg-type]
        data_format="channels_last",
        order=order,  # type: ignore[arg-type]
        bias_initializer=keras.initializers.RandomNormal(seed=1),
        kernel_initializer=keras.initializers.GlorotUniform(seed=2),
    )
    x = (
        np.random.default_rng(0)
        .standard_normal((2, *(4 + i for i in range(len(factors))), 3))
        .astype(np.float32)
    )
    got = numpy(block(x))
    kernel, bias = (numpy(w.value) for w in block.conv.weights)
    picks = first_of_groups(2, factors, order)
    sub = _CONVS[len(factors)](2, kernel_size, padding="same", data_format="channels_last")
    sub.build(x.shape)
    sub.set_weights([kernel[..., picks], bias[picks]])
    expected = nearest_upsample(numpy(sub(x)), factors, channels_last=True)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got).max() > 0.1


def test_icnr_channels_first_block() -> None:
    if keras.backend.backend() == "tensorflow":
        # A plain keras.layers.Conv2D fails the same way: TensorFlow's CPU convolution is NHWC only.
        pytest.xfail("TensorFlow's CPU Conv2D supports only channels_last (NHWC)")
    block = SubPixelConv(2, (2, 1), data_format="channels_first", bias_initializer="random_normal")
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 5)).astype(np.float32)
    y = numpy(block(x))
    assert y.shape == (1, 2, 8, 5)
    # Nearest-neighbour blocks: rows 2i and 2i+1 are equal.
    np.testing.assert_allclose(y[:, :, 0::2], y[:, :, 1::2], rtol=1e-6, atol=1e-6)


def test_icnr_initializer_groups() -> None:
    kernel = numpy(ICNR("random_normal", (3,), "DCR")((2, 4, 6)))
    for c in range(2):
        for s in range(3):
            assert_same_bits(kernel[..., s * 2 + c], kernel[..., c])
    with pytest.raises(ValueError, match="divisible by 3"):
        ICNR("zeros", (3,))((2, 4, 4))


if os.environ.get(CHILD) != "1":

    @pytest.mark.parametrize("other", OTHERS)
    def test_every_test_here_passes_on_the_other_keras_backend(other: str) -> None:
        env = {**os.environ, "KERAS_BACKEND": other, CHILD: "1"}
        root = Path(__file__).resolve().parent.parent
        command = [sys.executable, "-m", "pytest", __file__, "-q", "-s", "-p", "no:cacheprovider"]
        result = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        report = result.stdout[-4000:] + result.stderr[-2000:]
        assert result.returncode == 0, report
        assert " passed" in report
        assert "skipped" not in report, report
        assert f"keras backend: {other}" in report, report


def _workflow_model() -> keras.Model:
    inputs = keras.Input((None, None, 3))
    hidden = SubPixelConv(4, 2, order="DCR", bias_initializer="random_normal")(inputs)
    hidden = PixelUnshuffle(2)(hidden)
    return keras.Model(inputs, PixelShuffle(2, order="DCR")(hidden))


WORKFLOW_X = np.random.default_rng(3).standard_normal((5, 6, 8, 3)).astype(np.float32)
WORKFLOW_Y = np.repeat(np.repeat(WORKFLOW_X[..., :1], 2, axis=1), 2, axis=2).repeat(4, axis=-1)


# jit_compile on torch is torch.compile, whose imports touch torch.jit.script_method (deprecated).
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("jit_compile", [False, True], ids=["eager-or-graph", "jit"])
def test_fit_predict_evaluate_with_partial_batches(jit_compile: bool) -> None:
    # 5 samples in batches of 2: the last batch is partial, so the batch size is unknown when
    # the TensorFlow backend traces; the spatial sizes of the model are unknown too.
    model = _workflow_model()
    model.compile(optimizer="adam", loss="mse", jit_compile=jit_compile)
    history = model.fit(WORKFLOW_X, WORKFLOW_Y, batch_size=2, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    predicted = model.predict(WORKFLOW_X, batch_size=2, verbose=0)
    assert predicted.shape == (5, 12, 16, 4)
    np.testing.assert_allclose(predicted, numpy(model(WORKFLOW_X)), rtol=1e-4, atol=1e-4)
    assert np.isfinite(model.evaluate(WORKFLOW_X, WORKFLOW_Y, batch_size=2, verbose=0))
    small = model.predict(WORKFLOW_X[:3, :4, :2], batch_size=2, verbose=0)  # a second image size
    assert small.shape == (3, 8, 4, 4)


@pytest.mark.needs("tensorflow")
def test_tf_data_pipeline() -> None:
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((WORKFLOW_X, WORKFLOW_Y)).batch(2)
    model = _workflow_model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(data, epochs=1, shuffle=False, verbose=0)
    assert model.predict(data, verbose=0).shape == (5, 12, 16, 4)


if keras.backend.backend() == "torch":

    def test_export_onnx_on_torch(tmp_path: Path) -> None:
        # Keras offers ONNX on torch; its SavedModel export fails there for any model (a plain
        # Conv2D included).
        import onnxruntime

        model = _workflow_model()
        model(WORKFLOW_X[:1])
        # torch's TorchScript exporter (the one Keras calls) warns that it is deprecated and
        # emits tracer warnings for Keras's own Conv2D; as errors they break the trace itself.
        # The exported graph is checked below, so its warnings are silenced here only.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.export(tmp_path / "model.onnx", format="onnx", verbose=False)
        session = onnxruntime.InferenceSession(tmp_path / "model.onnx")
        name = session.get_inputs()[0].name
        for sample in (WORKFLOW_X[:3, :4, :6], WORKFLOW_X):  # two batch and image sizes
            np.testing.assert_allclose(session.run(None, {name: sample})[0], numpy(model(sample)), atol=1e-5)

else:

    @pytest.mark.needs("tensorflow")
    # Keras's JAX export passes jax2tf an argument JAX has deprecated.
    @pytest.mark.filterwarnings(
        "ignore:The `native_serialization` parameter is deprecated:DeprecationWarning"
    )
    def test_export_saved_model(tmp_path: Path) -> None:
        # TensorFlow: SavedModel directly; JAX: SavedModel through jax2tf (needs TensorFlow).
        import tensorflow as tf

        model = _workflow_model()
        model(WORKFLOW_X[:1])
        model.export(tmp_path / "saved", format="tf_saved_model", verbose=False)
        served = tf.saved_model.load(str(tmp_path / "saved"))
        for sample in (WORKFLOW_X[:3, :4, :6], WORKFLOW_X[:1]):  # two batch and image sizes
            np.testing.assert_allclose(
                served.serve(tf.constant(sample)).numpy(), numpy(model(sample)), atol=1e-5
            )


if keras.backend.backend() == "tensorflow":

    def test_symbolic_model_called_on_two_sizes_inside_a_compiled_function() -> None:
        import tensorflow as tf

        model = _workflow_model()
        for jit in (False, True):
            serve = tf.function(
                model, input_signature=[tf.TensorSpec((None, None, None, 3))], jit_compile=jit
            )
            for x in (WORKFLOW_X, WORKFLOW_X[:1, :2, :4]):
                np.testing.assert_allclose(serve(x).numpy(), numpy(model(x)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", OTHERS)
def test_other_frameworks_tensors_are_rejected(name: str) -> None:
    backend = keras.backend.backend()
    if name == "torch":
        import torch

        x: Any = torch.zeros((1, 2, 2, 8))
    elif name == "jax":
        import jax.numpy as jnp

        x = jnp.zeros((1, 2, 2, 8))
    else:
        import tensorflow as tf

        x = tf.zeros((1, 2, 2, 8))
    for layer in (PixelShuffle(2), PixelUnshuffle(2), SubPixelConv(2, 2)):
        with pytest.raises(
            TypeError,
            match=rf"{type(layer).__name__}: inputs must be a NumPy array or a tensor of the Keras "
            rf"backend \({backend}\)",
        ):
            layer(x)
    assert numpy(PixelShuffle(2)(np.zeros((1, 2, 2, 8), np.float32))).shape == (1, 4, 4, 2)  # NumPy is fine


def test_import_without_a_backend_library_names_the_backends() -> None:
    program = (
        "import sys\n"
        "for name in ('tensorflow', 'jax', 'torch'): sys.modules[name] = None\n"
        "try:\n"
        "    import subpixel.keras\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True, timeout=300
    )
    text = result.stdout
    assert "subpixel.keras: Keras could not load its backend tensorflow" in text, (
        result.stdout + result.stderr
    )
    assert "KERAS_BACKEND" in text
    assert "tensorflow, jax or torch" in text


def test_keras_backend_is_reported() -> None:
    print(f"keras backend: {keras.backend.backend()}")
    assert keras.backend.backend() in BACKENDS


if keras.backend.backend() == "tensorflow":
    # (layer, input channels, dtype, the TFLite ops it must convert to)
    TFLITE_CASES = [
        (PixelShuffle(2), 12, "float32", ["GATHER", "DEPTH_TO_SPACE"]),
        (PixelShuffle(3, order="DCR"), 18, "float32", ["DEPTH_TO_SPACE"]),
        (PixelUnshuffle(2), 3, "float32", ["SPACE_TO_DEPTH", "GATHER"]),
        (PixelUnshuffle(2, order="DCR"), 2, "int32", ["SPACE_TO_DEPTH"]),
        (PixelShuffle(2), 8, "uint8", ["GATHER", "DEPTH_TO_SPACE"]),
        (PixelShuffle(2, order="DCR"), 8, "int8", ["DEPTH_TO_SPACE"]),
        # TFLite has no uint8 SPACE_TO_DEPTH: the reshape and transpose, builtin ops too.
        (PixelUnshuffle(2), 3, "uint8", None),
        (PixelShuffle((2, 3)), 12, "float32", None),
    ]

    def tflite_model(layer: keras.layers.Layer, channels: int, dtype: str) -> bytes:
        """The layer on dynamic batch and spatial sizes, converted with TFLite's builtin ops only."""
        import tensorflow as tf

        inputs = keras.Input((None, None, channels), dtype=dtype)
        converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, layer(inputs)))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no TF Select
        model: bytes = converter.convert()
        return model

    # ai_edge_litert (LiteRT's own interpreter) is not installed beside TensorFlow here; TensorFlow's
    # interpreter runs the same flatbuffer and says it is deprecated.
    @pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
    @pytest.mark.parametrize(("layer", "channels", "dtype", "expected"), TFLITE_CASES, ids=str)
    def test_tflite_builtin_ops_keep_bits_on_other_sizes(
        layer: keras.layers.Layer, channels: int, dtype: str, expected: list[str] | None
    ) -> None:
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(model_content=tflite_model(layer, channels, dtype))
        names = [op["op_name"] for op in interpreter._get_ops_details()]  # the model's op codes
        if expected is not None:
            assert names == expected
        assert not any(name.startswith("FLEX") or name == "CUSTOM" for name in names), names
        for seed, shape in enumerate([(2, 6, 4, channels), (1, 12, 18, channels)]):
            x = keras_input(shape, dtype, seed)
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, shape)
            interpreter.allocate_tensors()
            interpreter.set_tensor(index, x)
            interpreter.invoke()
            out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
            assert_same_bits(out, numpy(layer(x)))

    def test_tflite_float16_needs_tf_select_for_keras_own_op_too() -> None:
        # TFLite has no float16 DEPTH_TO_SPACE, GATHER or TRANSPOSE: no spelling converts to
        # builtin ops, keras.ops.depth_to_space included.
        from tensorflow.lite.python.convert import ConverterError

        class Native(keras.layers.Layer):  # type: ignore[misc]
            def call(self, inputs: Any) -> Any:
                return ops.depth_to_space(inputs, 2)

        for layer in (PixelShuffle(2, order="DCR"), PixelShuffle(2), Native(autocast=False)):
            with pytest.raises(ConverterError, match="TF Select"):
                tflite_model(layer, 8, "float16")
