"""Flax Linen layers: ``PixelShuffle``, ``PixelUnshuffle`` and the ``SubPixelConv`` block.

The same layers as :mod:`subpixel.flax.nnx`, as Linen dataclass modules; channels are last by
default. Importing this module loads neither ``flax.nnx`` nor :mod:`subpixel.flax.nnx`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from subpixel._layer_spec import SubPixelConvSpec
from subpixel._layers import Factor, ShuffleLayer
from subpixel._plan import Order
from subpixel.flax._shared import BIAS_INIT, KERNEL_INIT, Initializer, checked_input, conv_inits

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"]


class _Shuffle(ShuffleLayer, nn.Module):
    """Both shuffle layers: the fields are checked at construction, then the functional call."""

    def __post_init__(self) -> None:
        self.spec_of(self)
        super().__post_init__()

    def __call__(self, x: jax.Array) -> jax.Array:
        """Shuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        return self.run(self.spec_of(self), checked_input(x, type(self).__name__))


class PixelShuffle(_Shuffle):
    """Rearrange ``(*, S1, ..., Sk, C * F)`` to ``(*, S1 * f1, ..., Sk * fk, C)``.

    The Linen form of :class:`subpixel.flax.nnx.PixelShuffle`: its fields are that layer's
    arguments, ``upscale_factor``, ``channels_last=True`` and ``order="CRD"``.
    """

    upscale_factor: Factor
    channels_last: bool = True
    order: Order = "CRD"


class PixelUnshuffle(_Shuffle):
    """Rearrange ``(*, S1 * f1, ..., Sk * fk, C)`` to ``(*, S1, ..., Sk, C * F)``.

    The inverse of :class:`PixelShuffle`, with the same attributes (``downscale_factor`` for its
    factor); ``order`` is the channel order of the result.
    """

    inverse = True

    downscale_factor: Factor
    channels_last: bool = True
    order: Order = "CRD"


class SubPixelConv(nn.Module):
    """Sub-pixel convolution (ESPCN): an ``nn.Conv`` to ``features * F`` features, then a shuffle.

    The Linen form of :class:`subpixel.flax.nnx.SubPixelConv`, with the same fields as its
    arguments except the input channels, which are inferred (as in ``nn.Conv``), and ``rngs``:
    ``features`` (channels after the block), ``upscale_factor``, ``kernel_size=3``,
    ``order="CRD"``, ``use_bias=True``, ``icnr=True`` (see :func:`subpixel.flax.icnr_init`),
    ``kernel_init``, ``bias_init``, ``dtype=None`` and ``param_dtype=float32``. Its layout is
    the read-only attribute ``channels_last`` (``True``).
    """

    features: int
    upscale_factor: Factor
    kernel_size: Factor = 3
    order: Order = "CRD"
    use_bias: bool = True
    icnr: bool = True
    kernel_init: Initializer = KERNEL_INIT
    bias_init: Initializer = BIAS_INIT
    dtype: Any = None
    param_dtype: Any = jnp.float32

    @property
    def channels_last(self) -> bool:
        """``True``: the channel axis is the last one, as in ``nn.Conv``."""
        return True

    def _spec(self) -> SubPixelConvSpec:
        return SubPixelConvSpec.create(
            None,
            self.features,
            self.upscale_factor,
            self.kernel_size,
            channels_last=True,
            order=self.order,
            bias=self.use_bias,
            icnr=self.icnr,
        )

    def __post_init__(self) -> None:
        self._spec()
        super().__post_init__()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Convolve, then shuffle."""
        spec = self._spec()
        x = checked_input(x, "SubPixelConv")
        kernel_init, bias_init = conv_inits(spec, self.kernel_init, self.bias_init)
        y = nn.Conv(
            spec.conv_channels,
            spec.kernel_size,
            padding="SAME",
            use_bias=self.use_bias,
            kernel_init=kernel_init,
            bias_init=bias_init,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name="conv",
        )(x)
        return ShuffleLayer.run(spec.shuffle, y)
