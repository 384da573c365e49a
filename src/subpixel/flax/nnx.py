"""Flax NNX layers: ``PixelShuffle``, ``PixelUnshuffle`` and the ``SubPixelConv`` block.

Channels are last by default, as in Flax convolutions. The layers call
:func:`subpixel.pixel_shuffle`, so they work under ``jax.jit``, ``nnx.jit``, ``jax.grad`` and
``jax.vmap``. :mod:`subpixel.flax` exports the same classes; the Linen versions are in
:mod:`subpixel.flax.linen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from flax import nnx

from subpixel._layer_spec import SubPixelConvSpec
from subpixel._layers import Factor, ShuffleLayer
from subpixel._plan import Order
from subpixel.flax._shared import BIAS_INIT, KERNEL_INIT, Initializer, checked_input, conv_inits, icnr_init

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv", "icnr_init"]


class _Shuffle(ShuffleLayer, nnx.Module):
    """Both shuffle layers: the plain attributes (factor, ``channels_last``, ``order``), call and ``repr``."""

    channels_last_default = True

    if TYPE_CHECKING:  # set by ``keep_settings``
        channels_last: bool
        order: Order

    def __init__(self, factor: Factor, channels_last: bool, order: Order):
        self.keep_settings(self.new_spec(factor, channels_last, order))

    def __call__(self, x: jax.Array) -> jax.Array:
        """Shuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        return self.run(self.current_spec(), checked_input(x, type(self).__name__))

    def __repr__(self) -> str:
        return self.describe(self.current_spec())


class PixelShuffle(_Shuffle):
    """Rearrange ``(*, S1, ..., Sk, C * F)`` to ``(*, S1 * f1, ..., Sk * fk, C)``.

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    channels_last : bool
        The channel axis is the last one (default, as in Flax).
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).

    The arguments are attributes of the same names; setting one later takes effect.

    Examples
    --------
    >>> PixelShuffle(2, order="DCR")
    PixelShuffle(upscale_factor=2, order='DCR')
    >>> PixelShuffle(2).upscale_factor
    2
    """

    if TYPE_CHECKING:
        upscale_factor: Factor

    def __init__(self, upscale_factor: Factor, *, channels_last: bool = True, order: Order = "CRD"):
        super().__init__(upscale_factor, channels_last, order)


class PixelUnshuffle(_Shuffle):
    """Rearrange ``(*, S1 * f1, ..., Sk * fk, C)`` to ``(*, S1, ..., Sk, C * F)``.

    The inverse of :class:`PixelShuffle`, with the same arguments (``downscale_factor`` for its
    factor); ``order`` is the channel order of the result.
    """

    inverse = True

    if TYPE_CHECKING:
        downscale_factor: Factor

    def __init__(self, downscale_factor: Factor, *, channels_last: bool = True, order: Order = "CRD"):
        super().__init__(downscale_factor, channels_last, order)


class SubPixelConv(nnx.Module):
    """Sub-pixel convolution (ESPCN): an ``nnx.Conv`` to ``out_features * F`` features, then a shuffle.

    Channels are last: ``(*, S1, ..., Sk, in_features) -> (*, S1 * f1, ..., Sk * fk, out_features)``.
    The block's attributes, as ``nnx.Conv``'s, are its settings: ``in_features``,
    ``out_features``, ``upscale_factor``, ``kernel_size`` (a tuple), ``channels_last``
    (``True``), ``order``, ``use_bias`` and ``icnr``; its submodules are ``conv`` and ``shuffle``.

    Parameters
    ----------
    in_features, out_features : int
        Channels before and after the block.
    upscale_factor : int or tuple of int
        ``r`` for a 2-D block, or one factor per spatial axis (the number of entries is the
        number of spatial axes of the convolution).
    kernel_size : int or tuple of int
        Size of the ``"SAME"`` convolution kernel.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.
    use_bias : bool
        The convolution has a bias.
    icnr : bool
        Wrap ``kernel_init`` and ``bias_init`` with :func:`icnr_init`, so that the block starts
        as a convolution followed by nearest-neighbour upsampling.
    kernel_init : callable
        Flax initialiser of the kernel (of the sub-kernel when ``icnr``).
    bias_init : callable
        Flax initialiser of the bias (of the sub-bias when ``icnr``).
    dtype : dtype, optional
        Computation dtype, passed to ``nnx.Conv``.
    param_dtype : dtype
        Parameter dtype, passed to ``nnx.Conv``.
    rngs : nnx.Rngs
        Random state for the initialisers.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        upscale_factor: Factor,
        kernel_size: Factor = 3,
        *,
        order: Order = "CRD",
        use_bias: bool = True,
        icnr: bool = True,
        kernel_init: Initializer = KERNEL_INIT,
        bias_init: Initializer = BIAS_INIT,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        spec = SubPixelConvSpec.create(
            in_features,
            out_features,
            upscale_factor,
            kernel_size,
            channels_last=True,
            order=order,
            bias=use_bias,
            icnr=icnr,
        )
        self.in_features = in_features
        self.out_features = spec.out_channels
        self.upscale_factor = spec.shuffle.factor
        self.kernel_size = spec.kernel_size
        self.channels_last = spec.channels_last
        self.order = spec.order
        self.use_bias = spec.bias
        self.icnr = spec.icnr
        self._spec = spec
        kernel_init, bias_init = conv_inits(spec, kernel_init, bias_init)
        self.conv = nnx.Conv(
            in_features,
            spec.conv_channels,
            spec.kernel_size,
            padding="SAME",
            use_bias=use_bias,
            kernel_init=kernel_init,
            bias_init=bias_init,
            dtype=dtype,
            param_dtype=param_dtype,
            rngs=rngs,
        )
        self.shuffle = PixelShuffle(upscale_factor, order=order)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Convolve, then shuffle."""
        out: jax.Array = self.shuffle(self.conv(checked_input(x, "SubPixelConv")))
        return out
