"""The mutation run's driver (conformance/mutate.py): its population, sample, resumption and fuzz runs.

The mutants themselves run in ``nox -s mutation``; these tests check the bookkeeping around them
without running the matrix.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

SCRIPT = Path(__file__).resolve().parents[1] / "conformance" / "mutate.py"


@pytest.fixture(scope="module")
def mutate() -> Any:
    """conformance/mutate.py, imported from its path (a script, not part of the package)."""
    name = "subpixel_mutate_driver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


def _first(mutate: Any, path: str, kind: str) -> Any:
    return next(m for m in mutate.candidates() if m.path == path and m.kind == kind)


def test_population_counts_every_mutation_point(mutate: Any) -> None:
    pool = mutate.candidates()
    table = mutate.population(pool)
    assert sum(sum(kinds.values()) for kinds in table.values()) == len(pool)
    assert set(table) == {m.path for m in pool}
    assert "_plan.py" in table
    assert table["_plan.py"]["compare"] == sum(1 for m in pool if (m.path, m.kind) == ("_plan.py", "compare"))


def test_materialize_writes_a_package_copy_with_only_the_mutant_changed(mutate: Any, tmp_path: Path) -> None:
    mutant = _first(mutate, "_plan.py", "compare")
    mutate.materialize(mutant, tmp_path)
    copy = tmp_path / "subpixel"
    changed = [
        p.relative_to(copy).as_posix()
        for p in copy.rglob("*.py")
        if p.read_bytes() != (mutate.PACKAGE / p.relative_to(copy)).read_bytes()
    ]
    assert changed == ["_plan.py"]
    assert (copy / "_plan.py").read_text(encoding="utf-8") == mutate.mutated_source(mutant)[1]


def test_a_finished_sample_is_reported_without_running_again(
    mutate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Results saved beside the report resume the run: here every sampled mutant has one."""
    out = tmp_path / "mutation.md"
    pool = mutate.candidates()
    sample = mutate.random.Random(5).sample(pool, 2)
    results = [
        {"mutant": m.__dict__, "line": "x", "status": s, "stage": "small", "detail": "", "seconds": 1.0}
        for m, s in zip(sample, ("killed", "survived"), strict=True)
    ]
    out.with_suffix(".json").write_text(json.dumps({"results": results}), encoding="utf-8")
    assert mutate.main(["--count", "2", "--seed", "5", "--out", str(out)]) == 0
    assert f"{len(pool)} mutation points, 2 sampled, 2 already run, 0 to run" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert f"Population: **{len(pool)} mutation points**" in text
    assert "Run: **2 of 2**; **1 killed, 1 survived**" in text
    assert "| not yet justified | not run |" in text
    for path, kinds in mutate.population(pool).items():
        assert f"| `{path}` | {', '.join(mutate.rows_for(path))} | {sum(kinds.values())} |" in text


def test_a_survivor_is_fuzzed_on_its_own_package_copy(
    mutate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fuzz driver runs on the mutant and finds the difference; its output is logged."""
    monkeypatch.setattr(mutate, "rows_for", lambda path: ("numpy",))
    mutant = next(
        m
        for m in mutate.candidates()
        if m.path == "_plan.py" and "ndim - k - 1" in mutate.mutated_source(m)[0]
    )
    found = mutate.fuzz_mutant(mutant, 200, tmp_path, seed=3)
    assert found["rows"] == ["numpy"]
    assert found["mismatches"] is True
    assert found["first"].startswith("MISMATCH row=numpy seed=3 call=")
    log = Path(found["log"]).read_text(encoding="utf-8")
    assert "--package" in log
    assert found["first"] in log
