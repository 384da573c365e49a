"""Framework-free settings of the shuffle layers: validation, ``repr``, config and shapes.

Every framework's layers (:mod:`subpixel.torch`, :mod:`subpixel.flax`, :mod:`subpixel.keras`)
hold one :class:`ShuffleSpec` (and :class:`SubPixelConvSpec` for the convolution block), so the
checks, the text of the ``repr`` and the serialised config are written once, here.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Sequence
from typing import Any, NamedTuple, SupportsIndex

from subpixel._plan import Order, ShufflePlan, _check_order, normalize_factors, plan_for

__all__ = ["ShuffleSpec", "SubPixelConvSpec", "TracedSteps", "normalize_kernel_size"]


class TracedSteps(NamedTuple):
    """A shuffle as steps that need no sizes: split axes, permute, merge adjacent axes.

    Attributes
    ----------
    splits : tuple of (int, tuple of int)
        ``(axis, sizes)``, applied in order; ``sizes`` holds one ``-1``.
    axes : tuple of int
        The permutation, as in :class:`~subpixel.ShufflePlan`.
    merges : tuple of (int, int)
        ``(first, last)`` runs of adjacent axes to merge into one, applied in order.
    """

    splits: tuple[tuple[int, tuple[int, ...]], ...]
    axes: tuple[int, ...]
    merges: tuple[tuple[int, int], ...]


def _factor_value(factor: object, name: str) -> int | tuple[int, ...]:
    """Validate ``factor`` and keep its form: an int stays an int, a sequence becomes a tuple."""
    factors = normalize_factors(factor, name=name)
    if isinstance(factor, (tuple, list)):
        return factors
    return factors[0]


def _check_bool(value: object, name: str, owner: str) -> bool:
    if not isinstance(value, bool):
        msg = f"{owner}: {name} must be a bool, got {value!r}"
        raise TypeError(msg)
    return value


@dataclasses.dataclass(frozen=True)
class ShuffleSpec:
    """The validated arguments of a ``PixelShuffle`` or ``PixelUnshuffle`` layer.

    Attributes
    ----------
    factor : int or tuple of int
        The factor as given: an int (two spatial axes) or one int per spatial axis.
    inverse : bool
        ``True`` for ``PixelUnshuffle``.
    channels_last : bool
        The channel axis is the last axis.
    order : {"CRD", "DCR"}
        Channel order.
    """

    factor: int | tuple[int, ...]
    inverse: bool
    channels_last: bool
    order: Order

    @classmethod
    def create(cls, factor: object, *, inverse: bool, channels_last: object, order: object) -> ShuffleSpec:
        """Validate the layer arguments; raise ``TypeError``/``ValueError`` naming the bad one.

        Examples
        --------
        >>> ShuffleSpec.create(3, inverse=False, channels_last=False, order="CRD").extra_repr()
        'upscale_factor=3'
        >>> ShuffleSpec.create([2, 1], inverse=True, channels_last=True, order="DCR").factors
        (2, 1)
        """
        name = "downscale_factor" if inverse else "upscale_factor"
        owner = "PixelUnshuffle" if inverse else "PixelShuffle"
        value = _factor_value(factor, name)
        last = _check_bool(channels_last, "channels_last", owner)
        return cls(value, inverse, last, _check_order(order))

    @property
    def factors(self) -> tuple[int, ...]:
        """One factor per spatial axis."""
        return normalize_factors(self.factor)

    @property
    def factor_name(self) -> str:
        """``"upscale_factor"`` or ``"downscale_factor"``."""
        return "downscale_factor" if self.inverse else "upscale_factor"

    @property
    def caller(self) -> str:
        """The name of the functional form, used in error messages."""
        return "pixel_unshuffle" if self.inverse else "pixel_shuffle"

    def extra_repr(self, *, channels_last_default: bool = False) -> str:
        """Return the arguments inside the layer's ``repr``, leaving out options at their default.

        With the defaults this is exactly ``torch.nn.PixelShuffle``'s text, for example
        ``upscale_factor=3``.
        """
        parts = [f"{self.factor_name}={self.factor!r}"]
        if self.channels_last != channels_last_default:
            parts.append(f"channels_last={self.channels_last!r}")
        if self.order != "CRD":
            parts.append(f"order={self.order!r}")
        return ", ".join(parts)

    def config(self) -> dict[str, Any]:
        """Return the JSON-friendly arguments (a tuple factor becomes a list)."""
        factor: Any = list(self.factor) if isinstance(self.factor, tuple) else self.factor
        return {self.factor_name: factor, "channels_last": self.channels_last, "order": self.order}

    def plan(self, shape: Sequence[Any], *, cached: bool = True) -> ShufflePlan:
        """Plan the shuffle of an input of ``shape``.

        ``cached=False`` builds the plan without the cache, with plain arithmetic on the sizes,
        so that symbolic sizes of a tracer (PyTorch's ``SymInt``) pass through.
        """
        build = plan_for if cached else plan_for.__wrapped__
        factors = self.factors
        result: ShufflePlan = build(
            tuple(shape), factors, self.inverse, self.channels_last, self.order, self.caller, self.factor_name
        )
        return result

    def traced_steps(self, shape: Sequence[Any]) -> TracedSteps:
        """Plan the shuffle as splits, a permutation and merges, for sizes a tracer may not know.

        Sizes that are not plain ``int`` (a tracer's symbolic sizes) are never used in
        arithmetic: every split gives ``-1`` for the one size it leaves to the framework, and
        merges name axes only. Known sizes are checked as by :meth:`plan`.

        Examples
        --------
        >>> spec = ShuffleSpec.create(2, inverse=False, channels_last=False, order="CRD")
        >>> spec.traced_steps(("batch", 8, "height", 5))
        TracedSteps(splits=((1, (-1, 2, 2)),), axes=(0, 1, 4, 2, 5, 3), merges=((4, 5), (2, 3)))
        """
        dims = tuple(shape)
        k = len(self.factors)
        n = len(dims)
        first = n - k - 1 if self.channels_last else n - k  # first spatial axis
        channel = n - 1 if self.channels_last else n - k - 1
        per_axis = [1] * n
        per_axis[first : first + k] = self.factors
        if not self.inverse:
            per_axis[channel] = math.prod(self.factors)
        # Unknown sizes are planned as a size that always divides; the plan's axes do not
        # depend on sizes, and known sizes are validated.
        template = tuple(d if type(d) is int else f for d, f in zip(dims, per_axis, strict=True))
        axes = self.plan(template, cached=False).axes
        batch = n - k - 1
        depth: tuple[int, ...] = (-1, *self.factors) if self.order == "CRD" else (*self.factors, -1)
        if not self.inverse:
            splits: tuple[tuple[int, tuple[int, ...]], ...] = ((channel, depth),)
            # Each spatial axis sits next to its factor axis after the permutation.
            start = batch if self.channels_last else batch + 1
            merges = tuple((start + 2 * i, start + 2 * i + 1) for i in reversed(range(k)))
            return TracedSteps(splits, axes, merges)
        splits = tuple((first + i, (-1, self.factors[i])) for i in reversed(range(k)))
        start = batch + k if self.channels_last else batch
        return TracedSteps(splits, axes, ((start, start + k),))

    def output_shape(self, shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """Return the output shape for an input shape that may hold ``None`` (unknown) sizes.

        Examples
        --------
        >>> spec = ShuffleSpec.create(2, inverse=False, channels_last=True, order="CRD")
        >>> spec.output_shape((None, None, 5, 12))
        (None, None, 10, 3)
        """
        dims = tuple(shape)
        k = len(self.factors)
        if len(dims) < k + 1:
            msg = f"{self.caller}: the input must have at least {k + 1} dimensions, got shape {dims}"
            raise ValueError(msg)
        channel_axis = len(dims) - 1 if self.channels_last else len(dims) - k - 1
        if dims[channel_axis] is None:
            msg = (
                f"{self.caller}: the channel axis {channel_axis} of the input must be known, got shape {dims}"
            )
            raise ValueError(msg)
        first = len(dims) - k - 1 if self.channels_last else len(dims) - k
        per_axis = [1] * len(dims)
        per_axis[first : first + k] = self.factors
        # An unknown size is planned as its factor (divisible), then reported unknown again.
        probe = tuple(f if d is None else d for d, f in zip(dims, per_axis, strict=True))
        out: list[int | None] = list(self.plan(probe).collapse_shape)
        for axis, size in enumerate(dims):
            if size is None:
                out[axis] = None
        return tuple(out)


def normalize_kernel_size(kernel_size: object, ndim: int) -> tuple[int, ...]:
    """Return one positive kernel size per spatial axis.

    Examples
    --------
    >>> normalize_kernel_size(3, 2)
    (3, 3)
    >>> normalize_kernel_size((1, 5), 2)
    (1, 5)
    """
    if isinstance(kernel_size, (tuple, list)):
        sizes = tuple(kernel_size)
        if len(sizes) != ndim:
            msg = f"kernel_size must have one entry per spatial axis ({ndim}), got {kernel_size!r}"
            raise ValueError(msg)
    else:
        sizes = (kernel_size,) * ndim
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, SupportsIndex):
            msg = f"kernel_size must be a positive int or a tuple of positive ints, got {kernel_size!r}"
            raise TypeError(msg)
        if operator.index(size) <= 0:
            msg = f"kernel_size must be positive, got {kernel_size!r}"
            raise ValueError(msg)
    return tuple(operator.index(size) for size in sizes)


def _positive_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, SupportsIndex):
        msg = f"SubPixelConv: {name} must be a positive int, got {value!r}"
        raise TypeError(msg)
    number = operator.index(value)
    if number <= 0:
        msg = f"SubPixelConv: {name} must be positive, got {value!r}"
        raise ValueError(msg)
    return number


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
        shuffle = ShuffleSpec.create(upscale_factor, inverse=False, channels_last=channels_last, order=order)
        ins = None if in_channels is None else _positive_count(in_channels, "in_channels")
        outs = _positive_count(out_channels, "out_channels")
        sizes = normalize_kernel_size(kernel_size, len(shuffle.factors))
        return cls(
            ins,
            outs,
            shuffle,
            sizes,
            _check_bool(bias, "bias", "SubPixelConv"),
            _check_bool(icnr, "icnr", "SubPixelConv"),
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
