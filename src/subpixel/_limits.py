"""The fast paths' size thresholds and route tables, as data that imports no framework.

Every number at which a fast path changes its route, and every route it can record (see
:mod:`subpixel._routes`), is declared here once. The fast paths read them from this module;
the conformance matrix reads them from here too, to place its size cases on both sides of each
threshold and to know which routes a row must cover, without importing a framework. Importing
this module imports only the standard library.

Thresholds, by the route they separate:

* NumPy: below :data:`NUMPY_SMALL_BYTES`, NumPy's own three calls (``numpy:small``); from there,
  the copy engine of :mod:`subpixel._copy`.
* torch: below :data:`TORCH_SMALL_ELEMENTS`, PyTorch's op where the plan is its own; below
  :data:`TORCH_METHODS_ELEMENTS` that op or the three tensor methods (:data:`TORCH_METHODS_FIRST`
  says which); below :data:`TORCH_KERNEL_ELEMENTS` the methods; from there the copy engine.
  Where subpixel-kernels is installed, the copy engine starts at
  :data:`TORCH_COMPILED_ENGINE_ELEMENTS` instead. :data:`TORCH_SMALL_BYTES` is where the
  autograd Function and the NumPy-free route start; no input below it takes the copy engine.
* The copy engine: blocks of :data:`BLOCK_BYTES`, split over the thread pool from
  :data:`PARALLEL_BYTES`; the compiled kernels take innermost factors in :data:`COMPILED_LANES`
  and element sizes in :data:`COMPILED_ITEM_SIZES`; the torch path's results are NumPy's
  arrays (advised huge by NumPy from :data:`HUGE_PAGES_MIN_BYTES`) up to, not including,
  :data:`HUGE_PAGES_MAX_BYTES`, and PyTorch's tensors with no huge-page advice from there.
* JAX, Dask, TensorFlow, the Keras layers and the Array-API route take no size threshold: Dask
  chooses its route from the chunks alone.

:data:`THRESHOLDS` lists the size thresholds as records, for tools that walk them all.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BLOCK_BYTES",
    "COMPILED_BLOCK_BYTES",
    "COMPILED_ITEM_SIZES",
    "COMPILED_LANES",
    "ENGINE_ROUTES",
    "HUGE_PAGES_MAX_BYTES",
    "HUGE_PAGES_MIN_BYTES",
    "JOIN_LANES",
    "LANE_BYTES",
    "MAX_TAIL",
    "MIN_ROW",
    "NUMPY_SMALL_BYTES",
    "PARALLEL_BYTES",
    "ROUTES",
    "SPLIT_LANES",
    "THRESHOLDS",
    "TORCH_COMPILED_ENGINE_ELEMENTS",
    "TORCH_KERNEL_ELEMENTS",
    "TORCH_METHODS_ELEMENTS",
    "TORCH_METHODS_FIRST",
    "TORCH_SMALL_BYTES",
    "TORCH_SMALL_ELEMENTS",
    "Threshold",
    "routes",
]

# -- the NumPy fast path ------------------------------------------------------------------------

#: Below this many bytes the plain reshape/transpose/copy is fastest (no planning overhead).
NUMPY_SMALL_BYTES = 64 * 1024

# -- the torch fast path ------------------------------------------------------------------------

#: Below this many bytes a tensor takes PyTorch's own op or the three tensor methods.
TORCH_SMALL_BYTES = 64 * 1024
#: From this many elements (and :data:`TORCH_SMALL_BYTES`) the copy engine copies; below it the
#: three tensor methods or PyTorch's op do, inside the autograd Function when it records. The
#: engine costs about 40 us per call before it copies a byte (a result, two NumPy views, the
#: copy's set-up); measured here against PyTorch's op (load 1.8, factors 2 and 4, both
#: directions) it caught up at about 64 Ki elements for every element size: 64 KiB of uint8,
#: 128 KiB of int16, 256 KiB of float32 and 512 KiB of float64, where PyTorch's op was still 1.2x
#: to 1.5x faster than the engine at half those sizes for 4- and 8-byte elements.
TORCH_KERNEL_ELEMENTS = 64 * 1024
#: Below this many elements a tensor whose plan is PyTorch's own op takes that op (one
#: dispatcher call; the cheaper test than bytes on the tiny-input path).
TORCH_SMALL_ELEMENTS = 16 * 1024
#: Where subpixel-kernels is installed, the copy engine copies from this many elements (and
#: :data:`TORCH_SMALL_BYTES`) instead of :data:`TORCH_KERNEL_ELEMENTS`: the fewest elements that
#: make TORCH_SMALL_BYTES, so every tensor of TORCH_SMALL_BYTES or more that the kernel takes
#: goes to the engine. Its compiled copies cost about 5 us before they move a byte; measured here
#: (load 1.0, factors 2 to 4, both directions, the engine against PyTorch's op) at 64 KiB: 1.06x
#: to 1.5x on float64, 1.6x to 2.5x on float32, 2.8x to 4.4x on int16 and 8.7x to 12x on uint8.
#: Below 64 KiB PyTorch's op was the faster on 4- and 8-byte elements (0.4x to 0.9x at 8 KiB of
#: 1 Ki to 2 Ki elements).
TORCH_COMPILED_ENGINE_ELEMENTS = TORCH_SMALL_BYTES // 8
#: ``(element size, unshuffle)`` pairs for which the three tensor methods, not PyTorch's op,
#: copy from :data:`TORCH_SMALL_ELEMENTS` to :data:`TORCH_METHODS_ELEMENTS` elements. Measured at
#: 64 KiB: PyTorch's op took 213 to 241 us on uint8 where the methods took 65 to 135 us, and 61
#: to 64 us on an int16 unshuffle against 47 to 49 us; on an int16 shuffle (57 to 63 us against
#: 78 to 82 us) and on 4- and 8-byte elements the op was the faster.
TORCH_METHODS_FIRST = frozenset({(1, False), (1, True), (2, True)})
#: From this many elements up to :data:`TORCH_KERNEL_ELEMENTS`, the three tensor methods copy
#: every element size (where the copy engine does not): PyTorch's strided copy splits its work
#: over threads from 32 Ki elements, and its ``pixel_shuffle`` op was then the slower. Measured
#: here (2 threads, load average 1.7, fastest of 9 batches, factors 2 and 4), PyTorch's op time
#: over the methods': float32 at 32 Ki elements 1.5x to 1.9x, at 128 Ki 2.2x to 2.8x; float64 at
#: 32 Ki elements 1.6x to 2.0x; at 16 Ki elements 0.95x to 1.13x.
TORCH_METHODS_ELEMENTS = 32 * 1024

# -- the copy engine (NumPy arrays and CPU tensors) ----------------------------------------------

#: Destination bytes per block: a quarter of this machine's 1 MiB L2 per core leaves room for
#: the source rows and for the other thread's block when both cores share a cache.
BLOCK_BYTES = 256 * 1024
#: Copies of at least this many bytes are split over the worker threads.
PARALLEL_BYTES = 8 * 1024 * 1024
#: Destination bytes per block of the compiled kernels (they need no cache blocking: each row
#: streams; blocks only split the work over the threads).
COMPILED_BLOCK_BYTES = 1024 * 1024
#: Longest run of trailing destination elements copied slice by slice.
MAX_TAIL = 64
#: Shortest source-contiguous row worth a slice of its own.
MIN_ROW = 8
#: Widths (bytes) of the unsigned integers that the lanes kernels join and split.
LANE_BYTES = (2, 4, 8) if sys.byteorder == "little" else ()
#: ``(element bytes, lanes)`` that the lanes kernels take, per direction; the others (4 lanes,
#: 4-byte elements, and 2-byte elements when joining) measured as fast or faster with the
#: plain or blocked copy.
SPLIT_LANES = frozenset({(1, 2), (2, 2)})
JOIN_LANES = frozenset({(1, 2)})
#: Lane counts (the innermost factor) with a compiled kernel of their own; other copies keep the
#: NumPy engine (larger innermost factors are rare, and each lane count is one more compile).
COMPILED_LANES = (2, 3, 4, 5, 6, 7, 8)
#: Element sizes (bytes) the compiled kernels move, as unsigned integers of that size.
COMPILED_ITEM_SIZES = (1, 2, 4, 8)
#: NumPy advises huge pages (``madvise(MADV_HUGEPAGE)``) for its arrays from this size; the torch
#: path's results below :data:`HUGE_PAGES_MAX_BYTES` are NumPy's arrays, so they get it too.
HUGE_PAGES_MIN_BYTES = 4 * 1024 * 1024
#: The torch path's results of this size and more are allocated by PyTorch, with no huge-page
#: advice: finding that many huge pages stalled (a 1.2 GB result: 5.2 s advised, 2.6 s not).
HUGE_PAGES_MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Threshold:
    """One size at which a fast path changes what it does.

    ``name`` is the label the conformance size cases use; ``unit`` says whether ``value``
    counts bytes or elements; ``backends`` are the fast paths (route prefixes) it applies to;
    ``meaning`` says what changes there.
    """

    name: str
    value: int
    unit: Literal["bytes", "elements"]
    backends: tuple[str, ...]
    meaning: str


#: Every size threshold of the fast paths.
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold(
        "SMALL_BYTES", NUMPY_SMALL_BYTES, "bytes", ("numpy",), "numpy:small below, the copy engine from here"
    ),
    Threshold(
        "SMALL_BYTES",
        TORCH_SMALL_BYTES,
        "bytes",
        ("torch",),
        "from here: the autograd Function while autograd records, torch:numpy-free without NumPy",
    ),
    Threshold(
        "SMALL_ELEMENTS",
        TORCH_SMALL_ELEMENTS,
        "elements",
        ("torch",),
        "torch:native below for PyTorch's own plans (but from SMALL_BYTES with subpixel-kernels)",
    ),
    Threshold(
        "METHODS_ELEMENTS",
        TORCH_METHODS_ELEMENTS,
        "elements",
        ("torch",),
        "the three tensor methods from here for PyTorch's own plans (below KERNEL_ELEMENTS, where the "
        "copy engine does not copy)",
    ),
    Threshold(
        "KERNEL_ELEMENTS",
        TORCH_KERNEL_ELEMENTS,
        "elements",
        ("torch",),
        "torch:kernel (the copy engine) from here (from SMALL_BYTES with subpixel-kernels)",
    ),
    Threshold(
        "BLOCK_BYTES", BLOCK_BYTES, "bytes", ("numpy", "torch"), "the copy engine's blocks: one block below"
    ),
    Threshold(
        "PARALLEL_BYTES", PARALLEL_BYTES, "bytes", ("numpy", "torch"), "the copy engine's threads from here"
    ),
    Threshold(
        "COMPILED_BLOCK_BYTES",
        COMPILED_BLOCK_BYTES,
        "bytes",
        ("numpy", "torch"),
        "the compiled kernels' blocks of rows: one block below",
    ),
    Threshold(
        "HUGE_PAGES_MIN_BYTES",
        HUGE_PAGES_MIN_BYTES,
        "bytes",
        ("torch",),
        "the result's huge pages (NumPy's advice) from here",
    ),
    Threshold(
        "HUGE_PAGES_MAX_BYTES",
        HUGE_PAGES_MAX_BYTES,
        "bytes",
        ("torch",),
        "the result allocated by PyTorch, with no huge-page advice, from here",
    ),
)

# -- routes (see subpixel._routes) ---------------------------------------------------------------

#: The copy engine's routes, recorded as ``"<backend>:<route>"`` by the fast path that names its
#: backend (the NumPy path; the torch path records ``torch:kernel`` instead).
ENGINE_ROUTES: dict[str, str] = {
    "plain-copy": "no slicing needed: one np.copyto of the permuted view, on the calling thread",
    "blocked": "cache-blocked slice copies, one per index of the short trailing axes",
    "lanes-split": "unshuffle of 1- or 2-byte elements by 2: wide integers split with shifts",
    "lanes-join": "shuffle of 1-byte elements by 2: lanes joined into wide integers by shifts",
    "compiled-join": (
        "shuffle (or channels-last unshuffle) with 2 to 8 lanes, 1- to 8-byte elements: a compiled "
        "loop joins contiguous source rows into groups (subpixel-kernels installed)"
    ),
    "compiled-split": (
        "unshuffle (or channels-last shuffle) with 2 to 8 lanes, 1- to 8-byte elements: a compiled "
        "loop deals contiguous source runs out to the destination rows (subpixel-kernels installed)"
    ),
    "threaded": (
        "beside one of the copy engine's routes: its blocks split over the thread pool "
        f"(from {PARALLEL_BYTES} bytes, main thread only)"
    ),
}

#: Every route of every fast path, by backend (the prefix of its route names): name -> description.
ROUTES: dict[str, dict[str, str]] = {
    "numpy": {
        "numpy:small": f"under {NUMPY_SMALL_BYTES} bytes: NumPy's reshape, transpose and copy",
        **{f"numpy:{name}": text for name, text in ENGINE_ROUTES.items()},
        "numpy:array-api": "subclasses (masked arrays, matrices) and object arrays: the Array-API path",
    },
    "torch": {
        "torch:native": (
            "input whose plan is PyTorch's own op, below SMALL_ELEMENTS (below METHODS_ELEMENTS but for "
            "METHODS_FIRST), and below SMALL_BYTES where subpixel-kernels is installed: "
            "torch.pixel_shuffle/pixel_unshuffle"
        ),
        "torch:plain": (
            "the three tensor methods: inputs below KERNEL_ELEMENTS (SMALL_BYTES with "
            "subpixel-kernels), other devices, subclasses, functorch transforms, 16-byte and quantized "
            "elements"
        ),
        "torch:kernel": (
            "CPU tensor from KERNEL_ELEMENTS (from SMALL_BYTES with subpixel-kernels): "
            "the NumPy engine over views of the same bytes"
        ),
        "torch:copy-into": (
            "CPU tensor from KERNEL_ELEMENTS without the compiled kernels, 2- to 8-byte elements, "
            "channels-first plan and result: PyTorch's copy of the permuted view into a result NumPy "
            "allocates"
        ),
        "torch:kernel-autograd": (
            "CPU tensor from SMALL_BYTES while autograd records or a dual level is open: the copy "
            "(its own tag) inside an autograd Function whose backward is the inverse shuffle"
        ),
        "torch:kernel-forward-ad": "the autograd Function's jvp: shuffles a forward-mode tangent",
        "torch:numpy-free": "CPU tensor from SMALL_BYTES, NumPy not installed: the three tensor methods",
    },
    # While PyTorch traces (torch.jit.trace; torch.compile and torch.export record no route).
    "torch_traced": {
        "torch_traced:op": "the plan is PyTorch's own op: pixel_shuffle or pixel_unshuffle itself",
        "torch_traced:op-moved": (
            "a shuffle by (r, r) PyTorch's op gives behind moves: channels-last data transposed "
            "to channels first and back (and a channel gather for DCR where every size is an int)"
        ),
        "torch_traced:reshapes": "every other plan: reshapes and rank-4 transposes (rank 5 for volumes)",
    },
    "jax": {
        "jax:jit": "one jax.jit-compiled reshape, transpose, reshape per plan",
        "jax:sharded": "an input sharded over explicit mesh axes: each reshape is told its sharding",
    },
    "dask": {
        "dask:one-chunk": "an input of one chunk: one task",
        "dask:chunked": "several chunks that hold whole groups: one task per chunk, no rechunk",
        "dask:rechunked": "chunks that split a group: rechunked once, then one task per chunk",
    },
    "tensorflow": {
        "tensorflow:eager": "eager tensor or variable: tf.reshape, tf.transpose, tf.reshape run eagerly",
        "tensorflow:graph": "inside tf.function (plain or XLA) with every size known when tracing",
        "tensorflow:graph-dynamic": "inside tf.function with batch or spatial sizes known only at run time",
    },
    "keras": {
        "keras:ops": (
            "keras.ops reshape, transpose, reshape with every size known when called (on TensorFlow, "
            "channels-last rank 4 by (r, r): depth_to_space or space_to_depth, with one channel take for CRD)"
        ),
        "keras:ops-dynamic": (
            "keras.ops with batch or spatial sizes read by keras.ops.shape when it runs (on TensorFlow, "
            "channels-last rank 4 by (r, r): depth_to_space or space_to_depth, with one channel take for CRD)"
        ),
    },
    "array_api": {
        "array_api:generic": "the Array-API reshape, permute_dims, reshape of subpixel._shuffle",
    },
}


def routes(backend: str) -> dict[str, str]:
    """Return the routes of one backend (a fresh copy), or an empty mapping for an unknown one.

    Parameters
    ----------
    backend : str
        The prefix of the route names, such as ``"numpy"`` or ``"array_api"``.

    Returns
    -------
    dict of str to str
        Route name (``"numpy:blocked"``) to a one-line description.
    """
    return dict(ROUTES.get(backend, {}))
