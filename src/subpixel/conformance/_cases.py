"""The cases of the matrix, grouped in families (the matrix's columns), and who runs which.

The families are built in rooms of one job: :mod:`._case` (what a case is),
:mod:`._cases_shapes` (the small-input families), :mod:`._cases_sizes` (the size family, at
the thresholds of :mod:`subpixel._limits`), :mod:`._cases_kinds` (every kind of input at every
size class) and :mod:`._cases_autodiff` (gradients). This
module collects them in column order and decides which cases a compiling row runs in which
dtype; it also re-exports the case vocabulary the rest of conformance imports from here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from subpixel.conformance._case import (
    ALL_OPTIONS,
    FAMILIES,
    ITEMSIZES,
    LAYOUTS,
    OPTION_CHANNELS_LAST,
    OPTION_INVERSE,
    OPTION_ORDER,
    OPTION_TUPLE,
    PROFILES,
    SIZE_CLASSES,
    Case,
    Family,
    Order,
    documented_shape,
    installed,
)
from subpixel.conformance._cases_autodiff import autodiff_cases
from subpixel.conformance._cases_kinds import kind_cases
from subpixel.conformance._cases_shapes import SHAPE_FAMILIES
from subpixel.conformance._cases_sizes import size_cases, slow_cases

__all__ = [
    "ALL_OPTIONS",
    "FAMILIES",
    "ITEMSIZES",
    "LAYOUTS",
    "OPTION_CHANNELS_LAST",
    "OPTION_INVERSE",
    "OPTION_ORDER",
    "OPTION_TUPLE",
    "PROFILES",
    "SIZE_CLASSES",
    "Case",
    "Family",
    "Order",
    "all_cases",
    "cases_by_id",
    "clear_cache",
    "documented_shape",
    "installed",
    "runs_compiled",
]


def all_cases(quick: bool = False, profile: str = "default") -> tuple[Case, ...]:
    """Return every case (or the quick subset) of ``profile``, in family order."""
    if profile not in PROFILES:
        msg = f"all_cases: profile must be one of {PROFILES}, got {profile!r}"
        raise ValueError(msg)
    return _all_cases(quick, profile)


@functools.lru_cache(maxsize=8)
def _all_cases(quick: bool, profile: str) -> tuple[Case, ...]:
    builders = (*SHAPE_FAMILIES, size_cases, kind_cases, autodiff_cases)
    cases = tuple(case for build in builders for case in build())
    if profile == "slow":
        cases += (*slow_cases(), *kind_cases("slow"))
    return tuple(c for c in cases if c.quick) if quick else cases


def runs_compiled(case: Case, dtype: str, dtypes: Sequence[str]) -> bool:
    """Whether a row that compiles per shape runs ``case`` in ``dtype``.

    Such a row (``Implementation.compiles_per_shape``) runs the quick cases and the cases made
    for given dtypes as any row does. Each other case runs on one dtype of each element size:
    the dtypes of that size in ``dtypes`` (those the row runs) take the cases of a family in
    turn. So every case meets every element size the row runs, and every dtype meets every
    family (its quick cases and its share of the rest).
    """
    if case.quick or case.dtypes:
        return True
    size = ITEMSIZES[dtype]
    peers = [d for d in dtypes if ITEMSIZES[d] == size]
    if dtype not in peers:
        return True
    return peers[_turn(case.id) % len(peers)] == dtype


@functools.lru_cache(maxsize=1)
def _turns() -> dict[str, int]:
    """Each case's place among the cases of its family that run on every dtype and are not quick."""
    turns: dict[str, int] = {}
    counts: dict[str, int] = {}
    for case in all_cases(profile="slow"):
        if not case.quick and not case.dtypes:
            turns[case.id] = counts.get(case.family, 0)
            counts[case.family] = turns[case.id] + 1
    return turns


def _turn(case_id: str) -> int:
    return _turns().get(case_id, 0)


def clear_cache() -> None:
    """Forget the cases built so far (they follow :mod:`subpixel._limits` when built again)."""
    _all_cases.cache_clear()
    _turns.cache_clear()


def cases_by_id() -> dict[str, Case]:
    """Return every case of every profile by its id."""
    return {case.id: case for case in all_cases(profile="slow")}
