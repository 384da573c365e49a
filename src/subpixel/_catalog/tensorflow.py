"""TensorFlow: its own fast path (array-api-compat does not know it); sizes may be run-time values."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["TensorFlow"]


class TensorFlow(Entry):
    """Dense ``tf.Tensor`` and ``tf.Variable``, eager or inside ``tf.function``."""

    name = "tensorflow"
    title = "TensorFlow"
    fast_path = "subpixel._fast.tensorflow"
    run_time_sizes = True
    routes = "tensorflow"
    adapter = "subpixel.conformance._backends.tensorflow"
    extra = "tensorflow"
    distributions = ("tensorflow", "tensorflow-cpu")
    keras_backend = True
    keras_default = True
    gradient_tool = "tf.GradientTape"

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """``tf.constant`` of a copy."""
        return self.load().constant(x.copy())

    def to_numpy(self, y: Any) -> Any:
        """``.numpy()``."""
        import numpy as np

        return np.asarray(y.numpy())

    def dtype_name(self, y: Any) -> str:
        """``tf.float32`` -> ``float32``."""
        return str(y.dtype.name)

    def gradient(self, f: Any, x: Any, g: Any) -> Any:
        """``tf.GradientTape``."""
        tf = self.load()
        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = f(t)
        return tape.gradient(y, t, output_gradients=tf.constant(g)).numpy()
