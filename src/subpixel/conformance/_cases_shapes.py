"""The families of small inputs: factors, ranks, directions, zero sizes, layouts and options.

Each builder returns the cases of one family (see :data:`SHAPE_FAMILIES`); every input here is
small, so each case meets the library's tiny-call routes and checks the index arithmetic.
"""

from __future__ import annotations

from subpixel.conformance._case import Case

__all__ = ["SHAPE_FAMILIES"]


def _factor_cases() -> list[Case]:
    cases = []
    for r in range(1, 6):
        cases.append(Case("factors", f"r{r}-1x{r * r}x2x3", (1, r * r, 2, 3), r, quick=r in (1, 2, 3)))
        cases.append(Case("factors", f"r{r}-2x{3 * r * r}x3x2", (2, 3 * r * r, 3, 2), r, quick=r == 5))
    # Sizes the factor does not divide: the error names the offending size and the input's shape.
    cases += [
        Case("factors", "indivisible-channels-1x3x4x4", (1, 3, 4, 4), 2, dtypes=("float32",),
             error="x.shape[1]=3 of shape (1, 3, 4, 4) is not divisible by 4"),
        Case("factors", "indivisible-channels-tuple-1x5x4x4", (1, 5, 4, 4), (2, 3), dtypes=("uint8",),
             error="x.shape[1]=5 of shape (1, 5, 4, 4) is not divisible by 6"),
        Case("factors", "unshuffle-indivisible-height-1x4x5x4", (1, 4, 5, 4), 2, inverse=True,
             dtypes=("int16",), error="x.shape[2]=5 of shape (1, 4, 5, 4) is not divisible by 2"),
    ]  # fmt: skip
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


#: What the error for an input of the spatial axes alone tells to do (channels first).
_FIX_FIRST = "add the channel axis of a single-channel input with x[None]"


def _ndim_cases() -> list[Case]:
    return [
        Case("ndim", "3d-8x3x4", (8, 3, 4), 2, quick=True),
        Case("ndim", "3d-r3-9x2x2", (9, 2, 2), 3),
        Case("ndim", "5d-2x3x8x2x3", (2, 3, 8, 2, 3), 2, quick=True),
        Case("ndim", "6d-r3-2x1x2x9x2x2", (2, 1, 2, 9, 2, 2), 3, quick=True),
        # The spatial axes alone (an image without its channel axis): a ValueError naming the fix.
        Case("ndim", "spatial-only-4x6", (4, 6), 2, quick=True, dtypes=("float32",), error=_FIX_FIRST),
        Case(
            "ndim",
            "unshuffle-spatial-only-1d-4",
            (4,),
            (2,),
            inverse=True,
            dtypes=("uint8",),
            error=_FIX_FIRST,
        ),
        Case(
            "ndim",
            "channels-last-spatial-only-4x6",
            (4, 6),
            2,
            channels_last=True,
            dtypes=("int16",),
            error="add the channel axis of a single-channel input with x[..., None]",
        ),
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


#: Backends whose zero-size arrays may have nonzero sizes multiplying past 2**59.
_WIDE = ("numpy", "array_api_strict", "torch", "cupy", "jax", "dask", "tensorflow", "ndonnx", "marray")


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
        # Nonzero sizes multiplying to 2**62, past any limit on a result's extent but the input's own:
        # one-byte elements (NumPy's limit on size times item size counts the nonzero sizes), each
        # size below 2**31 (XLA's limit). Cubed is left out: its memory projection counts the
        # nonzero sizes and refuses any chunk of these.
        Case(z, "large-extent-0x64x2^28x2^28", (0, 64, 2**28, 2**28), 2, dtypes=("uint8",), backends=_WIDE),
        Case(
            z,
            "unshuffle-large-extent-0x16x2^29x2^29",
            (0, 16, 2**29, 2**29),
            2,
            inverse=True,
            dtypes=("uint8",),
            backends=_WIDE,
        ),
    ]


def _layout_cases() -> list[Case]:
    cases = []
    kinds = (
        "transposed",
        "transposed_channels",
        "fortran",
        "sliced",
        "offset",
        "negative_strides",
        "broadcast",
        "broadcast_channels",
        "broadcast_spatial",
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
        # Plans PyTorch's op does not give alone, on channels_last tensors: the result keeps the format.
        Case(
            "layouts",
            "torch_channels_last-dcr-2x8x3x4",
            (2, 8, 3, 4),
            2,
            order="DCR",
            layout="torch_channels_last",
        ),
        Case(
            "layouts",
            "unshuffle-torch_channels_last-dcr-2x2x6x4",
            (2, 2, 6, 4),
            2,
            inverse=True,
            order="DCR",
            layout="torch_channels_last",
        ),
        Case(
            "layouts", "torch_channels_last-f2x1-2x6x3x4", (2, 6, 3, 4), (2, 1), layout="torch_channels_last"
        ),
        Case("layouts", "unshuffle-r3-sliced-1x3x6x9", (1, 3, 6, 9), 3, inverse=True, layout="sliced"),
        # torch: dtypes PyTorch's op does not implement (float8, bits, complex32), each holding the
        # bits of one dtype of the matrix.
        *(
            Case(
                "layouts",
                f"{name}-torch_opless_dtype-{dtype}-{shape}",
                dims,
                2,
                inverse=inverse,
                layout="torch_opless_dtype",
                dtypes=(dtype,),
            )
            for dtype in ("bool", "uint8", "int8", "int16", "float32")
            for name, dims, inverse, shape in (
                ("shuffle", (2, 8, 3, 4), False, "2x8x3x4"),
                ("unshuffle", (2, 2, 6, 4), True, "2x2x6x4"),
            )
        ),
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
        Case("dcr", "unshuffle-unbatched-r2-3x4x6", (3, 4, 6), 2, inverse=True, order="DCR"),
        Case("dcr", "channels-last-f2x3-2x3x5x12", (2, 3, 5, 12), (2, 3), channels_last=True, order="DCR"),
        # Dask: by factor 1 no group spans channels, so chunks of one channel stay as they are.
        Case(
            "dcr",
            "r1-dask-unit-chunks-1x4x2x2",
            (1, 4, 2, 2),
            1,
            order="DCR",
            layout="dask_unit_chunks",
            route="dask:chunked",
        ),
        Case(
            "dcr",
            "unshuffle-f1x1-dask-unit-chunks-1x4x2x2",
            (1, 4, 2, 2),
            (1, 1),
            inverse=True,
            order="DCR",
            layout="dask_unit_chunks",
            route="dask:chunked",
        ),
    ]


def _nd_tuple_cases() -> list[Case]:
    t = "nd_tuple"
    return [
        Case(t, "f2x3-2x12x3x2", (2, 12, 3, 2), (2, 3), quick=True),
        Case(t, "f3x1-1x6x2x3", (1, 6, 2, 3), (3, 1)),
        Case(t, "f2x2-tuple-1x8x2x3", (1, 8, 2, 3), (2, 2)),
        Case(t, "f2x3-unbatched-18x3x5", (18, 3, 5), (2, 3)),
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


#: The builders of these families, in the matrix's column order.
SHAPE_FAMILIES = (
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
