"""TensorFlow's conformance adapter: ``tf.function`` rows, autodiff, ``depth_to_space`` as a reference."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from subpixel._catalog import entry_for_type
from subpixel.conformance._backends._base import (
    ArrayBackend,
    Derivatives,
    HostResult,
    RowSpec,
    derivatives,
    library_call,
)
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import host_dtype

__all__ = ["ADAPTER", "TensorFlowBackend", "graph_call", "xla_call"]


def _library(x: Any) -> Any:
    """Return TensorFlow, the library of tensor ``x``."""
    found = entry_for_type(type(x))
    if found is None:
        msg = f"expected a tf.Tensor, got {type(x).__name__}"
        raise TypeError(msg)
    return found.load()


@functools.lru_cache(maxsize=256)
def _function(
    tf: Any,
    factor: Any,
    inverse: bool,
    channels_last: bool,
    order: str,
    shape: tuple[int | None, ...],
    dtype: Any,
    xla: bool,
) -> Any:
    def run(t: Any) -> Any:
        return library_call(t, factor, inverse, channels_last, order)

    spec = tf.TensorSpec(shape, dtype)
    return tf.function(run, input_signature=[spec], jit_compile=xla)


def graph_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside a plain ``tf.function`` traced for the exact shape."""
    shape = tuple(int(s) for s in x.shape)
    return _function(_library(x), factor, inverse, channels_last, order, shape, x.dtype, False)(x)


def xla_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside ``tf.function(jit_compile=True)`` with every size unknown while tracing.

    The channel count is unknown too, as ``tf.nn.depth_to_space`` allows: the divisibility the
    plan cannot check is asserted when the graph runs.
    """
    shape = (None,) * len(x.shape)
    return _function(_library(x), factor, inverse, channels_last, order, shape, x.dtype, True)(x)


class TensorFlowBackend(ArrayBackend):
    """Eager ``tf.Tensor`` on the CPU; tensors are immutable and have no strides."""

    strided = False
    seconds = 25
    peer_reference = True

    def rows(self) -> tuple[RowSpec, ...]:
        """Return its rows: the library eagerly, in a graph per shape, in XLA with unknown sizes."""
        prefix = self.entry.routes
        return (
            RowSpec(self.name, f"{prefix}:eager", "subpixel on tf.Tensor (eager)", seconds=25),
            RowSpec(
                f"{self.name}.graph",
                f"{prefix}:graph",
                "subpixel inside tf.function (sizes known when tracing)",
                graph_call,
                compiles=True,
                seconds=65,
            ),
            RowSpec(
                f"{self.name}.function",
                f"{prefix}:graph-dynamic",
                "subpixel inside tf.function(jit_compile=True), every size unknown while tracing",
                xla_call,
                compiles=True,
                seconds=190,
            ),
        )

    def dtype_object(self, dtype: str) -> Any:
        """``tf.as_dtype`` of the host dtype."""
        return self.load().as_dtype(host_dtype(dtype))

    def is_array(self, y: Any) -> bool:
        """Check for a dense ``tf.Tensor``."""
        return isinstance(y, self.load().Tensor)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Tensors are immutable; sharing cannot be observed."""
        return False

    def run_time_errors(self, route: str) -> tuple[type[BaseException], ...]:
        """With sizes unknown while tracing, a bad size fails an op when the graph runs.

        Without XLA the library's graph assertion fails, with the words of its ``ValueError``;
        under ``jit_compile=True`` XLA drops assertions and a reshape fails instead.
        """
        if route == f"{self.entry.routes}:graph-dynamic":
            return (self.load().errors.InvalidArgumentError,)
        return ()

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"

    def autodiff(self, call: Any, x: Any, t: Any, g: Any) -> Derivatives:
        """``tf.GradientTape``, ``tf.autodiff.ForwardAccumulator`` and nested tapes (second order)."""
        tf = self.load()

        def backward(wrt: Any, compute: Any, cotangent: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(wrt)
                out = compute()
            return tape.gradient(out, wrt, output_gradients=cotangent)

        def forward(primal: Any, tangent: Any, compute: Any) -> Any:
            with tf.autodiff.ForwardAccumulator(primal, tangent) as accumulator:
                out = compute()
            return accumulator.jvp(out)

        def gradient() -> Any:
            return backward(x, lambda: call(x), g)

        return derivatives(
            [
                ("reverse (tf.GradientTape)", "reverse", gradient),
                (
                    "forward (tf.autodiff.ForwardAccumulator)",
                    "forward",
                    lambda: forward(x, t, lambda: call(x)),
                ),
                ("double backward (nested tf.GradientTape)", "forward", lambda: backward(g, gradient, t)),
                (
                    "forward over reverse (ForwardAccumulator over GradientTape)",
                    "reverse",
                    lambda: forward(g, g, gradient),
                ),
            ]
        )

    def reference(self, case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any] | None:
        """Return ``tf.nn.depth_to_space`` (``space_to_depth`` to unshuffle) of ``x`` where it applies.

        It applies to channels-last DCR 4-D inputs with a square factor of 2 or more; None elsewhere.
        """
        if not (
            case.channels_last
            and case.order == "DCR"
            and case.torch_native
            and len(case.shape) == 4
            and case.factors[0] >= 2
        ):
            return None
        tf = self.load()
        op = tf.nn.space_to_depth if case.inverse else tf.nn.depth_to_space
        return np.asarray(op(tf.constant(x), case.factors[0]).numpy())


ADAPTER = TensorFlowBackend
