"""What the benchmark times: cases (operation, shape, dtype, factor) and candidates per case."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

import subpixel

__all__ = ["DTYPES", "LIMITS", "SHAPES", "Candidate", "Case", "candidates", "cases", "installed"]

#: Element types timed by default: 4-, 1- and 2-byte elements.
DTYPES = ("float32", "uint8", "uint16")

#: Limit lines beside ``np.copy``: candidates that are no shuffle, drawn as lines, not bars.
LIMITS = ("best 2-thread copy",)

#: Inputs below this size get no two-thread copy (starting the second half costs more than it saves).
TWO_THREAD_MIN_BYTES = 1 << 20

#: Shuffle output-channel layouts by name: (batch, channels before the shuffle, height, width) for
#: factor 2; other factors round the channel count up to a multiple of ``r * r``.
SHAPES: dict[str, tuple[int, int, int, int]] = {
    "tiny 1x4x8x8": (1, 4, 8, 8),
    "16x256x128x128": (16, 256, 128, 128),
    "1x27x1024x1024": (1, 27, 1024, 1024),
    "64x1024x16x16": (64, 1024, 16, 16),
    "8x256x384x384 (>1 GB)": (8, 256, 384, 384),
}
LARGE = ("16x256x128x128", "1x27x1024x1024", "64x1024x16x16", "8x256x384x384 (>1 GB)")
HUGE = ("8x256x384x384 (>1 GB)",)


@dataclasses.dataclass(frozen=True)
class Case:
    """One timed configuration; ``shape`` is the input's shape."""

    op: str  # "shuffle" | "unshuffle"
    name: str
    shape: tuple[int, ...]
    dtype: str
    factor: int

    @property
    def nbytes(self) -> int:
        """Bytes of the input (and of the output)."""
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One function timed on a case; ``own_copy`` names its own library's copy of the same bytes."""

    name: str
    run: Callable[[], Any]
    own_copy: str


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    return importlib.util.find_spec(module) is not None


def _input_shape(name: str, op: str, factor: int) -> tuple[int, ...]:
    n, c, h, w = SHAPES[name]
    square = factor * factor
    c = -(-c // square) * square
    if op == "shuffle":
        return (n, c, h, w)
    return (n, c // square, h * factor, w * factor)


def cases(
    *, ops: tuple[str, ...], dtypes: tuple[str, ...], factors: tuple[int, ...], shapes: tuple[str, ...]
) -> list[Case]:
    """Every combination, in the order they run (the >1 GB shapes last)."""
    ordered = [s for s in shapes if s not in HUGE] + [s for s in shapes if s in HUGE]
    return [
        Case(op, name, _input_shape(name, op, factor), dtype, factor)
        for name in ordered
        for dtype in dtypes
        for factor in factors
        for op in ops
    ]


@functools.lru_cache(maxsize=1)
def _helper() -> concurrent.futures.ThreadPoolExecutor:
    """One waiting thread for the two-thread copy (started once, so no call pays for a start)."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-copy")


def two_thread_copy(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Copy ``x`` into a new array, each half on its own thread: the best a two-thread copy does.

    ``np.copy`` is one thread's limit; a shuffle that splits its work over two threads may beat
    it, and this line shows how far that can go on the machine.
    """
    out = np.empty_like(x)
    src = x.reshape(-1)
    dst = out.reshape(-1)
    half = src.size // 2
    other = _helper().submit(np.copyto, dst[half:], src[half:])
    np.copyto(dst[:half], src[:half])
    other.result()
    return out


def _torch_implements(native: Callable[[Any, int], Any], probe: Any, r: int) -> bool:
    """Whether torch's own op runs on this dtype (its CPU kernels have no uint16/uint32)."""
    try:
        native(probe.repeat(*([1] * (probe.ndim - 3)), r * r, r, r), r)
    except (NotImplementedError, RuntimeError):
        return False
    return True


def _naive(x: Any, plan: subpixel.ShufflePlan) -> Any:
    return x.reshape(plan.expand_shape).transpose(plan.axes).copy().reshape(plan.collapse_shape)


def candidates(case: Case, x: np.ndarray[Any, Any]) -> list[Candidate]:
    """Return the functions to time on ``x`` (a NumPy input of ``case``), for every installed library."""
    r = case.factor
    inverse = case.op == "unshuffle"
    function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    plan = subpixel.shuffle_plan(x.shape, r, inverse=inverse)
    found = [
        Candidate("np.copy", lambda: np.copy(x), "np.copy"),
        Candidate("subpixel numpy", lambda: function(x, r), "np.copy"),
        Candidate("numpy reshape/transpose/copy", lambda: _naive(x, plan), "np.copy"),
    ]
    if case.nbytes >= TWO_THREAD_MIN_BYTES and x.flags.c_contiguous:
        found.insert(1, Candidate("best 2-thread copy", lambda: two_thread_copy(x), "np.copy"))
    if installed("einops"):
        import einops

        pattern = "b (c h2 w2) h w -> b c (h h2) (w w2)"
        if inverse:
            pattern = "b c (h h2) (w w2) -> b (c h2 w2) h w"
        found.append(Candidate("einops numpy", lambda: einops.rearrange(x, pattern, h2=r, w2=r), "np.copy"))
    if installed("torch"):
        import torch

        t = torch.from_numpy(x)
        native = torch.nn.functional.pixel_unshuffle if inverse else torch.nn.functional.pixel_shuffle
        found.append(Candidate("tensor.clone", t.clone, "tensor.clone"))
        if _torch_implements(native, t[tuple(slice(0, 1) for _ in t.shape)], r):
            found.append(Candidate("torch native", lambda: native(t, r), "tensor.clone"))
        found.append(Candidate("subpixel torch", lambda: function(t, r), "tensor.clone"))
    if installed("jax"):
        import jax
        import jax.numpy as jnp

        j = jnp.asarray(x)
        jit_copy = jax.jit(jnp.copy)
        jit_naive = jax.jit(
            lambda a: a.reshape(plan.expand_shape).transpose(plan.axes).reshape(plan.collapse_shape)
        )
        found += [
            Candidate("jax copy (jit)", lambda: jit_copy(j).block_until_ready(), "jax copy (jit)"),
            Candidate("jax.jit naive", lambda: jit_naive(j).block_until_ready(), "jax copy (jit)"),
            Candidate("subpixel jax", lambda: function(j, r).block_until_ready(), "jax copy (jit)"),
        ]
    return found
