"""The shuffle written with tensor methods: the route PyTorch's tracers can follow.

:func:`apply_traced` is the one traceable route: :mod:`subpixel._api` takes it while
``torch.compile``, ``torch.export`` or ``torch.jit.trace`` (the TorchScript ONNX exporter)
traces a call. It emits what exporters map best (PyTorch's own op where it gives the plan,
otherwise reshapes and rank-4 transposes), and symbolic or traced batch and spatial sizes pass
through, so exported graphs hold no baked sizes. :func:`apply_plain` is the plan's copy with
tensor methods, for eager inputs the CPU kernel does not take. Both stay plain Python on tensor
methods (no caches, imports or NumPy) and do not import torch: the caller passes the module in.
"""

from __future__ import annotations

import operator
from typing import Any

from subpixel import _routes
from subpixel._fast._low_rank import apply_low_rank
from subpixel._plan import ShufflePlan
from subpixel._spec import ShuffleSpec

__all__ = ["apply_plain", "apply_traced", "channels_last_result", "strides_like_channels_last"]

#: The dtypes PyTorch's ``pixel_shuffle``/``pixel_unshuffle`` implement; others (uint16 to
#: uint64, the float8 and bits types, complex32) take the reshapes under tracing.
_OP_DTYPES = (
    "bool", "uint8", "int8", "int16", "int32", "int64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
)  # fmt: skip

#: Axes of a 4-d tensor from the fastest-varying to the slowest in channels-last memory.
_NHWC_ORDER = (1, 3, 2, 0)


def strides_like_channels_last(shape: tuple[int, ...], strides: tuple[int, ...]) -> bool:
    """Whether a 4-d tensor's strides read as channels-last (PyTorch's ``suggest_memory_format``).

    PyTorch's CPU ``pixel_shuffle``/``pixel_unshuffle`` give their result this memory format.
    The test follows the strides, so it decides the shapes that are contiguous in both formats
    (one channel, 1x1 spatial) by how the tensor was laid out, as PyTorch does. Ties (a zero
    channel stride, a zero size, all strides equal) read as contiguous.
    """
    if len(shape) != 4 or strides[1] == 0:
        return False
    bound = 0
    for axis in _NHWC_ORDER:
        size = shape[axis]
        stride = strides[axis]
        if size == 0 or stride < bound or (axis == 0 and bound == strides[1]):
            return False
        bound = stride * size
    return True


def channels_last_result(x: Any, plan: ShufflePlan) -> bool:
    """Whether the result of ``plan`` on ``x`` is channels-last, as PyTorch's op makes it.

    True for a 4-d input whose strides read as channels-last (with a 4-d result).
    """
    return len(plan.collapse_shape) == 4 and strides_like_channels_last(x.shape, x.stride())


def apply_plain(torch: Any, x: Any, plan: ShufflePlan, /) -> Any:
    """Reshape, permute and copy ``x`` with tensor methods; the result never aliases ``x``.

    Differentiable, traceable by ``torch.compile``/``torch.export``/``torch.jit.trace`` and
    correct on every device. The result has the memory format (and the strides) that PyTorch's
    own op gives: channels-last when a 4-d input's strides read as channels-last.

    Raises
    ------
    TypeError
        If ``x`` is not a dense (strided) tensor: sparse layouts cannot be reshaped.
    """
    _check_dense(torch, x)
    moved = x.reshape(plan.expand_shape).permute(plan.axes)
    collapse = plan.collapse_shape
    if not channels_last_result(x, plan) or x.numel() == 0:
        return moved.clone(memory_format=torch.contiguous_format).view(collapse)
    # Copy in (N, H, W, C) order, then view it as (N, C, H, W): the strides of
    # ``torch.empty(collapse, memory_format=torch.channels_last)``, whatever the sizes.
    groups = _axis_groups(tuple(moved.shape), collapse)
    nhwc = [*groups[0], *groups[2], *groups[3], *groups[1]]
    batch, channels, height, width = collapse
    flat = moved.permute(nhwc).clone(memory_format=torch.contiguous_format)
    return flat.view(batch, height, width, channels).permute(0, 3, 1, 2)


def apply_traced(torch: Any, x: Any, /, spec: ShuffleSpec) -> Any:
    """Apply ``spec`` to ``x`` with the operations exporters map best; the traceable route.

    What the traced graph holds, by plan:

    * PyTorch's own op (CRD, channels first, factor ``(r, r)``): ``pixel_shuffle`` or
      ``pixel_unshuffle`` itself, so every exporter and converter maps it as it maps PyTorch's
      layers (one ONNX ``DepthToSpace`` in CRD mode; one ncnn or Core ML op).
    * Any other shuffle by ``(r, r)``: the same ``pixel_shuffle``, behind a transpose to channels
      first and back for channels-last data, and behind one channel gather for DCR order when
      the channel count is a known int.
    * Everything else: reshapes and rank-4 transposes (rank 5 for volumes, see
      :func:`_low_rank`), never a ``SpaceToDepth``, which some ONNX runtimes compute in DCR
      order whatever its mode says.

    A zero-size input never takes PyTorch's op (its ``pixel_unshuffle`` keeps the input's shape
    there). Sizes ``torch.jit.trace`` gives as 0-d tensors stay traced, so that sizes exported as
    dynamic stay dynamic; their values are checked as an eager call checks them. The result
    never aliases ``x`` and has the memory format PyTorch's own op gives.
    """
    _check_dense(torch, x)
    shape = tuple(x.shape)
    # torch.jit.trace gives each size as a 0-d tensor: its value is read (operator.index records
    # nothing in the trace) for the checks and the choice of route; the traced sizes are planned.
    sized = all(isinstance(size, (int, torch.SymInt)) for size in shape)
    values = shape if sized else tuple(operator.index(size) for size in shape)
    spec.plan(values, cached=False)  # the errors of an eager call; symbolic sizes pass through
    moved = _torch_op(torch, x, spec, values, shape)
    if _routes.listening and not torch.compiler.is_compiling():  # Dynamo traces no lock
        own = spec.torch_factor is not None
        _routes.record(f"torch_traced:{'reshapes' if moved is None else 'op' if own else 'op-moved'}")
    if moved is not None and spec.torch_factor is not None:
        return moved  # PyTorch's own op: a fresh tensor in the memory format it gives
    if moved is None:
        # A zero-size input is planned with its values: a reshape cannot infer a size from none.
        traced = not sized and 0 not in values
        planned = spec.traced_plan(shape) if traced else spec.plan(values, cached=False)
        moved = apply_low_rank(x, planned, _permute)
    nhwc = sized and len(shape) == 4 and strides_like_channels_last(shape, tuple(x.stride()))
    return moved.clone(memory_format=torch.channels_last if nhwc else torch.contiguous_format)


def _torch_op(
    torch: Any, x: Any, spec: ShuffleSpec, values: tuple[Any, ...], shape: tuple[Any, ...]
) -> Any | None:
    """Apply ``spec`` with PyTorch's ``pixel_shuffle``/``pixel_unshuffle`` where that is exact, else ``None``.

    ``values`` are the sizes of ``x`` (ints, or a tracer's symbolic ints); ``shape`` is
    ``x.shape`` as the tracer gives it. The unshuffle is taken only where it is PyTorch's own op:
    exporters spell it with a rank-6 transpose, so other plans are better served by
    :func:`~subpixel._fast._low_rank.apply_low_rank`.
    """
    factor = spec.square_factor
    if factor is None or any(type(size) is int and size == 0 for size in values):
        return None
    if x.dtype not in {getattr(torch, name) for name in _OP_DTYPES}:
        return None  # PyTorch's op is not implemented for it: the reshapes move any dtype
    ndim = len(shape)
    functional = torch.nn.functional
    if spec.torch_factor is not None:
        op = functional.pixel_unshuffle if spec.inverse else functional.pixel_shuffle
        # PyTorch's op refuses a 5-d input in the channels_last_3d memory format (two batch axes).
        return op(x.contiguous() if ndim == 5 else x, factor)
    if spec.inverse:
        return None
    channels = shape[-1] if spec.channels_last else shape[-3]
    if spec.order == "DCR" and type(channels) is not int:
        # The gather's index holds the channel count: not where it may vary (a symbolic size,
        # or torch.jit.trace, whose exporter may make any axis dynamic).
        return None
    if spec.channels_last:
        # Contiguous before PyTorch's op, which otherwise gives a channels-last result that
        # ExecuTorch's portable permute refuses (it keeps each tensor's dim order).
        moved = x.permute(*range(ndim - 3), ndim - 1, ndim - 3, ndim - 2).contiguous()
    else:
        moved = x.contiguous() if ndim == 5 else x  # as above: no channels_last_3d into the op
    if spec.order == "DCR":
        # Channel c * F + o of CRD order is channel o * C + c of DCR order (F = r * r).
        depth = factor * factor
        out = channels // depth
        index = [(p % depth) * out + p // depth for p in range(channels)]
        moved = moved.index_select(ndim - 3, torch.tensor(index, device=x.device))
    moved = functional.pixel_shuffle(moved, factor)
    return moved.permute(*range(ndim - 3), ndim - 2, ndim - 1, ndim - 3) if spec.channels_last else moved


def _check_dense(torch: Any, x: Any) -> None:
    if x.layout is not torch.strided:
        msg = f"pixel shuffling needs a dense (strided) tensor x, got one with layout={x.layout}"
        raise TypeError(msg)


def _axis_groups(shape: tuple[int, ...], collapse: tuple[int, ...]) -> list[list[int]]:
    """Split the axes of ``shape`` (no zero size) into runs whose sizes multiply to ``collapse``."""
    groups: list[list[int]] = []
    axis = 0
    for size in collapse:
        group: list[int] = []
        product = 1
        while product != size:
            group.append(axis)
            product *= shape[axis]
            axis += 1
        groups.append(group)
    groups[-1].extend(range(axis, len(shape)))  # trailing axes of size 1
    return groups


def _permute(x: Any, axes: tuple[int, ...]) -> Any:
    return x.permute(*axes)
