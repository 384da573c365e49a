"""What the NNX and Linen layers share: the ICNR initialiser, the default initialisers, the input check.

It imports JAX only, so :mod:`subpixel.flax.linen` loads neither ``flax.nnx`` nor
:mod:`subpixel.flax.nnx`, and :mod:`subpixel.flax.nnx` loads no Linen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from subpixel._icnr import icnr_draw
from subpixel._layer_spec import SubPixelConvSpec
from subpixel._layers import Factor, reject_input
from subpixel._plan import Order
from subpixel._spec import ShuffleSpec

__all__ = ["BIAS_INIT", "KERNEL_INIT", "Initializer", "checked_input", "conv_inits", "icnr_init"]

Initializer = Any
ArrayT = TypeVar("ArrayT")

#: Flax's defaults for ``Conv`` (``lecun_normal()`` and ``zeros_init()``, which are JAX's).
KERNEL_INIT: Initializer = jax.nn.initializers.lecun_normal()
BIAS_INIT: Initializer = jax.nn.initializers.zeros


def icnr_init(base: Initializer, upscale_factor: Factor, *, order: Order = "CRD") -> Initializer:
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
    spec = ShuffleSpec.create(upscale_factor, inverse=False, channels_last=True, order=order)

    def init(key: jax.Array, shape: Sequence[int], dtype: Any = jnp.float32) -> jax.Array:
        result: jax.Array = icnr_draw(
            lambda sub_shape: base(key, sub_shape, dtype),
            shape,
            spec.factor,
            order=spec.order,
            axis=-1,
            caller="icnr_init",
        )
        return result

    return init


def conv_inits(spec: SubPixelConvSpec, kernel_init: Initializer, bias_init: Initializer) -> tuple[Any, Any]:
    """Return the initialisers of a ``SubPixelConv``'s convolution, wrapped by :func:`icnr_init` if asked."""
    if not spec.icnr:
        return kernel_init, bias_init
    factor, order = spec.shuffle.factor, spec.shuffle.order
    return icnr_init(kernel_init, factor, order=order), icnr_init(bias_init, factor, order=order)


def checked_input(x: ArrayT, owner: str) -> ArrayT:
    """Return ``x`` if it is a JAX or NumPy array; another library's array is a ``TypeError``.

    Flax layers take JAX arrays (tracers included) and NumPy arrays; a tensor of another
    framework (a ``torch.Tensor``, say) would otherwise be shuffled by that framework and come
    back as its own type.
    """
    if not isinstance(x, (jax.Array, np.ndarray)):
        reject_input(x, f"{owner}: x", "a JAX or NumPy array")
    return x
