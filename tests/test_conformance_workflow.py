"""The CI workflow and the noxfile describe the same rows, each installing one backend only."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import LAYER_FRAMEWORKS, Backend

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
NOXFILE = ROOT / "noxfile.py"

pytestmark = pytest.mark.skipif(not WORKFLOW.exists(), reason="the sdist carries no CI workflow")


def _nox_rows() -> dict[str, tuple[str, str]]:
    """``ROWS`` of the noxfile, read without importing nox."""
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "ROWS":
            assert node.value is not None
            rows: dict[str, tuple[str, str]] = ast.literal_eval(node.value)
            return rows
    raise AssertionError("noxfile.py has no ROWS")


def _nox_sessions() -> set[str]:
    names = {f"tests-{row}" for row in _nox_rows()}
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and any(
            ast.unparse(d).startswith("nox.session") for d in node.decorator_list
        ):
            names.add(node.name)
    return names


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow (it comes with the docs tools)")
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def test_one_job_per_backend_row(workflow: dict[str, Any]) -> None:
    rows = _nox_rows()
    tests = workflow["jobs"]["tests"]
    assert tests["strategy"]["fail-fast"] is False
    assert tests["strategy"]["matrix"]["row"] == list(rows)
    runs = [step.get("run", "") for step in tests["steps"]]
    assert 'nox -s "tests-${{ matrix.row }}"' in runs


def test_rows_install_one_backend_and_name_known_backends() -> None:
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    known = {b.value for b in Backend} | set(LAYER_FRAMEWORKS)
    frameworks = {"numpy", "strict", "torch", "jax", "dask", "cupy", "flax", "keras"}
    for row, (row_extras, backends) in _nox_rows().items():
        chosen = row_extras.split(",")
        assert set(chosen) <= set(extras), (row, chosen)
        assert "all" not in chosen, row
        assert len(set(chosen) & frameworks) <= 2, row
        assert set(backends.split(",")) <= known, (row, backends)


def test_lint_typecheck_docs_and_conformance_jobs(workflow: dict[str, Any]) -> None:
    sessions = _nox_sessions()
    for job, session in (("lint", "lint"), ("typecheck", "typecheck"), ("docs", "docs"),
                         ("conformance", "conformance")):  # fmt: skip
        assert session in sessions
        runs = " ".join(step.get("run", "") for step in workflow["jobs"][job]["steps"])
        assert f"nox -s {session}" in runs, job
    uploads = [s for s in workflow["jobs"]["conformance"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads
    assert uploads[0]["if"] == "always()"


def test_actions_are_pinned_to_a_major_version(workflow: dict[str, Any]) -> None:
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, name
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), (name, step["uses"])


def test_actionlint() -> None:
    beside_python = Path(sys.executable).parent / "actionlint"
    actionlint = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    if actionlint is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: the lint dependency group installs it")
        pytest.skip("actionlint is not installed (the lint dependency group installs it)")
    result = subprocess.run(
        [actionlint, "-color=false", str(WORKFLOW)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
