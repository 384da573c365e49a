"""Fast path for PyTorch tensors.

Three routes, chosen per call:

* Small inputs whose plan is exactly PyTorch's own op (``order="CRD"``, channels first, one
  square factor) call ``torch.pixel_shuffle``/``torch.pixel_unshuffle``: one dispatcher call,
  where the three tensor methods cost three. Zero-size unshuffles are excluded (PyTorch's CPU
  kernel returns the input's shape there).
* Large, plain (``type(x) is torch.Tensor``) CPU tensors are copied by the cache-blocked NumPy
  engine through zero-copy NumPy views of the same bytes, seen as unsigned integers of the
  element size (so every dtype of 1, 2, 4 or 8 bytes copies bit for bit), into a result whose
  pages are advised huge (:mod:`subpixel._fast._pages`). A 4-d channels-last
  input gives a channels-last result, as PyTorch's op does. When autograd records, a
  :class:`torch.autograd.Function` wraps it; its backward is the inverse plan, by the same route.
* Everything else (other devices, tensor subclasses, functorch transforms, ``torch.jit``
  tracing, complex128, quantized or sparse tensors) runs the three tensor methods of
  :mod:`subpixel._fast._torch_plain`, which every PyTorch tracer understands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from subpixel._dispatch import Executor, NativeSpec, Runner
from subpixel._fast._pages import advise_huge_pages
from subpixel._fast._torch_plain import apply_plain, keeps_channels_last
from subpixel._fast.numpy import shuffle_large
from subpixel._plan import ShufflePlan

__all__ = ["SMALL_BYTES", "SMALL_ELEMENTS", "TorchExecutor", "make_executor"]

#: Below this many bytes a tensor takes PyTorch's own op or the three tensor methods.
SMALL_BYTES = 64 * 1024
#: Below this many elements a tensor whose plan is PyTorch's own op takes that op (one
#: dispatcher call; the cheaper test than bytes on the tiny-input path).
SMALL_ELEMENTS = 16 * 1024

_AS_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
_Tensor = torch.Tensor
_is_tracing: Callable[[], bool] = torch._C._is_tracing
_transforms_active: Callable[[], bool] = torch._C._are_functorch_transforms_active
_is_compiling: Callable[[], bool] = torch.compiler.is_compiling


def _inverse(plan: ShufflePlan, shape: tuple[int, ...]) -> ShufflePlan:
    """Return the plan that maps a result of ``plan`` back to an input of ``shape``."""
    axes = plan.axes
    moved = tuple(plan.expand_shape[a] for a in axes)
    back = tuple(sorted(range(len(axes)), key=axes.__getitem__))
    return ShufflePlan(moved, back, shape)


def _kernel_takes(x: Any) -> bool:
    """Whether the NumPy-backed CPU kernel can copy ``x`` (checked only for large inputs)."""
    return (
        type(x) is _Tensor
        and x.device.type == "cpu"
        and x.layout is torch.strided
        and not x.is_quantized
        and not x.is_conj()
        and not x.is_neg()
        and x.element_size() in _AS_BITS
        and not _is_tracing()
        and not _transforms_active()
        and not _is_compiling()
    )


def _bits(x: Any) -> np.ndarray[Any, Any]:
    """Return a NumPy view of the bytes of ``x`` as unsigned integers (no copy)."""
    bits: np.ndarray[Any, Any] = x.detach().view(_AS_BITS[x.element_size()]).numpy()
    return bits


def _forward(x: Any, plan: ShufflePlan) -> Any:
    """Apply ``plan`` to a tensor the kernel takes, into a new tensor."""
    fmt = torch.channels_last if keeps_channels_last(torch, x, plan) else torch.contiguous_format
    out = torch.empty(plan.collapse_shape, dtype=x.dtype, memory_format=fmt)
    advise_huge_pages(out.data_ptr(), out.numel() * out.element_size())
    shuffle_large(_bits(x), plan, _bits(out))
    return out


def _apply(x: Any, plan: ShufflePlan, inverse: ShufflePlan) -> Any:
    """Apply ``plan`` to any tensor, recording the fast backward when autograd needs it."""
    if x.numel() * x.element_size() < SMALL_BYTES or not _kernel_takes(x):
        return apply_plain(torch, x, plan)
    if x.requires_grad and torch.is_grad_enabled():
        return _Shuffle.apply(x, plan, inverse)  # type: ignore[no-untyped-call]
    return _forward(x, plan)


class _Shuffle(torch.autograd.Function):
    """A fast forward whose backward is the inverse shuffle (itself differentiable)."""

    @staticmethod
    def forward(ctx: Any, x: Any, plan: ShufflePlan, inverse: ShufflePlan) -> Any:
        ctx.plans = (plan, inverse)
        return _forward(x, plan)

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None, None]:
        plan, inverse = ctx.plans
        return _apply(grad, inverse, plan), None, None


class TorchExecutor:
    """Executor for ``torch.Tensor`` and its subclasses; ``prepare`` gives a per-plan runner."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def __call__(self, x: Any, plan: ShufflePlan) -> Any:
        """Apply ``plan`` to ``x``."""
        return self.prepare(plan)(x)

    def prepare(self, plan: ShufflePlan, native: NativeSpec | None = None) -> Runner:
        """Return a function that applies ``plan`` to one tensor.

        ``native`` is ``(inverse, r)`` when ``plan`` is PyTorch's own op with factor ``r``.
        """
        inverses: dict[tuple[int, ...], ShufflePlan] = {}

        def run_large(x: Any) -> Any:
            if x.numel() * x.element_size() < SMALL_BYTES or not _kernel_takes(x):
                return apply_plain(torch, x, plan)
            shape = tuple(x.shape)
            inverse = inverses.get(shape)
            if inverse is None:
                inverse = inverses[shape] = _inverse(plan, shape)
            if x.requires_grad and torch.is_grad_enabled():
                return _Shuffle.apply(x, plan, inverse)  # type: ignore[no-untyped-call]
            return _forward(x, plan)

        if native is None:
            return run_large

        unshuffle, factor = native
        small = SMALL_ELEMENTS

        if unshuffle:
            unshuffle_op = torch.pixel_unshuffle

            def run_unshuffle(x: Any) -> Any:
                size = x.numel()
                # PyTorch's exporters may map pixel_unshuffle to ONNX SpaceToDepth (DCR only):
                # while tracing (jit, or export's tensor subclasses) the plain methods run.
                if 0 < size < small and type(x) is _Tensor and not _is_tracing():
                    try:
                        return unshuffle_op(x, factor)
                    except (NotImplementedError, RuntimeError):  # a dtype PyTorch's op lacks
                        pass
                return run_large(x)

            return run_unshuffle

        op = torch.pixel_shuffle

        def run_shuffle(x: Any) -> Any:
            size = x.numel()
            if 0 < size < small:
                try:
                    return op(x, factor)
                except (NotImplementedError, RuntimeError):  # a dtype PyTorch's op lacks (uint16)
                    pass
            return run_large(x)

        return run_shuffle


def make_executor(xp: Any) -> Executor | None:
    """Return the PyTorch executor."""
    return TorchExecutor(xp)
