"""The one argument object of a shuffle: :class:`ShuffleSpec`.

:func:`subpixel.pixel_shuffle`, :func:`subpixel.pixel_unshuffle` and every framework's layers
validate their arguments into a :class:`ShuffleSpec` once; everything downstream (the plan,
each backend's fast path, the layers' ``repr`` and config) reads it and never re-parses the
arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from subpixel._plan import ShufflePlan, plan_for, too_few_axes_message, unchecked_plan
from subpixel._validate import Order, check_bool, check_factors, check_order

__all__ = ["ShuffleSpec"]


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

    @property
    def square_factor(self) -> int | None:
        """``r`` if the factors are ``(r, r)`` (two spatial axes, equal factors), else ``None``."""
        factors = self.factors
        return factors[0] if len(factors) == 2 and factors[0] == factors[1] else None

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

    def traced_plan(self, sizes: Sequence[Any]) -> ShufflePlan:
        """Plan the shuffle of an input whose ``sizes`` a tracer holds, with no checks.

        ``torch.jit.trace`` (PyTorch's TorchScript ONNX exporter) gives each size as a 0-d
        tensor, so that sizes exported as dynamic stay dynamic: the plan's sizes are then traced
        products and quotients of them. The caller checks the sizes' values with :meth:`plan`
        first; a check here would turn traced sizes into constants.

        Examples
        --------
        >>> ShuffleSpec.create(2, inverse=True).traced_plan((1, 3, 4, 6)).collapse_shape
        (1, 12, 2, 3)
        """
        return unchecked_plan(tuple(sizes), self.factors, self.inverse, self.channels_last, self.order)

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
