"""TensorFlow tensors and variables: the plan's three calls as TensorFlow ops.

array-api-compat does not know TensorFlow, so :mod:`subpixel._dispatch` sends every object
whose type comes from ``tensorflow`` here. A plan is applied with ``tf.reshape``,
``tf.transpose`` and ``tf.reshape``, so the same code runs eagerly, inside ``tf.function``
(with or without ``jit_compile=True``), under ``tf.GradientTape`` and
``tf.autodiff.ForwardAccumulator``. float32 moves as int32 (:func:`_transpose`): TensorFlow's
oneDNN transpose, which it takes for some float32 shapes, flushes subnormals to zero and quiets
signaling NaNs. Inside a graph any size may be unknown (``None``); the
plan then holds :class:`~subpixel._plan.RunTimeSize` entries, filled here from ``tf.shape(x)``
when the graph runs, where a graph assertion checks the divisibility the plan could not.

Routes (recorded where they are decided: once per call eagerly, once per trace in a graph):

``tensorflow:eager``
    An eager tensor or variable: three eager ops.
``tensorflow:graph``
    Inside a graph (``tf.function``) with every size known when tracing.
``tensorflow:graph-dynamic``
    Inside a graph with batch or spatial sizes unknown until run time, read with ``tf.shape``.
"""

from __future__ import annotations

import functools
from typing import Any

import tensorflow as tf

from subpixel import _routes
from subpixel._fast import Runner
from subpixel._limits import routes
from subpixel._plan import RunTimeSize, ShufflePlan, has_run_time_sizes, resolve_sizes
from subpixel._spec import ShuffleSpec
from subpixel._validate import factor_text

__all__ = ["ROUTES", "check_array", "prepare"]

ROUTES = routes("tensorflow")
#: Plans whose eager arguments (three small host tensors) are kept.
EAGER_PLANS = 1024

try:  # whether any GradientTape or ForwardAccumulator is active (TensorFlow 2.13 and newer)
    from tensorflow.python.eager.record import could_possibly_record as _could_record
except ImportError:  # pragma: no cover - other TensorFlow versions: always define the gradient

    def _could_record() -> bool:
        return True


def _apply_static(x: Any, plan: ShufflePlan) -> Any:
    expanded = tf.reshape(x, plan.expand_shape)
    return tf.reshape(_transpose(expanded, plan.axes), plan.collapse_shape)


@functools.lru_cache(maxsize=EAGER_PLANS)
def _eager_arguments(plan: ShufflePlan) -> tuple[Any, Any, Any]:
    """Return the plan's expand shape, axes and collapse shape as host tensors for eager ops.

    Converting a Python tuple costs an eager op about 40 us a call; these are made once per plan
    (called only while executing eagerly).
    """
    with tf.device("/CPU:0"):
        return (
            tf.constant(plan.expand_shape, tf.int64),
            tf.constant(plan.axes, tf.int32),
            tf.constant(plan.collapse_shape, tf.int64),
        )


def _apply_eager(x: Any, plan: ShufflePlan, arguments: tuple[Any, Any, Any]) -> Any:
    expand_shape, perm, collapse_shape = arguments
    expanded = tf.raw_ops.Reshape(tensor=x, shape=expand_shape)
    return tf.raw_ops.Reshape(tensor=_transpose(expanded, plan.axes, perm), shape=collapse_shape)


def _transpose(x: Any, axes: tuple[int, ...], perm: Any = None) -> Any:
    """``tf.transpose(x, axes)`` that keeps every bit, and its gradient the inverse transpose.

    For some float32 shapes (a rank-8 transpose of a 3-d unshuffle, for one) TensorFlow's CPU
    transpose runs oneDNN's reorder, which flushes subnormals to zero and quiets signaling NaNs.
    float32 is moved as int32 (``tf.bitcast`` is a view): no integer transpose goes there. Other
    dtypes keep their bits in a transpose (measured: float16, bfloat16, float64, complex).
    ``perm`` is ``axes`` as a tensor, where the caller holds one.
    """
    perm = axes if perm is None else perm
    if x.dtype != tf.float32:
        return tf.raw_ops.Transpose(x=x, perm=perm)
    if tf.executing_eagerly() and not _could_record():
        # No tape or accumulator is active: no gradient to define (saves ~120 us a call).
        return _moved_as_int32(x, perm)
    inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))

    @tf.custom_gradient  # type: ignore[untyped-decorator]
    def moved(t: Any) -> tuple[Any, Any]:
        def gradient(upstream: Any) -> Any:
            return _transpose(upstream, inverse)

        return _moved_as_int32(t, perm), gradient

    return moved(x)


def _moved_as_int32(x: Any, perm: Any) -> Any:
    return tf.bitcast(tf.raw_ops.Transpose(x=tf.bitcast(x, tf.int32), perm=perm), tf.float32)


def _run_time_divisors(plan: ShufflePlan) -> dict[int, int]:
    """Return ``{axis: divisor}`` for each unknown input size the plan divides.

    A shuffle divides the channel count by the factor product, an unshuffle each spatial size
    by its factor; the plan checked the known sizes, and these are checked when the graph runs.
    """
    divisors = {size.axis: size.div for size in plan.expand_shape if isinstance(size, RunTimeSize)}
    return {axis: div for axis, div in divisors.items() if div > 1}


def _run_time_checks(x: Any, sizes: list[Any], divisors: dict[int, int], spec: ShuffleSpec) -> list[Any]:
    """Return a graph assertion, in the words of the plan's own error, per divided unknown size."""
    what = "spatial sizes" if spec.inverse else "channel axis"
    given = factor_text(spec.factors)
    why = (
        f"{spec.factor_name}={given} squared"
        if given.isdigit() and not spec.inverse
        else f"{spec.factor_name}={given}"
    )
    checks: list[Any] = []
    for axis, div in divisors.items():
        message = (
            f"{spec.caller}: the {what} of x must be divisible by {div} ({why}), but x.shape[{axis}] "
            f"(known only when the graph runs) is not divisible by {div}; the shape of x is"
        )
        divisible = tf.equal(tf.math.floormod(sizes[axis], div), 0)
        checks.append(tf.debugging.Assert(divisible, [message, tf.shape(x)], summarize=64))
    return [check for check in checks if check is not None]  # None where ops run eagerly


def _apply_dynamic(x: Any, plan: ShufflePlan, divisors: dict[int, int], spec: ShuffleSpec) -> Any:
    # Known sizes stay Python ints (static shape inference keeps them); unknown ones are
    # scalar tensors from tf.shape, which tf.reshape packs into its shape argument.
    static = x.shape.as_list()
    run_time = tf.shape(x, out_type=tf.int64)
    sizes = [run_time[axis] if size is None else size for axis, size in enumerate(static)]
    # The reshape's shape waits for the checks: without the dependency the graph may run the
    # reshape first, and TensorFlow's own size error would come before subpixel's.
    with tf.control_dependencies(_run_time_checks(x, sizes, divisors, spec)):
        expand_shape = tf.stack(resolve_sizes(plan.expand_shape, sizes))
    expanded = tf.reshape(x, expand_shape)
    moved = _transpose(expanded, plan.axes)
    return tf.reshape(moved, tf.stack(resolve_sizes(plan.collapse_shape, sizes)))


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return the function that applies ``plan`` to a tensor or variable (the result is a ``tf.Tensor``)."""
    if has_run_time_sizes(plan):
        divisors = _run_time_divisors(plan)

        def run_dynamic(x: Any) -> Any:
            if _routes.listening:
                _routes.record("tensorflow:graph-dynamic")
            return _apply_dynamic(tf.convert_to_tensor(x), plan, divisors, spec)

        return run_dynamic

    def run(x: Any) -> Any:
        if not tf.executing_eagerly():
            if _routes.listening:
                _routes.record("tensorflow:graph")
            return _apply_static(tf.convert_to_tensor(x), plan)
        if _routes.listening:
            _routes.record("tensorflow:eager")
        return _apply_eager(tf.convert_to_tensor(x), plan, _eager_arguments(plan))

    return run


def check_array(x: object, caller: str) -> None:
    """Raise ``TypeError`` for TensorFlow objects that are not dense tensors or variables."""
    if not isinstance(x, (tf.Tensor, tf.Variable)):
        msg = (
            f"{caller}: x must be a dense tf.Tensor or tf.Variable, got {type(x).__name__} "
            "(convert ragged or sparse tensors to dense first)"
        )
        raise TypeError(msg)
