"""The wheel and the sdist: what each carries (the licence in both), and the extras' metadata."""

from __future__ import annotations

import email.parser
import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="builds from a git checkout (this is an sdist)"),
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Build the wheel and the sdist from this checkout (no network: the test group has the backend)."""
    for module in ("build", "hatchling"):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{module} is missing: the test dependency group installs it")
    out = tmp_path_factory.mktemp("dist")
    command = [
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--sdist",
        "--wheel",
        "-o",
        str(out),
        str(ROOT),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_carries_the_package_and_the_licence(dist: tuple[Path, Path]) -> None:
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(info).decode())
        licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert {"subpixel/__init__.py", "subpixel/py.typed", "subpixel/conformance/golden.json"} <= names
    assert {n.split("/")[0] for n in names} == {"subpixel", info.split("/")[0]}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata.get_all("License-File") == ["LICENSE"]
    requires = metadata.get_all("Requires-Dist") or []
    assert [r for r in requires if "extra ==" not in r] == ["array-api-compat>=1.11"]
    torch_extra = [r for r in requires if r.endswith("extra == 'torch'")]
    assert torch_extra
    assert not [r for r in torch_extra if r.startswith("numpy")], torch_extra  # torch runs without NumPy
    # JAX 0.10 (the floor), ndonnx, sparse and Cubed need Python 3.11: their extras say so in their
    # markers, so `subpixel[all]` installs on Python 3.10 (without them) instead of failing to resolve.
    needs_311 = {"jax": "jax", "flax": "flax", "ndonnx": "ndonnx", "sparse": "sparse", "cubed": "cubed"}
    for extra, package in needs_311.items():
        needs = [r for r in requires if r.startswith(package) and r.endswith(f"extra == '{extra}'")]
        assert needs, extra
        assert all("python_version >= '3.11'" in r for r in needs), needs


def test_sdist_builds_tests_and_documents_but_carries_no_ci_or_generated_data(
    dist: tuple[Path, Path],
) -> None:
    _, sdist = dist
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
        licence = archive.extractfile(f"{top}/LICENSE")
        assert licence is not None
        assert licence.read() == (ROOT / "LICENSE").read_bytes()
    wanted = {
        "LICENSE", "README.md", "pyproject.toml", "constraints.txt", "noxfile.py", "conftest.py",
        "mkdocs.yml",
        "src/subpixel/__init__.py", "src/subpixel/conformance/golden.json", "tests/conftest.py",
        "tests/collection.py", "docs/index.md", "conformance/regenerate_golden.py",
        "conformance/reports/cpu/matrix.md", "benchmarks/run_benchmark.py", "examples/espcn/run.py",
    }  # fmt: skip
    assert wanted <= names, sorted(wanted - names)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    for path in tracked.stdout.split():
        left_out = path.startswith((".github/", ".ci/")) or (
            path.endswith(".json") and not path.startswith("src/")
        )
        left_out |= "/results/" in path and path.startswith("examples/")
        assert (path not in names) == left_out, path
    assert not [n for n in names if n.startswith("out/") or "__pycache__" in n or n.endswith(".pyc")]
