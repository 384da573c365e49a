"""TensorFlow tensors and variables: eager, tf.function (plain and XLA), unknown sizes, autodiff.

Every result is compared byte for byte with the index-formula reference of
:mod:`tests.reference` (NaN payloads, signed zeros and subnormals included), and the
channels-last DCR results with TensorFlow's own ``depth_to_space`` / ``space_to_depth``.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

import subpixel
from subpixel import _routes
from subpixel._fast import tensorflow as tf_fast
from subpixel._validate import check_factors
from tests.reference import reference
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("tensorflow",)

DTYPES = ["float32", "float16", "float64", "uint8", "int8", "int32", "int64", "bool", "complex64"]

#: (factor, input shape of a shuffle with channels first, channels last): 1-D, 2-D, 3-D, none and
#: several batch axes, non-square factors.
CASES = [
    (2, (2, 8, 3, 5), (2, 3, 5, 8)),
    ((2, 3), (12, 2, 4), (2, 4, 12)),
    ((3,), (2, 1, 6, 5), (2, 1, 5, 6)),
    ((1, 2, 2), (1, 8, 2, 3, 2), (1, 2, 3, 2, 8)),
    (1, (1, 3, 2, 2), (1, 2, 2, 3)),
]


def numpy(x: Any) -> np.ndarray:
    assert isinstance(x, tf.Tensor), type(x)
    return np.asarray(x.numpy())


def run(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    f = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    return f(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def case_input(
    shape: tuple[int, ...], factor: Any, inverse: bool, channels_last: bool, dtype: str
) -> np.ndarray:
    rng = np.random.default_rng(7)
    x = special_array(shape, np.dtype(dtype), rng)
    if inverse:  # the shuffled shape of the same case
        x = reference(x, factor, inverse=False, channels_last=channels_last, order="CRD")
    return x


ALL = list(itertools.product(range(len(CASES)), [False, True], [False, True], ["CRD", "DCR"]))


@pytest.mark.parametrize(("case", "inverse", "channels_last", "order"), ALL)
@pytest.mark.parametrize("dtype", DTYPES)
def test_eager_tensors_and_variables_match_the_reference(
    case: int, inverse: bool, channels_last: bool, order: str, dtype: str
) -> None:
    factor, first, last = CASES[case]
    x = case_input(last if channels_last else first, factor, inverse, channels_last, dtype)
    expected = reference(x, factor, inverse=inverse, channels_last=channels_last, order=order)
    assert_same_bits(numpy(run(tf.constant(x), factor, inverse, channels_last, order)), expected)
    if dtype != "bool":  # tf.Variable holds no bool on every device; tensors cover it
        variable = tf.Variable(x)
        assert_same_bits(numpy(run(variable, factor, inverse, channels_last, order)), expected)
        assert_same_bits(variable.numpy(), x)  # the variable is untouched


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
@pytest.mark.parametrize(("case", "inverse", "channels_last", "order"), ALL)
def test_tf_function_with_unknown_batch_and_spatial_sizes(
    case: int, inverse: bool, channels_last: bool, order: str, jit_compile: bool
) -> None:
    factor, first, last = CASES[case]
    x = case_input(last if channels_last else first, factor, inverse, channels_last, "float32")
    k = len(check_factors(factor, "test", "factor"))
    channel_axis = x.ndim - 1 if channels_last else x.ndim - k - 1
    signature: list[int | None] = [None] * x.ndim
    signature[channel_axis] = x.shape[channel_axis]
    spec = tf.TensorSpec(signature, tf.float32)

    @tf.function(input_signature=[spec], jit_compile=jit_compile)
    def shuffle(t: Any) -> Any:
        return run(t, factor, inverse, channels_last, order)

    assert shuffle.get_concrete_function().structured_outputs.shape.rank == x.ndim
    # A second size through the same trace: each spatial axis doubled, the batch cut to one.
    other = x[:1] if channel_axis > 0 else x
    for axis in range(x.ndim - k - 1, x.ndim - 1) if channels_last else range(x.ndim - k, x.ndim):
        other = np.concatenate([other, other], axis=axis)
    for sub in (x, other):
        expected = reference(sub, factor, inverse=inverse, channels_last=channels_last, order=order)
        assert_same_bits(numpy(shuffle(tf.constant(sub))), expected)
    assert shuffle.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_one_trace_serves_two_image_sizes(jit_compile: bool) -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 12), tf.float32)], jit_compile=jit_compile)
    def up(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2, channels_last=True, order="DCR")

    for shape in [(2, 3, 5, 12), (1, 4, 2, 12), (0, 4, 2, 12)]:
        x = special_array(shape, np.dtype("float32"), np.random.default_rng(1))
        assert_same_bits(numpy(up(tf.constant(x))), numpy(tf.nn.depth_to_space(x, 2)))
    assert up.experimental_get_tracing_count() == 1


def test_static_shapes_in_a_graph_are_inferred() -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, 16, None, 5), tf.float32)])
    def down(t: Any) -> Any:
        return subpixel.pixel_unshuffle(t, (2, 1))

    assert down.get_concrete_function().structured_outputs.shape.as_list() == [None, 32, None, 5]

    @tf.function(input_signature=[tf.TensorSpec((3, 4, 6, 8), tf.float32)])
    def up(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2, channels_last=True)

    assert up.get_concrete_function().structured_outputs.shape.as_list() == [3, 8, 12, 2]


UNKNOWN_CHANNELS = [
    # (signature, factor, inverse, channels_last, order, input shape)
    ((None, None, None, None), 2, False, True, "CRD", (2, 3, 5, 12)),
    ((None, None, None, None), 2, False, True, "DCR", (1, 4, 2, 8)),
    ((None, None, 4, 4), 2, False, False, "CRD", (2, 8, 4, 4)),
    ((2, 3, 3, None), 3, False, True, "DCR", (2, 3, 3, 18)),
    ((None, None, None, None), 2, True, False, "CRD", (2, 3, 4, 6)),
    ((None, None, None, None), (2, 3), True, True, "DCR", (1, 4, 9, 5)),
    ((None, None, None), (3,), False, False, "CRD", (2, 6, 7)),
]


@pytest.mark.parametrize(
    ("signature", "factor", "inverse", "channels_last", "order", "shape"), UNKNOWN_CHANNELS
)
@pytest.mark.parametrize("jit_compile", [False, True])
def test_unknown_channel_and_spatial_sizes_give_the_eager_bits(
    signature: tuple[Any, ...],
    factor: Any,
    inverse: bool,
    channels_last: bool,
    order: str,
    shape: tuple[int, ...],
    jit_compile: bool,
) -> None:
    """Every size unknown while tracing, the channel count included, as tf.nn.depth_to_space allows."""

    @tf.function(input_signature=[tf.TensorSpec(signature, tf.float32)], jit_compile=jit_compile)
    def graph(t: Any) -> Any:
        return run(t, factor, inverse, channels_last, order)

    x = special_array(shape, np.dtype("float32"), np.random.default_rng(3))
    expected = reference(x, factor, inverse=inverse, channels_last=channels_last, order=order)
    assert_same_bits(numpy(graph(tf.constant(x))), expected)


def test_unknown_channel_size_keeps_depth_to_space_bits() -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, None), tf.uint8)])
    def up(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2, channels_last=True, order="DCR")

    x = tf.constant(np.arange(2 * 3 * 5 * 8, dtype=np.uint8).reshape(2, 3, 5, 8))
    assert_same_bits(numpy(up(x)), numpy(tf.nn.depth_to_space(x, 2)))


@pytest.mark.parametrize(
    ("inverse", "shape", "words"),
    [
        (
            False,
            (1, 2, 2, 10),
            r"pixel_shuffle: the channel axis of x must be divisible by 4 \(upscale_factor=2 squared\), "
            r"but x.shape\[3\] \(known only when the graph runs\) is not divisible by 4; the shape of x is",
        ),
        (
            True,
            (1, 3, 4, 4),
            r"pixel_unshuffle: the spatial sizes of x must be divisible by 2 \(downscale_factor=2\), "
            r"but x.shape\[1\]",
        ),
    ],
)
def test_an_indivisible_unknown_size_fails_in_subpixels_words_when_the_graph_runs(
    inverse: bool, shape: tuple[int, ...], words: str
) -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, None), tf.float32)])
    def graph(t: Any) -> Any:
        return run(t, 2, inverse, True, "CRD")

    with pytest.raises(tf.errors.InvalidArgumentError, match=words):
        graph(tf.zeros(shape))


def test_an_unknown_rank_is_a_clear_error() -> None:
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def up(t: Any) -> Any:
        return subpixel.pixel_shuffle(t, 2)

    with pytest.raises(
        ValueError, match=r"pixel_shuffle: x has an unknown number of dimensions .*input_signature"
    ):
        up.get_concrete_function()


def test_indivisible_sizes_known_only_at_run_time_fail_when_the_graph_runs() -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)])
    def down(t: Any) -> Any:
        return subpixel.pixel_unshuffle(t, 2, channels_last=True)

    with pytest.raises(tf.errors.InvalidArgumentError):
        down(tf.zeros((1, 3, 4, 3)))
    # Known when tracing: the library's own error.
    with pytest.raises(ValueError, match=r"x.shape\[1\]=3 .* is not divisible by 2"):
        subpixel.pixel_unshuffle(tf.zeros((1, 3, 4, 3)), 2, channels_last=True)


@pytest.mark.parametrize("dtype", ["float32", "float16", "uint8", "int32"])
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_channels_last_dcr_is_depth_to_space_bit_for_bit(dtype: str, factor: int) -> None:
    rng = np.random.default_rng(factor)
    x = special_array((2, 3, 5, 2 * factor * factor), np.dtype(dtype), rng)
    t = tf.constant(x)
    shuffled = subpixel.pixel_shuffle(t, factor, channels_last=True, order="DCR")
    assert_same_bits(numpy(shuffled), numpy(tf.nn.depth_to_space(t, factor)))
    back = subpixel.pixel_unshuffle(shuffled, factor, channels_last=True, order="DCR")
    assert_same_bits(numpy(back), numpy(tf.nn.space_to_depth(shuffled, factor)))
    assert_same_bits(numpy(back), x)
    if dtype == "float32":  # the NaN payloads really are there
        assert np.isnan(x).any()


def test_gradient_tape_and_forward_accumulator() -> None:
    x = tf.constant(special_array((2, 8, 3, 3), np.dtype("float32"), np.random.default_rng(0)))
    x = tf.where(tf.math.is_finite(x), x, tf.zeros_like(x))
    upstream = tf.random.stateless_normal((2, 2, 6, 6), seed=(1, 2))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = subpixel.pixel_shuffle(x, 2)
    assert_same_bits(
        numpy(tape.gradient(y, x, output_gradients=upstream)), numpy(subpixel.pixel_unshuffle(upstream, 2))
    )
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(subpixel.pixel_shuffle(variable, 2, order="DCR") * upstream)
    assert_same_bits(
        numpy(tape.gradient(loss, variable)), numpy(subpixel.pixel_unshuffle(upstream, 2, order="DCR"))
    )
    tangent = tf.random.stateless_normal(x.shape, seed=(3, 4))
    with tf.autodiff.ForwardAccumulator(x, tangent) as accumulator:
        y = subpixel.pixel_unshuffle(subpixel.pixel_shuffle(x, 2), (1, 2))
    assert_same_bits(
        numpy(accumulator.jvp(y)), numpy(subpixel.pixel_unshuffle(subpixel.pixel_shuffle(tangent, 2), (1, 2)))
    )


def test_gradient_inside_an_xla_function_with_unknown_sizes() -> None:
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 8), tf.float32)], jit_compile=True)
    def grad(t: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = subpixel.pixel_shuffle(t, 2, channels_last=True, order="DCR")
            loss = tf.reduce_sum(y * y)
        return tape.gradient(loss, t)

    x = tf.random.stateless_normal((2, 3, 4, 8), seed=(5, 6))
    np.testing.assert_allclose(numpy(grad(x)), 2 * x.numpy(), rtol=1e-6)


def test_routes_are_recorded() -> None:
    x = tf.zeros((1, 4, 2, 2))
    with _routes.counting() as routes:
        subpixel.pixel_shuffle(x, 2)
    assert set(routes) == {"tensorflow:eager"}
    for signature, route in [
        ((1, 4, 2, 2), "tensorflow:graph"),
        ((None, 4, None, 2), "tensorflow:graph-dynamic"),
    ]:

        @tf.function(input_signature=[tf.TensorSpec(signature, tf.float32)])
        def up(t: Any) -> Any:
            return subpixel.pixel_shuffle(t, 2)

        with _routes.counting() as routes:
            up(x)
        assert set(routes) == {route}, (signature, routes)
    assert set(tf_fast.ROUTES) == {"tensorflow:eager", "tensorflow:graph", "tensorflow:graph-dynamic"}
    assert not hasattr(tf_fast, "unreachable_routes")  # every route runs on any machine


def test_sparse_and_ragged_tensors_are_rejected() -> None:
    ragged = tf.ragged.constant([[1.0, 2.0], [3.0]])
    with pytest.raises(
        TypeError, match=r"pixel_shuffle: x must be a dense tf.Tensor or tf.Variable, got RaggedTensor"
    ):
        subpixel.pixel_shuffle(ragged, (2,))
    sparse = tf.sparse.from_dense(tf.zeros((1, 4, 2, 2)))
    with pytest.raises(TypeError, match=r"pixel_unshuffle: x must be a dense tf.Tensor"):
        subpixel.pixel_unshuffle(sparse, 2)


def test_results_are_tensors_of_the_input_dtype() -> None:
    x = tf.Variable(tf.zeros((1, 4, 2, 2), tf.bfloat16))
    y = subpixel.pixel_shuffle(x, 2)
    assert isinstance(y, tf.Tensor)
    assert not isinstance(y, tf.Variable)
    assert y.dtype == tf.bfloat16
    assert y.shape == (1, 1, 4, 4)


def test_xp_may_name_tensorflow_and_nothing_else() -> None:
    x = tf.constant(special_array((1, 8, 2, 3), np.dtype("float32"), np.random.default_rng(1)))
    expected = numpy(subpixel.pixel_shuffle(x, 2))
    for xp in (tf, tf.experimental.numpy):
        assert_same_bits(numpy(subpixel.pixel_shuffle(x, 2, xp=xp)), expected)
    with pytest.raises(
        TypeError, match=r"pixel_unshuffle: xp must be the namespace of x \(a module of tensorflow\)"
    ):
        subpixel.pixel_unshuffle(x, 1, xp=np)


@pytest.mark.parametrize(("shape", "order"), [((2, 20, 18, 28), "CRD"), ((2, 1, 36, 26, 42), "DCR")])
def test_float32_volumes_keep_subnormals_and_nan_payloads(shape: tuple[int, ...], order: str) -> None:
    """TensorFlow's oneDNN transpose flushes subnormals and quiets NaNs; subpixel's keeps every bit.

    These rank-8 transposes of float32 3-d unshuffles are ones TensorFlow runs in oneDNN (found
    by the million-call fuzz): eagerly, in a graph, with XLA, and for the gradient and tangent.
    """
    factors = (2, 2, 2)

    def unshuffle(t: Any) -> Any:
        return subpixel.pixel_unshuffle(t, factors, order=order)  # type: ignore[arg-type]

    def formula(values: np.ndarray, inverse: bool) -> np.ndarray:
        return reference(values, factors, inverse=inverse, channels_last=False, order=order)

    x = special_array(shape, np.float32)
    for run in (unshuffle, tf.function(unshuffle), tf.function(unshuffle, jit_compile=True)):
        assert_same_bits(numpy(run(tf.constant(x))), formula(x, True))
    g = special_array(formula(x, True).shape, np.float32, seed=3)
    t = special_array(shape, np.float32, seed=4)
    source = tf.Variable(x)
    with tf.GradientTape() as tape, tf.autodiff.ForwardAccumulator(source, tf.constant(t)) as accumulator:
        y = unshuffle(source)
    assert_same_bits(numpy(tape.gradient(y, source, output_gradients=tf.constant(g))), formula(g, False))
    assert_same_bits(numpy(accumulator.jvp(y)), formula(t, True))


def test_tf_function_traces_the_library_without_autograph_warnings() -> None:
    """AutoGraph converts every function a trace calls; the library's must convert cleanly (an
    annotated closure variable once made it log "AutoGraph could not transform")."""
    import logging

    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Keep()
    tf.get_logger().addHandler(handler)
    try:
        static = tf.function(lambda t: subpixel.pixel_shuffle(t, 2))
        dynamic = tf.function(
            lambda t: subpixel.pixel_unshuffle(t, 2), input_signature=[tf.TensorSpec((None, 3, None, None))]
        )
        assert tuple(static(tf.zeros((1, 8, 3, 5))).shape) == (1, 2, 6, 10)
        assert tuple(dynamic(tf.zeros((2, 3, 4, 6))).shape) == (2, 12, 2, 3)
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [m for m in messages if "AutoGraph" in m], messages
