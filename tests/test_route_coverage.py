"""Route coverage: the matrix proves which routes ran, and the size family is a covering set."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import subpixel._dispatch
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
from subpixel.conformance._cases import SIZE_CLASSES
from subpixel.conformance._coverage import known_routes

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ITEMSIZE = {name: size for size, names in SIZE_CLASSES.items() for name in names}


def _library(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def _bypass(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """A correct shuffle that never calls the library, so it takes none of its routes."""
    import array_api_strict as xp

    host = np.asarray(_library(np.asarray(x), factor, inverse, channels_last, order))
    return xp.asarray(host)


@pytest.fixture
def rows() -> Iterator[list[str]]:
    """Names registered by a test, removed afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        unregister_implementation(name)


@pytest.mark.needs("array_api_strict")
def test_a_route_no_case_took_fails_a_run_that_requires_routes(rows: list[str]) -> None:
    """A row that claims the generic route but never takes it fails; the library's row passes."""
    for name, call in (("bypass", _bypass), ("through", _library)):
        register_implementation(Implementation(name, "array_api_strict", call, routes="array_api"))
        rows.append(name)
    kwargs: dict[str, Any] = {"families": ["factors"], "dtypes": ["int8"], "require_routes": True}
    bypass = run_matrix(["bypass"], ["cpu"], **kwargs)
    assert not bypass.failed_cells  # every result is right ...
    assert not bypass.ok  # ... but the route it claims was never taken
    assert any("array_api:generic" in p for p in bypass.problems), bypass.problems
    assert "NOT REACHED" in to_markdown(bypass)
    through = run_matrix(["through"], ["cpu"], **kwargs)
    assert through.ok, through.problems
    [coverage] = through.coverage
    factors = [c for c in all_cases() if c.family == "factors" and not c.error]
    assert coverage.cases["array_api:generic"] == len(factors)
    assert coverage.itemsizes["array_api:generic"] == [1]
    assert '"array_api:generic": "10 cases' in to_json(through).replace("\n", "")


@pytest.mark.needs("array_api_strict")
def test_unreachable_routes_are_reported_never_passed(
    rows: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A route that cannot run here is named with its reason and does not fail the run."""
    monkeypatch.setattr(subpixel._dispatch, "unreachable_routes", lambda: {"array_api:generic": "no reason"})
    register_implementation(Implementation("bypass", "array_api_strict", _bypass, routes="array_api"))
    rows.append("bypass")
    matrix = run_matrix(["bypass"], ["cpu"], families=["factors"], dtypes=["int8"], require_routes=True)
    assert matrix.ok, matrix.problems
    assert "not reachable here: no reason" in to_markdown(matrix)


@pytest.mark.needs("array_api_strict")
def test_a_route_declared_unreachable_but_taken_fails_any_run(
    rows: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast path that says a route cannot run here, and then takes it, is wrong (filtered run too)."""
    monkeypatch.setattr(subpixel._dispatch, "unreachable_routes", lambda: {"array_api:generic": "no reason"})
    register_implementation(Implementation("through", "array_api_strict", _library, routes="array_api"))
    rows.append("through")
    matrix = run_matrix(["through"], ["cpu"], families=["factors"], dtypes=["int8"])
    assert not matrix.failed_cells
    assert not matrix.ok
    assert any("says is not reachable here (no reason)" in p for p in matrix.problems), matrix.problems
    assert "**TAKEN BY 10 CASES" in to_markdown(matrix)


def test_a_case_built_for_a_route_must_take_it(rows: list[str]) -> None:
    """Masked arrays are built for the Array-API route: unmasking them first gives the right bytes
    on another route, and fails the case."""

    def unmasked(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        return _library(np.asarray(x), factor, inverse, channels_last, order)

    for name, call in (("unmasked", unmasked), ("masked", _library)):
        register_implementation(Implementation(name, "numpy", call, routes="numpy"))
        rows.append(name)
    kwargs: dict[str, Any] = {"families": ["sizes"], "dtypes": ["uint8"]}
    bad = run_matrix(["unmasked"], ["cpu"], **kwargs)
    [(_row, _family, cell)] = bad.failed_cells
    assert cell.failures == [
        c.id for c in all_cases() if c.layout == "numpy_masked" and c.dtypes == ("uint8",)
    ]
    assert cell.first_failure is not None
    assert "not numpy:array-api, which the case is built for" in cell.first_failure["message"]
    assert run_matrix(["masked"], ["cpu"], **kwargs).ok


@pytest.mark.needs("array_api_strict")
def test_filtered_runs_report_without_enforcing(rows: list[str]) -> None:
    """--families/--dtypes/--quick runs list the routes but do not fail on a missing one."""
    register_implementation(Implementation("bypass", "array_api_strict", _bypass, routes="array_api"))
    rows.append("bypass")
    matrix = run_matrix(["bypass"], ["cpu"], families=["factors"], dtypes=["int8"])
    assert matrix.ok
    assert "filtered run: not enforced" in to_markdown(matrix)


def test_declared_routes_belong_to_their_prefix() -> None:
    """Each prefix's routes are named ``prefix:...`` and unreachable ones are among them."""
    for prefix in ("numpy", "dask", "array_api"):
        routes, unreachable = known_routes(prefix)
        assert all(r.startswith(f"{prefix}:") for r in routes)
        assert set(unreachable) <= set(routes)
    assert "array_api:generic" in known_routes("array_api")[0]


def test_size_family_is_a_covering_set() -> None:
    """Every threshold of NumPy and torch meets every element size, and both values of each option."""
    groups: dict[tuple[str, str], list[Any]] = collections.defaultdict(list)
    for case in all_cases():
        # The memory-format cases (ambiguous strides, a zero-stride channel or width axis) and the copy
        # engine's geometry cases (a volume, many small images) are extra ones.
        extra = "ambiguous" in case.id or case.layout.startswith("broadcast_") or "/engine-" in case.id
        if case.family == "sizes" and case.backends[0] in ("numpy", "torch") and not extra:
            groups[(case.backends[0], case.target)].append(case)
    thresholds = {"SMALL_BYTES", "BLOCK_BYTES", "PARALLEL_BYTES"}
    for backend in ("numpy", "torch"):
        labels = {target.split()[1] for (b, target) in groups if b == backend}
        assert thresholds <= labels, (backend, labels)
    for (backend, target), cases in groups.items():
        assert {ITEMSIZE[c.dtypes[0]] for c in cases} == {1, 2, 4, 8, 16}, (backend, target)
        if "SMALL_ELEMENTS" in target or "METHODS_ELEMENTS" in target:  # torch's own op's plans
            assert {c.inverse for c in cases} == {False, True}
            continue
        assert {c.inverse for c in cases} == {False, True}, target
        assert {c.channels_last for c in cases} == {False, True}, target
        assert {c.order for c in cases} == {"CRD", "DCR"}, target
        assert {isinstance(c.factor, tuple) for c in cases} == {False, True}, target
        if backend == "torch":
            assert any(c.layout == "torch_channels_last" for c in cases), target


def test_size_cases_sit_at_the_thresholds() -> None:
    """'below' cases are under the threshold, 'above' ones at or over it (within a few percent)."""
    small = _limits.NUMPY_SMALL_BYTES
    parallel = _limits.PARALLEL_BYTES
    for case in all_cases():
        if case.family != "sizes" or case.backends != ("numpy",):
            continue
        nbytes = int(np.prod(case.shape)) * ITEMSIZE[case.dtypes[0]]
        threshold = {"SMALL_BYTES": small, "PARALLEL_BYTES": parallel}.get(case.target.split()[1])
        if threshold is None:
            continue
        if case.target.startswith("below"):
            assert 0.85 * threshold <= nbytes < threshold, case.id
        else:
            assert threshold <= nbytes <= 1.15 * threshold, case.id


def test_listeners_in_many_threads_each_close_their_own() -> None:
    # Listeners with equal counts compare equal: closing one must never close another's.
    import threading

    from subpixel import _routes

    errors: list[BaseException] = []

    def listen() -> None:
        try:
            for _ in range(500):
                with _routes.counting() as seen:
                    _routes.record("test:route")
                assert seen["test:route"] >= 1
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=listen) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert not _routes.listening
