"""What a case of the matrix is: one call, its options and layout, as pure data.

A case is pure data: input shape, factor, direction, options and the memory layout the input
is given in. Its id (``family/name``) is stable: golden vectors and reproducers refer to it.
This module also names the families (the matrix's columns), the dtypes that stand for each
element size, and the documented output shape, written independently of the library.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALL_OPTIONS",
    "FAMILIES",
    "FLOAT_DTYPES",
    "ITEMSIZES",
    "LAYOUTS",
    "OPTION_CHANNELS_LAST",
    "OPTION_INVERSE",
    "OPTION_ORDER",
    "OPTION_TUPLE",
    "PROFILES",
    "SIZE_CLASSES",
    "Case",
    "Family",
    "Order",
    "documented_shape",
    "installed",
]

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
    "fortran",  # every axis stored reversed (Fortran order), then permuted back
    "sliced",  # every other element of a larger array, with an offset
    "offset",  # a C-contiguous view that starts one batch item into a larger array
    "negative_strides",  # the last two axes reversed in memory
    "broadcast",  # a zero-stride batch axis
    "broadcast_channels",  # a zero-stride channel axis (torch: ``expand``)
    "broadcast_spatial",  # a zero-stride last spatial axis (the width of an image)
    "torch_channels_last",  # torch.channels_last / channels_last_3d memory format
    "torch_opless_dtype",  # torch: the bits viewed as a dtype PyTorch's op lacks (float8, bits, complex32)
    "dask_one_chunk",  # dask: a single chunk
    "dask_unit_chunks",  # dask: chunks of one element along the channel axis
    "dask_aligned_chunks",  # dask: many chunks, each holding whole groups (no rechunk)
    "dask_misaligned_chunks",  # dask: chunks of one element on the channel and spatial axes
    "jax_sharded",  # jax: the batch axis sharded over every device of an explicit mesh
    "numpy_masked",  # numpy: a masked array with no element masked (an ndarray subclass)
    "numpy_wide_elements",  # numpy: elements of NUMPY_SMALL_BYTES each (the element, then its index)
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
    Family("kinds", "every input kind at every size class"),
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
    #: An input the call must reject: it must raise ``ValueError`` with this text in its message
    #: (the fix the message names); empty for a valid input.
    error: str = ""

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
    def broadcast_axis(self) -> int | None:
        """The axis a broadcast layout repeats its input along (stride 0), or None."""
        if self.layout == "broadcast":
            return 0
        if self.layout == "broadcast_channels":
            return self.channel_axis
        if self.layout == "broadcast_spatial":
            return len(self.shape) - 2 if self.channels_last else len(self.shape) - 1
        return None

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
        must = " (must raise ValueError)" if self.error else ""
        return f"{call} with x.shape={self.shape}, layout={self.layout}{must}"


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


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here, found without importing it (or a framework)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is missing, or the module is blocked
        return False
