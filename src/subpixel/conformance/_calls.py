"""What each built-in row of the matrix calls: ``(x, factor, inverse, channels_last, order) -> array``.

- the library's functions, eagerly and inside ``jax.jit``;
- the layers of :mod:`subpixel.torch`, :mod:`subpixel.flax` (NNX and linen) and
  :mod:`subpixel.keras` in this process;
- the library inside a plain ``tf.function`` traced for the input's exact shape, and inside
  ``tf.function(jit_compile=True)`` (XLA) traced with every size but the channel size unknown,
  so that the sizes are read with ``tf.shape`` when it runs;
- the Keras layers on each Keras backend, in a worker process
  (:func:`subpixel.conformance._keras_worker.keras_call`).

Frameworks are imported when a row first calls, never when this module is imported.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from subpixel.conformance._keras_worker import keras_call

__all__ = [
    "graph_call",
    "jax_jit_call",
    "keras_call",
    "layer_call",
    "library_call",
    "linen_call",
    "xla_call",
]


def library_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run :func:`subpixel.pixel_shuffle` (:func:`subpixel.pixel_unshuffle` when ``inverse``)."""
    from subpixel import pixel_shuffle, pixel_unshuffle

    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def jax_jit_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside ``jax.jit``."""
    import jax

    def run(y: Any) -> Any:
        return library_call(y, factor, inverse, channels_last, order)

    return jax.jit(run)(x)


def _layer(module: str, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    found = importlib.import_module(module)
    kind = found.PixelUnshuffle if inverse else found.PixelShuffle
    if module == "subpixel.keras":
        return kind(factor, data_format="channels_last" if channels_last else "channels_first", order=order)
    return kind(factor, channels_last=channels_last, order=order)


def layer_call(module: str, x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Call the ``PixelShuffle`` / ``PixelUnshuffle`` layer of ``module`` on ``x``."""
    return _layer(module, factor, inverse, channels_last, order)(x)


def linen_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Apply the :mod:`subpixel.flax.linen` layer (it has no variables)."""
    return _layer("subpixel.flax.linen", factor, inverse, channels_last, order).apply({}, x)


@functools.lru_cache(maxsize=256)
def _function(
    factor: Any,
    inverse: bool,
    channels_last: bool,
    order: str,
    shape: tuple[int | None, ...],
    dtype: Any,
    xla: bool,
) -> Any:
    tf = importlib.import_module("tensorflow")

    def run(t: Any) -> Any:
        return library_call(t, factor, inverse, channels_last, order)

    spec = tf.TensorSpec(shape, dtype)
    return tf.function(run, input_signature=[spec], jit_compile=xla)


def graph_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside a plain ``tf.function`` traced for the exact shape."""
    shape = tuple(int(s) for s in x.shape)
    return _function(factor, inverse, channels_last, order, shape, x.dtype, False)(x)


def xla_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside ``tf.function(jit_compile=True)`` with every size unknown while tracing.

    The channel count is unknown too, as ``tf.nn.depth_to_space`` allows: the divisibility the
    plan cannot check is asserted when the graph runs.
    """
    shape = (None,) * len(x.shape)
    return _function(factor, inverse, channels_last, order, shape, x.dtype, True)(x)
