"""What the layer rows of the matrix call: ``(x, factor, inverse, channels_last, order) -> array``.

- the library's functions (:func:`library_call`; a backend's other ways to call them, such as
  ``jax.jit`` or ``tf.function``, are rows of its adapter in :mod:`subpixel.conformance._backends`);
- the layers of :mod:`subpixel.torch`, :mod:`subpixel.flax` (NNX and linen) and
  :mod:`subpixel.keras` in this process;
- the Keras layers on each Keras backend, in a worker process
  (:func:`subpixel.conformance._keras_worker.keras_call`).

Frameworks are imported when a row first calls, never when this module is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from subpixel.conformance._backends import library_call
from subpixel.conformance._keras_worker import keras_call

__all__ = ["keras_call", "layer_call", "library_call", "linen_call"]


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
