"""Argument checks shared by every public entry point.

Each check returns the normalised value or raises ``TypeError`` (wrong kind) or
``ValueError`` (right kind, bad value) with one message form::

    caller: argument must be ..., got <value>

``caller`` names the public function or layer the user called, so a message points at the
line of user code that passed the bad value.
"""

from __future__ import annotations

import operator
from typing import Literal, SupportsIndex

__all__ = [
    "ORDERS",
    "Order",
    "check_axis",
    "check_bool",
    "check_factors",
    "check_order",
    "check_positive_int",
    "check_sizes",
    "factor_text",
]

Order = Literal["CRD", "DCR"]
ORDERS: tuple[Order, ...] = ("CRD", "DCR")


def _is_bool(value: object) -> bool:
    """``bool`` or a NumPy bool scalar (NumPy before 2.3 lets ``operator.index`` take one, with a warning)."""
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def _as_int(value: object, caller: str, name: str, given: object, wanted: str) -> int:
    """Return ``value`` as an ``int``, or raise ``TypeError`` saying that ``name`` must be ``wanted``."""
    if not _is_bool(value) and isinstance(value, SupportsIndex):
        try:
            return operator.index(value)
        except TypeError:  # e.g. a NumPy array of several integers
            pass
    msg = f"{caller}: {name} must be {wanted}, got {given!r} of type {type(given).__name__}"
    raise TypeError(msg)


def check_positive_int(value: object, caller: str, name: str) -> int:
    """Return ``value`` as a positive ``int``.

    Examples
    --------
    >>> check_positive_int(3, "SubPixelConv", "out_channels")
    3
    >>> check_positive_int(0, "SubPixelConv", "out_channels")
    Traceback (most recent call last):
    ...
    ValueError: SubPixelConv: out_channels must be positive, got 0
    """
    number = _as_int(value, caller, name, value, "a positive int")
    if number <= 0:
        msg = f"{caller}: {name} must be positive, got {value!r}"
        raise ValueError(msg)
    return number


def check_sizes(value: object, count: int, caller: str, name: str) -> tuple[int, ...]:
    """Return ``count`` positive ints from one int (repeated) or a sequence of ``count`` ints.

    Examples
    --------
    >>> check_sizes(3, 2, "SubPixelConv", "kernel_size")
    (3, 3)
    >>> check_sizes((1, 5), 2, "SubPixelConv", "kernel_size")
    (1, 5)
    """
    if not isinstance(value, (tuple, list)):
        return (check_positive_int(value, caller, name),) * count
    if len(value) != count:
        msg = f"{caller}: {name} must have one entry per spatial axis ({count}), got {value!r}"
        raise ValueError(msg)
    return tuple(_positive_entry(v, caller, name, value) for v in value)


def check_factors(factor: object, caller: str, name: str) -> tuple[int, ...]:
    """Return the per-axis factors given as an ``int`` (two axes) or a non-empty sequence of ints.

    Examples
    --------
    >>> check_factors(2, "pixel_shuffle", "upscale_factor")
    (2, 2)
    >>> check_factors([3], "pixel_shuffle", "upscale_factor")
    (3,)
    """
    if isinstance(factor, (tuple, list)):
        if not factor:
            msg = (
                f"{caller}: {name} must be a positive int or a non-empty tuple of positive ints, "
                f"got {factor!r}"
            )
            raise ValueError(msg)
        return tuple(_positive_entry(f, caller, name, factor) for f in factor)
    value = _positive_entry(factor, caller, name, factor)
    return (value, value)


def _positive_entry(value: object, caller: str, name: str, given: object) -> int:
    number = _as_int(value, caller, name, given, "a positive int or a tuple of positive ints")
    if number <= 0:
        msg = f"{caller}: {name} must be positive, got {given!r}"
        raise ValueError(msg)
    return number


def check_bool(value: object, caller: str, name: str) -> bool:
    """Return ``value`` if it is a ``bool``; anything else (``0``, ``"yes"``) is a ``TypeError``."""
    if value is True or value is False:
        return value
    msg = f"{caller}: {name} must be a bool, got {value!r}"
    raise TypeError(msg)


def check_order(order: object, caller: str, name: str = "order") -> Order:
    """Return ``"CRD"`` or ``"DCR"``; anything else is a ``ValueError``."""
    # ``isinstance`` first: ``==`` on an array would compare element-wise.
    if isinstance(order, str) and order == "CRD":
        return "CRD"
    if isinstance(order, str) and order == "DCR":
        return "DCR"
    msg = f"{caller}: {name} must be 'CRD' or 'DCR', got {order!r}"
    raise ValueError(msg)


def check_axis(axis: object, ndim: int, caller: str, what: str) -> int:
    """Return ``axis`` (negative counts from the end) as an index into ``ndim`` axes of ``what``."""
    index = _as_int(axis, caller, "axis", axis, "an int")
    if not -ndim <= index < ndim:
        msg = f"{caller}: axis={index} is out of range for {what} with {ndim} dimensions"
        raise ValueError(msg)
    return index % ndim


def factor_text(factors: tuple[int, ...]) -> str:
    """Write factors as the user most likely gave them: ``2`` for ``(2, 2)``, else the tuple."""
    if len(factors) == 2 and factors[0] == factors[1]:
        return str(factors[0])
    return str(factors)
