"""Flax Linen layers: ``PixelShuffle``, ``PixelUnshuffle`` and the ``SubPixelConv`` block.

The same layers as :mod:`subpixel.flax` (NNX), as Linen dataclass modules; channels are last
by default.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from subpixel._api import pixel_shuffle, pixel_unshuffle
from subpixel._layer_spec import ShuffleSpec, SubPixelConvSpec
from subpixel._plan import Order
from subpixel.flax import DEFAULT_BIAS_INIT, DEFAULT_KERNEL_INIT, Initializer, _checked_input, icnr_init

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"]


class PixelShuffle(nn.Module):
    """Rearrange ``(*, S1, ..., Sk, C * F)`` to ``(*, S1 * f1, ..., Sk * fk, C)``.

    Attributes
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    channels_last : bool
        The channel axis is the last one (default).
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).
    """

    upscale_factor: int | tuple[int, ...]
    channels_last: bool = True
    order: Order = "CRD"

    def __post_init__(self) -> None:
        ShuffleSpec.create(
            self.upscale_factor, inverse=False, channels_last=self.channels_last, order=self.order
        )
        super().__post_init__()

    def __call__(self, x: jax.Array) -> jax.Array:
        """Shuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        return pixel_shuffle(
            _checked_input(x, "PixelShuffle"),
            self.upscale_factor,
            channels_last=self.channels_last,
            order=self.order,
        )


class PixelUnshuffle(nn.Module):
    """Rearrange ``(*, S1 * f1, ..., Sk * fk, C)`` to ``(*, S1, ..., Sk, C * F)``.

    Attributes
    ----------
    downscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    channels_last : bool
        The channel axis is the last one (default).
    order : {"CRD", "DCR"}
        Channel order of the result.
    """

    downscale_factor: int | tuple[int, ...]
    channels_last: bool = True
    order: Order = "CRD"

    def __post_init__(self) -> None:
        ShuffleSpec.create(
            self.downscale_factor, inverse=True, channels_last=self.channels_last, order=self.order
        )
        super().__post_init__()

    def __call__(self, x: jax.Array) -> jax.Array:
        """Unshuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        return pixel_unshuffle(
            _checked_input(x, "PixelUnshuffle"),
            self.downscale_factor,
            channels_last=self.channels_last,
            order=self.order,
        )


class SubPixelConv(nn.Module):
    """Sub-pixel convolution (ESPCN): an ``nn.Conv`` to ``features * F`` features, then a shuffle.

    Attributes
    ----------
    features : int
        Channels after the block (the input channels are inferred, as in ``nn.Conv``).
    upscale_factor : int or tuple of int
        ``r`` for a 2-D block, or one factor per spatial axis.
    kernel_size : int or tuple of int
        Size of the ``"SAME"`` convolution kernel.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.
    use_bias : bool
        The convolution has a bias.
    icnr : bool
        Initialise with ICNR (see :func:`subpixel.flax.icnr_init`).
    kernel_init : callable
        Flax initialiser of the kernel (of the sub-kernel when ``icnr``).
    bias_init : callable
        Flax initialiser of the bias (of the sub-bias when ``icnr``).
    dtype : dtype, optional
        Computation dtype, passed to ``nn.Conv``.
    param_dtype : dtype
        Parameter dtype, passed to ``nn.Conv``.
    """

    features: int
    upscale_factor: int | tuple[int, ...]
    kernel_size: int | tuple[int, ...] = 3
    order: Order = "CRD"
    use_bias: bool = True
    icnr: bool = True
    kernel_init: Initializer = DEFAULT_KERNEL_INIT
    bias_init: Initializer = DEFAULT_BIAS_INIT
    dtype: Any = None
    param_dtype: Any = jnp.float32

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
        x = _checked_input(x, "SubPixelConv")
        kernel_init, bias_init = self.kernel_init, self.bias_init
        if self.icnr:
            kernel_init = icnr_init(kernel_init, self.upscale_factor, order=self.order)
            bias_init = icnr_init(bias_init, self.upscale_factor, order=self.order)
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
        return pixel_shuffle(y, self.upscale_factor, channels_last=True, order=self.order)
