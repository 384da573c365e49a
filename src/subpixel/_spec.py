"""The one argument object of a shuffle: :class:`ShuffleSpec`.

:func:`subpixel.pixel_shuffle`, :func:`subpixel.pixel_unshuffle` and every framework's layers
validate their arguments into a :class:`ShuffleSpec` once; everything downstream (the plan,
each backend's fast path, the layers' ``repr`` and config) reads it and never re-parses the
arguments.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from subpixel._plan import ShufflePlan, plan_for, too_few_axes_message
from subpixel._validate import Order, check_bool, check_factors, check_order

__all__ = ["ShuffleSpec", "TracedSteps"]


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


@dataclasses.dataclass(frozen=True)
class ShuffleSpec:
    """The validated arguments of one shuffle or unshuffle.

    Attributes
    ----------
    factor : int or tuple of int
        The factor as given: an int (two spatial axes) or one int per spatial axis.
    factors : tuple of int
        One factor per spatial axis.
    inverse : bool
        ``True`` for the unshuffle (space to depth).
    channels_last : bool
        The channel axis is the last axis.
    order : {"CRD", "DCR"}
        Channel order.
    caller : str
        The public function or layer that was called: the first word of every error message.
    """

    factor: int | tuple[int, ...]
    factors: tuple[int, ...]
    inverse: bool
    channels_last: bool
    order: Order
    caller: str

    @classmethod
    def create(
        cls,
        factor: object,
        *,
        inverse: bool,
        channels_last: object = False,
        order: object = "CRD",
        caller: str | None = None,
    ) -> ShuffleSpec:
        """Validate the arguments; raise ``TypeError``/``ValueError`` naming the bad one.

        ``caller`` defaults to the functional form's name (``pixel_shuffle`` or
        ``pixel_unshuffle``).

        Examples
        --------
        >>> ShuffleSpec.create(3, inverse=False).extra_repr()
        'upscale_factor=3'
        >>> ShuffleSpec.create([2, 1], inverse=True, channels_last=True, order="DCR").factors
        (2, 1)
        """
        name = "downscale_factor" if inverse else "upscale_factor"
        who = caller or ("pixel_unshuffle" if inverse else "pixel_shuffle")
        factors = check_factors(factor, who, name)
        given = factors if isinstance(factor, (tuple, list)) else factors[0]
        last = check_bool(channels_last, who, "channels_last")
        return cls(given, factors, inverse, last, check_order(order, who), who)

    @property
    def factor_name(self) -> str:
        """``"upscale_factor"`` or ``"downscale_factor"``."""
        return "downscale_factor" if self.inverse else "upscale_factor"

    @property
    def torch_factor(self) -> int | None:
        """``r`` if this is PyTorch's own op, factor ``r`` (CRD, channels first, square), else ``None``."""
        factors = self.factors
        if self.order == "CRD" and not self.channels_last and len(factors) == 2 and factors[0] == factors[1]:
            return factors[0]
        return None

    def inverted(self) -> ShuffleSpec:
        """Return the spec of the inverse operation (same factors, layout and order)."""
        return dataclasses.replace(self, inverse=not self.inverse)

    def extra_repr(self, *, channels_last_default: bool = False) -> str:
        """Return the arguments inside a layer's ``repr``, leaving out options at their default.

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
        """Plan the shuffle of an input of ``shape``: a pure function of the spec and the shape.

        ``cached=False`` builds the plan without the cache, with plain arithmetic on the sizes,
        so that symbolic sizes of a tracer (PyTorch's ``SymInt``) pass through.
        """
        build = plan_for if cached else plan_for.__wrapped__
        result: ShufflePlan = build(
            tuple(shape),
            self.factors,
            self.inverse,
            self.channels_last,
            self.order,
            self.caller,
            self.factor_name,
        )
        return result

    def traced_steps(self, shape: Sequence[Any]) -> TracedSteps:
        """Plan the shuffle as splits, a permutation and merges, for sizes a tracer may not know.

        Sizes that are not plain ``int`` (a tracer's symbolic sizes) are never used in
        arithmetic: every split gives ``-1`` for the one size it leaves to the framework, and
        merges name axes only. Known sizes are checked as by :meth:`plan`.

        Examples
        --------
        >>> spec = ShuffleSpec.create(2, inverse=False)
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
        >>> spec = ShuffleSpec.create(2, inverse=False, channels_last=True)
        >>> spec.output_shape((None, None, 5, 12))
        (None, None, 10, 3)
        """
        dims = tuple(shape)
        k = len(self.factors)
        if len(dims) < k + 1:
            msg = too_few_axes_message(dims, self.factors, self.channels_last, self.caller, self.factor_name)
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
