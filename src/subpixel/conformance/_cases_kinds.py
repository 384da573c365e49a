"""The kinds family: every kind of input at every size class of the NumPy and torch fast paths.

The small-input families vary the kinds of input (memory orders, views, layouts, ranks, factor
shapes, odd sizes) at tiny sizes; the size family varies size and element size. This family
makes each kind of :data:`~subpixel.conformance._kinds.KINDS` at each size class of
:func:`~subpixel.conformance._kinds.size_classes` (a covering set by pairs: every kind meets
every size class and every element size, not the full product). One case per kind and class,
in one dtype; the element sizes take turns so that each kind meets each of them. The sizes come
from :mod:`subpixel._limits` when the cases are built; a class that starts at
:data:`~subpixel.conformance._kinds.SLOW_BYTES` or above belongs to the ``slow`` profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from subpixel.conformance._case import SIZE_CLASSES, Case, Order
from subpixel.conformance._cases_sizes import size_case
from subpixel.conformance._kinds import (
    ITEMSIZES,
    SLOW_BYTES,
    TINY,
    class_bounds,
    kinds_of,
    required_kinds,
    size_classes,
    size_classes_of,
)

__all__ = ["KIND_BACKENDS", "kind_cases"]

#: The backends whose fast paths have size thresholds (they share the copy engine).
KIND_BACKENDS = ("numpy", "torch")

#: Dtypes the kinds family uses per element size: those every NumPy and torch row runs
#: (bfloat16 needs ml_dtypes on NumPy; the size family covers it).
_DTYPES = {size: tuple(d for d in names if d != "bfloat16") for size, names in SIZE_CLASSES.items()}


@dataclass(frozen=True)
class _Spec:
    """What a kind case is before its size: rank, batch axes, factor, options and layout."""

    factor: int | tuple[int, ...] = 2
    batch: tuple[int, ...] = (2,)
    channels_last: bool = False
    order: Order = "CRD"
    layout: str = "contiguous"
    prime: bool = False


def _spec(kind: str, turn: int) -> _Spec:
    """Return the plain spec (2-D, one batch axis, factor 2, CRD, channels first) with ``kind`` made true."""
    plain = _Spec()
    by_kind = {
        "fortran": _Spec(layout="fortran"),
        "neither_order": _Spec(layout=("transposed", "transposed_channels")[turn % 2]),
        "negative_strides": _Spec(layout="negative_strides"),
        "strided": _Spec(layout="sliced"),
        "offset": _Spec(layout="offset"),
        "channels_last": _Spec(channels_last=True),
        "torch_channels_last": _Spec(layout="torch_channels_last"),
        "torch_channels_last_3d": _Spec(factor=(2, 2, 2), layout="torch_channels_last"),
        "dcr": _Spec(order="DCR"),
        "1d": _Spec(factor=((2,), (3,))[turn % 2]),
        "3d": _Spec(factor=((2, 2, 2), (2, 1, 3))[turn % 2]),
        "batch0": _Spec(batch=()),
        "batch2+": _Spec(batch=(2, 3)),
        "factor_tuple": _Spec(factor=((2, 2), (3, 3))[turn % 2]),
        "factor_unequal": _Spec(factor=((2, 3), (3, 2))[turn % 2]),
        "factor_one": _Spec(factor=(1, (1, 3))[turn % 2]),
        "odd_prime": _Spec(batch=(3,), prime=True),
    }
    return by_kind.get(kind, plain)


def _next_prime(n: int) -> int:
    n = max(n, 3)
    n += 1 - n % 2
    while any(n % d == 0 for d in range(3, math.isqrt(n) + 1, 2)):
        n += 2
    return n


def _shape(spec: _Spec, elements: int, inverse: bool) -> tuple[int, ...]:
    """Return a shape of at least ``elements`` elements (the fewest the first spatial axis allows)."""
    factors = spec.factor if isinstance(spec.factor, tuple) else (spec.factor, spec.factor)
    groups = 3 if spec.prime else 2
    rest = [13 if spec.prime else 16] if len(factors) >= 2 else []
    rest = [5 if spec.prime else 4] * (len(factors) - 2) + rest
    per_row = math.prod(spec.batch) * groups * math.prod(factors) * math.prod(rest)
    first = max(1, -(-elements // per_row))
    blocks = [_next_prime(first) if spec.prime else first, *rest]
    spatial = [b * f for b, f in zip(blocks, factors, strict=True)] if inverse else blocks
    channels = groups if inverse else groups * math.prod(factors)
    if spec.channels_last:
        return (*spec.batch, *spatial, channels)
    return (*spec.batch, channels, *spatial)


def _target(low: int, high: int | None) -> int:
    """Return a size a quarter of the way into ``[low, high)``, at most a quarter above ``low``."""
    if low == 0 and high is not None:
        return high // 4
    span = low if high is None else min(high - low, low)
    return low + span // 4


def _pick(used: dict[int, int], turn: int) -> int:
    """Return the element size this kind has met least often so far (ties: the turn decides)."""
    order = ITEMSIZES[turn % len(ITEMSIZES) :] + ITEMSIZES[: turn % len(ITEMSIZES)]
    return min(order, key=lambda size: used.get(size, 0))


def _case(backend: str, kind: str, name: str, itemsize: int, turn: int) -> Case:
    spec = _spec(kind, turn)
    inverse = turn % 2 == 1
    low, high = class_bounds(backend, name, itemsize)
    elements = -(-_target(low, high) // itemsize)
    shape = _shape(spec, elements, inverse)
    names = _DTYPES[itemsize]
    dtype = names[turn % len(names)]
    label = name.replace(" ", "-")
    case = size_case(
        f"{backend}-{kind}-{label}",
        shape,
        (inverse, spec.channels_last, spec.order, spec.factor),
        spec.layout,
        dtype,
        (backend,),
        f"{kind} at {name}",
        f"-{spec.layout}" if spec.layout != "contiguous" else "",
        family="kinds",
    )
    if kind not in kinds_of(case) or name not in size_classes_of(case, backend, itemsize):
        msg = f"kind case {case.id} is not of kind {kind!r} at size class {name!r}"
        raise AssertionError(msg)
    return case


def _is_slow(backend: str, name: str) -> bool:
    return name != TINY and all(class_bounds(backend, name, s)[0] >= SLOW_BYTES for s in ITEMSIZES)


def kind_cases(profile: str = "default") -> list[Case]:
    """Return the kinds family of ``profile``: ``default`` below :data:`SLOW_BYTES`, ``slow`` the rest.

    Each kind a NumPy or torch row can express meets each size class of its fast path once.
    The kinds that plain inputs already are (C order, channels first, CRD, 2-D, one batch
    axis, an int factor) come with every other kind's cases.
    """
    cases: list[Case] = []
    for backend in KIND_BACKENDS:
        plain = kinds_of(Case("kinds", "plain", (2, 8, 4, 4), 2))
        kinds = [k for k, reason in required_kinds(backend).items() if not reason and k not in plain]
        for turn_kind, kind in enumerate(kinds):
            used: dict[int, int] = {}
            for turn_class, name in enumerate(size_classes(backend)):
                if _is_slow(backend, name) != (profile == "slow"):
                    continue
                turn = turn_kind + turn_class
                itemsize = _pick(used, turn)
                used[itemsize] = used.get(itemsize, 0) + 1
                cases.append(_case(backend, kind, name, itemsize, turn))
    return cases
