"""Framework-free settings of the convolution block: :class:`SubPixelConvSpec`.

Every framework's ``SubPixelConv`` holds one :class:`SubPixelConvSpec` (a convolution's sizes
and the :class:`~subpixel._spec.ShuffleSpec` that follows it), so its checks, ``repr`` and
config are written once, here.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from subpixel._spec import ShuffleSpec
from subpixel._validate import check_bool, check_positive_int, check_sizes

__all__ = ["SubPixelConvSpec"]

_CALLER = "SubPixelConv"


@dataclasses.dataclass(frozen=True)
class SubPixelConvSpec:
    """The validated arguments of a ``SubPixelConv`` layer (a convolution, then a shuffle).

    Attributes
    ----------
    in_channels : int or None
        Input channels (``None`` where the framework infers them, as Keras and Flax linen do).
    out_channels : int
        Channels after the shuffle.
    shuffle : ShuffleSpec
        The shuffle that follows the convolution.
    kernel_size : tuple of int
        One size per spatial axis.
    bias : bool
        The convolution has a bias.
    icnr : bool
        Initialise the convolution with ICNR.
    """

    in_channels: int | None
    out_channels: int
    shuffle: ShuffleSpec
    kernel_size: tuple[int, ...]
    bias: bool
    icnr: bool

    @classmethod
    def create(
        cls,
        in_channels: object,
        out_channels: object,
        upscale_factor: object,
        kernel_size: object,
        *,
        channels_last: object,
        order: object,
        bias: object,
        icnr: object,
    ) -> SubPixelConvSpec:
        """Validate the layer arguments; raise ``TypeError``/``ValueError`` naming the bad one.

        Examples
        --------
        >>> spec = SubPixelConvSpec.create(3, 1, 3, 3, channels_last=False, order="CRD", bias=True, icnr=True)
        >>> spec.conv_channels, spec.kernel_size
        (9, (3, 3))
        """
        shuffle = ShuffleSpec.create(
            upscale_factor, inverse=False, channels_last=channels_last, order=order, caller=_CALLER
        )
        ins = None if in_channels is None else check_positive_int(in_channels, _CALLER, "in_channels")
        outs = check_positive_int(out_channels, _CALLER, "out_channels")
        sizes = check_sizes(kernel_size, len(shuffle.factors), _CALLER, "kernel_size")
        return cls(
            ins,
            outs,
            shuffle,
            sizes,
            check_bool(bias, _CALLER, "bias"),
            check_bool(icnr, _CALLER, "icnr"),
        )

    @property
    def factors(self) -> tuple[int, ...]:
        """One upscale factor per spatial axis."""
        return self.shuffle.factors

    @property
    def spatial_dims(self) -> int:
        """Number of spatial axes (1, 2 or 3 for the built-in convolutions)."""
        return len(self.factors)

    @property
    def conv_channels(self) -> int:
        """Output channels of the convolution: ``out_channels`` times the factor product."""
        return self.out_channels * math.prod(self.factors)

    def extra_repr(self, *, channels_last_default: bool = False) -> str:
        """Return the arguments inside the layer's ``repr``, leaving out options at their default."""
        parts = [] if self.in_channels is None else [f"in_channels={self.in_channels}"]
        parts.append(f"out_channels={self.out_channels}")
        parts.append(f"upscale_factor={self.shuffle.factor!r}")
        kernel: Any = self.kernel_size[0] if len(set(self.kernel_size)) == 1 else self.kernel_size
        parts.append(f"kernel_size={kernel!r}")
        if self.shuffle.channels_last != channels_last_default:
            parts.append(f"channels_last={self.shuffle.channels_last!r}")
        if self.shuffle.order != "CRD":
            parts.append(f"order={self.shuffle.order!r}")
        if not self.bias:
            parts.append("bias=False")
        if not self.icnr:
            parts.append("icnr=False")
        return ", ".join(parts)
