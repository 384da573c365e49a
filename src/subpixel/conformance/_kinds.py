"""Kinds of input and size classes: what a case is, in the terms of the kind-coverage table.

A *kind* is one property of an input that a user meets and that a copy can get wrong on its
own: its memory order, the strides of a view, the layout of its channels, the channel order,
its rank, its batch axes, the shape of the factor, odd and prime sizes. :func:`kinds_of` reads
the kinds of a case from the case alone (its shape, factor, options and layout).

A *size class* is a range of input sizes that one fast path treats alike: below the first size
threshold of :data:`subpixel._limits.THRESHOLDS` that applies to the backend, or from one
threshold up to the next. Thresholds counted in elements move with the element size, so the
class of a case depends on its element size too (:func:`size_classes_of`). Nothing here is a
hard-coded size: the classes follow the library's table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from subpixel import _limits
from subpixel.conformance._case import SIZE_CLASSES, Case

__all__ = [
    "ITEMSIZES",
    "KINDS",
    "SLOW_BYTES",
    "TINY",
    "Kind",
    "class_bounds",
    "kinds_of",
    "required_kinds",
    "size_classes",
    "size_classes_of",
]

#: Inputs of this many bytes and more run in the ``slow`` profile only (the CI matrix's budget),
#: so a size class that starts there is required of the ``slow`` profile alone.
SLOW_BYTES = 256 << 20

#: The size class below every threshold of a fast path.
TINY = "tiny"


@dataclass(frozen=True)
class Kind:
    """One kind of input: ``id`` (the table's row), its ``group`` and what it is in words.

    ``only`` names the array backends that can express it (empty: every backend whose arrays
    have the property); ``not_on`` the backends that cannot, with the reason.
    """

    id: str
    group: str
    title: str
    only: tuple[str, ...] = ()
    not_on: tuple[tuple[str, str], ...] = ()


#: Every kind, in the table's order.
KINDS: tuple[Kind, ...] = (
    Kind("c_order", "memory order", "C-contiguous"),
    Kind("fortran", "memory order", "Fortran order (every axis reversed in memory)"),
    Kind("neither_order", "memory order", "neither C nor Fortran (two axes swapped in memory)"),
    Kind(
        "negative_strides",
        "view",
        "negative strides (axes reversed)",
        not_on=(("torch", "torch tensors have no negative strides"),),
    ),
    Kind("strided", "view", "non-unit strides (every other element)"),
    Kind("offset", "view", "a view that starts inside a larger buffer"),
    Kind("channels_first", "layout", "channels first"),
    Kind("channels_last", "layout", "channels_last=True"),
    Kind("torch_channels_last", "layout", "torch.channels_last memory format (4-D)", only=("torch",)),
    Kind("torch_channels_last_3d", "layout", "torch.channels_last_3d memory format (5-D)", only=("torch",)),
    Kind("crd", "order", "order='CRD'"),
    Kind("dcr", "order", "order='DCR'"),
    Kind("1d", "rank", "one spatial axis"),
    Kind("2d", "rank", "two spatial axes"),
    Kind("3d", "rank", "three spatial axes"),
    Kind("batch0", "batch axes", "no batch axis"),
    Kind("batch1", "batch axes", "one batch axis"),
    Kind("batch2+", "batch axes", "two or more batch axes"),
    Kind("factor_int", "factor", "one int factor"),
    Kind("factor_tuple", "factor", "a tuple of equal factors"),
    Kind("factor_unequal", "factor", "a tuple of unequal factors"),
    Kind("factor_one", "factor", "a factor of 1"),
    Kind("odd_prime", "sizes", "odd spatial sizes, one of them prime"),
)

_BY_ID = {kind.id: kind for kind in KINDS}

#: The memory-order and view kinds of each input layout.
_LAYOUT_KINDS: dict[str, tuple[str, ...]] = {
    "contiguous": ("c_order",),
    "fortran": ("fortran",),
    "transposed": ("neither_order",),
    "transposed_channels": ("neither_order",),
    "negative_strides": ("negative_strides",),
    "sliced": ("strided", "offset"),
    "offset": ("offset",),
}


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, math.isqrt(n) + 1))


def _blocks(case: Case) -> list[int]:
    """Return the number of pixel blocks along each spatial axis (the smaller side of the shuffle)."""
    k = len(case.factors)
    nd = len(case.shape)
    axes = range(nd - k - 1, nd - 1) if case.channels_last else range(nd - k, nd)
    return [
        case.shape[a] // f if case.inverse else case.shape[a] for a, f in zip(axes, case.factors, strict=True)
    ]


def kinds_of(case: Case) -> frozenset[str]:
    """Return the ids of the kinds of input that ``case`` is (see :data:`KINDS`)."""
    found = set(_LAYOUT_KINDS.get(case.layout, ()))
    k = len(case.factors)
    if case.layout == "torch_channels_last":
        found.add({4: "torch_channels_last", 5: "torch_channels_last_3d"}.get(len(case.shape), ""))
    found.add("channels_last" if case.channels_last else "channels_first")
    found.add(case.order.lower())
    if k <= 3:
        found.add(f"{k}d")
    batch = len(case.shape) - k - 1
    found.add(f"batch{min(batch, 2)}" + ("+" if batch >= 2 else ""))
    if isinstance(case.factor, int):
        found.add("factor_int")
    else:
        found.add("factor_tuple" if len(set(case.factor)) == 1 else "factor_unequal")
    if 1 in case.factors:
        found.add("factor_one")
    blocks = _blocks(case)
    if all(b % 2 and b > 1 for b in blocks) and any(_is_prime(b) for b in blocks):
        found.add("odd_prime")
    return frozenset(found & set(_BY_ID))


def required_kinds(backend: str) -> dict[str, str]:
    """Return the kinds a row on ``backend`` must cover, and why each other kind is exempt.

    Returns
    -------
    dict of str to str
        Kind id to ``""`` (required) or to the reason it is not (the backend cannot express it).
    """
    out: dict[str, str] = {}
    for kind in KINDS:
        reasons = dict(kind.not_on)
        if kind.only and backend not in kind.only:
            out[kind.id] = f"{' and '.join(kind.only)} only"
        else:
            out[kind.id] = reasons.get(backend, "")
    return out


def _thresholds(backend: str) -> list[_limits.Threshold]:
    return [t for t in _limits.THRESHOLDS if backend in t.backends]


def _bytes(threshold: _limits.Threshold, itemsize: int) -> int:
    return threshold.value * (itemsize if threshold.unit == "elements" else 1)


def size_classes(backend: str) -> tuple[str, ...]:
    """Return the size classes of ``backend``'s fast path, smallest first (empty: it has no threshold).

    ``"tiny"`` is every size under the smallest threshold; ``"from NAME"`` every size from that
    threshold up to the next one (at the same element size).
    """
    found = sorted(enumerate(_thresholds(backend)), key=lambda it: (_bytes(it[1], 1), it[0]))
    if not found:
        return ()
    return (TINY, *(f"from {t.name}" for _, t in found))


def class_bounds(backend: str, name: str, itemsize: int) -> tuple[int, int | None]:
    """Return the bytes ``[low, high)`` of size class ``name`` at ``itemsize`` (``high`` None: no end).

    Thresholds that fall on the same size share their class; ``low == high`` cannot happen.
    """
    values = sorted({_bytes(t, itemsize) for t in _thresholds(backend)})
    side, _, threshold = name.partition(" ")
    matches = [t for t in _thresholds(backend) if t.name == threshold]
    if values and name == TINY:
        return 0, values[0]
    if side != "from" or not matches:
        msg = f"class_bounds: unknown size class {name!r} of {backend!r}"
        raise ValueError(msg)
    value = _bytes(matches[0], itemsize)
    above = [v for v in values if v > value]
    return value, (above[0] if above else None)


def size_classes_of(case: Case, backend: str, itemsize: int) -> frozenset[str]:
    """Return the size classes of ``backend`` that ``case`` falls in at ``itemsize``.

    Its size is its input's bytes; thresholds on the same size all name the class.
    """
    size = math.prod(case.shape) * itemsize
    found = set()
    for name in size_classes(backend):
        low, high = class_bounds(backend, name, itemsize)
        if low <= size and (high is None or size < high):
            found.add(name)
    return frozenset(found)


#: The element sizes of the matrix's dtypes, smallest first.
ITEMSIZES: tuple[int, ...] = tuple(sorted(SIZE_CLASSES))
