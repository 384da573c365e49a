"""Framework-free settings of the layers: :class:`SubPixelConvSpec` and :func:`arguments_text`.

Every framework's ``SubPixelConv`` holds one :class:`SubPixelConvSpec` (a convolution's sizes
and the :class:`~subpixel._spec.ShuffleSpec` that follows it), so its checks, ``repr`` and
config are written once, here. Every layer's ``repr`` lists its arguments with
:func:`arguments_text`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from subpixel._spec import ShuffleSpec
from subpixel._validate import Order, check_bool, check_positive_int, check_sizes

__all__ = ["SubPixelConvSpec", "arguments_text"]

_CALLER = "SubPixelConv"


def arguments_text(arguments: Mapping[str, object], defaults: Mapping[str, object]) -> str:
    """Return ``name=value`` for each argument, in order, leaving out those at their default.

    Examples
    --------
    >>> arguments_text({"upscale_factor": 2, "channels_last": True, "order": "DCR"}, {"channels_last": True})
    "upscale_factor=2, order='DCR'"
    """
    missing = object()
    return ", ".join(
        f"{name}={value!r}"
        for name, value in arguments.items()
        if defaults.get(name, missing) != value or type(defaults[name]) is not type(value)
    )


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

    @property
    def channels_last(self) -> bool:
        """The channel axis is the last one."""
        return self.shuffle.channels_last

    @property
    def order(self) -> Order:
        """Channel order of the shuffle: ``"CRD"`` or ``"DCR"``."""
        return self.shuffle.order

    def extra_repr(self, *, channels_last_default: bool = False) -> str:
        """Return the arguments inside the layer's ``repr``, leaving out options at their default.

        Examples
        --------
        >>> options = {"channels_last": False, "order": "DCR", "bias": False, "icnr": True}
        >>> SubPixelConvSpec.create(3, 1, 3, 3, **options).extra_repr()
        "in_channels=3, out_channels=1, upscale_factor=3, kernel_size=3, order='DCR', bias=False"
        """
        kernel: Any = self.kernel_size[0] if len(set(self.kernel_size)) == 1 else self.kernel_size
        arguments = {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "upscale_factor": self.shuffle.factor,
            "kernel_size": kernel,
            "channels_last": self.channels_last,
            "order": self.order,
            "bias": self.bias,
            "icnr": self.icnr,
        }
        defaults = {"in_channels": None, "channels_last": channels_last_default, "order": "CRD"}
        return arguments_text(arguments, {**defaults, "bias": True, "icnr": True})
