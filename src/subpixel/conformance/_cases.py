"""The cases of the matrix, grouped in families (the matrix's columns).

A case is pure data: input shape, factor, direction, options and the memory layout the input
is given in. Its id (``family/name``) is stable: golden vectors and reproducers refer to it.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from subpixel import _limits

__all__ = ["FAMILIES", "Case", "Family", "all_cases", "cases_by_id", "documented_shape", "runs_compiled"]

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
    "broadcast_channels",  # a zero-stride channel axis (torch: ``expand``)
    "torch_channels_last",  # torch.channels_last / channels_last_3d memory format
    "dask_one_chunk",  # dask: a single chunk
    "dask_unit_chunks",  # dask: chunks of one element along the channel axis
    "dask_aligned_chunks",  # dask: many chunks, each holding whole groups (no rechunk)
    "dask_misaligned_chunks",  # dask: chunks of one element on the channel and spatial axes
    "jax_sharded",  # jax: the batch axis sharded over every device of an explicit mesh
    "numpy_masked",  # numpy: a masked array with no element masked (an ndarray subclass)
)

#: Profiles: ``default`` (the CI matrix) and ``slow`` (adds inputs over a gigabyte).
PROFILES = ("default", "slow")


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
    Family("sizes", "size routes: thresholds, threads, chunks"),
    Family("autodiff", "gradients, forward mode, double backward"),
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
    #: Dtypes the case runs in (empty: every dtype).
    dtypes: tuple[str, ...] = ()
    #: Array backends (adapter names) the case runs on (empty: every backend).
    backends: tuple[str, ...] = ()
    #: Check gradients, forward-mode tangents and double backward instead of the output alone.
    autodiff: bool = False
    #: The route the case is built to reach, in words (for the report).
    target: str = ""
    #: The route the library must take for this case on its backend's rows (empty: any route).
    route: str = ""

    def runs_on(self, backend: str, dtype: str) -> bool:
        """Whether the case belongs to rows of this array backend and dtype."""
        return (not self.dtypes or dtype in self.dtypes) and (not self.backends or backend in self.backends)

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
    def channel_axis(self) -> int:
        """The index of the channel axis in ``shape``."""
        return len(self.shape) - 1 if self.channels_last else len(self.shape) - len(self.factors) - 1

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
        "broadcast_channels",
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


def all_cases(quick: bool = False, profile: str = "default") -> tuple[Case, ...]:
    """Return every case (or the quick subset) of ``profile``, in family order."""
    if profile not in PROFILES:
        msg = f"all_cases: profile must be one of {PROFILES}, got {profile!r}"
        raise ValueError(msg)
    return _all_cases(quick, profile)


@functools.lru_cache(maxsize=8)
def _all_cases(quick: bool, profile: str) -> tuple[Case, ...]:
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
        _size_cases,
        _autodiff_cases,
    )
    cases = tuple(case for build in builders for case in build())
    if profile == "slow":
        cases += tuple(_slow_cases())
    return tuple(c for c in cases if c.quick) if quick else cases


def runs_compiled(case: Case, dtype: str, dtypes: Sequence[str]) -> bool:
    """Whether a row that compiles per shape runs ``case`` in ``dtype``.

    Such a row (``Implementation.compiles_per_shape``) runs the quick cases and the cases made
    for given dtypes as any row does. Each other case runs on one dtype of each element size:
    the dtypes of that size in ``dtypes`` (those the row runs) take the cases of a family in
    turn. So every case meets every element size the row runs, and every dtype meets every
    family (its quick cases and its share of the rest).
    """
    if case.quick or case.dtypes:
        return True
    size = ITEMSIZES[dtype]
    peers = [d for d in dtypes if ITEMSIZES[d] == size]
    if dtype not in peers:
        return True
    return peers[_turn(case.id) % len(peers)] == dtype


@functools.lru_cache(maxsize=1)
def _turns() -> dict[str, int]:
    """Each case's place among the cases of its family that run on every dtype and are not quick."""
    turns: dict[str, int] = {}
    counts: dict[str, int] = {}
    for case in all_cases(profile="slow"):
        if not case.quick and not case.dtypes:
            turns[case.id] = counts.get(case.family, 0)
            counts[case.family] = turns[case.id] + 1
    return turns


def _turn(case_id: str) -> int:
    return _turns().get(case_id, 0)


def clear_cache() -> None:
    """Forget the cases built so far (they follow :mod:`subpixel._limits` when built again)."""
    _all_cases.cache_clear()
    _turns.cache_clear()


def cases_by_id() -> dict[str, Case]:
    """Return every case of every profile by its id."""
    return {case.id: case for case in all_cases(profile="slow")}


# -- sizes: the thresholds of the fast paths, from subpixel._limits ------------------------------

#: Dtypes that stand for each element size, cycled so that several dtypes of a size take part.
SIZE_CLASSES: dict[int, tuple[str, ...]] = {
    1: ("uint8", "int8", "bool"),
    2: ("float16", "int16", "bfloat16", "uint16"),
    4: ("float32", "int32", "uint32"),
    8: ("float64", "int64", "complex64", "uint64"),
    16: ("complex128",),
}

#: The element size of each dtype.
ITEMSIZES: dict[str, int] = {name: size for size, names in SIZE_CLASSES.items() for name in names}

#: Float dtypes (the autodiff family), cycled over its cases.
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")

#: Options cycled over the cases of one size route: (inverse, channels_last, order, factor).
#: Any five consecutive entries meet both directions, both layouts, both orders and both
#: factor shapes.
_OPTION_CYCLE: tuple[tuple[bool, bool, Order, int | tuple[int, ...]], ...] = (
    (False, False, "CRD", 2),
    (True, True, "DCR", (2, 3)),
    (True, False, "CRD", (3, 2)),
    (False, True, "DCR", 3),
    (False, False, "DCR", 2),
)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here, found without importing it (or a framework)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or the module is blocked
        return False


def _near_shape(
    elements: int, above: bool, factors: tuple[int, ...], inverse: bool, channels_last: bool, batch: int = 1
) -> tuple[int, ...]:
    """Return a 4-D shape of about ``elements`` elements: the largest below, or the smallest not below."""
    product = math.prod(factors)
    channels = 2 * product if not inverse else 2
    width = 16 * factors[1]
    step = factors[0] if inverse else 1
    row = batch * channels * width
    height = -(-elements // row) if above else (elements - 1) // row
    height = max(step, (-(-height // step) if above else height // step) * step)
    if channels_last:
        return (batch, height, width, channels)
    return (batch, channels, height, width)


def _threshold_cases(
    backend: str,
    label: str,
    elements_of: dict[int, int],
    below: bool,
    above: bool,
    native_only: bool = False,
    blocking: bool = False,
) -> list[Case]:
    """Cases just below and/or just above one threshold, one per element size, options cycled.

    ``elements_of`` maps an element size to the threshold in elements for that size. With
    ``blocking``, each element size also gets a channels-first shuffle with a square factor:
    the copy engine blocks (and threads) such copies, where it copies the cycled options'
    short-tailed views with one ``np.copyto``, so every element size meets those routes too;
    and a channels-first unshuffle by 2, which 1- and 2-byte elements take through the lanes
    kernel (``numpy:lanes-split``).
    """
    cases: list[Case] = []
    sides = [s for s, keep in (("below", below), ("above", above)) if keep]
    plans = [
        (side, i, itemsize, count, variant)
        for side in sides
        for variant in ((0, 1, 2) if blocking else (0,))
        for i, (itemsize, count) in enumerate(sorted(elements_of.items()))
    ]
    for side, i, itemsize, count, variant in plans:
        inverse, channels_last, order, factor = _OPTION_CYCLE[i % len(_OPTION_CYCLE)]
        if variant:
            if inverse == (variant == 2) and not channels_last and not isinstance(factor, tuple):
                continue  # the cycled case is one already
            inverse, channels_last, factor = variant == 2, False, 2
        if native_only:  # torch's own op: CRD, channels first, one square factor
            channels_last, order, factor = False, "CRD", 2
        factors = factor if isinstance(factor, tuple) else (factor, factor)
        shape = _near_shape(count, side == "above", factors, inverse, channels_last)
        layout = "contiguous"
        if backend == "torch" and not channels_last and i % 2 == 0:
            layout = "torch_channels_last"
        dtypes = SIZE_CLASSES[itemsize]
        dtype = dtypes[len(cases) % len(dtypes)]
        suffix = f"-{order.lower()}" + ("-unshuffle" if variant == 2 else "") if variant else ""
        if layout != "contiguous":
            suffix += f"-{layout}"
        options = (inverse, channels_last, order, factor)
        target = f"{side} {label}"
        cases.append(
            _size_case(f"{backend}-{side}-{label}", shape, options, layout, dtype, (backend,), target, suffix)
        )
    return cases


def _bytes_threshold(threshold: int) -> dict[int, int]:
    return {size: max(1, threshold // size) for size in SIZE_CLASSES}


def _size_cases() -> list[Case]:
    numpy_small = _limits.NUMPY_SMALL_BYTES
    block = _limits.BLOCK_BYTES
    parallel = _limits.PARALLEL_BYTES
    torch_small = _limits.TORCH_SMALL_BYTES
    torch_elements = _limits.TORCH_SMALL_ELEMENTS
    torch_kernel = _limits.TORCH_KERNEL_ELEMENTS
    cases: list[Case] = []
    for backend, small in (("numpy", numpy_small), ("torch", torch_small)):
        cases += _threshold_cases(backend, "SMALL_BYTES", _bytes_threshold(small), below=True, above=True)
        cases += _threshold_cases(
            backend, "BLOCK_BYTES", _bytes_threshold(block), below=True, above=True, blocking=True
        )
        cases += _threshold_cases(
            backend, "PARALLEL_BYTES", _bytes_threshold(parallel), below=False, above=True, blocking=True
        )
    # torch: the three tensor methods (or torch's op) below KERNEL_ELEMENTS, the copy engine above.
    kernel = dict.fromkeys(SIZE_CLASSES, torch_kernel)
    cases += _threshold_cases("torch", "KERNEL_ELEMENTS", kernel, below=True, above=True)
    cases += _ambiguous_format_cases(torch_small)
    cases += _broadcast_channel_cases(torch_elements, torch_kernel)
    elements = dict.fromkeys(SIZE_CLASSES, torch_elements)
    cases += _threshold_cases("torch", "SMALL_ELEMENTS", elements, below=True, above=True, native_only=True)
    cases += _engine_geometry_cases()
    cases += _subclass_cases()
    cases += _chunk_cases()
    cases += _sharded_cases()
    cases += _tensorflow_cases()
    return cases


#: The array backends of the Keras rows that run in a worker process, one per Keras backend.
KERAS_ADAPTERS = ("keras.tensorflow", "keras.jax", "keras.torch")

#: Inputs of this size and more are large for every backend: a batch of real images.
LARGE_BYTES = 8 << 20


def _tensorflow_cases() -> list[Case]:
    """TensorFlow and the Keras layers: every element size, every option, above LARGE_BYTES.

    TensorFlow takes one route per row whatever the size (eager, graph, graph with sizes known
    at run time); these cases check its ops (and XLA's) on large inputs.
    """
    rows = ("tensorflow", *KERAS_ADAPTERS)
    cases = _threshold_cases(
        "tensorflow", "LARGE_BYTES", _bytes_threshold(LARGE_BYTES), below=False, above=True
    )
    return [dataclasses.replace(case, backends=rows) for case in cases]


def _ambiguous_format_cases(torch_small: int) -> list[Case]:
    """Torch inputs that are both contiguous and channels_last (one channel, or 1x1 pixels).

    Torch's op gives such an input's result the strides of the format the input was made in;
    the output and gradient strides must match it on the small and the large routes.
    """
    cases: list[Case] = []
    options: tuple[bool, bool, Order, int]
    for inverse, base in ((True, (4, 1, 8, 8)), (False, (4, 4, 1, 1))):
        for large in (False, True):
            shape = base
            if large:  # grow the axis that keeps the shape ambiguous past the byte threshold
                grow = -(-torch_small // (4 * math.prod(base)))
                side = math.isqrt(grow) + 1
                shape = (4, 1, 8 * side, 8 * side) if inverse else (4, 4 * grow, 1, 1)
            direction = "unshuffle" if inverse else "shuffle"
            options = (inverse, False, "CRD", 2)
            target = "contiguous and channels_last at once"
            layout = "torch_channels_last"
            cases.append(
                _size_case(
                    f"torch-ambiguous-{direction}",
                    shape,
                    options,
                    layout,
                    "float32",
                    ("torch",),
                    target,
                    f"-{layout}",
                )
            )
    return cases


def _broadcast_channel_cases(torch_elements: int, torch_kernel: int) -> list[Case]:
    """Torch inputs whose channel axis has stride 0 (``expand``): the methods and the kernel.

    Torch's op reads such strides as contiguous, whatever the other strides say; the output
    strides must match it where the library, not torch's op, decides the memory format: above
    SMALL_ELEMENTS for 1-byte elements (the three tensor methods) and above KERNEL_ELEMENTS.
    """
    cases: list[Case] = []
    options: tuple[bool, bool, Order, int]
    routes = (
        ("SMALL_ELEMENTS", torch_elements, "uint8", "torch:plain"),
        ("KERNEL_ELEMENTS", torch_kernel, "float32", "torch:kernel"),
    )
    for label, elements, dtype, route in routes:
        for inverse in (False, True):
            options = (inverse, False, "CRD", 2)
            shape = _near_shape(elements, True, (2, 2), inverse, False)
            direction = "unshuffle" if inverse else "shuffle"
            cases.append(
                _size_case(
                    f"torch-broadcast-channels-{direction}-above-{label}",
                    shape,
                    options,
                    "broadcast_channels",
                    dtype,
                    ("torch",),
                    f"zero-stride channel axis above {label}",
                    route=route,
                )
            )
    return cases


def _size_case(
    prefix: str,
    shape: tuple[int, ...],
    options: tuple[bool, bool, Order, int | tuple[int, ...]],
    layout: str,
    dtype: str,
    backends: tuple[str, ...],
    target: str,
    suffix: str = "",
    family: str = "sizes",
    *,
    autodiff: bool = False,
    quick: bool = False,
    route: str = "",
) -> Case:
    """Return the case ``{family}/{prefix}-{dtype}-{shape}{suffix}`` for one dtype."""
    inverse, channels_last, order, factor = options
    return Case(
        family,
        f"{prefix}-{dtype}-{'x'.join(map(str, shape))}{suffix}",
        shape,
        factor,
        inverse=inverse,
        channels_last=channels_last,
        order=order,
        layout=layout,
        dtypes=(dtype,),
        backends=backends,
        target=target,
        autodiff=autodiff,
        quick=quick,
        route=route,
    )


def _cycled_cases(
    prefix: str, backend: str, layout: str, rows: int, batch: int, target: str, route: str
) -> list[Case]:
    """One case per element size, options cycled, with ``rows`` rows of 16 pixel blocks per batch item.

    Each must take ``route`` on the rows of the library on ``backend``.
    """
    cases = []
    for i, itemsize in enumerate(sorted(SIZE_CLASSES)):
        options = _OPTION_CYCLE[i]
        inverse, channels_last, _, factor = options
        factors = factor if isinstance(factor, tuple) else (factor, factor)
        elements = batch * 2 * math.prod(factors) * rows * 16 * factors[1]
        shape = _near_shape(elements, True, factors, inverse, channels_last, batch)
        names = SIZE_CLASSES[itemsize]
        dtype = names[i % len(names)] if backend == "dask" else names[0]
        cases.append(_size_case(prefix, shape, options, layout, dtype, (backend,), target, route=route))
    return cases


def _engine_geometry_cases() -> list[Case]:
    """Large copies whose geometry the copy engine walks in more than one piece.

    A 3-D (volume) shuffle keeps more outer axes than a compiled kernel takes, so the engine
    loops over the leading ones; many small images make one block of rows run across several
    images of an unshuffle. Both on the NumPy and torch rows (the same engine), every element size.
    """
    options: tuple[bool, bool, Order, int | tuple[int, ...]]
    shape: tuple[int, ...]
    cases = []
    for itemsize in sorted(SIZE_CLASSES):
        dtype = SIZE_CLASSES[itemsize][0]
        options = (False, False, "CRD", (2, 2, 2))
        shape = (2, 16, 8, 16, 16)
        cases.append(
            _size_case(
                "engine-volume", shape, options, "contiguous", dtype, ("numpy", "torch"), "outer axes looped"
            )
        )
        options = (True, False, "CRD", 2)
        shape = (256, 2, 16, 16)
        cases.append(
            _size_case(
                "engine-small-images",
                shape,
                options,
                "contiguous",
                dtype,
                ("numpy", "torch"),
                "blocks across images",
            )
        )
    return cases


def _subclass_cases() -> list[Case]:
    """NumPy subclasses (a masked array with nothing masked): the Array-API route, every element size."""
    return _cycled_cases("numpy-masked", "numpy", "numpy_masked", 8, 1, "ndarray subclass", "numpy:array-api")


def _chunk_cases() -> list[Case]:
    """Dask inputs of one chunk, of many aligned chunks, and of chunks that force a rechunk."""
    routes = {
        "one_chunk": "dask:one-chunk",
        "aligned_chunks": "dask:chunked",
        "misaligned_chunks": "dask:rechunked",
    }
    return [
        case
        for chunking, route in routes.items()
        for case in _cycled_cases(
            f"dask-{chunking}", "dask", f"dask_{chunking}", 6, 2, chunking.replace("_", " "), route
        )
    ]


def _sharded_cases() -> list[Case]:
    """JAX inputs sharded over the batch axis (not applicable where JAX sees one device)."""
    return _cycled_cases("jax-sharded", "jax", "jax_sharded", 8, 8, "sharded batch axis", "jax:sharded")


def _autodiff_cases() -> list[Case]:
    """Gradients and tangents on torch, JAX, TensorFlow and Keras rows, at every torch size route."""
    torch_small = _limits.TORCH_SMALL_BYTES
    torch_elements = _limits.TORCH_SMALL_ELEMENTS
    parallel = _limits.PARALLEL_BYTES
    cases: list[Case] = []
    n = 0
    for label, threshold, in_bytes, sides in (
        ("SMALL_ELEMENTS", torch_elements, False, ("below", "above")),
        ("SMALL_BYTES", torch_small, True, ("below", "above")),
        ("PARALLEL_BYTES", parallel, True, ("above",)),
    ):
        for side in sides:
            for variant in range(2):
                dtype = FLOAT_DTYPES[n % len(FLOAT_DTYPES)]
                itemsize = {"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "complex64": 8}.get(
                    dtype, 16
                )
                inverse: bool
                channels_last: bool
                order: Order
                factor: int | tuple[int, ...]
                if label == "SMALL_ELEMENTS":
                    inverse, channels_last, order, factor = variant == 1, False, "CRD", 2
                else:
                    inverse, channels_last, order, factor = _OPTION_CYCLE[n % len(_OPTION_CYCLE)]
                    if label == "PARALLEL_BYTES":
                        dtype, itemsize = ("float32", 4) if variant == 0 else ("float16", 2)
                factors = factor if isinstance(factor, tuple) else (factor, factor)
                count = threshold // itemsize if in_bytes else threshold
                shape = _near_shape(count, side == "above", factors, inverse, channels_last)
                layout = "torch_channels_last" if not channels_last and variant == 0 else "contiguous"
                suffix = "" if layout == "contiguous" else f"-{layout}"
                cases.append(
                    _size_case(
                        f"{side}-{label}",
                        shape,
                        (inverse, channels_last, order, factor),
                        layout,
                        dtype,
                        (
                            "torch",
                            "jax",
                            "tensorflow",
                            *(f"keras.{b}" for b in ("tensorflow", "jax", "torch")),
                        ),
                        f"{side} torch {label}",
                        suffix,
                        "autodiff",
                        autodiff=True,
                        quick=n < 2,
                    )
                )
                n += 1
    return cases


def _slow_cases() -> list[Case]:
    """Return inputs of about a gigabyte (the ``slow`` profile), on the NumPy and torch fast paths."""
    shape = (64, 4, 1024, 1024)
    return [
        _size_case(
            f"{backend}-gigabyte-{'unshuffle' if inverse else 'shuffle'}",
            shape,
            (inverse, False, "CRD", 2),
            "contiguous",
            "float32",
            (backend,),
            "over a gigabyte",
        )
        for backend in ("numpy", "torch")
        for inverse in (False, True)
    ]
