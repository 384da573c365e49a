"""Random calls at volume, one backend row at a time, checked against the index formula.

Each call draws a shape, a factor (an int, a tuple of 1 to 3 equal or unequal factors, 1 among
them), the options (``inverse``, ``channels_last``, ``order``), a dtype (floats seeded with NaN
payloads, -0.0, infinities and subnormals; ints; bool) and a kind of input (C, Fortran or
neither order, views with negative or non-unit strides, offsets, broadcast and unaligned arrays,
torch memory formats, Dask chunkings), at a size in one of the size classes of
:data:`subpixel._limits.THRESHOLDS` (at least a tenth of the calls above the copy engine's
threshold). A few calls in a hundred are invalid and must raise ``TypeError`` or ``ValueError``
naming the argument at fault.

Every valid result is compared, as ``uint8`` bytes, with the gather of :mod:`tests.reference`
(the index formula, not ``subpixel`` and not torch); every call also checks that its input's
buffer kept its bytes and that the result shares no memory with it. The torch row also runs the
backward pass (autograd) and forward mode (dual tensors, ``torch.func.jvp``) and checks the
gradients and tangents against the formula too.

    python conformance/fuzz.py --backends numpy,torch --calls 1000000 --seed 1 \\
        --out conformance/reports/fuzz.md

Rows: numpy, array_api_strict, torch, jax (eager), jax.jit, dask, tensorflow (eager),
tensorflow.function. JAX compiles a program per shape even eagerly, so its rows, like
``tf.function``, draw their calls from a bounded set of shapes (the report gives the number of
shapes and of compilations). Call ``i`` of seed ``S`` is drawn from ``(S, i)`` alone:
``--replay i`` runs that call again and prints it. Each row writes its entry into ``--out``
(and the JSON beside it) every 50,000 calls and at the end, keeping the other rows' entries.

Exit status: 0 when every call agreed, 1 on any mismatch, 2 on a usage error, 143 when stopped
by SIGTERM (the report then holds the calls finished, marked *stopped*).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import ctypes
import dataclasses
import datetime
import functools
import gc
import hashlib
import json
import math
import os
import platform
import random
import re
import resource
import signal
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The driver's own digest, in the report: a replay needs the same draws.
DRIVER_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]

ROWS = ("numpy", "array_api_strict", "torch", "jax", "jax.jit", "dask", "tensorflow", "tensorflow.function")
#: The rows that compile a program per shape, whose calls come from a bounded set of shapes.
COMPILING = {"jax": 1024, "jax.jit": 64, "tensorflow.function": 64}
#: Rows whose valid calls come, this share of the time, from a fixed set of FIXED_SET calls.
FIXED_SHARE = {"tensorflow": 0.1}
FIXED_SET = 128
INTS = ("bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
FLOATS = ("float16", "float32", "float64", "complex64", "complex128")
DTYPES: dict[str, tuple[str, ...]] = {
    "torch": (*INTS, "bfloat16", *FLOATS),
    "array_api_strict": tuple(d for d in (*INTS, *FLOATS) if d != "float16"),  # not in the standard
}
#: Every LARGE_EVERY-th call is drawn above the copy engine's threshold (an eighth: at least a
#: tenth of the valid calls after the invalid ones); MID_SHARE of the others between the small
#: inputs and that threshold. Shares of invalid calls follow.
LARGE_EVERY = 8
MID_SHARE = 0.1
INVALID_SHARE = {"jax": 0.01, "jax.jit": 0.01, "tensorflow.function": 0.01}
INVALID_DEFAULT = 0.03
#: Largest input drawn: past every threshold of the copy engine but the huge-page ceiling (256 MiB),
#: which one call in a million could not reach on a shared machine.
MAX_BYTES = 12 * 1024 * 1024
#: Reproducers printed and kept per row (every failure is counted, by kind).
MAX_FAILURE_LINES = 200
#: Exit status of a run stopped by SIGTERM without a mismatch (128 + the signal's number).
STOPPED = 128 + signal.SIGTERM
#: Rows checkpoint their report entry this often.
CHECKPOINT = 50_000
#: Resident memory is sampled this often; the first WARM_UP of the run is warm-up.
SAMPLE_EVERY = 1_000
WARM_UP = 0.2
#: The input buffer's bytes are compared before and after every call up to this size, and on one
#: call in LARGE_CHECK_EVERY above it.
FULL_CHECK_BYTES = 256 * 1024
LARGE_CHECK_EVERY = 4
#: Bytes of cached oracle index arrays, and keys remembered to find the repeated ones: small, so
#: that the caches are full within the warm-up and the memory measured after it is the library's.
INDEX_CACHE_BYTES = 16 * 1024 * 1024
SEEN_KEYS = 20_000
#: Chunks of one Dask input at most. Drawn freely, the number of chunks is heavy-tailed (tens of
#: thousands on a few calls in 100,000), and each record-sized graph leaves the allocators' high
#: water mark higher (freed, not held: see docs/conformance.md), so resident memory would step
#: up long after the warm-up. Below this bound every size of graph recurs within the warm-up.
MAX_CHUNKS = 4096

BAD_FACTORS: tuple[Any, ...] = (0, -1, -2, 2.0, True, "2", None, (), (2, 0), (2.5, 2), (2, -1), [2, "2"], 1.5)
BAD_CHANNELS_LAST: tuple[Any, ...] = (None, 1, 0, "yes", 1.0, "True")
BAD_ORDERS: tuple[Any, ...] = ("crd", "dcr", "", None, "RCD", b"CRD", 0, ("DCR",))
NOT_ARRAYS: tuple[Any, ...] = (None, 3, 2.5, "abc", b"xy", [[1, 2]], (1, 2), object())


class UsageError(Exception):
    """A mistake on the command line (exit status 2)."""


class MismatchError(Exception):
    """A call whose result, error, gradient or input differs from what the formula demands."""


# -- the oracle ----------------------------------------------------------------------------------


class Oracle:
    """The index formula of :mod:`tests.reference`, with index arrays kept for shapes that repeat.

    A key (shape, factors, options) met for the first time is answered by
    :func:`tests.reference.reference` on the values themselves. From its second time on, the
    reference's gather of the input's flat positions (``arange``) is kept as an index array, and
    the expected result is one ``take`` of the values by it (least recently used arrays leave
    first, past ``cache_bytes``). Either way the positions come from the formula alone. With
    ``cache_bytes=0`` every call is answered on the values themselves and nothing is kept.
    """

    def __init__(self, cache_bytes: int = INDEX_CACHE_BYTES) -> None:
        from tests import reference

        self.reference = reference
        self.cache_bytes = cache_bytes
        self.cache: collections.OrderedDict[tuple[Any, ...], np.ndarray] = collections.OrderedDict()
        self.seen: collections.OrderedDict[tuple[Any, ...], None] = collections.OrderedDict()
        self.bytes = 0

    def _index(self, key: tuple[Any, ...]) -> np.ndarray:
        shape, factors, inverse, last, order = key
        size = math.prod(shape)
        positions = np.arange(size, dtype=np.int32 if size < 2**31 else np.int64).reshape(shape)
        flat: np.ndarray = self.reference.reference(
            positions, factors, inverse=inverse, channels_last=last, order=order
        )
        self.cache[key] = flat
        self.bytes += flat.nbytes
        while self.bytes > self.cache_bytes and len(self.cache) > 1:
            _, old = self.cache.popitem(last=False)
            self.bytes -= old.nbytes
        return flat

    def expected(
        self, values: np.ndarray, factors: tuple[int, ...], inverse: bool, last: bool, order: str
    ) -> np.ndarray:
        """The result the definition gives for ``values``."""
        if not self.cache_bytes:
            return self.reference.reference(values, factors, inverse=inverse, channels_last=last, order=order)
        key = (values.shape, factors, inverse, last, order)
        flat = self.cache.get(key)
        if flat is not None:
            self.cache.move_to_end(key)
        elif key in self.seen and values.size:
            flat = self._index(key)
        else:
            self.seen[key] = None
            if len(self.seen) > SEEN_KEYS:
                self.seen.popitem(last=False)
            return self.reference.reference(values, factors, inverse=inverse, channels_last=last, order=order)
        taken: np.ndarray = np.ascontiguousarray(values).reshape(-1).take(flat)
        return taken


# -- inputs ----------------------------------------------------------------------------------------


class Pool:
    """Random bytes drawn once per run, with the float dtypes' special bit patterns mixed in.

    An input's values are a slice of the pool at a random element offset: no random numbers are
    drawn per call. Float pools hold one special pattern (:func:`tests.values.special_bits`: NaN
    payloads, signed zeros, infinities, subnormals, the largest finite) in every 8 elements, at
    random positions.
    """

    def __init__(self, seed: int, size: int) -> None:
        from tests.values import special_bits

        rng = np.random.default_rng(seed)
        self.raw = np.frombuffer(rng.bytes(size), dtype=np.uint8).copy()
        self.raw.flags.writeable = False
        self.views: dict[str, np.ndarray] = {}
        for name in (*INTS, *FLOATS, "bfloat16"):
            if name == "bool":
                view = (self.raw & 1).astype(np.bool_)
            elif name == "bfloat16":  # carried as int16, with float32's specials' upper halves
                view = self.raw.view(np.int16).copy()
                specials = special_bits(np.float32).view(np.int16)[1::2]
                spots = rng.integers(0, view.size, size=view.size // 8)
                view[spots] = specials[rng.integers(0, specials.size, size=spots.size)]
            elif name in FLOATS:
                part = np.dtype(f"f{np.dtype(name).itemsize // (2 if name.startswith('complex') else 1)}")
                floats = self.raw.view(part).copy()
                specials = special_bits(part)
                spots = rng.integers(0, floats.size, size=floats.size // 8)
                floats[spots] = specials[rng.integers(0, specials.size, size=spots.size)]
                view = floats.view(name)
            else:
                view = self.raw.view(name)
            view.flags.writeable = False
            self.views[name] = view

    def values(self, dtype: str, shape: tuple[int, ...], r: random.Random) -> np.ndarray:
        """Read-only C-ordered values of ``shape`` (the pool's bytes from a random offset)."""
        view = self.views[dtype]
        count = math.prod(shape)
        if count > view.size:
            raise ValueError(f"an input of {count} {dtype} elements is larger than the pool")
        start = r.randrange(max(1, view.size - count))
        return view[start : start + count].reshape(shape)


def numpy_dtype(dtype: str) -> np.dtype[Any]:
    """The NumPy dtype that holds ``dtype``'s bits (bfloat16 in int16)."""
    return np.dtype("int16" if dtype == "bfloat16" else dtype)


@dataclasses.dataclass
class Laid:
    """An input: ``array`` passed to the library, the NumPy ``buffer`` behind it (None where the
    library copies), and the kind of input, in words."""

    array: Any
    buffer: np.ndarray | None
    kind: str


def strided(
    values: np.ndarray, r: random.Random, *, negative: bool, formats: bool
) -> tuple[np.ndarray, np.ndarray, str]:
    """``values`` copied into a view of a fresh buffer: ``(view, buffer, kind)``.

    The view's memory order is C, Fortran or neither (a random axis permutation; for 4-D and 5-D
    inputs also channels-last, torch's memory format), one axis may step by 2 or backwards
    (``negative``), and the view may start some elements into its buffer.
    """
    n = values.ndim
    u = r.random()
    if n < 2 or u < 0.4:
        perm, kind = list(range(n)), "C"
    elif u < 0.6:
        perm, kind = list(range(n))[::-1], "F"
    elif formats and n in (4, 5) and u < 0.75:
        perm, kind = [0, *range(2, n), 1], "channels-last-format"
    else:
        perm = list(range(n))
        r.shuffle(perm)
        kind = "C" if perm == sorted(perm) else "permuted"
    steps = [1] * n
    if n and r.random() < 0.4:
        axis = r.randrange(n)
        choices = (2, -1, -2, 3) if negative else (2, 3)
        steps[axis] = r.choice(choices)
        kind += f" step{steps[axis]:+d}@{axis}"
    offset = r.choice((0, 0, 1, 3))
    if offset:
        kind += f" offset{offset}"
    big = [values.shape[a] * abs(steps[a]) for a in range(n)]
    buffer = np.empty(offset + math.prod(big), dtype=values.dtype)
    buffer[:offset] = 0
    body = buffer[offset:].reshape([big[p] for p in perm]).transpose(np.argsort(perm))
    view = body[tuple(slice(None, None, s) for s in steps)]
    if any(abs(s) > 1 for s in steps):  # fill the gaps the view skips with known bytes
        body[...] = 0
    view[...] = values
    return view, buffer, kind


def numpy_input(values: np.ndarray, r: random.Random, *, big_endian: bool = True) -> Laid:
    """A NumPy array holding ``values``: strided views, broadcast, read-only, unaligned, big-endian."""
    u = r.random()
    if values.ndim and u < 0.04:  # a zero stride: one axis broadcast
        axis = r.randrange(values.ndim)
        small = np.ascontiguousarray(values.take([0] if values.shape[axis] else [], axis=axis))
        return Laid(np.broadcast_to(small, values.shape), small, f"broadcast@{axis}")
    if u < 0.07 and values.dtype.itemsize > 1:
        raw = np.empty(values.nbytes + 1, dtype=np.uint8)
        view = raw[1:].view(values.dtype).reshape(values.shape)
        view[...] = values
        return Laid(view, raw, "unaligned")
    if u < 0.09 and values.dtype.itemsize > 1 and big_endian:
        swapped = values.astype(values.dtype.newbyteorder(">"))
        return Laid(swapped, swapped, "big-endian")
    view, buffer, kind = strided(values, r, negative=True, formats=False)
    if r.random() < 0.05:
        view.flags.writeable = False
        kind += " read-only"
    return Laid(view, buffer, kind)


def broadcast_values(values: np.ndarray, laid: Laid) -> np.ndarray:
    """The values a broadcast input holds (its first slice, repeated)."""
    if laid.kind.startswith(("broadcast", "expanded")):
        return np.ascontiguousarray(laid.array)
    return values


# -- one call ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Call:
    """What call ``index`` of a run does (drawn from the seed and the index alone)."""

    index: int
    shape: tuple[int, ...]
    dtype: str
    factor: Any
    factors: tuple[int, ...]
    inverse: bool
    channels_last: Any
    order: Any
    invalid: str = ""  # which argument was spoiled, for an invalid call
    mode: str = "eager"
    not_array: Any = None
    fixed: bool = False  # drawn from a fixed set of calls (see Runner.draw)

    def describe(self) -> str:
        what = "pixel_unshuffle" if self.inverse else "pixel_shuffle"
        x = f"x{self.shape} {self.dtype}" if self.invalid != "x" else repr(self.not_array)
        extra = f" invalid={self.invalid}" if self.invalid else ""
        return (
            f"{what}({x}, {self.factor!r}, channels_last={self.channels_last!r}, order={self.order!r})"
            f" mode={self.mode}{extra}"
        )


@functools.cache
def thresholds(row: str, dtype: str) -> tuple[tuple[int, ...], int]:
    """The row's size thresholds in bytes for ``dtype``, and its copy engine's threshold."""
    from subpixel import _limits

    item = numpy_dtype(dtype).itemsize
    backend = "torch" if row == "torch" else "numpy"
    found = set()
    for t in _limits.THRESHOLDS:
        if backend in t.backends or row not in ("numpy", "torch"):
            value = t.value * (item if t.unit == "elements" else 1)
            if value <= MAX_BYTES:
                found.add(value)
    if row == "torch":
        engine = max(_limits.TORCH_SMALL_BYTES, _limits.TORCH_KERNEL_ELEMENTS * item)
    else:
        engine = _limits.NUMPY_SMALL_BYTES
    return tuple(sorted(found)), engine


def draw_call(row: str, seed: int, index: int) -> tuple[Call, random.Random]:
    """Call ``index`` of ``seed``, and the generator that lays out its input."""
    r = random.Random((seed << 40) | index)
    dtype = r.choice(DTYPES.get(row, (*INTS, *FLOATS)))
    item = numpy_dtype(dtype).itemsize
    inverse = r.random() < 0.5
    last = r.random() < 0.5
    order = r.choice(("CRD", "DCR"))
    factor: Any
    if r.random() < 0.35:
        f = r.choice((1, 2, 2, 3, 4))
        factors: tuple[int, ...] = (f, f)
        factor = np.int64(f) if r.random() < 0.1 else f
    else:
        factors = tuple(r.choice((1, 2, 2, 3, 4)) for _ in range(r.choice((1, 2, 2, 3))))
        factor = list(factors) if r.random() < 0.1 else factors
    k, big_f = len(factors), math.prod(factors)
    batch = [r.randint(1, 3) for _ in range(r.choice((0, 0, 1, 1, 2)))]
    channels = r.randint(1, 3)
    size_class = (
        "large" if index % LARGE_EVERY == LARGE_EVERY - 1 else "mid" if r.random() < MID_SHARE else "small"
    )
    if size_class == "small":
        small = [r.randint(1, 6) for _ in range(k)]
        if r.random() < 0.01:  # a zero-size input
            which = r.randrange(len(batch) + 1 + k)
            if which < len(batch):
                batch[which] = 0
            elif which == len(batch):
                channels = 0
            else:
                small[which - len(batch) - 1] = 0
    else:
        limits, engine = thresholds(row, dtype)
        if size_class == "mid":  # below the engine, up to it
            below = [t for t in limits if t <= engine] or [engine]
            target = r.choice(below) * r.uniform(0.5, 1.0)
        else:  # above the engine: each higher threshold, from either side, rarer as it grows
            above = [t for t in limits if t >= engine] or [engine]
            weights = [engine / t for t in above]
            t = r.choices(above, weights)[0]
            low = 0.7 if t * 0.7 >= engine else 1.0
            target = t * r.uniform(low, 1.4)
        elements = max(1, int(target) // item)
        fixed = math.prod(batch) * channels * big_f
        side = max(1.0, elements / fixed) ** (1 / k)
        small = [max(1, round(side * r.uniform(0.6, 1.6))) for _ in range(k - 1)]
        small.append(max(1, elements // (fixed * math.prod(small))))
    spatial = [s * f for s, f in zip(small, factors, strict=True)] if inverse else small
    c = channels if inverse else channels * big_f
    shape = (*batch, *spatial, c) if last else (*batch, c, *spatial)
    call = Call(index, tuple(shape), dtype, factor, factors, inverse, last, order)
    if r.random() < INVALID_SHARE.get(row, INVALID_DEFAULT):
        spoil(call, r)
    return call, r


def spoil(call: Call, r: random.Random) -> None:
    """Make ``call`` invalid in one argument."""
    what = r.choice(("factor", "channels_last", "order", "shape", "ndim", "x"))
    call.invalid = what
    if what == "factor":
        call.factor = r.choice(BAD_FACTORS)
    elif what == "channels_last":
        call.channels_last = r.choice(BAD_CHANNELS_LAST)
    elif what == "order":
        call.order = r.choice(BAD_ORDERS)
    elif what == "x":
        call.not_array = r.choice(NOT_ARRAYS)
    elif what == "ndim":
        call.shape = call.shape[-len(call.factors) :]
    else:  # one size that does not divide
        shape = list(call.shape)
        k = len(call.factors)
        n = len(shape)
        if call.inverse:
            axes = list(range(n - k - 1, n - 1)) if call.channels_last else list(range(n - k, n))
            spots = [(a, f) for a, f in zip(axes, call.factors, strict=True) if f > 1]
        else:
            spots = [(n - 1 if call.channels_last else n - k - 1, math.prod(call.factors))]
            spots = [(a, f) for a, f in spots if f > 1]
        if not spots:
            call.invalid = "ndim"
            call.shape = call.shape[-k:]
            return
        axis, _ = r.choice(spots)
        shape[axis] += 1
        call.shape = tuple(shape)


# -- rows --------------------------------------------------------------------------------------------


class Row:
    """How one backend row lays out inputs, calls and reads results back."""

    name = "numpy"
    #: Bytes of the oracle's cache of index arrays on this row (see :class:`Oracle`).
    index_cache_bytes = INDEX_CACHE_BYTES

    def __init__(self) -> None:
        import subpixel

        self.subpixel = subpixel
        self.compiles = 0
        self.shapes: set[tuple[Any, ...]] = set()

    def function(self, call: Call) -> Callable[..., Any]:
        return self.subpixel.pixel_unshuffle if call.inverse else self.subpixel.pixel_shuffle

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        return numpy_input(values, r)

    def run(
        self, call: Call, laid: Laid, oracle: Oracle, values: np.ndarray, pool: Pool, r: random.Random
    ) -> Any:
        """Make the call; return the result as NumPy (``values``: the input's C-ordered values)."""
        del oracle, values, pool, r
        return self.function(call)(
            laid.array, call.factor, channels_last=call.channels_last, order=call.order
        )

    def to_numpy(self, result: Any) -> np.ndarray:
        return np.asarray(result)

    def same_family(self, result: Any, x: Any) -> bool:
        return type(result) is np.ndarray

    def shares(self, result: Any, laid: Laid) -> bool:
        return (
            laid.buffer is not None
            and bool(np.may_share_memory(result, laid.buffer))
            and bool(np.shares_memory(result, laid.buffer))
        )

    def call_bounded(self, call: Call) -> Call:
        return call


class ArrayApiStrictRow(Row):
    name = "array_api_strict"

    def __init__(self) -> None:
        super().__init__()
        import array_api_strict

        self.xp = array_api_strict

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        laid = numpy_input(values, r, big_endian=False)  # the standard has no byte orders
        return Laid(self.xp.asarray(laid.array), laid.buffer, laid.kind)

    def to_numpy(self, result: Any) -> np.ndarray:
        return np.from_dlpack(result)

    def same_family(self, result: Any, x: Any) -> bool:
        return type(result) is type(x)

    def shares(self, result: Any, laid: Laid) -> bool:
        return result is laid.array


class TorchRow(Row):
    """Eager calls, and on float dtypes the backward pass and forward mode (dual tensors, jvp)."""

    name = "torch"

    def __init__(self) -> None:
        super().__init__()
        import torch
        import torch.autograd.forward_ad as forward_ad

        self.torch = torch
        self.forward_ad: Any = forward_ad
        # PyTorch's first dual tensor scripts its forward-AD decompositions, which warns (torch 2.13).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
            with forward_ad.dual_level():
                self.forward_ad.make_dual(torch.zeros(1), torch.zeros(1))

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        torch = self.torch
        # expand: a zero stride (not in forward mode: torch's make_dual refuses overlapping primals)
        if values.ndim and r.random() < 0.04 and call.mode in ("eager", "autograd"):
            axis = r.randrange(values.ndim)
            small = np.ascontiguousarray(values.take([0] if values.shape[axis] else [], axis=axis))
            tensor = torch.from_numpy(small).expand(*values.shape)
            return Laid(tensor, small, f"expanded@{axis}")
        view, buffer, kind = strided(values, r, negative=False, formats=True)
        base = torch.from_numpy(buffer)
        item = buffer.itemsize
        offset = (view.__array_interface__["data"][0] - buffer.__array_interface__["data"][0]) // item
        tensor = base.as_strided(view.shape, [s // item for s in view.strides], offset)
        return Laid(tensor, buffer, kind)

    def run(
        self, call: Call, laid: Laid, oracle: Oracle, values: np.ndarray, pool: Pool, r: random.Random
    ) -> Any:
        torch = self.torch
        x = laid.array
        if call.dtype == "bfloat16":
            x = x.view(torch.bfloat16)
        options = {"channels_last": call.channels_last, "order": call.order}
        function = self.function(call)
        if call.invalid or call.mode == "eager":
            return function(x, call.factor, **options)
        opts = (call.inverse, call.channels_last, call.order)
        out_shape = oracle.reference.output_shape(
            x.shape, call.factors, inverse=call.inverse, channels_last=call.channels_last
        )
        seed_values = pool.values(call.dtype, tuple(out_shape if call.mode == "autograd" else x.shape), r)
        other = torch.from_numpy(seed_values.copy())
        if call.dtype == "bfloat16":
            other = other.view(torch.bfloat16)
        if call.mode == "autograd":
            leaf = x.detach().requires_grad_(True)
            result = function(leaf, call.factor, **options)
            result.backward(other)
            grad = self.to_numpy(leaf.grad)
            want = oracle.expected(seed_values, call.factors, not opts[0], opts[1], opts[2])
            check_bytes(grad, want, "the gradient")
            return result.detach()
        if call.mode == "forward-ad":
            with self.forward_ad.dual_level():
                dual = self.forward_ad.make_dual(x, other)
                result = function(dual, call.factor, **options)
                primal, tangent = self.forward_ad.unpack_dual(result)
        else:  # torch.func.jvp
            primal, tangent = torch.func.jvp(lambda t: function(t, call.factor, **options), (x,), (other,))
        if tangent is None:
            raise MismatchError("the result carries no tangent")
        want = oracle.expected(seed_values, call.factors, *opts)
        check_bytes(self.to_numpy(tangent), want, "the tangent")
        return primal

    def to_numpy(self, result: Any) -> np.ndarray:
        torch = self.torch
        if result.dtype == torch.bfloat16:
            result = result.view(torch.int16)
        return result.detach().resolve_conj().numpy()  # type: ignore[no-any-return]

    def same_family(self, result: Any, x: Any) -> bool:
        return isinstance(result, self.torch.Tensor)

    def shares(self, result: Any, laid: Laid) -> bool:
        return (
            laid.buffer is not None
            and bool(np.may_share_memory(result, laid.buffer))
            and bool(np.shares_memory(result, laid.buffer))
        )


class JaxRow(Row):
    name = "jax"

    def __init__(self) -> None:
        super().__init__()
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self.jax = jax
        self.jnp = jnp

        def count(event: str, *args: Any, **kwargs: Any) -> None:
            if "backend_compile" in event:
                self.compiles += 1

        jax.monitoring.register_event_duration_secs_listener(count)

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        return Laid(self.jnp.asarray(values), None, "jax array")

    def same_family(self, result: Any, x: Any) -> bool:
        return isinstance(result, self.jax.Array)

    def shares(self, result: Any, laid: Laid) -> bool:
        return result is laid.array


class JaxJitRow(JaxRow):
    """Each call inside ``jax.jit`` of a function of the input (one per shape, dtype and options)."""

    name = "jax.jit"

    def __init__(self) -> None:
        super().__init__()
        self.jitted: dict[tuple[Any, ...], Callable[[Any], Any]] = {}

    def run(
        self, call: Call, laid: Laid, oracle: Oracle, values: np.ndarray, pool: Pool, r: random.Random
    ) -> Any:
        key = (
            call.shape,
            call.dtype,
            repr(call.factor),
            call.inverse,
            repr(call.channels_last),
            repr(call.order),
        )
        jitted = self.jitted.get(key)
        if jitted is None:
            function = self.function(call)
            jitted = self.jax.jit(
                lambda t: function(t, call.factor, channels_last=call.channels_last, order=call.order)
            )
            self.jitted[key] = jitted
        return jitted(laid.array)


class DaskRow(Row):
    """One chunk, or random chunks (:data:`MAX_CHUNKS` at most) that keep or split channel groups."""

    name = "dask"
    #: No index arrays kept: random chunkings make the same key rare (the cache was still filling
    #: at 240,000 calls, past the warm-up, and its entries' heap beyond their bytes read as
    #: growth), and graph building, not the oracle, sets this row's pace.
    index_cache_bytes = 0

    def __init__(self) -> None:
        super().__init__()
        import dask
        import dask.array as da

        self.da = da
        dask.config.set(scheduler="synchronous")

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        if r.random() < 0.4 or not values.size:
            return Laid(self.da.from_array(values, chunks=-1), values, "one chunk")
        chunks = [r.randint(1, n) if r.random() < 0.5 else n for n in values.shape]
        blocks = [-(-n // c) for n, c in zip(values.shape, chunks, strict=True)]
        while math.prod(blocks) > MAX_CHUNKS:  # coarsen the most divided axis
            axis = blocks.index(max(blocks))
            chunks[axis] = min(values.shape[axis], 2 * chunks[axis])
            blocks[axis] = -(-values.shape[axis] // chunks[axis])
        return Laid(self.da.from_array(values, chunks=tuple(chunks)), values, "chunked")

    def run(
        self, call: Call, laid: Laid, oracle: Oracle, values: np.ndarray, pool: Pool, r: random.Random
    ) -> Any:
        result = super().run(call, laid, oracle, values, pool, r)
        if not isinstance(result, self.da.Array):
            raise MismatchError(f"a {type(result).__name__}, not a Dask array")
        return result.compute()


class TensorFlowRow(Row):
    name = "tensorflow"

    def __init__(self) -> None:
        super().__init__()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # retracing notes: the bounded shapes retrace on purpose
        self.tf = tf

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        if call.fixed:  # the fixed calls' shapes: TensorFlow keeps state per shape of Variable made
            return Laid(self.tf.Variable(values), None, "variable")
        return Laid(self.tf.constant(values), None, "tensor")

    def to_numpy(self, result: Any) -> np.ndarray:
        return result.numpy()  # type: ignore[no-any-return]

    def same_family(self, result: Any, x: Any) -> bool:
        return isinstance(result, self.tf.Tensor)

    def shares(self, result: Any, laid: Laid) -> bool:
        return result is laid.array


class TensorFlowFunctionRow(TensorFlowRow):
    """Each call inside a ``tf.function`` per shape: static sizes, or (one in four) sizes known only
    at run time."""

    name = "tensorflow.function"

    def __init__(self) -> None:
        super().__init__()
        self.functions: dict[tuple[Any, ...], Any] = {}

    def lay_out(self, values: np.ndarray, r: random.Random, call: Call) -> Laid:
        return Laid(self.tf.constant(values), None, "tensor")

    def run(
        self, call: Call, laid: Laid, oracle: Oracle, values: np.ndarray, pool: Pool, r: random.Random
    ) -> Any:
        tf = self.tf
        key = (
            call.shape,
            call.dtype,
            repr(call.factor),
            call.inverse,
            repr(call.channels_last),
            repr(call.order),
        )
        compiled = self.functions.get(key)
        if compiled is None:
            function = self.function(call)
            dynamic = r.random() < 0.25 and not call.invalid

            def traced(t: Any) -> Any:
                self.compiles += 1
                return function(t, call.factor, channels_last=call.channels_last, order=call.order)

            signature = [tf.TensorSpec([None] * len(call.shape), laid.array.dtype)] if dynamic else None
            compiled = tf.function(traced, input_signature=signature)
            self.functions[key] = compiled
        return compiled(laid.array)


ROW_TYPES: dict[str, type[Row]] = {
    "numpy": Row,
    "array_api_strict": ArrayApiStrictRow,
    "torch": TorchRow,
    "jax": JaxRow,
    "jax.jit": JaxJitRow,
    "dask": DaskRow,
    "tensorflow": TensorFlowRow,
    "tensorflow.function": TensorFlowFunctionRow,
}
ROW_MODULES = {
    "array_api_strict": "array_api_strict",
    "torch": "torch",
    "jax": "jax",
    "jax.jit": "jax",
    "dask": "dask.array",
    "tensorflow": "tensorflow",
    "tensorflow.function": "tensorflow",
}


# -- checking ----------------------------------------------------------------------------------------


def check_bytes(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Same shape, dtype (byte order included) and bytes, NaN payloads and signs of zero too."""
    if got.shape != want.shape:
        raise MismatchError(f"{what} has shape {got.shape}, the formula {want.shape}")
    if got.dtype != want.dtype:
        raise MismatchError(f"{what} has dtype {got.dtype.str}, the formula {want.dtype.str}")
    a = np.ascontiguousarray(got).reshape(-1).view(np.uint8)
    b = np.ascontiguousarray(want).reshape(-1).view(np.uint8)
    if not np.array_equal(a, b):
        item = max(1, want.dtype.itemsize)
        differ = (a.reshape(-1, item) != b.reshape(-1, item)).any(axis=1)
        first = int(np.flatnonzero(differ)[0])
        where = tuple(int(i) for i in np.unravel_index(first, want.shape))
        raise MismatchError(
            f"{what}: {int(differ.sum())} of {want.size} elements differ, first at {where}: "
            f"{a[first * item : (first + 1) * item].tobytes().hex()} instead of "
            f"{b[first * item : (first + 1) * item].tobytes().hex()}"
        )


def modes(row: str, call: Call, r: random.Random) -> str:
    if row != "torch" or call.invalid or call.dtype in INTS:
        return "eager"
    return r.choice(("eager", "eager", "autograd", "forward-ad", "jvp"))


class Runner:
    """Draws, runs and checks the calls of one row, and keeps its statistics."""

    def __init__(
        self, row: str, seed: int, pool_bytes: int = 16 * 1024 * 1024, bounded: int | None = None
    ) -> None:
        self.row_name = row
        self.row = ROW_TYPES[row]()
        self.seed = seed
        self.oracle = Oracle(self.row.index_cache_bytes)
        self.pool = Pool(seed, pool_bytes)
        self.counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.engine_calls = 0
        self.failures: list[str] = []
        self.bounded: list[tuple[Call, int]] = []
        self.bounded_invalid: list[tuple[Call, int]] = []
        if row in COMPILING:
            self.bounded, self.bounded_invalid = self._bounded(bounded or COMPILING[row])
        #: Valid calls drawn, a tenth of the time, from a fixed set (TensorFlow's variables: TF keeps
        #: state for every shape of Variable it has made, so their shapes must repeat).
        self.fixed: list[tuple[Call, int]] = []
        if row in FIXED_SHARE and not self.bounded:
            self.fixed = self._bounded(FIXED_SET)[0]

    def _bounded(self, count: int) -> tuple[list[tuple[Call, int]], list[tuple[Call, int]]]:
        """A fixed set of calls (shape, dtype, factor and options) drawn from the seed, an eighth
        of them above the engine threshold, and a fixed set of invalid calls an eighth as large
        (a fresh invalid shape would compile, and stay cached, on every call)."""
        found: list[tuple[Call, int]] = []
        invalid: list[tuple[Call, int]] = []
        large = 0
        index = 0
        while len(found) < count or len(invalid) < max(1, count // 8):
            call, _ = draw_call(self.row_name, self.seed ^ 0x5EED, index)
            index += 1
            if call.invalid:
                if len(invalid) < max(1, count // 8):
                    invalid.append((call, index - 1))
                continue
            if len(found) >= count:
                continue
            nbytes = math.prod(call.shape) * numpy_dtype(call.dtype).itemsize
            big = nbytes >= thresholds(self.row_name, call.dtype)[1]
            if big and large >= count // 8:
                continue
            if not big and len(found) - large >= count - count // 8:
                continue
            large += big
            found.append((call, index - 1))
        return found, invalid

    def draw(self, index: int) -> tuple[Call, random.Random]:
        call, r = draw_call(self.row_name, self.seed, index)
        if self.bounded:
            fixed_set = self.bounded_invalid if call.invalid else self.bounded
            fixed = fixed_set[r.randrange(len(fixed_set))][0]
            call = dataclasses.replace(fixed, index=index)
        elif self.fixed and not call.invalid and r.random() < FIXED_SHARE[self.row_name]:
            fixed = self.fixed[r.randrange(len(self.fixed))][0]
            call = dataclasses.replace(fixed, index=index, fixed=True)
        call.mode = modes(self.row_name, call, r)
        return call, r

    def one(self, index: int) -> None:
        """Draw, run and check call ``index``; raise :class:`MismatchError` on any difference."""
        call, r = self.draw(index)
        dtype = numpy_dtype(call.dtype)
        values = self.pool.values(call.dtype, call.shape, r)
        laid = self.row.lay_out(values, r, call)
        values = broadcast_values(values, laid)
        if laid.buffer is not None and laid.buffer.dtype.byteorder == ">":
            values = laid.buffer
        nbytes = values.size * dtype.itemsize
        check_input = nbytes <= FULL_CHECK_BYTES or index % LARGE_CHECK_EVERY == 0
        before = laid.buffer.copy() if check_input and laid.buffer is not None else None
        x = call.not_array if call.invalid == "x" else laid.array
        judge, names = self.oracle.reference.judge, self.oracle.reference.names
        factor_name = "downscale_factor" if call.inverse else "upscale_factor"
        verdict = judge(
            None if call.invalid == "x" else call.shape,
            call.factor,
            inverse=call.inverse,
            channels_last=call.channels_last,
            order=call.order,
            factor_name=factor_name,
        )
        stats = self.counts
        stats["dtype"][call.dtype] += 1
        for tag in laid.kind.split(" "):
            stats["kind"][re.sub(r"@\d+$|(?<=offset)\d+$", "", tag)] += 1
        stats["mode"][call.mode] += 1
        limits, engine = thresholds(self.row_name, call.dtype)
        for t in limits:
            if t // 2 <= nbytes < t:
                stats["size"][f"{t}:below"] += 1
            elif t <= nbytes < 2 * t:
                stats["size"][f"{t}:above"] += 1
        if verdict.valid and nbytes >= engine:
            self.engine_calls += 1
        if bool(call.invalid) == verdict.valid and not verdict.either:
            stats["call"][
                "drawn invalid, valid by the rules" if verdict.valid else "drawn valid, invalid by the rules"
            ] += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", self.row.subpixel.ChunkingWarning)
                if call.invalid == "x":
                    result = self.row.function(call)(
                        x, call.factor, channels_last=call.channels_last, order=call.order
                    )
                else:
                    result = self.row.run(call, laid, self.oracle, values, self.pool, r)
        except (TypeError, ValueError) as error:
            if isinstance(error, MismatchError):
                raise
            if verdict.valid and not verdict.either:
                raise MismatchError(f"a valid call raised {type(error).__name__}: {error}") from error
            if not verdict.either and not any(names(str(error), a) for a in verdict.bad):
                raise MismatchError(
                    f"the error {str(error)!r} names none of {sorted(verdict.bad)}"
                ) from error
            stats["call"]["invalid, clean error"] += 1
            self._input_kept(laid, before)
            return
        if not (verdict.valid or verdict.either):
            raise MismatchError(f"an invalid call ({sorted(verdict.bad)}) returned a result")
        stats["call"]["valid"] += 1
        if result is laid.array:
            raise MismatchError("the result is the input object itself")
        if not self.row.same_family(result, laid.array):
            raise MismatchError(f"the result is a {type(result).__name__}")
        got = self.row.to_numpy(result)
        if self.row.shares(got, laid):
            raise MismatchError("the result shares memory with the input")
        check_bytes(
            got,
            self.oracle.expected(values, call.factors, call.inverse, call.channels_last, call.order),
            "the result",
        )
        self._input_kept(laid, before)
        if self.bounded:
            self.row.shapes.add((call.shape, call.dtype))

    @staticmethod
    def _input_kept(laid: Laid, before: np.ndarray | None) -> None:
        kept = (
            before is None or laid.buffer is None or np.array_equal(before.view("u1"), laid.buffer.view("u1"))
        )
        if not kept:
            raise MismatchError("the call modified its input's buffer")

    def reproducer(self, index: int, error: BaseException) -> str:
        call, _ = self.draw(index)
        return (
            f"MISMATCH row={self.row_name} seed={self.seed} call={index} {call.describe()}: "
            f"{type(error).__name__}: {error} | replay: python conformance/fuzz.py "
            f"--backends {self.row_name} --seed {self.seed} --replay {index}"
        )


def signature(error: BaseException) -> str:
    """The kind of a failure: its exception type and message with numbers and shapes left out."""
    text = re.sub(r"\(.*?\)|[0-9a-f]{4,}|\d+", "#", str(error))[:120]
    return f"{type(error).__name__}: {text}"


# -- memory ------------------------------------------------------------------------------------------


def _trimmer() -> Callable[[], object] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS, Windows)."""
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return functools.partial(trim, 0)


_TRIM = _trimmer()


def allocator_settings() -> dict[str, str]:
    """The allocator settings of this run's environment: ``PYTHONMALLOC`` and glibc's ``MALLOC_*``."""
    return {k: v for k, v in sorted(os.environ.items()) if k == "PYTHONMALLOC" or k.startswith("MALLOC_")}


def held_bytes() -> int:
    """Resident memory the process holds: collected garbage and glibc's free heap given back first.

    glibc keeps freed heap pages resident (its arenas grow to the high-water mark of the large
    inputs drawn and stay there), so without ``malloc_trim`` a run's resident memory reads as
    growth that no object holds. Where the C library has no ``malloc_trim`` the sample is the
    plain resident size.
    """
    gc.collect()
    if _TRIM is not None:
        _TRIM()
    return resident_bytes()


def resident_bytes() -> int:
    """Resident memory of this process, from /proc/self/statm (Linux) or psutil."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        return int(psutil.Process().memory_info().rss)


def peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def growth(samples: list[tuple[int, int]], calls: int) -> tuple[float, float] | None:
    """RSS growth after warm-up, in bytes per 100,000 calls, with its standard error.

    The samples leave out the oracle's own cache of index arrays, which fills up to
    :data:`INDEX_CACHE_BYTES` as shapes come back over the run (older rows count it in: their
    entries lack ``oracle_cache_left_out``).

    The least-squares slope of resident memory against the call number over every sample after
    the first :data:`WARM_UP` of the run: large inputs come and go, so single samples scatter by
    tens of MiB, and a slope over all of them says more than any two of them.
    """
    after = np.array([s for s in samples if s[0] >= WARM_UP * calls], dtype=np.float64)
    if len(after) < 20 or np.ptp(after[:, 0]) == 0:
        return None
    x, y = after[:, 0], after[:, 1]
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    error = np.sqrt((residual**2).sum() / (len(x) - 2) / ((x - x.mean()) ** 2).sum())
    return float(slope) * 100_000, float(error) * 100_000


# -- the report --------------------------------------------------------------------------------------


def load_report(path: Path) -> dict[str, Any]:
    json_path = path.with_suffix(".json")
    if json_path.is_file():
        loaded: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
        return loaded
    return {"rows": {}}


def mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:.1f} MiB"


def write_report(path: Path, entry: dict[str, Any]) -> None:
    """Put ``entry`` (one row) into the JSON beside ``path`` and render the Markdown from it."""
    data = load_report(path)
    data["rows"][entry["row"]] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    temporary.replace(path.with_suffix(".json"))
    path.write_text(render(data), encoding="utf-8")


def render(data: dict[str, Any]) -> str:
    rows = [data["rows"][name] for name in ROWS if name in data["rows"]]
    lines = [
        "# Random calls against the index formula",
        "",
        "Written by `python conformance/fuzz.py` (`nox -s fuzz`). Each call's result is compared byte for "
        "byte with the gather of the index formula (`tests/reference.py`); each call also checks that its "
        "input's buffer kept its bytes and that the result shares no memory with it; invalid calls must "
        "raise TypeError or ValueError naming the argument at fault. *calls* counts the calls made; a row "
        "still marked *running* or *stopped* did not reach the number asked for. Memory is *flat* when "
        "the least-squares slope of resident memory over the calls after the first fifth is under "
        "1 MiB per 100,000 calls. The driver's own cache of index arrays (up to 16 MiB, filled as "
        "shapes come back; none on the Dask row) is left out of the samples, and each sample is taken "
        "after a garbage collection and glibc's `malloc_trim` (freed heap that glibc keeps resident is "
        "not held by any object); each row's Memory line says how its samples were taken.",
        "",
        "| row | calls | asked | failures | wall time | CPU time | calls/s | above engine threshold "
        "| invalid calls | peak RSS | RSS growth per 100k calls after warm-up (slope ± error) | flat | seed "
        "| status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in rows:
        found = growth([(int(i), int(r)) for i, r in e.get("rss_samples", [])], e["calls"])
        g = None if found is None else found[0]
        flat = "n/a" if g is None else ("yes" if g < 2**20 else "NO")
        slope = "n/a" if found is None else f"{mib(found[0])} ± {found[1] / 2**20:.1f}"
        share = e["engine_calls"] / max(1, e["calls"])
        lines.append(
            f"| {e['row']} | {e['calls']:,} | {e['asked']:,} | {e['failures']} | {e['seconds'] / 60:.1f} min "
            f"| {e.get('cpu_seconds', 0) / 60:.1f} min "
            f"| {e['calls'] / max(e['seconds'], 1e-9):.0f} | {e['engine_calls']:,} ({share:.1%}) "
            f"| {e['counts'].get('call', {}).get('invalid, clean error', 0):,} | {mib(e['peak_rss'])} "
            f"| {slope} | {flat} | {e['seed']} | {e['status']} |"
        )
    for e in rows:
        lines += ["", f"## {e['row']}", ""]
        # Entries before allocator_settings name Python's allocator alone ("allocator").
        settings = e.get("allocator_settings") or (
            {} if e.get("allocator", "pymalloc") == "pymalloc" else {"PYTHONMALLOC": e["allocator"]}
        )
        lines.append(
            f"- Versions: {', '.join(dict.fromkeys(e['versions'].split(', ')))}; Python {e['python']}; "
            f"{e['machine']}; load average at the end "
            f"{e['load']}; started {e['started']}, `nice` {e['nice']}; Python's allocator "
            f"{settings.get('PYTHONMALLOC', 'pymalloc')}."
        )
        prefix = "".join(f"{name}={value} " for name, value in sorted(settings.items()))
        lines.append(f"- Command: `{prefix}{e['command']}` (driver file sha256 {e.get('driver', 'n/a')})")
        samples = e.get("rss_samples", [])
        if len(samples) > 1:
            every = samples[1][0] - samples[0][0]
            lines.append(
                f"- Memory: {len(samples)} samples of resident memory, one every {every:,} calls; from "
                f"{mib(min(r for _, r in samples))} to {mib(max(r for _, r in samples))}"
                + (
                    ", the driver keeping no index arrays on this row"
                    if e.get("index_cache_bytes") == 0
                    else ", the driver's index-array cache left out"
                    if e.get("oracle_cache_left_out")
                    else ", the driver's index-array cache (up to 16 MiB) counted in"
                )
                + (
                    "; each sample after `gc.collect()` and `malloc_trim(0)`."
                    if e.get("heap_trimmed")
                    else "; plain resident size (freed heap glibc keeps counted in)."
                )
            )
        if e.get("compiles") is not None:
            lines.append(
                f"- Bounded shapes: {e['bounded']} calls (shape, dtype, factor, options) from the seed; "
                f"{e['distinct_shapes']} distinct (shape, dtype) pairs met; {e['compiles']} compilations "
                + (
                    f"(invalid calls drawn from {e['bounded_invalid']} fixed ones)."
                    if e.get("bounded_invalid")
                    else "(invalid calls trace a fresh function each)."
                )
            )
        for key, title in (
            ("call", "Outcomes"),
            ("mode", "Modes"),
            ("kind", "Kinds of input"),
            ("dtype", "Dtypes"),
        ):
            counted = e["counts"].get(key, {})
            text = ", ".join(f"{k} {v:,}" for k, v in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0])))
            lines.append(f"- {title}: {text}")
        sizes = e["counts"].get("size", {})
        bounds = sorted({int(k.split(":")[0]) for k in sizes})
        cells = ", ".join(
            f"{b:,} B: {sizes.get(f'{b}:below', 0):,} below / {sizes.get(f'{b}:above', 0):,} above"
            for b in bounds
        )
        lines.append(
            f"- Size classes (calls within a factor 2 below / above each threshold, in bytes): {cells}"
        )
        if e["failure_lines"]:
            kinds = e.get("failure_kinds", {})
            lines += ["", "Failures by kind:", ""]
            lines += [
                f"- {count:,} x {kind}"
                for kind, count in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            lines += ["", "Reproducers (first 20):", "", "```", *e["failure_lines"][:20], "```"]
    lines.append("")
    return "\n".join(lines)


def versions(row: str) -> str:
    import importlib.metadata

    distributions = {"array_api_strict": ["array-api-strict"], "jax": ["jax", "jaxlib"], "dask": ["dask"]}
    names = list(dict.fromkeys(["numpy", *distributions.get(row.partition(".")[0], [row.partition(".")[0]])]))
    found = []
    for name in [*names, "subpixel-kernels"]:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found.append(f"{name} {importlib.metadata.version(name)}")
    return ", ".join(found)


# -- the command line --------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog="fuzz.py", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="numpy", help=f"comma-separated rows: {', '.join(ROWS)}")
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls per row (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=None, help="master seed (default: drawn, and reported)")
    parser.add_argument("--out", type=Path, default=None, help="Markdown report (the JSON goes beside it)")
    parser.add_argument(
        "--replay", type=int, default=None, help="run call REPLAY of --seed alone and print it"
    )
    parser.add_argument("--package", type=Path, default=None, help="import subpixel from this folder first")
    parser.add_argument(
        "--render", action="store_true", help="only write --out again from the JSON beside it"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown or not names:
        raise UsageError(
            f"--backends: unknown row {(unknown[0] if unknown else args.backends)!r}; rows: {', '.join(ROWS)}"
        )
    if args.calls < 1:
        raise UsageError(f"--calls must be at least 1, got {args.calls}")
    if args.render and (args.out is None or not args.out.with_suffix(".json").is_file()):
        raise UsageError("--render needs --out with its JSON beside it")
    if args.replay is not None and (args.seed is None or len(names) != 1):
        raise UsageError("--replay needs --seed and one row in --backends")
    if args.package is not None and not (args.package / "subpixel" / "__init__.py").is_file():
        raise UsageError(f"--package: no subpixel package in {args.package}")
    args.rows = names
    return args


class Stopped(BaseException):
    """SIGTERM arrived: the row reports the calls it finished and stops."""

    failures = 0


def _stop(signum: int, frame: Any) -> NoReturn:
    raise Stopped


def run_row(
    row: str, seed: int, calls: int, out: Path | None, echo: Callable[[str], None], bounded: int | None = None
) -> int:
    """Run ``calls`` calls of ``row``; return the number of mismatches.

    ``bounded`` overrides the number of fixed calls of a compiling row (:data:`COMPILING`). On
    SIGTERM the row writes its entry with the calls finished so far (status ``stopped``).
    """
    started = time.monotonic()
    cpu = time.process_time()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    runner = Runner(row, seed, bounded=bounded)
    samples: list[tuple[int, int]] = []
    failures = 0
    lines: list[str] = []
    signatures: collections.Counter[str] = collections.Counter()

    def entry(done: int, status: str) -> dict[str, Any]:
        return {
            "row": row, "calls": done, "asked": calls, "failures": failures, "failure_lines": lines,
            "failure_kinds": dict(signatures),
            "seconds": time.monotonic() - started, "cpu_seconds": time.process_time() - cpu,
            "engine_calls": runner.engine_calls, "seed": seed,
            "peak_rss": peak_bytes(), "rss_samples": samples, "growth_per_100k": growth(samples, done),
            "oracle_cache_left_out": True, "index_cache_bytes": runner.oracle.cache_bytes,
            "heap_trimmed": _TRIM is not None,
            "counts": {k: dict(v) for k, v in runner.counts.items()}, "status": status,
            "compiles": runner.row.compiles if row in COMPILING else None,
            "bounded": len(runner.bounded), "bounded_invalid": len(runner.bounded_invalid),
            "distinct_shapes": len(runner.row.shapes),
            "versions": versions(row), "driver": DRIVER_DIGEST,
            "python": platform.python_version(), "started": stamp,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "nice": os.nice(0),
            "allocator_settings": allocator_settings(),
            "load": " / ".join(f"{v:.2f}" for v in os.getloadavg()),
            "command": " ".join(["python conformance/fuzz.py", *sys.argv[1:]]),
        }  # fmt: skip

    done = 0
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        for index in range(calls):
            try:
                runner.one(index)
            except Exception as error:  # a crash is a failed call too
                failures += 1
                line = runner.reproducer(index, error)
                signatures[signature(error)] += 1
                if len(lines) < MAX_FAILURE_LINES:
                    lines.append(line)
                    echo(line)
            done = index + 1
            if index % SAMPLE_EVERY == 0:
                samples.append((index, held_bytes() - runner.oracle.bytes))
            if done % CHECKPOINT == 0 and done < calls:
                rate = done / (time.monotonic() - started)
                echo(
                    f"{row}: {done:,} calls, {failures} failures, {rate:.0f} calls/s, "
                    f"RSS {mib(resident_bytes())}"
                )
                if out is not None:
                    write_report(out, entry(done, "running"))
        status = "done"
    except Stopped as stop:
        status = "stopped"
        stopped: Stopped | None = stop
    else:
        stopped = None
    finally:
        signal.signal(signal.SIGTERM, previous)
    samples.append((done, held_bytes() - runner.oracle.bytes))
    final = entry(done, status)
    echo(
        f"{row}: {done:,} calls ({status}), {failures} failures, {final['seconds']:.0f} s, "
        f"{runner.engine_calls:,} above the engine threshold, peak RSS {mib(final['peak_rss'])}, "
        f"growth {mib((final['growth_per_100k'] or (None, 0))[0])} per 100k calls, seed {seed}"
    )
    if out is not None:
        write_report(out, final)
    if stopped is not None:
        stopped.failures = failures
        raise stopped
    return failures


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse(argv)
    except UsageError as error:
        print(f"fuzz.py: error: {error}", file=sys.stderr)
        return 2
    if args.render:
        args.out.write_text(render(load_report(args.out)), encoding="utf-8")
        return 0
    if args.package is not None:
        sys.path.insert(0, str(args.package.resolve()))
        import subpixel

        if not Path(subpixel.__file__ or "").resolve().is_relative_to(args.package.resolve()):
            print(
                f"fuzz.py: error: --package: subpixel imports from {subpixel.__file__} instead",
                file=sys.stderr,
            )
            return 2
    if str(ROOT) not in sys.path:
        sys.path.insert(1, str(ROOT))  # tests.reference and tests.values
    import importlib.util

    for row in args.rows:
        module = ROW_MODULES.get(row)
        if module is not None and importlib.util.find_spec(module.partition(".")[0]) is None:
            print(
                f"fuzz.py: error: --backends: {row} needs {module}, which is not installed", file=sys.stderr
            )
            return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    if args.replay is not None:
        runner = Runner(args.rows[0], seed)
        call, _ = runner.draw(args.replay)
        print(call.describe())
        try:
            runner.one(args.replay)
        except Exception as error:
            print(runner.reproducer(args.replay, error))
            return 1
        print("agrees with the index formula")
        return 0
    failures = 0
    try:
        for row in args.rows:
            failures += run_row(row, seed, args.calls, args.out, lambda line: print(line, flush=True))
    except Stopped as stop:  # the row wrote what it finished
        return 1 if failures + stop.failures else STOPPED
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
