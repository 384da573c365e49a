"""Pure shape arithmetic for sub-pixel shuffling.

A shuffle is three array calls: ``reshape(x, expand_shape)``, ``permute_dims(., axes)`` and
``reshape(., collapse_shape)``. This module validates the arguments and computes those three
tuples from plain Python integers; it never touches an array.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, SupportsIndex

from subpixel._validate import ORDERS, Order, check_bool, check_factors, check_order, factor_text

__all__ = [
    "ORDERS",
    "Order",
    "RunTimeSize",
    "ShufflePlan",
    "block_moves",
    "grouped_steps",
    "has_run_time_sizes",
    "resolve_sizes",
    "shuffle_plan",
    "too_few_axes_message",
    "unchecked_plan",
]

#: Most plans a process keeps; each is a few small tuples.
PLAN_CACHE_SIZE = 4096

#: Most elements, counting only the nonzero sizes, that a plan for a zero-size input may
#: describe: the largest array of 16-byte items (complex128) a 64-bit framework can address.
#: Only a zero-size input can exceed it (a shuffle keeps the element count), and past it
#: NumPy, torch and XLA fail or abort while merely forming the shape.
MAX_ZERO_SIZE_EXTENT = (2**63 - 1) // 16


class RunTimeSize(int):
    """A size of a plan that is known only when the shuffle runs: ``shape[axis] * mul // div``.

    Inside a TensorFlow graph the batch and spatial sizes of an input may be unknown (``None``)
    until it runs. The plan of such an input holds a ``RunTimeSize`` wherever a size depends on
    them; as an ``int`` it is ``-1`` (the size a reshape infers), and :func:`resolve_sizes`
    replaces it with the run-time size. Plans of fully known shapes never hold one.

    Parameters
    ----------
    axis : int
        The input axis whose run-time size this size derives from.
    mul, div : int
        ``shape[axis] * mul // div`` is the size.
    """

    axis: int
    mul: int
    div: int

    def __new__(cls, axis: int, mul: int = 1, div: int = 1) -> RunTimeSize:
        """Make the size ``shape[axis] * mul // div``."""
        size = super().__new__(cls, -1)
        common = math.gcd(mul, div)
        size.axis, size.mul, size.div = axis, mul // common, div // common
        return size

    def __mul__(self, other: int) -> RunTimeSize:
        """Scale by a known factor (an upscaled spatial size)."""
        return RunTimeSize(self.axis, self.mul * other, self.div)

    __rmul__ = __mul__

    def __floordiv__(self, other: int) -> RunTimeSize:
        """Divide by a known factor (a downscaled spatial size)."""
        return RunTimeSize(self.axis, self.mul, self.div * other)

    def __mod__(self, other: int) -> int:
        """Divisibility is checked by the framework when the size is known (so: 0 here)."""
        return 0

    def __eq__(self, other: object) -> bool:
        """Equal to a run-time size of the same axis and scale only."""
        return isinstance(other, RunTimeSize) and (self.axis, self.mul, self.div) == (
            other.axis,
            other.mul,
            other.div,
        )

    def __hash__(self) -> int:
        """Hash of the axis and scale."""
        return hash(("RunTimeSize", self.axis, self.mul, self.div))

    def __repr__(self) -> str:
        """``None``, as an unknown size prints in a shape."""
        return "None"

    def __reduce__(self) -> tuple[type[RunTimeSize], tuple[int, int, int]]:
        """Pickle (and copy) by the axis and scale."""
        return (RunTimeSize, (self.axis, self.mul, self.div))


def resolve_sizes(sizes: tuple[int, ...], shape_of_input: Sequence[Any]) -> tuple[Any, ...]:
    """Replace each :class:`RunTimeSize` in ``sizes`` by its value for an input of ``shape_of_input``.

    ``shape_of_input`` holds the input's run-time sizes (for example the entries of
    ``tf.shape(x)``, scalar tensors); known sizes in ``sizes`` are kept as Python ints.

    Examples
    --------
    >>> plan = shuffle_plan((None, 8, None, 3), 2)
    >>> plan.collapse_shape
    (None, 2, None, 6)
    >>> resolve_sizes(plan.collapse_shape, (5, 8, 4, 3))
    (5, 2, 8, 6)
    """
    return tuple(shape_of_input[s.axis] * s.mul // s.div if isinstance(s, RunTimeSize) else s for s in sizes)


def has_run_time_sizes(plan: ShufflePlan) -> bool:
    """Tell whether ``plan`` holds a :class:`RunTimeSize` (an input size unknown until run time)."""
    return any(isinstance(s, RunTimeSize) for s in (*plan.expand_shape, *plan.collapse_shape))


class ShufflePlan(NamedTuple):
    """The three steps of one shuffle, as pure shape arithmetic.

    Attributes
    ----------
    expand_shape : tuple of int
        Shape that splits the channel axis into the channel count and one axis per factor.
    axes : tuple of int
        Permutation that moves each factor axis behind its spatial axis (or back, for the inverse).
    collapse_shape : tuple of int
        Shape of the result.

    A size that depends on an input size unknown until run time (``None`` in a TensorFlow
    graph) is a :class:`RunTimeSize`: ``-1`` as an int, ``None`` when printed.
    """

    expand_shape: tuple[int, ...]
    axes: tuple[int, ...]
    collapse_shape: tuple[int, ...]


def shuffle_plan(
    shape: Sequence[int | None],
    factor: int | Sequence[int],
    /,
    *,
    inverse: bool = False,
    channels_last: bool = False,
    order: Order = "CRD",
) -> ShufflePlan:
    """Plan a pixel shuffle (or, with ``inverse=True``, an unshuffle) of an array of ``shape``.

    Any framework applies the plan with three calls::

        y = reshape(x, plan.expand_shape)
        y = permute_dims(y, plan.axes)
        y = reshape(y, plan.collapse_shape)

    Parameters
    ----------
    shape : sequence of int
        Shape of the input. For a shuffle with ``k`` spatial axes it is
        ``(*batch, C * F, S1, ..., Sk)`` (``(*batch, S1, ..., Sk, C * F)`` when channels are
        last), where ``F`` is the product of the factors; for an unshuffle it is
        ``(*batch, C, S1 * f1, ..., Sk * fk)``. Any size may be ``None`` (known only at run
        time, as in a TensorFlow graph). The plan's sizes that depend on an unknown one are
        then ``-1`` (printed ``None``); the TensorFlow path fills them in from ``tf.shape``
        and checks their divisibility when the graph runs.
    factor : int or sequence of int
        ``r`` for two spatial axes with factor ``r`` each, or one factor per spatial axis.
    inverse : bool
        Plan the unshuffle (space to depth) instead of the shuffle.
    channels_last : bool
        The channel axis is the last axis instead of the one before the spatial axes.
    order : {"CRD", "DCR"}
        Channel order. In ``"CRD"`` (PyTorch) output ``(c, s * f + o)`` reads input channel
        ``c * F + ravel(o)``; in ``"DCR"`` (TensorFlow ``depth_to_space``) it reads
        ``ravel(o) * C + c``.

    Returns
    -------
    ShufflePlan
        ``(expand_shape, axes, collapse_shape)``.

    Raises
    ------
    TypeError
        If ``factor`` is not an int or a sequence of ints, or ``shape`` holds a non-integer.
    ValueError
        If a factor is not positive, ``order`` is unknown, ``shape`` has too few axes, the
        channel count is not divisible by the factor product (shuffle) or a spatial size is
        not divisible by its factor (unshuffle).

    Examples
    --------
    >>> shuffle_plan((1, 8, 3, 3), 2)
    ShufflePlan(expand_shape=(1, 2, 2, 2, 3, 3), axes=(0, 1, 4, 2, 5, 3), collapse_shape=(1, 2, 6, 6))
    """
    caller = "shuffle_plan"
    factors = check_factors(factor, caller, "factor")
    dims = _shape_tuple(shape)
    inverse = check_bool(inverse, caller, "inverse")
    last = check_bool(channels_last, caller, "channels_last")
    return plan_for(dims, factors, inverse, last, check_order(order, caller), caller, "factor")


def _shape_tuple(shape: object) -> tuple[int, ...]:
    if not isinstance(shape, Iterable):
        msg = f"shuffle_plan: shape must be a sequence of ints, got {shape!r}"
        raise TypeError(msg)
    dims: list[Any] = []
    for size in shape:
        if size is None:
            dims.append(size)
            continue
        if isinstance(size, bool) or not isinstance(size, SupportsIndex):
            msg = f"shuffle_plan: shape must hold only ints, got {shape!r}"
            raise TypeError(msg)
        dims.append(operator.index(size))
    return tuple(dims)


@functools.lru_cache(maxsize=PLAN_CACHE_SIZE)
def plan_for(
    shape: tuple[int, ...],
    factors: tuple[int, ...],
    inverse: bool,
    channels_last: bool,
    order: Order,
    caller: str,
    factor_name: str,
) -> ShufflePlan:
    """Build the plan from validated arguments; cached, since shapes repeat in a model.

    ``caller`` and ``factor_name`` only shape error messages.
    """
    k = len(factors)
    ndim = len(shape)
    if any(isinstance(size, float) for size in shape):
        msg = (
            f"{caller}: x has unknown sizes (shape {shape}); every size must be known to shuffle "
            "(for a Dask array, call x.compute_chunk_sizes() first)"
        )
        raise ValueError(msg)
    if ndim < k + 1:
        raise ValueError(too_few_axes_message(shape, factors, channels_last, caller, factor_name))
    if None in shape:
        shape = tuple(RunTimeSize(axis) if size is None else size for axis, size in enumerate(shape))
    channel_axis = ndim - 1 if channels_last else ndim - k - 1
    spatial_axes = tuple(range(ndim - k - 1, ndim - 1)) if channels_last else tuple(range(ndim - k, ndim))
    if inverse:
        for axis, f in zip(spatial_axes, factors, strict=True):
            rule = f"the spatial sizes of x must be divisible by {factor_name}={factor_text(factors)}"
            _check_divisible(shape, axis, f, rule, caller)
    else:
        product = math.prod(factors)
        given = factor_text(factors)  # an int factor reads as the square it is
        why = (
            f" ({factor_name}={given} squared)"
            if given.isdigit()
            else f", the product of {factor_name}={given}"
        )
        _check_divisible(
            shape, channel_axis, product, f"the channel axis of x must be divisible by {product}{why}", caller
        )
    plan = unchecked_plan(shape, factors, inverse, channels_last, order)
    if 0 in shape:
        _check_zero_size_extent(shape, factors, plan, caller, factor_name)
    return plan


def unchecked_plan(
    shape: tuple[Any, ...], factors: tuple[int, ...], inverse: bool, channels_last: bool, order: Order
) -> ShufflePlan:
    """Build the plan of an input ``shape`` that has room for the factors, without any check.

    The sizes are only multiplied and floor-divided, so a tracer's sizes (the 0-d tensors
    ``torch.jit.trace`` gives for ``x.shape``) give a plan of traced sizes; checks on them would
    convert them to Python values, which a trace cannot record.
    """
    k = len(factors)
    ndim = len(shape)
    channel_axis = ndim - 1 if channels_last else ndim - k - 1
    spatial_axes = range(ndim - k - 1, ndim - 1) if channels_last else range(ndim - k, ndim)
    batch = shape[: ndim - k - 1]
    spatial = tuple(shape[a] for a in spatial_axes)
    channels = shape[channel_axis]
    if inverse:  # the shuffle of the result, undone
        small = tuple(size // f for size, f in zip(spatial, factors, strict=True))
        deep = channels * math.prod(factors)
        source = (*batch, *small, deep) if channels_last else (*batch, deep, *small)
        return _inverted(_forward_plan(batch, deep, small, factors, channels_last, order), source)
    return _forward_plan(batch, channels, spatial, factors, channels_last, order)


def too_few_axes_message(
    shape: tuple[int | None, ...],
    factors: tuple[int, ...],
    channels_last: bool,
    caller: str,
    factor_name: str,
) -> str:
    """Return the error for an input without room for a channel axis, with the fix for a single channel."""
    k = len(factors)
    layout = "(*, S1, ..., Sk, C)" if channels_last else "(*, C, S1, ..., Sk)"
    msg = (
        f"{caller}: x must have at least {k + 1} dimensions {layout} for {factor_name}="
        f"{factor_text(factors)} with {k} spatial axes, got shape {shape}"
    )
    if len(shape) == k:  # the spatial axes alone: one image or mosaic without its channel axis
        fix = "x[..., None]" if channels_last else "x[None]"
        msg += f"; add the channel axis of a single-channel input with {fix}"
    return msg


def _check_divisible(shape: tuple[int, ...], axis: int, divisor: int, rule: str, caller: str) -> None:
    """Raise ``ValueError`` (``caller: <rule>, but ...``) unless ``divisor`` divides ``shape[axis]``."""
    if shape[axis] % divisor:
        msg = (
            f"{caller}: {rule}, but x.shape[{axis}]={shape[axis]} of shape {shape} "
            f"is not divisible by {divisor}"
        )
        raise ValueError(msg)


def _inverted(forward: ShufflePlan, source: tuple[int, ...]) -> ShufflePlan:
    """Return the plan that undoes ``forward``, giving back its input of shape ``source``."""
    inverse_axes = tuple(sorted(range(len(forward.axes)), key=forward.axes.__getitem__))
    expanded = tuple(forward.expand_shape[a] for a in forward.axes)
    return ShufflePlan(expanded, inverse_axes, source)


def _check_zero_size_extent(
    shape: tuple[int, ...], factors: tuple[int, ...], plan: ShufflePlan, caller: str, factor_name: str
) -> None:
    """Reject factors so large that the zero-size result's shape cannot be formed.

    The input's own extent is allowed (the framework made it), so only a plan that multiplies
    the nonzero sizes past both that and :data:`MAX_ZERO_SIZE_EXTENT` fails.
    """
    extent = 1
    for size in plan.expand_shape:  # every axis split: the largest of the plan's shapes
        extent *= max(size, 1)  # zero and run-time sizes count as one
    given = 1
    for size in shape:
        given *= max(size, 1)
    if extent > max(given, MAX_ZERO_SIZE_EXTENT):
        msg = (
            f"{caller}: {factor_name}={factor_text(factors)} is too large for x of shape {shape}: "
            f"the result would have shape {plan.collapse_shape}, whose nonzero sizes multiply to "
            f"{extent}, more than the {MAX_ZERO_SIZE_EXTENT} elements any framework can address"
        )
        raise ValueError(msg)


def _forward_plan(
    batch: tuple[int, ...],
    channels: int,
    spatial: tuple[int, ...],
    factors: tuple[int, ...],
    channels_last: bool,
    order: Order,
) -> ShufflePlan:
    """Plan a shuffle of ``channels`` (a multiple of the factor product) into ``spatial``."""
    k = len(factors)
    nb = len(batch)
    # No augmented assignment on sizes: a tracer's size may be a tensor, changed in place.
    out_channels = channels // math.prod(factors)
    depth = (out_channels, *factors) if order == "CRD" else (*factors, out_channels)
    # Positions of the out-channel axis and of each factor axis inside the expanded shape.
    depth_start = nb + k if channels_last else nb
    spatial_start = nb if channels_last else nb + k + 1
    channel_pos = depth_start if order == "CRD" else depth_start + k
    factor_pos = [depth_start + (1 if order == "CRD" else 0) + i for i in range(k)]
    expand_shape = (*batch, *spatial, *depth) if channels_last else (*batch, *depth, *spatial)

    interleaved: list[int] = []
    for i in range(k):
        interleaved += [spatial_start + i, factor_pos[i]]
    if channels_last:
        axes = (*range(nb), *interleaved, channel_pos)
    else:
        axes = (*range(nb), channel_pos, *interleaved)
    big = tuple(s * f for s, f in zip(spatial, factors, strict=True))
    collapse_shape = (*batch, *big, out_channels) if channels_last else (*batch, out_channels, *big)
    return ShufflePlan(expand_shape, axes, collapse_shape)


#: Short spellings of the shuffles' permutations of 2-d and 3-d data as steps that each reorder
#: at most three runs of adjacent axes (four for volumes). Keys are permutations of the axes
#: after the batch axes (channel, factor and spatial axes; each plan's ``axes`` minus its batch
#: axes); values are the order of those axes after each step. Each is a shortest spelling,
#: found by a breadth-first search over all such steps (the tests repeat the search).
_GROUPED_STEPS: dict[tuple[int, ...], tuple[tuple[int, ...], ...]] = {
    # 2-d: (C, r, r, H, W) and back, both orders, both layouts.
    (0, 3, 1, 4, 2): ((0, 1, 4, 2, 3), (0, 3, 1, 4, 2)),
    (2, 3, 0, 4, 1): ((0, 2, 3, 4, 1), (2, 3, 0, 4, 1)),
    (0, 2, 1, 3, 4): ((0, 2, 3, 4, 1), (0, 2, 1, 3, 4)),
    (0, 2, 4, 1, 3): ((0, 2, 3, 4, 1), (0, 2, 4, 1, 3)),
    (2, 4, 0, 1, 3): ((2, 3, 4, 0, 1), (2, 4, 0, 1, 3)),
    # 3-d.
    (0, 4, 1, 5, 2, 6, 3): ((0, 4, 5, 6, 1, 2, 3), (0, 4, 6, 1, 5, 2, 3), (0, 4, 1, 5, 2, 6, 3)),
    (3, 4, 0, 5, 1, 6, 2): ((1, 2, 3, 4, 0, 5, 6), (3, 4, 0, 5, 1, 6, 2)),
    (0, 3, 1, 4, 2, 5, 6): ((0, 2, 3, 1, 4, 5, 6), (0, 3, 1, 4, 2, 5, 6)),
    (0, 2, 4, 6, 1, 3, 5): ((0, 2, 3, 4, 5, 6, 1), (0, 2, 4, 5, 6, 1, 3), (0, 2, 4, 6, 1, 3, 5)),
    (2, 4, 6, 0, 1, 3, 5): ((0, 1, 3, 2, 4, 5, 6), (2, 4, 6, 0, 1, 3, 5)),
    (0, 2, 4, 1, 3, 5, 6): ((0, 2, 1, 3, 4, 5, 6), (0, 2, 4, 1, 3, 5, 6)),
}


def grouped_steps(axes: tuple[int, ...], batch: int) -> tuple[tuple[int, ...], ...]:
    """Spell a plan's permutation ``axes`` as steps that each reorder a few runs of adjacent axes.

    No step merges or moves the first ``batch`` axes; each step cuts the other axes into at most
    three runs (four for volumes) and reorders the runs, so that with the batch axes merged into
    one and each run into one, it is a transpose of rank 4 (5 for volumes): where the plan's
    one transpose has rank ``2k + 2``. Returns the order of the axes after each step; the last
    is ``axes``. 1-d data takes one step (three runs); four or more spatial axes take one step.

    Examples
    --------
    >>> grouped_steps(shuffle_plan((1, 8, 3, 3), 2).axes, 1)  # (N, C, r, r, H, W)
    ((0, 1, 2, 5, 3, 4), (0, 1, 4, 2, 5, 3))
    >>> grouped_steps((0, 2, 1), 1)
    ((0, 2, 1),)
    """
    head = tuple(range(batch))
    if axes == tuple(range(len(axes))):
        return ()
    moving = tuple([axis - batch for axis in axes[batch:]])
    if moving not in _GROUPED_STEPS:
        return (axes,)
    return tuple([(*head, *[batch + axis for axis in step]) for step in _GROUPED_STEPS[moving]])


def block_moves(axes: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """Spell the permutation ``axes`` as moves of runs of adjacent axes, each a rank-4 transpose.

    Each move ``(start, source, count)`` takes the ``count`` axes at ``source`` and puts them at
    ``start``, before the axes in between: with the axes before ``start`` merged into one and
    those after the run into another, that is the transpose ``(0, 2, 1, 3)`` of a 4-d array.
    A shuffle needs one move per spatial axis (and one more for channels last or DCR at most).

    Examples
    --------
    >>> block_moves(shuffle_plan((1, 8, 3, 3), 2).axes)  # (N, C, r, r, H, W) -> (N, C, H, r, W, r)
    ((2, 4, 1), (4, 5, 1))
    >>> block_moves((0, 1, 2))
    ()
    """
    current = list(range(len(axes)))
    moves: list[tuple[int, int, int]] = []
    start = 0
    while start < len(axes):
        source = current.index(axes[start])
        if source == start:
            start += 1
            continue
        count = 1
        while source + count < len(current) and current[source + count] == axes[start + count]:
            count += 1
        moves.append((start, source, count))
        current[start : source + count] = current[source : source + count] + current[start:source]
        start += count
    return tuple(moves)
