"""The CI workflow runs exactly the nox sessions ``.ci/run`` runs; test rows install one backend only."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import NAMED_FRAMEWORKS, Backend

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
NOXFILE = ROOT / "noxfile.py"
CI_RUN = ROOT / ".ci" / "run"

pytestmark = pytest.mark.skipif(not WORKFLOW.exists(), reason="the sdist carries no CI workflow")


def _nox_rows() -> dict[str, tuple[str, str]]:
    """``ROWS`` of the noxfile, read without importing nox."""
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "ROWS":
            assert node.value is not None
            rows: dict[str, tuple[str, str]] = ast.literal_eval(node.value)
            return rows
    raise AssertionError("noxfile.py has no ROWS")


def _noxfile_constant(name: str) -> Any:
    """A literal module-level constant of the noxfile, read without importing nox."""
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == name:
            value = getattr(node, "value", None)
            assert value is not None
            return ast.literal_eval(value)
    raise AssertionError(f"noxfile.py has no {name}")


def _nox_sessions() -> set[str]:
    """Every session name ``nox -l`` would list (python-parametrised ones as ``name-3.x``)."""
    names = {f"tests-{row}" for row in _nox_rows()}
    names |= {f"lowest-{stack}" for stack in _noxfile_constant("LOWEST")}
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not ast.unparse(decorator).startswith("nox.session"):
                continue
            keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
            name = ast.literal_eval(keywords["name"]) if "name" in keywords else node.name
            python = keywords.get("python")
            if python is None:
                names.add(name)
                continue
            versions = (
                _noxfile_constant(python.id) if isinstance(python, ast.Name) else ast.literal_eval(python)
            )
            names.update(f"{name}-{version}" for version in versions)
    return names


def _ci_run_sessions() -> list[str]:
    """The nox sessions ``.ci/run`` runs, in order."""
    text = CI_RUN.read_text(encoding="utf-8")
    found: list[str] = []
    for line in text.splitlines():
        call = re.match(r"\s*in_venv -s (.+)", line)
        if call:
            found.extend(call[1].split())
    # Sessions with their own venv, run on their own line (the deployment matrix).
    found.extend(re.findall(r"^[^#\n]*\.venv/bin/nox -s (\w[\w.-]*)$", text, re.M))
    installs = re.search(r"^installs=\(([^)]*)\)", text, re.M)
    assert installs, ".ci/run names no install sessions"
    found.extend(installs[1].split())
    assert '.venv/bin/nox -s "${installs[@]}"' in text
    return found


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow (it comes with the docs tools)")
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def test_jobs_are_the_sessions_ci_runs(workflow: dict[str, Any]) -> None:
    ran = _ci_run_sessions()
    assert set(ran) <= _nox_sessions(), set(ran) - _nox_sessions()
    assert {"conformance", "tests", "lint", "typecheck", "docs"} <= set(ran)
    assert tuple(s for s in ran if s.startswith("install-")) == _noxfile_constant("CI_INSTALLS")
    assert list(workflow["jobs"]) == ["session"]
    job = workflow["jobs"]["session"]
    assert job["strategy"]["fail-fast"] is False
    matrix = job["strategy"]["matrix"]
    jobs = [(s, p) for s in matrix["session"] for p in matrix["python"]]
    jobs += [(row["session"], row["python"]) for row in matrix["include"]]
    assert sorted(s for s, _ in jobs) == sorted(ran)
    for session, python in jobs:  # a session named for its Python runs on that Python
        suffix = re.search(r"-(3\.\d+)$", session)
        assert python == (suffix[1] if suffix else "3.11"), (session, python)
    runs = [step.get("run", "") for step in job["steps"]]
    assert 'nox -s "${{ matrix.session }}"' in runs


def test_every_session_a_workflow_names_exists() -> None:
    """Each job of each workflow runs ``nox -s`` on sessions the noxfile defines, on their Python."""
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow (it comes with the docs tools)")
    lowest = _noxfile_constant("LOWEST")
    for path in sorted(WORKFLOW.parent.glob("*.yml")):
        for name, job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].items():
            matrix = job.get("strategy", {}).get("matrix", {})
            rows = [{"session": s, "python": p} for s in matrix.get("session", []) for p in matrix["python"]]
            rows += matrix.get("include", [])
            runs = " ".join(step.get("run", "") for step in job["steps"])
            assert 'nox -s "${{ matrix.session }}"' in runs, (path.name, name)
            assert rows, (path.name, name)
            for row in rows:
                assert row["session"] in _nox_sessions(), (path.name, row)
                stack = row["session"].removeprefix("lowest-")
                if stack in lowest:  # on the Python its nox session is pinned to
                    assert row["python"] == lowest[stack][0], (path.name, row)
    slow = yaml.safe_load((WORKFLOW.parent / "slow.yml").read_text(encoding="utf-8"))
    named = {row["session"] for row in slow["jobs"]["lowest"]["strategy"]["matrix"]["include"]}
    assert named == {f"lowest-{stack}" for stack in lowest}


def test_rows_install_one_backend_and_name_known_backends() -> None:
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    known = {b.value for b in Backend} | set(NAMED_FRAMEWORKS)
    frameworks = {"numpy", "strict", "torch", "jax", "dask", "cupy", "flax", "keras"}
    for row, (row_extras, backends) in _nox_rows().items():
        chosen = row_extras.split(",")
        assert set(chosen) <= set(extras), (row, chosen)
        assert "all" not in chosen, row
        assert len(set(chosen) & frameworks) <= 2, row
        assert set(backends.split(",")) <= known, (row, backends)


def test_the_conformance_job_uploads_its_matrix(workflow: dict[str, Any]) -> None:
    steps = workflow["jobs"]["session"]["steps"]
    uploads = [s for s in steps if "upload-artifact" in s.get("uses", "")]
    assert uploads
    assert uploads[0]["if"] == "always() && matrix.session == 'conformance'"
    _, args = _readme_run(1)
    assert uploads[0]["with"]["path"].rstrip("/") == args[args.index("--out") + 1]


def _readme_run(number: int) -> tuple[dict[str, str], list[str]]:
    spec = importlib.util.spec_from_file_location("readme", ROOT / ".ci" / "readme.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found: tuple[dict[str, str], list[str]] = module.run(number)
    return found


def test_actions_are_pinned_to_a_major_version(workflow: dict[str, Any]) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow (it comes with the docs tools)")
    for path in WORKFLOW.parent.glob("*.yml"):
        jobs = yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"]
        for name, job in jobs.items():
            assert "timeout-minutes" in job, (path.name, name)
            for step in job["steps"]:
                if "uses" in step:
                    assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), (name, step["uses"])
    assert workflow["jobs"]


def test_actionlint() -> None:
    beside_python = Path(sys.executable).parent / "actionlint"
    actionlint = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    if actionlint is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: the lint dependency group installs it")
        pytest.skip("actionlint is not installed (the lint dependency group installs it)")
    result = subprocess.run(
        [actionlint, "-color=false", *map(str, sorted(WORKFLOW.parent.glob("*.yml")))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
