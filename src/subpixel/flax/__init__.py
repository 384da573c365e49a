"""Flax NNX layers: ``PixelShuffle``, ``PixelUnshuffle`` and the ``SubPixelConv`` block.

Channels are last by default, as in Flax convolutions. The layers call
:func:`subpixel.pixel_shuffle`, so they work under ``jax.jit``, ``nnx.jit``, ``jax.grad`` and
``jax.vmap``. The Linen versions are in :mod:`subpixel.flax.linen`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from subpixel._api import pixel_shuffle, pixel_unshuffle
from subpixel._icnr import icnr
from subpixel._layer_spec import ShuffleSpec, SubPixelConvSpec
from subpixel._plan import Order

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv", "icnr_init"]

Initializer = Any
ArrayT = TypeVar("ArrayT")

DEFAULT_KERNEL_INIT: Initializer = nnx.initializers.lecun_normal()
DEFAULT_BIAS_INIT: Initializer = nnx.initializers.zeros_init()


def icnr_init(
    base: Initializer, upscale_factor: int | tuple[int, ...], *, order: Order = "CRD"
) -> Initializer:
    """Wrap a Flax initialiser so that it draws a sub-kernel and expands it with ICNR.

    Parameters
    ----------
    base : callable
        ``base(key, shape, dtype)``, for example ``nnx.initializers.lecun_normal()``. It is
        called with the shape of the sub-kernel: the last (output) axis divided by ``F``.
    upscale_factor : int or tuple of int
        Factors of the shuffle that follows the convolution.
    order : {"CRD", "DCR"}
        Channel order of that shuffle.

    Returns
    -------
    callable
        An initialiser ``(key, shape, dtype) -> array`` for kernels ``(*k, in, out * F)`` and
        biases ``(out * F,)``.
    """
    count = math.prod(
        ShuffleSpec.create(upscale_factor, inverse=False, channels_last=True, order=order).factors
    )

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        dims = tuple(shape)
        if dims[-1] % count:
            msg = f"icnr_init: the last axis of shape {dims} must be divisible by {count}"
            raise ValueError(msg)
        sub = base(key, (*dims[:-1], dims[-1] // count), dtype)
        result: jax.Array = icnr(sub, upscale_factor, order=order, axis=-1)
        return result

    return init


def _checked_input(x: ArrayT, owner: str) -> ArrayT:
    """Return ``x`` if it is a JAX or NumPy array; another library's array is a ``TypeError``.

    Flax layers take JAX arrays (tracers included) and NumPy arrays; a tensor of another
    framework (a ``torch.Tensor``, say) would otherwise be shuffled by that framework and come
    back as its own type.
    """
    if isinstance(x, (jax.Array, np.ndarray)):
        return x
    kind = type(x)
    msg = f"{owner}: x must be a JAX or NumPy array, got {kind.__module__}.{kind.__qualname__}"
    raise TypeError(msg)


class PixelShuffle(nnx.Module):
    """Rearrange ``(*, S1, ..., Sk, C * F)`` to ``(*, S1 * f1, ..., Sk * fk, C)``.

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    channels_last : bool
        The channel axis is the last one (default, as in Flax).
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).
    """

    def __init__(
        self, upscale_factor: int | tuple[int, ...], *, channels_last: bool = True, order: Order = "CRD"
    ):
        self.spec = ShuffleSpec.create(
            upscale_factor, inverse=False, channels_last=channels_last, order=order
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        """Shuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        spec = self.spec
        return pixel_shuffle(
            _checked_input(x, "PixelShuffle"), spec.factor, channels_last=spec.channels_last, order=spec.order
        )

    def __repr__(self) -> str:
        return f"PixelShuffle({self.spec.extra_repr(channels_last_default=True)})"


class PixelUnshuffle(nnx.Module):
    """Rearrange ``(*, S1 * f1, ..., Sk * fk, C)`` to ``(*, S1, ..., Sk, C * F)``.

    Parameters
    ----------
    downscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    channels_last : bool
        The channel axis is the last one (default, as in Flax).
    order : {"CRD", "DCR"}
        Channel order of the result.
    """

    def __init__(
        self, downscale_factor: int | tuple[int, ...], *, channels_last: bool = True, order: Order = "CRD"
    ):
        self.spec = ShuffleSpec.create(
            downscale_factor, inverse=True, channels_last=channels_last, order=order
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        """Unshuffle ``x`` (a JAX or NumPy array; another framework's tensor is a ``TypeError``)."""
        spec = self.spec
        return pixel_unshuffle(
            _checked_input(x, "PixelUnshuffle"),
            spec.factor,
            channels_last=spec.channels_last,
            order=spec.order,
        )

    def __repr__(self) -> str:
        return f"PixelUnshuffle({self.spec.extra_repr(channels_last_default=True)})"


class SubPixelConv(nnx.Module):
    """Sub-pixel convolution (ESPCN): an ``nnx.Conv`` to ``out_features * F`` features, then a shuffle.

    Channels are last: ``(*, S1, ..., Sk, in_features) -> (*, S1 * f1, ..., Sk * fk, out_features)``.

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
        upscale_factor: int | tuple[int, ...],
        kernel_size: int | tuple[int, ...] = 3,
        *,
        order: Order = "CRD",
        use_bias: bool = True,
        icnr: bool = True,
        kernel_init: Initializer = DEFAULT_KERNEL_INIT,
        bias_init: Initializer = DEFAULT_BIAS_INIT,
        dtype: Any = None,
        param_dtype: Any = jnp.float32,
        rngs: nnx.Rngs,
    ):
        self.spec = SubPixelConvSpec.create(
            in_features,
            out_features,
            upscale_factor,
            kernel_size,
            channels_last=True,
            order=order,
            bias=use_bias,
            icnr=icnr,
        )
        if icnr:
            kernel_init = icnr_init(kernel_init, upscale_factor, order=order)
            bias_init = icnr_init(bias_init, upscale_factor, order=order)
        self.conv = nnx.Conv(
            in_features,
            self.spec.conv_channels,
            self.spec.kernel_size,
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
        out: jax.Array = self.shuffle(self.conv(_checked_input(x, "SubPixelConv")))
        return out
