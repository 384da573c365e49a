"""The cases of the matrix, grouped in families (the matrix's columns).

A case is pure data: input shape, factor, direction, options and the memory layout the input
is given in. Its id (``family/name``) is stable: golden vectors and reproducers refer to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["FAMILIES", "Case", "Family", "all_cases", "cases_by_id", "documented_shape"]

Order = Literal["CRD", "DCR"]

#: Options a case may need from an implementation (see ``Implementation.options``).
OPTION_INVERSE = "inverse"
OPTION_CHANNELS_LAST = "channels_last"
OPTION_ORDER = "order"
OPTION_TUPLE = "tuple_factors"
ALL_OPTIONS = frozenset({OPTION_INVERSE, OPTION_CHANNELS_LAST, OPTION_ORDER, OPTION_TUPLE})

#: Memory layouts an input can be given in (what a backend cannot express is "n/a" for it).
LAYOUTS = (
    "contiguous",
    "transposed",  # last two axes stored swapped, then permuted back: a non-contiguous view
    "transposed_channels",  # channel axis stored first
    "sliced",  # every other element of a larger array, with an offset
    "negative_strides",  # the last two axes reversed in memory
    "broadcast",  # a zero-stride batch axis
    "torch_channels_last",  # torch.channels_last / channels_last_3d memory format
    "dask_one_chunk",  # dask: a single chunk
    "dask_unit_chunks",  # dask: chunks of one element along the channel axis
)


@dataclass(frozen=True)
class Family:
    """A column of the matrix."""

    id: str
    title: str


FAMILIES: tuple[Family, ...] = (
    Family("factors", "shuffle, factors 1-5"),
    Family("large", "large factors 8, 16, (1, 7)"),
    Family("ndim", "3-D (unbatched) to 6-D"),
    Family("unshuffle", "unshuffle"),
    Family("zero_size", "zero-size axes"),
    Family("layouts", "non-contiguous layouts"),
    Family("round_trip", "round trips"),
    Family("channels_last", "channels_last=True"),
    Family("dcr", "order='DCR'"),
    Family("nd_tuple", "tuple factors, 1-D, 3-D"),
)


@dataclass(frozen=True)
class Case:
    """One call to check: ``pixel_(un)shuffle(x, factor, channels_last=..., order=...)``.

    ``round_trip`` cases call the operation and then its inverse, and expect the input back.
    """

    family: str
    name: str
    shape: tuple[int, ...]
    factor: int | tuple[int, ...]
    inverse: bool = False
    channels_last: bool = False
    order: Order = "CRD"
    layout: str = "contiguous"
    round_trip: bool = False
    quick: bool = False

    @property
    def id(self) -> str:
        """Stable identifier ``family/name``."""
        return f"{self.family}/{self.name}"

    @property
    def factors(self) -> tuple[int, ...]:
        """One factor per spatial axis."""
        return self.factor if isinstance(self.factor, tuple) else (self.factor, self.factor)

    @property
    def options(self) -> frozenset[str]:
        """The implementation options this case needs."""
        needed = set()
        if self.inverse or self.round_trip:
            needed.add(OPTION_INVERSE)
        if self.channels_last:
            needed.add(OPTION_CHANNELS_LAST)
        if self.order != "CRD":
            needed.add(OPTION_ORDER)
        if isinstance(self.factor, tuple):
            needed.add(OPTION_TUPLE)
        return frozenset(needed)

    @property
    def torch_native(self) -> bool:
        """Whether torch's op (after a transpose / channel permutation) defines this case."""
        f = self.factors
        return len(f) == 2 and f[0] == f[1] and len(self.shape) >= 3

    def call_text(self, inverse: bool | None = None, arg: str = "x") -> str:
        """Return the call as Python source, e.g. ``pixel_shuffle(x, 2, order='DCR')``."""
        backward = self.inverse if inverse is None else inverse
        name = "pixel_unshuffle" if backward else "pixel_shuffle"
        extra = ""
        if self.channels_last:
            extra += ", channels_last=True"
        if self.order != "CRD":
            extra += f", order={self.order!r}"
        return f"{name}({arg}, {self.factor!r}{extra})"

    def describe(self) -> str:
        """Return the case in words: the call, the input shape and layout."""
        call = self.call_text()
        if self.round_trip:
            call = self.call_text(not self.inverse, arg=call)
        return f"{call} with x.shape={self.shape}, layout={self.layout}"


def documented_shape(
    shape: tuple[int, ...], factors: tuple[int, ...], inverse: bool, channels_last: bool
) -> tuple[int, ...]:
    """Return the documented output shape (independent of :mod:`subpixel._plan`)."""
    k = len(factors)
    dims = list(shape)
    channel = len(dims) - 1 if channels_last else len(dims) - k - 1
    spatial = list(range(channel + 1, len(dims))) if not channels_last else list(range(channel - k, channel))
    product = 1
    for f in factors:
        product *= f
    for axis, f in zip(spatial, factors, strict=True):
        dims[axis] = dims[axis] // f if inverse else dims[axis] * f
    dims[channel] = dims[channel] * product if inverse else dims[channel] // product
    return tuple(dims)


def _factor_cases() -> list[Case]:
    cases = []
    for r in range(1, 6):
        cases.append(Case("factors", f"r{r}-1x{r * r}x2x3", (1, r * r, 2, 3), r, quick=r in (1, 2, 3)))
        cases.append(Case("factors", f"r{r}-2x{3 * r * r}x3x2", (2, 3 * r * r, 3, 2), r, quick=r == 5))
    return cases


def _large_cases() -> list[Case]:
    return [
        Case("large", "r8-1x64x2x3", (1, 64, 2, 3), 8, quick=True),
        Case("large", "r16-1x256x2x1", (1, 256, 2, 1), 16),
        Case("large", "f1x7-2x14x3x2", (2, 14, 3, 2), (1, 7), quick=True),
        Case("large", "unshuffle-r8-1x2x16x8", (1, 2, 16, 8), 8, inverse=True),
        Case("large", "unshuffle-r16-1x1x16x32", (1, 1, 16, 32), 16, inverse=True),
        Case("large", "unshuffle-f1x7-2x3x2x14", (2, 3, 2, 14), (1, 7), inverse=True, quick=True),
    ]


def _ndim_cases() -> list[Case]:
    return [
        Case("ndim", "3d-8x3x4", (8, 3, 4), 2, quick=True),
        Case("ndim", "3d-r3-9x2x2", (9, 2, 2), 3),
        Case("ndim", "5d-2x3x8x2x3", (2, 3, 8, 2, 3), 2, quick=True),
        Case("ndim", "6d-r3-2x1x2x9x2x2", (2, 1, 2, 9, 2, 2), 3, quick=True),
    ]


def _unshuffle_cases() -> list[Case]:
    cases = [
        Case(
            "unshuffle",
            f"r{r}-1x2x{2 * r}x{3 * r}",
            (1, 2, 2 * r, 3 * r),
            r,
            inverse=True,
            quick=r in (1, 2, 3),
        )
        for r in range(1, 6)
    ]
    cases += [
        Case("unshuffle", "3d-2x4x6", (2, 4, 6), 2, inverse=True, quick=True),
        Case("unshuffle", "5d-2x3x1x6x4", (2, 3, 1, 6, 4), 2, inverse=True),
        Case("unshuffle", "6d-r3-1x2x2x1x6x3", (1, 2, 2, 1, 6, 3), 3, inverse=True, quick=True),
    ]
    return cases


def _zero_size_cases() -> list[Case]:
    z = "zero_size"
    return [
        Case(z, "batch0-0x4x2x2", (0, 4, 2, 2), 2, quick=True),
        Case(z, "channels0-1x0x2x2", (1, 0, 2, 2), 2),
        Case(z, "height0-2x8x0x3", (2, 8, 0, 3), 2),
        Case(z, "width0-2x8x3x0", (2, 8, 3, 0), 2),
        Case(z, "3d-0x3x3", (0, 3, 3), 2),
        Case(z, "5d-2x0x4x1x1", (2, 0, 4, 1, 1), 2),
        Case(z, "unshuffle-batch0-0x2x4x4", (0, 2, 4, 4), 2, inverse=True, quick=True),
        Case(z, "unshuffle-channels0-1x0x4x4", (1, 0, 4, 4), 2, inverse=True),
        Case(z, "unshuffle-height0-2x3x0x4", (2, 3, 0, 4), 2, inverse=True),
        Case(z, "unshuffle-width0-2x3x4x0", (2, 3, 4, 0), 2, inverse=True),
        Case(z, "unshuffle-all0-0x0x0x0", (0, 0, 0, 0), 2, inverse=True),
        Case(z, "channels-last-0x2x2x4", (0, 2, 2, 4), 2, channels_last=True),
        Case(z, "1d-2x0x6", (2, 0, 6), (3,)),
    ]


def _layout_cases() -> list[Case]:
    cases = []
    kinds = (
        "transposed",
        "transposed_channels",
        "sliced",
        "negative_strides",
        "broadcast",
        "torch_channels_last",
        "dask_one_chunk",
        "dask_unit_chunks",
    )
    for kind in kinds:
        quick = kind in ("transposed", "negative_strides", "torch_channels_last", "dask_unit_chunks")
        cases.append(Case("layouts", f"{kind}-2x8x3x4", (2, 8, 3, 4), 2, layout=kind, quick=quick))
        cases.append(Case("layouts", f"unshuffle-{kind}-2x2x6x4", (2, 2, 6, 4), 2, inverse=True, layout=kind))
    cases += [
        Case("layouts", "torch_channels_last-5d-2x3x8x2x3", (2, 3, 8, 2, 3), 2, layout="torch_channels_last"),
        Case("layouts", "unshuffle-r3-sliced-1x3x6x9", (1, 3, 6, 9), 3, inverse=True, layout="sliced"),
        Case(
            "layouts",
            "channels-last-negative_strides-2x3x4x8",
            (2, 3, 4, 8),
            2,
            channels_last=True,
            layout="negative_strides",
        ),
    ]
    return cases


def _round_trip_cases() -> list[Case]:
    rt = "round_trip"
    return [
        Case(rt, "r2-2x8x3x4", (2, 8, 3, 4), 2, round_trip=True, quick=True),
        Case(rt, "r3-1x27x2x2", (1, 27, 2, 2), 3, round_trip=True),
        Case(rt, "unshuffle-first-r2-2x2x6x4", (2, 2, 6, 4), 2, inverse=True, round_trip=True, quick=True),
        Case(rt, "channels-last-2x3x4x8", (2, 3, 4, 8), 2, channels_last=True, round_trip=True),
        Case(rt, "dcr-r3-2x18x2x3", (2, 18, 2, 3), 3, order="DCR", round_trip=True),
        Case(rt, "1d-f3-2x6x5", (2, 6, 5), (3,), round_trip=True),
        Case(rt, "3d-f2x2x2-1x8x2x2x2", (1, 8, 2, 2, 2), (2, 2, 2), round_trip=True),
        Case(rt, "zero-size-0x4x2x2", (0, 4, 2, 2), 2, round_trip=True),
    ]


def _channels_last_cases() -> list[Case]:
    cl = "channels_last"
    return [
        Case(cl, "r2-2x3x4x8", (2, 3, 4, 8), 2, channels_last=True, quick=True),
        Case(cl, "r3-1x2x2x18", (1, 2, 2, 18), 3, channels_last=True),
        Case(cl, "3d-3x4x8", (3, 4, 8), 2, channels_last=True),
        Case(cl, "5d-2x1x3x2x4", (2, 1, 3, 2, 4), 2, channels_last=True),
        Case(cl, "unshuffle-r2-2x6x4x3", (2, 6, 4, 3), 2, inverse=True, channels_last=True, quick=True),
        Case(cl, "unshuffle-r3-1x6x9x2", (1, 6, 9, 2), 3, inverse=True, channels_last=True),
    ]


def _dcr_cases() -> list[Case]:
    return [
        Case("dcr", "r2-2x8x3x4", (2, 8, 3, 4), 2, order="DCR", quick=True),
        Case("dcr", "r3-1x18x2x3", (1, 18, 2, 3), 3, order="DCR"),
        Case("dcr", "channels-last-r2-2x3x4x8", (2, 3, 4, 8), 2, channels_last=True, order="DCR", quick=True),
        Case("dcr", "unshuffle-r2-2x2x6x4", (2, 2, 6, 4), 2, inverse=True, order="DCR", quick=True),
        Case(
            "dcr",
            "unshuffle-channels-last-r2-2x6x4x3",
            (2, 6, 4, 3),
            2,
            inverse=True,
            channels_last=True,
            order="DCR",
        ),
        Case("dcr", "unshuffle-r3-1x3x9x6", (1, 3, 9, 6), 3, inverse=True, order="DCR"),
    ]


def _nd_tuple_cases() -> list[Case]:
    t = "nd_tuple"
    return [
        Case(t, "f2x3-2x12x3x2", (2, 12, 3, 2), (2, 3), quick=True),
        Case(t, "f3x1-1x6x2x3", (1, 6, 2, 3), (3, 1)),
        Case(t, "f2x2-tuple-1x8x2x3", (1, 8, 2, 3), (2, 2)),
        Case(t, "1d-f4-2x8x5", (2, 8, 5), (4,), quick=True),
        Case(t, "1d-f3-channels-last-2x5x6", (2, 5, 6), (3,), channels_last=True),
        Case(t, "3d-f2x2x2-1x16x2x3x2", (1, 16, 2, 3, 2), (2, 2, 2), quick=True),
        Case(t, "3d-f1x2x3-2x6x2x2x1", (2, 6, 2, 2, 1), (1, 2, 3)),
        Case(t, "3d-f2x2x2-dcr-1x8x2x2x2", (1, 8, 2, 2, 2), (2, 2, 2), order="DCR"),
        Case(t, "unshuffle-f2x3-2x2x6x6", (2, 2, 6, 6), (2, 3), inverse=True, quick=True),
        Case(t, "unshuffle-1d-f4-2x3x8", (2, 3, 8), (4,), inverse=True),
        Case(
            t,
            "unshuffle-3d-f2x2x2-dcr-cl-1x4x2x6x2",
            (1, 4, 2, 6, 2),
            (2, 2, 2),
            inverse=True,
            channels_last=True,
            order="DCR",
        ),
    ]


def all_cases(quick: bool = False) -> tuple[Case, ...]:
    """Return every case (or the quick subset), in family order."""
    builders = (
        _factor_cases,
        _large_cases,
        _ndim_cases,
        _unshuffle_cases,
        _zero_size_cases,
        _layout_cases,
        _round_trip_cases,
        _channels_last_cases,
        _dcr_cases,
        _nd_tuple_cases,
    )
    cases = tuple(case for build in builders for case in build())
    return tuple(c for c in cases if c.quick) if quick else cases


def cases_by_id() -> dict[str, Case]:
    """Return every case by its id."""
    return {case.id: case for case in all_cases()}
