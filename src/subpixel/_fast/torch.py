"""Fast path for PyTorch tensors.

Routes, chosen per call from the plan and the input (never by timing):

* ``torch:native``: inputs whose plan is exactly PyTorch's own op (``order="CRD"``, channels
  first, one square factor) call ``torch.pixel_shuffle``/``torch.pixel_unshuffle`` below
  :data:`SMALL_ELEMENTS` (one dispatcher call, where the three tensor methods cost four), and
  from there up to :data:`METHODS_ELEMENTS` wherever PyTorch's op measured faster than the
  methods (all but :data:`METHODS_FIRST`), except the tensors the copy engine takes from
  :data:`ENGINE_ELEMENTS` (where subpixel-kernels is installed). Zero-size inputs are excluded (PyTorch's CPU
  unshuffle returns the input's shape there); uint16, uint32 and uint64, which PyTorch's op does
  not implement, go through it as a view of the signed integer of the same size.
* ``torch:kernel``: plain (``type(x) is torch.Tensor``) CPU tensors of :data:`SMALL_BYTES` or
  more and :data:`ENGINE_ELEMENTS` elements or more (:data:`KERNEL_ELEMENTS`, or any number
  where subpixel-kernels is installed) are copied by the copy engine of
  :mod:`subpixel._copy` through zero-copy NumPy views of the same bytes (as the tensor's dtype
  where NumPy has it, else as integers of the element size, so every dtype of 1, 2, 4 or 8
  bytes copies bit for bit), into a result allocated by NumPy below
  :data:`RESULT_NUMPY_MAX_BYTES` (see :func:`_result`). NumPy is imported only when the first
  such tensor arrives.
* ``torch:copy-into``: without the compiled kernels, those tensors of 2- to 8-byte elements
  whose plan and result are channels first are copied by PyTorch's own copy of the permuted
  view into the same NumPy-allocated result (measured faster there than the NumPy engine; see
  :func:`_copy_into`).
* ``torch:numpy-free``: the same tensors, from :data:`SMALL_BYTES`, where NumPy is not
  installed: the three tensor methods, which measured faster than PyTorch's own op on every
  large case tried.
* ``torch:kernel-autograd``: from :data:`SMALL_BYTES`, when autograd records or a
  forward-mode dual level is open, the copy runs inside a :class:`torch.autograd.Function`
  whose backward is the inverse shuffle and whose ``jvp`` (``torch:kernel-forward-ad``)
  shuffles the tangent, each by these same routes, so gradients of any order,
  forward-over-reverse and the gradients' strides match PyTorch's op.
* ``torch:plain``: everything else (inputs below :data:`ENGINE_ELEMENTS`, other devices, tensor
  subclasses, functorch transforms, complex128, quantized tensors) runs the three tensor
  methods of :mod:`subpixel._fast._torch_plain`.

While PyTorch traces a call (compile, export, ``jit.trace``), :mod:`subpixel._api` sends tensors
to the traceable route of :mod:`subpixel._fast._torch_plain` instead; no runner here sees them.

Every result has the strides PyTorch's own op gives (channels-last when a 4-d input's strides
read as channels-last, see :func:`~subpixel._fast._torch_plain.strides_like_channels_last`).
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.autograd.forward_ad as _forward_ad

from subpixel import _routes
from subpixel._copy import _compiled
from subpixel._fast import Runner
from subpixel._fast._torch_plain import apply_plain, channels_last_result
from subpixel._limits import (
    HUGE_PAGES_MAX_BYTES,
    TORCH_COMPILED_ENGINE_ELEMENTS,
    TORCH_KERNEL_ELEMENTS,
    TORCH_METHODS_ELEMENTS,
    TORCH_METHODS_FIRST,
    TORCH_SMALL_BYTES,
    TORCH_SMALL_ELEMENTS,
    routes,
)
from subpixel._plan import ShufflePlan
from subpixel._spec import ShuffleSpec

__all__ = [
    "ENGINE_ELEMENTS",
    "HAS_NUMPY",
    "KERNEL_ELEMENTS",
    "METHODS_ELEMENTS",
    "METHODS_FIRST",
    "ROUTES",
    "SMALL_BYTES",
    "SMALL_ELEMENTS",
    "prepare",
    "unreachable_routes",
]


def _installed(name: str) -> bool:
    """Whether module ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a broken entry
        return False


#: The thresholds of this path (see :mod:`subpixel._limits`): below SMALL_BYTES a tensor takes
#: PyTorch's op or the three tensor methods; the copy engine copies from KERNEL_ELEMENTS; a
#: tensor whose plan is PyTorch's own op takes that op below SMALL_ELEMENTS, and below
#: METHODS_ELEMENTS but for METHODS_FIRST.
SMALL_BYTES = TORCH_SMALL_BYTES
KERNEL_ELEMENTS = TORCH_KERNEL_ELEMENTS
SMALL_ELEMENTS = TORCH_SMALL_ELEMENTS
METHODS_ELEMENTS = TORCH_METHODS_ELEMENTS
#: Where the copy engine starts (with SMALL_BYTES): from TORCH_COMPILED_ENGINE_ELEMENTS where
#: subpixel-kernels is installed (decided once, without importing it), else KERNEL_ELEMENTS.
ENGINE_ELEMENTS = TORCH_COMPILED_ENGINE_ELEMENTS if _compiled.AVAILABLE else KERNEL_ELEMENTS
#: Whether NumPy is installed: large CPU tensors take the NumPy engine, else the NumPy-free
#: route. Decided once, when this module is imported, without importing NumPy.
HAS_NUMPY = _installed("numpy")

#: ``(element size, unshuffle)`` pairs for which the three tensor methods, not PyTorch's op,
#: copy from SMALL_ELEMENTS to METHODS_ELEMENTS elements.
METHODS_FIRST = TORCH_METHODS_FIRST
#: Results of the copy engine below this many bytes are allocated by NumPy, larger ones by PyTorch.
RESULT_NUMPY_MAX_BYTES = HUGE_PAGES_MAX_BYTES

#: Every route of this module, by the tag it records (see :mod:`subpixel._routes`).
ROUTES = routes("torch")

_AS_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
_Tensor = torch.Tensor
_transforms_active: Callable[[], bool] = torch._C._are_functorch_transforms_active
_is_compiling: Callable[[], bool] = torch.compiler.is_compiling
#: What PyTorch's op runs on for the dtypes it does not implement: the signed integer of the
#: same size, a view of the same bits. Any other input the op refuses (it raises) takes the other
#: routes for that call only: the refusal may come from the input, not its dtype.
_stand_ins: dict[Any, Any] = {
    getattr(torch, name): getattr(torch, f"int{name[4:]}")
    for name in ("uint16", "uint32", "uint64")
    if hasattr(torch, name)
}


def unreachable_routes() -> dict[str, str]:
    """Return the routes this machine cannot take, each with the reason."""
    if not HAS_NUMPY:
        missing = "not reachable here: NumPy is not installed"
        return {"torch:kernel": missing, "torch:copy-into": missing}
    if _compiled.AVAILABLE:
        return {
            "torch:numpy-free": "not reachable here: NumPy is installed",
            "torch:copy-into": "not reachable here: subpixel-kernels' compiled kernels copy these tensors",
        }
    return {"torch:numpy-free": "not reachable here: NumPy is installed"}


def _kernel_takes(x: Any) -> bool:
    """Whether the CPU kernel can copy ``x`` (checked only for large inputs)."""
    return (
        type(x) is _Tensor
        and x.is_cpu
        and x.layout is torch.strided
        and not x.is_quantized
        and not x.is_conj()
        and not x.is_neg()
        and x.element_size() in _AS_BITS
        and not _transforms_active()
        and not _is_compiling()
    )


def _numpy_copy(x: Any, plan: ShufflePlan) -> Any:
    """Apply ``plan`` to a tensor the kernel takes with the NumPy engine, into a new tensor."""
    size = x.element_size()
    seen_as, dtype = _numpy_view(x.dtype, size)
    own = seen_as is x.dtype
    source = x.detach() if x.requires_grad else x  # numpy() refuses a tensor that requires grad
    array = (source if own else source.view(seen_as)).numpy()
    shuffle_large = _engine().shuffle_large
    channels_last = channels_last_result(x, plan)
    if not channels_last and math.prod(plan.collapse_shape) * size < RESULT_NUMPY_MAX_BYTES:
        out = torch.from_numpy(shuffle_large(array, plan))  # NumPy allocates, as in _result
        return out if own else out.view(x.dtype)
    out, buffer = _result(x, plan, channels_last, seen_as, dtype)
    shuffle_large(array, plan, buffer)
    return out


class _Engine(NamedTuple):
    """NumPy and the copy engine's entry point."""

    numpy: Any
    shuffle_large: Callable[..., Any]


@functools.lru_cache(maxsize=1)
def _engine() -> _Engine:
    """NumPy and the copy engine, imported when the first large tensor arrives.

    Cached here: ``import`` statements in the per-call code cost about 1 us a call.
    """
    import numpy

    from subpixel._copy._blocked import shuffle_large

    return _Engine(numpy, shuffle_large)


@functools.lru_cache(maxsize=64)  # PyTorch has fewer dtypes than this
def _numpy_view(dtype: Any, size: int) -> tuple[Any, Any]:
    """Return how the engine sees a tensor's bytes: as a tensor dtype, and as NumPy's dtype.

    The tensor's own dtype where NumPy has it (no ``view`` on either side, about 2 us less per
    call), else the integer of the element size of :data:`_AS_BITS` (``bfloat16``, ``bool``,
    ``complex32``, the float8 types). Either way the engine only moves bytes.
    """
    np = _engine().numpy
    name = str(dtype).removeprefix("torch.")
    if name in _SHARED_DTYPES:
        return dtype, np.dtype(name)
    bits = _AS_BITS[size]
    return bits, np.dtype(str(bits).removeprefix("torch."))


#: Tensor dtypes NumPy has, bit for bit and by the same name.
_SHARED_DTYPES = frozenset({
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64",
})  # fmt: skip


def _result(x: Any, plan: ShufflePlan, channels_last: bool, seen_as: Any, dtype: Any) -> tuple[Any, Any]:
    """Return a fresh result tensor for ``plan`` on ``x`` and a NumPy view of its bytes.

    ``channels_last`` says whether the result is (see :func:`channels_last_result`). The view
    has NumPy's ``dtype``, the bytes seen as the tensor dtype ``seen_as`` (see
    :func:`_numpy_view`). Below :data:`RESULT_NUMPY_MAX_BYTES` the memory comes from NumPy
    (``torch.from_numpy``), as the NumPy path's results do: PyTorch's CPU allocator (64-byte
    aligned) rarely hands a fresh result the block the previous one freed, so each result met
    fresh, faulting pages, where NumPy's block was reused (measured 240 to 750 page faults per
    24 MB result against none) and, from 4 MiB, advised huge. Larger results come from PyTorch
    with no advice (finding that many huge pages stalled, see :mod:`subpixel._limits`). A
    channels-last result is laid out as ``(N, H, W, C)`` and viewed as ``(N, C, H, W)``:
    PyTorch's channels-last strides.
    """
    shape = plan.collapse_shape
    own = seen_as is x.dtype
    if math.prod(shape) * x.element_size() >= RESULT_NUMPY_MAX_BYTES:
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        out = torch.empty(shape, dtype=x.dtype, memory_format=fmt)
        return out, (out if own else out.view(seen_as)).numpy()
    np = _engine().numpy
    if not channels_last:
        buffer = np.empty(shape, dtype)
        out = torch.from_numpy(buffer)
        return (out if own else out.view(x.dtype)), buffer
    n, c, h, w = shape
    laid = np.empty((n, h, w, c), dtype)
    out = torch.from_numpy(laid)
    return (out if own else out.view(x.dtype)).permute(0, 3, 1, 2), laid.transpose(0, 3, 1, 2)


def _plain_copy(x: Any, plan: ShufflePlan) -> Any:
    """Apply ``plan`` with the three tensor methods, outside autograd.

    Measured on 32 MiB inputs (float32, uint8, int16; both directions; factors 2 to 4), they
    beat PyTorch's own op on every case (1.1x to 5.8x), so they serve its plans too.
    """
    return apply_plain(torch, x.detach(), plan)  # detached: no graph, no tangent


def _copy(x: Any, plan: ShufflePlan, channels_first: bool) -> Any:
    """Apply ``plan`` to a tensor the kernel takes (no autograd): the engine or the methods.

    Without the compiled kernels, elements of 2 to 8 bytes of a ``channels_first`` plan whose
    result is not in the channels-last memory format take PyTorch's own copy of the permuted
    view instead of the NumPy engine (see :func:`_copy_into`).
    """
    if x.numel() < ENGINE_ELEMENTS or not HAS_NUMPY:
        if _routes.listening:
            _routes.record("torch:plain" if HAS_NUMPY else "torch:numpy-free")
        return _plain_copy(x, plan)
    if (
        channels_first
        and not _compiled.AVAILABLE
        and x.element_size() > 1
        and not channels_last_result(x, plan)
    ):
        if _routes.listening:
            _routes.record("torch:copy-into")
        return _copy_into(x, plan)
    if _routes.listening:
        _routes.record("torch:kernel")
    return _numpy_copy(x, plan)


def _copy_into(x: Any, plan: ShufflePlan) -> Any:
    """Apply ``plan`` with PyTorch's copy of the permuted view, into a result NumPy allocates.

    Without the compiled kernels, PyTorch's strided copy (two threads) moves elements of 2 to 8
    bytes faster than the NumPy engine, provided it writes into memory allocated as
    :func:`_result` allocates it (its own allocation met fresh, faulting pages: 0.78 of
    ``np.copy`` on a 256 MiB float32 shuffle, 1.69 into NumPy's memory, 1.51 for the engine).
    The engine keeps 1-byte elements (its lanes kernels), channels-last plans (an NHWC float32
    unshuffle by 2 with 16 channels: 0.38 of ``np.copy`` this way, 0.97 for the engine) and
    channels-last results.
    """
    out, _ = _result(x, plan, False, *_numpy_view(x.dtype, x.element_size()))
    moved = x.detach().reshape(plan.expand_shape).permute(plan.axes)
    out.view(moved.shape).copy_(moved)
    return out


def _apply(x: Any, plan: ShufflePlan, inverse: ShufflePlan, channels_first: bool) -> Any:
    """Apply ``plan`` (whose inverse is ``inverse``) to a tensor of ``inverse.collapse_shape``."""
    if x.numel() * x.element_size() < SMALL_BYTES or not _kernel_takes(x):
        if _routes.listening:
            _routes.record("torch:plain")
        return apply_plain(torch, x, plan)
    return _apply_taken(x, plan, inverse, channels_first)


def _apply_taken(x: Any, plan: ShufflePlan, inverse: ShufflePlan, channels_first: bool) -> Any:
    """:func:`_apply` for a tensor of SMALL_BYTES or more that :func:`_kernel_takes`."""
    if (x.requires_grad and torch.is_grad_enabled()) or _forward_ad._current_level >= 0:
        if _routes.listening:
            _routes.record("torch:kernel-autograd")
        return _Shuffle.apply(x, plan, inverse, channels_first)  # type: ignore[no-untyped-call]
    return _copy(x, plan, channels_first)


class _Shuffle(torch.autograd.Function):
    """The fast copy for autograd: backward and jvp shuffle the gradient and the tangent.

    The backward is the inverse shuffle of the cotangent, the jvp the same shuffle of the
    tangent, laid out as the result; both run :func:`_apply` again, so they are differentiable
    in their turn.
    """

    @staticmethod
    def forward(ctx: Any, x: Any, plan: ShufflePlan, inverse: ShufflePlan, channels_first: bool) -> Any:
        ctx.plans = (plan, inverse, channels_first)
        out = _copy(x, plan, channels_first)
        ctx.out_stride = out.stride()
        return out

    @staticmethod
    def backward(ctx: Any, grad: Any) -> tuple[Any, None, None, None]:
        plan, inverse, channels_first = ctx.plans
        return _apply(grad, inverse, plan, channels_first), None, None, None

    @staticmethod
    def jvp(ctx: Any, tangent: Any, *_: Any) -> Any:
        plan, inverse, channels_first = ctx.plans
        if _routes.listening:
            _routes.record("torch:kernel-forward-ad")
        result = _apply(tangent, plan, inverse, channels_first)
        if result.stride() == ctx.out_stride:
            return result
        # Forward AD needs the tangent laid out as the result: a tangent strided unlike the
        # input (a contiguous tangent of a channels-last view) may come out in another layout.
        laid = torch.empty_strided(result.shape, ctx.out_stride, dtype=result.dtype, device=result.device)
        return laid.copy_(result)


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return a function that applies ``plan`` (made from ``spec``) to one tensor."""
    inverse = spec.inverted().plan(plan.collapse_shape)
    channels_first = not spec.channels_last

    def run_large(x: Any) -> Any:
        return _apply(x, plan, inverse, channels_first)

    factor = spec.torch_factor
    # A plan fixes the input's shape, so its size decides the route once, here. From
    # METHODS_ELEMENTS, what the engine does not take goes to the three tensor methods.
    size = math.prod(plan.collapse_shape)
    if factor is None or size == 0 or size >= METHODS_ELEMENTS:
        return run_large
    unshuffle = spec.inverse
    op = torch.pixel_unshuffle if unshuffle else torch.pixel_shuffle
    # A tiny call's runner is PyTorch's op and little else: one Python frame around it.
    if size < min(SMALL_ELEMENTS, ENGINE_ELEMENTS):
        return functools.partial(_native, op, factor, unshuffle, run_large)
    methods_first = METHODS_FIRST if size >= SMALL_ELEMENTS else frozenset()
    # From ENGINE_ELEMENTS, the tensors of SMALL_BYTES or more the kernel takes go to the engine.
    engine_from = SMALL_BYTES if size >= ENGINE_ELEMENTS else None

    def run_native(x: Any) -> Any:
        if engine_from is not None and size * x.element_size() >= engine_from and _kernel_takes(x):
            return _apply_taken(x, plan, inverse, channels_first)
        if (x.element_size(), unshuffle) not in methods_first:
            return _native(op, factor, unshuffle, run_large, x)
        return run_large(x)

    return run_native


def _native(op: Callable[[Any, int], Any], factor: int, plain_only: bool, otherwise: Runner, x: Any) -> Any:
    """Return ``op(x, factor)``, PyTorch's op; ``otherwise(x)`` where the op refuses ``x``.

    With ``plain_only`` (the unshuffle), tensor subclasses take ``otherwise``: PyTorch's
    exporters may map pixel_unshuffle to ONNX SpaceToDepth (DCR only), so on export's tensor
    subclasses the plain methods run (tracers never reach this runner).
    """
    if plain_only and type(x) is not _Tensor:
        return otherwise(x)
    try:
        result = op(x, factor)
    except NotImplementedError:  # a dtype the op lacks: its stand-in, if it has one
        stand_in = _stand_ins.get(x.dtype)
        if stand_in is None:
            return otherwise(x)
        try:
            result = op(x.view(stand_in), factor).view(x.dtype)
        except (NotImplementedError, RuntimeError):  # refused by the stand-in too
            return otherwise(x)
    except RuntimeError:  # an input PyTorch's op refuses
        return otherwise(x)
    if _routes.listening:
        _routes.record("torch:native")
    return result
