"""A plan spelled as low-rank transposes: what exporters and converters map best.

A plan's one transpose has rank up to ``2k + 2`` (6 for images, 8 for volumes), which several
converters refuse (Core ML, ncnn, TensorFlow Lite above 6). :func:`apply_low_rank` applies the
same permutation as the steps of :func:`~subpixel._plan.grouped_steps`: each step merges the
batch axes into one that no step moves or merges with another (converters such as pnnx read the
first axis as the batch) and the moving axes into at most three runs (four for volumes), so no
tensor exceeds rank 4 for 2-d data and rank 5 for volumes. Symbolic sizes (a tracer's or an
exporter's) stay symbolic. Framework-free: the caller passes its transpose.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from subpixel._plan import ShufflePlan, grouped_steps

__all__ = ["apply_low_rank"]


def apply_low_rank(x: Any, plan: ShufflePlan, transpose: Callable[[Any, tuple[int, ...]], Any]) -> Any:
    """Apply ``plan`` to ``x`` with reshapes and ``transpose(array, axes)`` calls of low rank.

    The result is a view or a copy, as the framework's reshape and transpose give it.
    """
    spatial = len(plan.expand_shape) - len(plan.collapse_shape)
    batch = len(plan.collapse_shape) - spatial - 1
    sizes = plan.expand_shape
    current = tuple(range(len(sizes)))
    moved = x
    for arrangement in grouped_steps(plan.axes, batch):
        runs = _runs(current[batch:], arrangement[batch:])
        groups = [[sizes[axis] for axis in current[:batch]], *([sizes[axis] for axis in run] for run in runs)]
        order = sorted(range(len(runs)), key=lambda run: arrangement.index(runs[run][0]))
        moved = transpose(moved.reshape(_inferred(groups)), (0, *[1 + run for run in order]))
        current = arrangement
    return moved.reshape(_inferred([[size] for size in plan.collapse_shape]))


def _runs(before: tuple[int, ...], after: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Cut ``before`` into the runs of axes that stay adjacent, in the same order, in ``after``."""
    runs = [[before[0]]]
    for axis in before[1:]:
        if after.index(axis) == after.index(runs[-1][-1]) + 1:
            runs[-1].append(axis)
        else:
            runs.append([axis])
    return [tuple(run) for run in runs]


def _inferred(groups: list[list[Any]]) -> tuple[Any, ...]:
    """Return the sizes of merged ``groups``, with ``-1`` for the group holding most symbolic sizes.

    A reshape's inferred size needs no size arithmetic in the traced graph: it goes to the
    group whose product would cost the most (the first of those that tie).
    """
    symbolic = [sum([type(size) is not int for size in group]) for group in groups]
    inferred = symbolic.index(max(symbolic)) if max(symbolic, default=0) else None
    return tuple([-1 if i == inferred else _product(group) for i, group in enumerate(groups)])


def _product(sizes: list[Any]) -> Any:
    """Multiply ``sizes``, the symbolic ones first and the ints as one factor (none if it is 1)."""
    known = math.prod([size for size in sizes if type(size) is int])
    symbolic = [size for size in sizes if type(size) is not int]
    if not symbolic:
        return known
    product = symbolic[0]
    for size in symbolic[1:]:
        product = product * size
    return product if known == 1 else product * known
