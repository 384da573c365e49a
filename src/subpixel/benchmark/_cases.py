"""What the benchmark times: cases (operation, shape, dtype, factor) and candidates per case."""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Callable
from typing import Any

import numpy as np

import subpixel

__all__ = ["SHAPES", "Candidate", "Case", "candidates", "cases", "installed"]

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
        found += [
            Candidate("tensor.clone", t.clone, "tensor.clone"),
            Candidate("torch native", lambda: native(t, r), "tensor.clone"),
            Candidate("subpixel torch", lambda: function(t, r), "tensor.clone"),
        ]
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
