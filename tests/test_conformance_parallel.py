"""The matrix in worker processes, and the share of cases on rows that compile per shape."""

from __future__ import annotations

from collections import Counter

import pytest

from subpixel.conformance import (
    Implementation,
    Matrix,
    all_cases,
    register_implementation,
    run_matrix,
    unregister_implementation,
)
from subpixel.conformance._calls import library_call
from subpixel.conformance._cases import SIZE_CLASSES, runs_compiled
from subpixel.conformance._inputs import DTYPE_NAMES
from subpixel.conformance._parallel import groups
from subpixel.conformance._registry import implementations

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()


def _counts(matrix: Matrix) -> dict[tuple[str, str], tuple[str, int, int]]:
    rows = matrix.rows
    return {
        (r.backend, r.dtype): (
            r.status,
            sum(c.passed for c in r.cells.values()),
            sum(c.failed for c in r.cells.values()),
        )
        for r in rows
    }


@pytest.mark.needs("array_api_strict")  # one of the built-in rows it runs
def test_rows_in_workers_give_the_same_matrix() -> None:
    """Two workers run the built-in rows; a row registered here runs here; the results are the same."""
    register_implementation(Implementation("local-numpy", "numpy", library_call))
    try:
        names = ["numpy", "array_api_strict", "local-numpy"]
        dtypes, families = ["int8", "float32"], ["factors", "dcr"]
        serial = run_matrix(names, ["cpu"], quick=True, dtypes=dtypes, families=families)
        lines: list[str] = []
        parallel = run_matrix(
            names, ["cpu"], quick=True, dtypes=dtypes, families=families, jobs=2, progress=lines.append
        )
    finally:
        unregister_implementation("local-numpy")
    assert serial.ok, serial.problems
    assert parallel.ok, parallel.problems
    assert _counts(parallel) == _counts(serial)
    assert [r.backend for r in parallel.rows] == [r.backend for r in serial.rows]  # the order asked for
    assert {c.implementation for c in parallel.coverage} == {c.implementation for c in serial.coverage}
    assert (
        parallel.header["references"]["cases_per_source"] == serial.header["references"]["cases_per_source"]
    )
    assert any(line.startswith("array_api_strict cpu int8") for line in lines)  # a worker's progress


def test_groups_keep_a_library_row_with_its_layers() -> None:
    """The library's row and its layers share a worker; jax.jit (its own compilation) is alone."""
    known = implementations()
    names = ("numpy", "jax", "torch", "jax.jit", "dask", "subpixel.flax", "subpixel.torch")
    chosen = [known[n] for n in names if n in known]
    found = [[impl.name for impl in group] for group in groups(chosen)]
    if "subpixel.flax" in known:
        assert ["jax", "subpixel.flax"] in found
        assert ["jax.jit"] in found
    if "subpixel.torch" in known:
        assert ["torch", "subpixel.torch"] in found
    assert sorted(name for group in found for name in group) == sorted(i.name for i in chosen)


@pytest.mark.parametrize(
    "dtypes", [DTYPE_NAMES, ("float32", "int32", "uint8", "complex128")], ids=["all", "some"]
)
def test_compiled_rows_keep_every_case_at_every_element_size(dtypes: tuple[str, ...]) -> None:
    """Each case runs on one dtype of each element size; each dtype meets every family."""
    cases = all_cases()
    for case in cases:
        ran = [d for d in dtypes if runs_compiled(case, d, dtypes)]
        sizes = Counter(size for size, names in SIZE_CLASSES.items() for d in ran if d in names)
        if case.quick or case.dtypes:
            assert ran == list(dtypes)
        else:
            present = {size for size, names in SIZE_CLASSES.items() if set(names) & set(dtypes)}
            assert set(sizes) == present, (case.id, ran)
            assert set(sizes.values()) == {1}, (case.id, ran)
    families = {c.family for c in cases if not c.dtypes}
    for dtype in dtypes:
        assert {c.family for c in cases if not c.dtypes and runs_compiled(c, dtype, dtypes)} == families


def test_a_compiled_row_with_one_dtype_runs_every_case() -> None:
    """Filtered to one dtype, a row that compiles per shape runs all of its cases."""
    dtypes = ["float32"]
    assert all(runs_compiled(c, "float32", dtypes) for c in all_cases())


@pytest.mark.needs("array_api_strict")  # one of the built-in rows it runs
def test_a_worker_that_dies_fails_its_rows_and_the_matrix(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed by a signal (a crash in compiled code) fails its rows; the matrix reports it."""
    from subpixel.conformance import _parallel, _pool
    from subpixel.conformance._results import FAILED

    real = _pool.run_jobs

    def one_dies(*args: object) -> list[object]:
        found: list[object] = list(real(*args))  # type: ignore[arg-type]
        found[0] = _pool.WorkerError("the worker process ended (exit status -8)")
        return found

    monkeypatch.setattr(_parallel, "run_jobs", one_dies)
    lines: list[str] = []
    matrix = run_matrix(
        ["numpy", "array_api_strict"],
        ["cpu"],
        quick=True,
        dtypes=["int8"],
        families=["factors"],
        jobs=2,
        progress=lines.append,
    )
    assert not matrix.ok
    failed = [row for row in matrix.rows if row.status == FAILED]
    assert len(failed) == 1
    assert "exit status -8" in failed[0].reason
    assert any("FAILED: the worker process running it failed" in line for line in lines)
