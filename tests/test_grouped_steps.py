"""The low-rank spelling of each shuffle's permutation: shortest, valid, batch axes never moved."""

from __future__ import annotations

import itertools

import pytest

from subpixel._plan import _GROUPED_STEPS, Order, grouped_steps, shuffle_plan


def _reorders(count: int, runs: int) -> list[tuple[int, ...]]:
    """Every reorder of ``count`` axes cut into at most ``runs`` runs (identity left out)."""
    found = set()
    for cut_count in range(1, min(runs, count)):
        for cuts in itertools.combinations(range(1, count), cut_count):
            bounds = (0, *cuts, count)
            for order in itertools.permutations(range(len(bounds) - 1)):
                found.add(tuple(axis for run in order for axis in range(bounds[run], bounds[run + 1])))
    found.discard(tuple(range(count)))
    return sorted(found)


def _shortest(target: tuple[int, ...], runs: int) -> int:
    """The fewest steps of at most ``runs`` runs that reach ``target`` (breadth-first search)."""
    start = tuple(range(len(target)))
    reorders = _reorders(len(target), runs)
    seen, frontier, steps = {start}, [start], 0
    while target not in seen:
        frontier = [tuple(p[i] for i in r) for p in frontier for r in reorders]
        frontier = [p for p in dict.fromkeys(frontier) if p not in seen]
        seen.update(frontier)
        steps += 1
    return steps


def _runs_of_step(before: tuple[int, ...], after: tuple[int, ...]) -> int:
    """How many runs of ``before`` stay adjacent and in order in ``after``."""
    position = {axis: i for i, axis in enumerate(after)}
    return 1 + sum(position[b] != position[a] + 1 for a, b in itertools.pairwise(before))


def _plans() -> list[tuple[str, tuple[int, ...]]]:
    plans = []
    orders: tuple[Order, ...] = ("CRD", "DCR")
    options = itertools.product((1, 2, 3), (False, True), orders, (False, True))
    for spatial, inverse, order, last in options:
        factors = (2,) * spatial
        channels = 1 if inverse else 2**spatial
        sizes = (8,) * spatial if inverse else (4,) * spatial
        shape = (3, *sizes, channels) if last else (3, channels, *sizes)
        plan = shuffle_plan(shape, factors, inverse=inverse, channels_last=last, order=order)
        plans.append((f"{spatial}d-{'un' * inverse}shuffle-{order}-{'last' if last else 'first'}", plan.axes))
    return plans


@pytest.mark.parametrize(("name", "axes"), _plans(), ids=[name for name, _ in _plans()])
def test_every_plan_is_spelled_in_the_fewest_low_rank_steps(name: str, axes: tuple[int, ...]) -> None:
    spatial = (len(axes) - 2) // 2
    runs = 4 if spatial == 3 else 3
    steps = grouped_steps(axes, 1)
    if axes == tuple(range(len(axes))):
        assert steps == ()  # nothing moves (1-d channels-last DCR)
        return
    assert steps[-1] == axes
    before = tuple(range(len(axes)))
    for step in steps:
        assert step[0] == 0, step  # the batch axis stays first and apart
        assert sorted(step) == list(range(len(axes))), step
        assert _runs_of_step(before[1:], step[1:]) <= runs, (before, step)
        before = step
    moving = tuple(axis - 1 for axis in axes[1:])
    if spatial > 1:
        assert moving in _GROUPED_STEPS, name
        assert len(steps) == _shortest(moving, runs), name
    else:
        assert len(steps) == 1  # three runs at most: one transpose of rank 4


def test_every_table_entry_is_a_shortest_spelling() -> None:
    for moving, steps in _GROUPED_STEPS.items():
        runs = 4 if len(moving) == 7 else 3
        before = tuple(range(len(moving)))
        for step in steps:
            assert _runs_of_step(before, step) <= runs, (moving, before, step)
            before = step
        assert before == moving
        assert len(steps) == _shortest(moving, runs), moving


def test_several_batch_axes_stay_in_place_and_unknown_permutations_take_one_step() -> None:
    axes = shuffle_plan((2, 3, 8, 4, 4), 2).axes
    steps = grouped_steps(axes, 2)
    assert all(step[:2] == (0, 1) for step in steps)
    assert steps[-1] == axes
    assert grouped_steps((0, 1, 2), 1) == ()
    four_d = shuffle_plan((1, 16, 2, 2, 2, 2), (2, 2, 2, 2)).axes
    assert grouped_steps(four_d, 1) == (four_d,)
