"""Kind coverage: every kind of input meets every size class and element size of the engine rows."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from subpixel import _limits, pixel_shuffle, pixel_unshuffle
from subpixel.conformance import (
    Implementation,
    all_cases,
    register_implementation,
    run_matrix,
    to_json,
    to_markdown,
    unregister_implementation,
)
from subpixel.conformance import _engine as engine
from subpixel.conformance._case import ITEMSIZES, Case
from subpixel.conformance._cases import clear_cache
from subpixel.conformance._cases_kinds import KIND_BACKENDS, kind_cases
from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._kind_coverage import KIND_ROWS, kind_coverage, required_classes
from subpixel.conformance._kinds import (
    KINDS,
    TINY,
    class_bounds,
    kinds_of,
    required_kinds,
    size_classes,
    size_classes_of,
)
from subpixel.conformance._report_kinds import kind_lines

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()


def _library(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def _all_ran(backend: str, cases: list[Case]) -> RouteCoverage:
    """Route coverage of a row on which every case of ``backend`` ran and passed in its dtypes."""
    found = RouteCoverage(backend, "cpu", backend)
    for case in cases:
        for dtype in case.dtypes or tuple(ITEMSIZES):
            if case.runs_on(backend, dtype):
                found.add(set(), ITEMSIZES[dtype], case.id, True)
    return found


def test_kinds_of_reads_the_case() -> None:
    """Layouts, options, rank, batch axes, factor shapes and odd prime sizes, from the case alone."""
    sliced = Case("t", "a", (2, 8, 3, 4), 2, layout="sliced")
    assert {"strided", "offset", "channels_first", "crd", "2d", "batch1", "factor_int"} <= kinds_of(sliced)
    assert "c_order" not in kinds_of(sliced)
    volume = Case("t", "b", (1, 8, 2, 2, 2), (2, 2, 2), layout="torch_channels_last", order="DCR")
    assert {"torch_channels_last_3d", "3d", "dcr", "factor_tuple", "batch1"} <= kinds_of(volume)
    line = Case("t", "c", (5, 6), (3,), inverse=True, channels_last=True, layout="fortran")
    assert {"fortran", "1d", "batch0", "channels_last", "factor_tuple"} <= kinds_of(line)
    odd = Case("t", "d", (3, 2, 4, 3, 7, 13), (1, 3), channels_last=False)
    assert {"batch2+", "factor_unequal", "factor_one", "odd_prime"} <= kinds_of(odd)
    even = Case("t", "e", (3, 2, 4, 3, 8, 13), (1, 3))
    assert "odd_prime" not in kinds_of(even)


def test_size_classes_follow_the_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Classes are built from ``_limits.THRESHOLDS``: moving one moves the class bounds and the cases."""
    assert size_classes("numpy")[0] == TINY
    assert class_bounds("numpy", "from PARALLEL_BYTES", 4) == (_limits.PARALLEL_BYTES, None)
    assert class_bounds("torch", "from KERNEL_ELEMENTS", 8)[0] == 8 * _limits.TORCH_KERNEL_ELEMENTS
    assert size_classes("dask") == ()
    moved = tuple(
        dataclasses.replace(t, value=2 * t.value) if t.name == "PARALLEL_BYTES" else t
        for t in _limits.THRESHOLDS
    )
    monkeypatch.setattr(_limits, "THRESHOLDS", moved)
    assert class_bounds("numpy", "from PARALLEL_BYTES", 4) == (2 * _limits.PARALLEL_BYTES, None)
    threaded = [c for c in kind_cases() if "PARALLEL_BYTES" in c.name and c.backends == ("numpy",)]
    assert threaded
    assert all("from PARALLEL_BYTES" in size_classes_of(c, "numpy", ITEMSIZES[c.dtypes[0]]) for c in threaded)
    assert all(_elements(c) * ITEMSIZES[c.dtypes[0]] >= 2 * _limits.PARALLEL_BYTES for c in threaded)


def _elements(case: Case) -> int:
    count = 1
    for n in case.shape:
        count *= n
    return count


@pytest.mark.parametrize("profile", ["default", "slow"])
@pytest.mark.parametrize("backend", KIND_BACKENDS)
def test_the_cases_meet_every_pair_by_construction(backend: str, profile: str) -> None:
    """Every kind a row can express meets every size class and element size of its fast path."""
    found = kind_coverage(_all_ran(backend, list(all_cases(profile=profile))), {}, profile)
    assert found.missing  # no case known: every pair is missing
    cases = {c.id: c for c in all_cases(profile=profile)}
    found = kind_coverage(_all_ran(backend, list(cases.values())), cases, profile)
    assert found.required
    assert found.classes == required_classes(backend, profile)
    assert found.missing == []
    assert set(found.kinds) == {k for k, why in required_kinds(backend).items() if not why}


def test_large_inputs_stay_in_the_budget() -> None:
    """The default profile's kind cases stay below 256 MiB; the classes above are the slow profile's."""
    for case in kind_cases():
        assert _elements(case) * ITEMSIZES[case.dtypes[0]] < 256 << 20, case.id
    slow = kind_cases("slow")
    assert slow
    assert all(c.backends == ("torch",) and "HUGE_PAGES_MAX" in c.name for c in slow)
    assert "from HUGE_PAGES_MAX_BYTES" not in required_classes("torch", "default")
    assert "from HUGE_PAGES_MAX_BYTES" in required_classes("torch", "slow")


def test_only_the_engine_rows_must_meet_their_pairs() -> None:
    """Rows of other backends are reported: a row without thresholds has element sizes alone."""
    assert set(KIND_ROWS) == set(KIND_BACKENDS)
    found = kind_coverage(RouteCoverage("jax", "cpu", "jax"), {}, "default")
    assert not found.required
    assert found.missing == []
    assert found.classes == ()
    assert {k.id for k in KINDS} >= set(found.kinds)
    assert kind_lines([found])[-1] == "- jax (cpu): no case ran"
    line = Case("t", "a", (2, 6, 5), (3,), layout="fortran")
    routes = RouteCoverage("jax", "cpu", "jax")
    routes.add(set(), 4, line.id, True)
    found = kind_coverage(routes, {line.id: line}, "default")
    assert not found.missing
    assert kind_lines([found])[-1] == (
        f"- jax (cpu): {len(kinds_of(line))} of {len(found.kinds)} kinds met in every element size "
        "it ran (4 bytes)"
    )


def test_a_removed_case_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that requires coverage fails when the one case of a (kind, size class) pair is gone.

    The NumPy row runs the kinds family in the dtype of its Fortran-order case at BLOCK_BYTES;
    without that case the run names the pair (and the element size) no case met any more.
    """
    removed = next(
        c for c in all_cases() if c.family == "kinds" and c.name.startswith("numpy-fortran-from-BLOCK_BYTES")
    )
    dtype = removed.dtypes[0]
    name = "kinds-numpy"
    register_implementation(Implementation(name, "numpy", _library, routes="numpy"))
    try:
        kwargs: dict[str, Any] = {"families": ["kinds"], "dtypes": [dtype], "require_routes": True}
        whole = run_matrix([name], ["cpu"], **kwargs)
        assert not any(c.failed for _r, _f, c in whole.failed_cells)

        def without(quick: bool = False, profile: str = "default") -> tuple[Case, ...]:
            return tuple(c for c in all_cases(quick, profile) if c.id != removed.id)

        monkeypatch.setattr(engine, "all_cases", without)
        less = run_matrix([name], ["cpu"], **kwargs)
    finally:
        unregister_implementation(name)
    assert not less.ok
    new = set(less.problems) - set(whole.problems)
    size = ITEMSIZES[dtype]
    head = f"kind coverage: no case of {name} (cpu) met "
    assert f"{head}fortran at size class 'from BLOCK_BYTES'" in new
    assert f"{head}fortran in {size}-byte elements" in new
    # Whatever else is new is a pair of the removed case (in this one dtype, its plain kinds too).
    pairs = {f"{head}{kind} at size class 'from BLOCK_BYTES'" for kind in kinds_of(removed)}
    pairs |= {f"{head}{kind} in {size}-byte elements" for kind in kinds_of(removed)}
    assert new <= pairs
    assert not set(whole.problems) - set(less.problems)
    report = json.loads(to_json(less))
    (entry,) = report["kind_coverage"]
    assert entry["by_size_class"]["fortran"]["from BLOCK_BYTES"] == "-"
    assert "fortran at size class 'from BLOCK_BYTES'" in entry["missing"]
    markdown = to_markdown(less)
    assert "## Kind coverage" in markdown
    assert "| fortran | " in markdown


def test_a_full_run_enforces_kind_coverage_a_filtered_one_reports_it() -> None:
    """The header says whether kind coverage was enforced; a filtered run only reports it."""
    matrix = run_matrix(["numpy"], ["cpu"], quick=True, families=["factors"], dtypes=["uint8"])
    assert matrix.header["kind_coverage_enforced"] is False
    assert not any(p.startswith("kind coverage") for p in matrix.problems)
    (entry,) = json.loads(to_json(matrix))["kind_coverage"]
    assert entry["enforced"] is False
    assert entry["missing"]


def test_cases_follow_the_limits_when_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    """``clear_cache`` rebuilds the kinds family from the thresholds of the moment."""
    before = {c.id for c in all_cases() if c.family == "kinds"}
    moved = tuple(
        dataclasses.replace(t, value=t.value // 2) if t.name == "BLOCK_BYTES" else t
        for t in _limits.THRESHOLDS
    )
    monkeypatch.setattr(_limits, "THRESHOLDS", moved)
    clear_cache()
    try:
        after = {c.id for c in all_cases() if c.family == "kinds"}
    finally:
        monkeypatch.undo()
        clear_cache()
    assert before != after
    assert len(before) == len(after)
