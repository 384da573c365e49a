"""Shuffle JAX arrays whose sharding is explicit (part of their type), keeping it where possible.

On a mesh with ``Explicit`` axes (the default of :func:`jax.make_mesh` since JAX 0.7), a reshape
of a sharded axis must be told the sharding of its result, or JAX raises ``ShardingTypeError``.
This module works that sharding out from the plan, as pure shape arithmetic:

* a split axis (``reshape`` to the expanded shape) passes its sharding to its first non-unit
  part, when that part divides evenly over the mesh axes;
* ``permute_dims`` carries each axis's sharding along;
* a merge (``reshape`` to the result) keeps the sharding of its first non-unit part, when no
  other part is sharded.

So a sharded batch axis, a sharded spatial axis (for an unshuffle: when every shard holds whole
blocks of ``factor`` rows) and, in ``"CRD"``, a channel axis sharded in whole groups keep their
sharding with no communication. An axis whose sharding cannot follow (a shard holds part of a
group; any sharded channel axis in ``"DCR"``) is first made replicated with
:func:`jax.sharding.reshard`: the same all-gather that XLA inserts for ``Auto`` axes, written
out.

Arrays without explicit axes never come here: for them XLA's sharding propagation does the
same work (see ``docs/scaling.md``).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec

from subpixel._plan import ShufflePlan

# Typed through Any: these JAX functions carry no annotations, and this file is checked strictly.
_reshard: Any = getattr(jax.sharding, "reshard", None)
_partition_spec: Any = PartitionSpec

__all__ = ["apply_plan_explicit", "apply_plan_sharded", "explicit_spec", "sharding_steps"]

#: One entry per axis: None (not sharded) or a tuple of mesh axis names.
Spec = tuple[tuple[str, ...] | None, ...]


def explicit_spec(x: Any) -> tuple[Spec, dict[str, int]] | None:
    """Return ``(spec, mesh axis sizes)`` when ``x`` is sharded over explicit mesh axes, else None.

    Parameters
    ----------
    x : jax.Array or tracer
        The input; its abstract value carries the sharding in explicit mode.

    Returns
    -------
    tuple or None
        One entry per axis of ``x`` (None, or the mesh axis names it is split over) and the
        size of every mesh axis; None when no axis of ``x`` is explicitly sharded.
    """
    typeof = getattr(jax, "typeof", None)
    if typeof is None:  # a JAX without shardings in types: nothing is explicit
        return None
    sharding = getattr(typeof(x), "sharding", None)
    spec = getattr(sharding, "spec", None)
    mesh = getattr(sharding, "mesh", None)
    if spec is None or mesh is None:
        return None
    entries: list[tuple[str, ...] | None] = []
    for entry in tuple(spec) + (None,) * (x.ndim - len(spec)):
        if entry is None:
            entries.append(None)
        else:
            names = (entry,) if isinstance(entry, str) else tuple(entry)
            entries.append(names or None)
    if all(entry is None for entry in entries):
        return None
    sizes = dict(zip(mesh.axis_names, mesh.axis_sizes, strict=True))
    return tuple(entries), sizes


def sharding_steps(
    shape: tuple[int, ...], plan: ShufflePlan, spec: Spec, sizes: dict[str, int]
) -> tuple[Spec, Spec, Spec]:
    """Shardings of the input, of the expanded array and of the result, for ``plan``.

    The input sharding is ``spec`` with every axis whose sharding cannot follow the shuffle
    replaced by None (those axes must be resharded first).

    Parameters
    ----------
    shape : tuple of int
        Shape of the input.
    plan : ShufflePlan
        The shuffle.
    spec : tuple
        Sharding of the input, one entry per axis.
    sizes : dict
        Size of each mesh axis.

    Returns
    -------
    tuple
        ``(input spec, expanded spec, result spec)``.
    """
    current = list(spec)
    for _ in range(len(shape) + 1):
        expanded, origin, bad = _split(shape, plan.expand_shape, tuple(current), sizes)
        if not bad:
            moved = tuple(expanded[a] for a in plan.axes)
            moved_shape = tuple(plan.expand_shape[a] for a in plan.axes)
            result, bad_parts = _merge(moved_shape, plan.collapse_shape, moved)
            bad = {origin[plan.axes[part]] for part in bad_parts}
            if not bad:
                return tuple(current), expanded, result
        for axis in bad:
            current[axis] = None
    msg = f"internal error: no sharding of {shape} follows the plan {plan}"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover


def apply_plan_sharded(x: Any, plan: ShufflePlan) -> Any | None:
    """Shuffle ``x`` if it is sharded over explicit mesh axes; return None if it is not.

    This is the hook for the JAX fast path: call it first, inside the jitted function, and fall
    back to the plain reshape, transpose, reshape when it returns None.

    Parameters
    ----------
    x : jax.Array or tracer
        The input.
    plan : ShufflePlan
        The shuffle.

    Returns
    -------
    jax.Array or None
        The shuffled array, or None when ``x`` has no explicitly sharded axis.
    """
    found = explicit_spec(x)
    if found is None:
        return None
    spec, sizes = found
    return apply_plan_explicit(x, plan, spec, sizes)


def apply_plan_explicit(x: Any, plan: ShufflePlan, spec: Spec, sizes: dict[str, int]) -> Any:
    """Apply ``plan`` to an explicitly sharded ``x``, telling each reshape its result's sharding.

    Parameters
    ----------
    x : jax.Array or tracer
        The input, with the sharding ``spec`` over mesh axes of ``sizes``.
    plan : ShufflePlan
        The shuffle.
    spec, sizes
        As returned by :func:`explicit_spec`.

    Returns
    -------
    jax.Array
        The shuffled array, sharded as :func:`sharding_steps` says.
    """
    mesh = jax.typeof(x).sharding.mesh
    start, expanded, result = sharding_steps(tuple(x.shape), plan, spec, sizes)
    if start != spec:
        x = _reshard(x, NamedSharding(mesh, _partition(start)))
    y = jax.lax.reshape(x, plan.expand_shape, out_sharding=NamedSharding(mesh, _partition(expanded)))
    y = jnp.transpose(y, plan.axes)
    return jax.lax.reshape(y, plan.collapse_shape, out_sharding=NamedSharding(mesh, _partition(result)))


def _partition(spec: Spec) -> Any:
    return _partition_spec(*(None if e is None else e[0] if len(e) == 1 else e for e in spec))


def _groups(merged: tuple[int, ...], split: tuple[int, ...]) -> list[range]:
    """For each merged axis, the range of split axes whose sizes multiply to it."""
    groups: list[range] = []
    start = 0
    for size in merged:
        stop = start + 1
        while stop < len(split) and math.prod(split[start:stop]) != size:
            stop += 1
        # Trailing unit axes belong to the last group.
        groups.append(range(start, stop))
        start = stop
    if groups and start < len(split):
        groups[-1] = range(groups[-1].start, len(split))
    return groups


def _lead(shape: tuple[int, ...], group: range) -> int:
    """Return the first axis of ``group`` longer than 1 (or its first axis)."""
    return next((axis for axis in group if shape[axis] > 1), group.start)


def _split(
    shape: tuple[int, ...], expand_shape: tuple[int, ...], spec: Spec, sizes: dict[str, int]
) -> tuple[Spec, list[int], set[int]]:
    """Sharding after splitting each input axis; input axes whose sharding cannot follow."""
    expanded: list[tuple[str, ...] | None] = [None] * len(expand_shape)
    origin = [0] * len(expand_shape)
    bad: set[int] = set()
    for axis, group in enumerate(_groups(shape, expand_shape)):
        for part in group:
            origin[part] = axis
        names = spec[axis]
        if names is None:
            continue
        lead = _lead(expand_shape, group)
        if expand_shape[lead] % math.prod(sizes[n] for n in names):
            bad.add(axis)
        else:
            expanded[lead] = names
    return tuple(expanded), origin, bad


def _merge(shape: tuple[int, ...], collapse_shape: tuple[int, ...], spec: Spec) -> tuple[Spec, set[int]]:
    """Sharding after merging groups of axes; the sharded axes that are not a group's lead."""
    result: list[tuple[str, ...] | None] = []
    bad: set[int] = set()
    for group in _groups(collapse_shape, shape):
        lead = _lead(shape, group)
        bad.update(part for part in group if part != lead and spec[part] is not None)
        result.append(spec[lead])
    return tuple(result), bad
