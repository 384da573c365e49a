"""The size family: cases on both sides of every threshold of the fast paths, and the slow profile.

The thresholds come from :mod:`subpixel._limits`, the library's own table (read when the cases
are built, so they follow it when it moves; no framework is imported). Each threshold meets
every element size and both values of each option (a covering set, not the full product); the
NumPy and torch rows, which share the copy engine, also get its geometry cases, and the Dask,
JAX and TensorFlow rows the cases of their own routes.
"""

from __future__ import annotations

import dataclasses
import math

from subpixel import _catalog, _limits
from subpixel.conformance._case import SIZE_CLASSES, Case, Order

__all__ = ["OPTION_CYCLE", "near_shape", "size_case", "size_cases", "slow_cases"]

#: Options cycled over the cases of one size route: (inverse, channels_last, order, factor).
#: Any five consecutive entries meet both directions, both layouts, both orders and both
#: factor shapes.
OPTION_CYCLE: tuple[tuple[bool, bool, Order, int | tuple[int, ...]], ...] = (
    (False, False, "CRD", 2),
    (True, True, "DCR", (2, 3)),
    (True, False, "CRD", (3, 2)),
    (False, True, "DCR", 3),
    (False, False, "DCR", 2),
)


def near_shape(
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
        inverse, channels_last, order, factor = OPTION_CYCLE[i % len(OPTION_CYCLE)]
        if variant:
            if inverse == (variant == 2) and not channels_last and not isinstance(factor, tuple):
                continue  # the cycled case is one already
            inverse, channels_last, factor = variant == 2, False, 2
        if native_only:  # torch's own op: CRD, channels first, one square factor
            channels_last, order, factor = False, "CRD", 2
        factors = factor if isinstance(factor, tuple) else (factor, factor)
        shape = near_shape(count, side == "above", factors, inverse, channels_last)
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
            size_case(f"{backend}-{side}-{label}", shape, options, layout, dtype, (backend,), target, suffix)
        )
    return cases


def _bytes_threshold(threshold: int) -> dict[int, int]:
    return {size: max(1, threshold // size) for size in SIZE_CLASSES}


def size_cases() -> list[Case]:
    numpy_small = _limits.NUMPY_SMALL_BYTES
    block = _limits.BLOCK_BYTES
    parallel = _limits.PARALLEL_BYTES
    torch_small = _limits.TORCH_SMALL_BYTES
    torch_elements = _limits.TORCH_SMALL_ELEMENTS
    torch_kernel = _limits.TORCH_KERNEL_ELEMENTS
    torch_methods = _limits.TORCH_METHODS_ELEMENTS
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
    cases += _broadcast_spatial_cases()
    elements = dict.fromkeys(SIZE_CLASSES, torch_elements)
    cases += _threshold_cases("torch", "SMALL_ELEMENTS", elements, below=True, above=True, native_only=True)
    methods = dict.fromkeys(SIZE_CLASSES, torch_methods)
    cases += _threshold_cases("torch", "METHODS_ELEMENTS", methods, below=True, above=True, native_only=True)
    cases += _engine_geometry_cases()
    cases += _wide_element_cases()
    cases += _subclass_cases()
    cases += _chunk_cases()
    cases += _sharded_cases()
    cases += _tensorflow_cases()
    return cases


#: The array backends of the Keras rows that run in a worker process, one per Keras backend.
KERAS_ADAPTERS = ("keras.tensorflow", "keras.jax", "keras.torch")

#: Inputs of this size and more are large for every backend: a batch of real images.
LARGE_BYTES = 8 << 20


#: float32 3-d unshuffles whose rank-8 transpose TensorFlow hands to oneDNN, which flushes
#: subnormals and quiets signaling NaNs (found by the million-call fuzz).
_ONEDNN_VOLUMES: tuple[tuple[tuple[int, ...], Order], ...] = (
    ((2, 20, 18, 28), "CRD"),
    ((2, 1, 36, 26, 42), "DCR"),
)


def _tensorflow_cases() -> list[Case]:
    """TensorFlow and the Keras layers: every element size, every option, above LARGE_BYTES.

    TensorFlow takes one route per row whatever the size (eager, graph, graph with sizes known
    at run time); these cases check its ops (and XLA's) on large inputs.
    """
    cases: list[Case] = []
    for name in _own_op_backends():
        found = _threshold_cases(name, "LARGE_BYTES", _bytes_threshold(LARGE_BYTES), below=False, above=True)
        cases += [dataclasses.replace(case, backends=(name, *KERAS_ADAPTERS)) for case in found]
        for shape, order in _ONEDNN_VOLUMES:
            cases.append(
                size_case(
                    f"{name}-onednn-volume-unshuffle",
                    shape,
                    (True, False, order, (2, 2, 2)),
                    "contiguous",
                    "float32",
                    (name, *KERAS_ADAPTERS),
                    "a float32 transpose TensorFlow runs in oneDNN",
                )
            )
    return cases


def _own_op_backends() -> tuple[str, ...]:
    """Return the Keras backends whose fast path is their own reshape and transpose at every size.

    Those take sizes known only at run time (TensorFlow's graphs): no copy engine, one route.
    """
    return tuple(e.name for e in _catalog.entries() if e.keras_backend and e.run_time_sizes)


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
                size_case(
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
        # 1-byte elements by 2: the copy engine's with or without the compiled kernels.
        ("KERNEL_ELEMENTS", torch_kernel, "uint8", "torch:kernel"),
    )
    for label, elements, dtype, route in routes:
        for inverse in (False, True):
            options = (inverse, False, "CRD", 2)
            shape = near_shape(elements, True, (2, 2), inverse, False)
            direction = "unshuffle" if inverse else "shuffle"
            cases.append(
                size_case(
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


def _broadcast_spatial_cases() -> list[Case]:
    """Channels-last inputs repeated along their width (stride 0), as the copy engine's short rows.

    Their copies read one source row again and again: subpixel-kernels 0.1.2 divided by that
    zero step in its byte gather and stopped the process (SIGFPE) on each of these.
    """
    cases: list[Case] = []
    shapes: tuple[tuple[tuple[int, ...], str, bool, Order, int], ...] = (
        ((1, 128, 64, 8), "uint8", False, "CRD", 2),
        ((1, 256, 256, 1), "uint8", True, "DCR", 4),
        ((1, 192, 192, 1), "uint16", True, "CRD", 3),
        ((2, 192, 192, 1), "float32", True, "CRD", 2),
    )
    for shape, dtype, inverse, order, factor in shapes:
        direction = "unshuffle" if inverse else "shuffle"
        cases.append(
            size_case(
                f"broadcast-width-{direction}-by-{factor}",
                shape,
                (inverse, True, order, factor),
                "broadcast_spatial",
                dtype,
                ("numpy", "torch"),
                "zero-stride width, channels last: short rows from one source row",
            )
        )
    return cases


def size_case(
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
        options = OPTION_CYCLE[i]
        inverse, channels_last, _, factor = options
        factors = factor if isinstance(factor, tuple) else (factor, factor)
        elements = batch * 2 * math.prod(factors) * rows * 16 * factors[1]
        shape = near_shape(elements, True, factors, inverse, channels_last, batch)
        names = SIZE_CLASSES[itemsize]
        dtype = names[i % len(names)] if backend == "dask" else names[0]
        cases.append(size_case(prefix, shape, options, layout, dtype, (backend,), target, route=route))
    return cases


def _engine_geometry_cases() -> list[Case]:
    """Large copies whose geometry the copy engine walks in more than one piece.

    A 3-D (volume) shuffle keeps more outer axes than a compiled kernel takes, so the engine
    loops over the leading ones; many small images make one block of rows run across several
    images of an unshuffle; images narrower than the factor give rows shorter than one group.
    Both on the NumPy and torch rows (the same engine), every element size.
    """
    options: tuple[bool, bool, Order, int | tuple[int, ...]]
    shape: tuple[int, ...]
    cases = []
    for itemsize in sorted(SIZE_CLASSES):
        dtype = SIZE_CLASSES[itemsize][0]
        options = (False, False, "CRD", (2, 2, 2))
        shape = (2, 16, 8, 16, 16)
        cases.append(
            size_case(
                "engine-volume", shape, options, "contiguous", dtype, ("numpy", "torch"), "outer axes looped"
            )
        )
        options = (True, False, "CRD", 2)
        shape = (256, 2, 16, 16)
        cases.append(
            size_case(
                "engine-small-images",
                shape,
                options,
                "contiguous",
                dtype,
                ("numpy", "torch"),
                "blocks across images",
            )
        )
        # Images narrower than the factor: each group's output row is shorter than r.
        for name, shape, inverse in (
            ("engine-narrow", (1, 36, 1024, 2), False),
            ("engine-narrow-unshuffle", (1, 4, 3072, 6), True),
        ):
            options = (inverse, False, "CRD", 3)
            cases.append(
                size_case(name, shape, options, "contiguous", dtype, ("numpy", "torch"), "rows below r")
            )
        # The compiled kernels' byte shuffles: one-byte elements in four lanes, on rows of 90
        # groups (whole steps of 32 with AVX2, of 16 without, and an overlapping last one) and of
        # 24 groups (16 at a time, with or without AVX2); a channels-last shuffle to 3
        # channels, whose rows of 2 groups of 3 lanes lie back to back (the periodic gather, up to
        # 4-byte elements), and the same split over threads mid-sweep (1-byte elements).
        geometries: list[tuple[str, tuple[int, ...], tuple[bool, bool, Order, int], str]] = [
            ("engine-by-4", (2, 48, 16, 90), (False, False, "CRD", 4), "4 lanes, 90 groups"),
            ("engine-by-4-unshuffle", (2, 3, 64, 360), (True, False, "CRD", 4), "4 lanes, 90 groups"),
            ("engine-by-4-24-groups", (2, 48, 60, 24), (False, False, "CRD", 4), "4 lanes, 24 groups"),
            (
                "engine-by-4-24-groups-unshuffle",
                (2, 3, 240, 96),
                (True, False, "CRD", 4),
                "4 lanes, 24 groups",
            ),
            ("engine-few-channels-last", (2, 64, 90, 12), (False, True, "CRD", 2), "2x3 rows back to back"),
        ]
        if itemsize == 1:
            name, options = "engine-few-channels-last-above-PARALLEL_BYTES", (False, True, "CRD", 2)
            geometries.append((name, (2, 512, 720, 12), options, "2x3 rows back to back, threads"))
        for name, shape, options, target in geometries:
            cases.append(size_case(name, shape, options, "contiguous", dtype, ("numpy", "torch"), target))
        # An innermost factor of 1: whole source rows move (no join or split form for the compiled
        # kernels), so the engine's own blocks copy them.
        for name, shape, inverse in (
            ("engine-inner-factor-1", (1, 2, 128, 256), False),
            ("engine-inner-factor-1-unshuffle", (1, 1, 256, 256), True),
        ):
            options = (inverse, False, "CRD", (2, 1))
            cases.append(
                size_case(name, shape, options, "contiguous", dtype, ("numpy", "torch"), "innermost factor 1")
            )
        cases += _engine_form_cases(dtype)
    return cases


def _engine_form_cases(dtype: str) -> list[Case]:
    """Return copies at the edges of the compiled kernels' forms, on the NumPy and torch rows.

    Channels-last plans whose lanes are the factor's offsets along two axes (an NHWC unshuffle of
    16 channels, a shuffle to 16), and inputs whose views each form must turn down: a
    Fortran-ordered unshuffle by (2, 2), a 1-d unshuffle (two axes left once merged), a
    Fortran-ordered copy by a factor of 1 (short axes behind long ones), an input reversed in
    memory and a channels-last shuffle of an input repeated along its batch axis.
    """
    forms: list[tuple[str, tuple[int, ...], tuple[bool, bool, Order, int | tuple[int, ...]], str, str]] = [
        (
            "engine-channels-last-unshuffle",
            (2, 64, 64, 16),
            (True, True, "CRD", 2),
            "contiguous",
            "lanes at two strides",
        ),
        (
            "engine-channels-last-shuffle",
            (2, 32, 32, 64),
            (False, True, "CRD", 2),
            "contiguous",
            "lanes at two strides",
        ),
        (
            "engine-fortran-unshuffle",
            (2, 2, 176, 144),
            (True, False, "CRD", (2, 2)),
            "fortran",
            "no form: Fortran",
        ),
        ("engine-1d-unshuffle", (1, 3, 32768), (True, False, "DCR", (2,)), "contiguous", "two merged axes"),
        ("engine-fortran-factor-1", (1, 3, 1000, 22), (False, False, "CRD", 1), "fortran", "short tail"),
        (
            "engine-reversed",
            (2, 8, 128, 64),
            (True, False, "CRD", 2),
            "negative_strides",
            "no form: reversed",
        ),
        (
            "engine-broadcast-channels-last",
            (2, 128, 64, 36),
            (False, True, "CRD", 2),
            "broadcast",
            "zero stride",
        ),
    ]
    return [
        size_case(name, shape, options, layout, dtype, ("numpy", "torch"), target)
        for name, shape, options, layout, target in forms
    ]


def _wide_element_cases() -> list[Case]:
    """NumPy elements of ``NUMPY_SMALL_BYTES`` each (a structured dtype): one element reaches the engine.

    With factor 1 the engine's simplified views have no axis left; with larger factors it moves
    elements of 64 KiB. Each output element must carry all of one input element's bytes.
    """
    target = "elements of NUMPY_SMALL_BYTES each"
    specs: list[tuple[str, tuple[int, ...], tuple[bool, bool, Order, int | tuple[int, ...]], str]] = [
        ("engine-wide-r1", (1, 1, 1, 1), (False, False, "CRD", 1), "uint8"),
        ("engine-wide-unshuffle-r1", (1, 1, 1, 1), (True, False, "CRD", 1), "float32"),
        ("engine-wide-1d-f1", (1, 1, 1), (False, False, "CRD", (1,)), "complex128"),
        ("engine-wide-dcr-r2", (1, 4, 1, 2), (False, False, "DCR", 2), "int16"),
        ("engine-wide-unshuffle-cl-f1x2", (2, 2, 2, 1), (True, True, "CRD", (1, 2)), "float64"),
    ]
    return [
        size_case(name, shape, options, "numpy_wide_elements", dtype, ("numpy",), target)
        for name, shape, options, dtype in specs
    ]


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
    cases = [
        case
        for chunking, route in routes.items()
        for case in _cycled_cases(
            f"dask-{chunking}", "dask", f"dask_{chunking}", 6, 2, chunking.replace("_", " "), route
        )
    ]
    # An axis of many misaligned chunks (22 of 3 rows): the rechunk warning shortens long chunk lists.
    options: tuple[bool, bool, Order, int] = (True, False, "CRD", 2)
    cases.append(
        size_case(
            "dask-many-chunks",
            (2, 1, 66, 4),
            options,
            "dask_misaligned_chunks",
            "uint8",
            ("dask",),
            "many misaligned chunks",
            route="dask:rechunked",
        )
    )
    return cases


def _sharded_cases() -> list[Case]:
    """JAX inputs sharded over the batch axis (not applicable where JAX sees one device)."""
    return _cycled_cases("jax-sharded", "jax", "jax_sharded", 8, 8, "sharded batch axis", "jax:sharded")


def slow_cases() -> list[Case]:
    """Return inputs of about a gigabyte (the ``slow`` profile), on the NumPy and torch fast paths."""
    shape = (64, 4, 1024, 1024)
    return [
        size_case(
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
