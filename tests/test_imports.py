"""Importing subpixel (and calling it on NumPy arrays) loads no array framework."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import backends, collection

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

FRAMEWORKS = [
    "torch",
    "jax",
    "jaxlib",
    "cupy",
    "dask",
    "flax",
    "keras",
    "tensorflow",
    "numba",
    "subpixel_kernels",
]

PROGRAM = """
import sys
import subpixel
{extra}
loaded = sorted(name for name in {frameworks!r} if name in sys.modules)
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "import subpixel.conformance, subpixel.benchmark",
        "import numpy as np; subpixel.pixel_unshuffle(subpixel.pixel_shuffle(np.zeros((1, 4, 2, 2)), 2), 2)",
        "subpixel.shuffle_plan((1, 4, 2, 2), 2)",
    ],
    ids=["import", "subpackages", "numpy-call", "plan"],
)
def test_no_framework_is_imported(extra: str) -> None:
    program = PROGRAM.format(extra=extra, frameworks=FRAMEWORKS)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"importing subpixel loaded {result.stdout.strip()}"


def test_the_check_can_fail() -> None:
    program = PROGRAM.format(extra="import json", frameworks=["json"])
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "json"


# --- what each test module needs, and what a single-framework run collects ----------------------

ROOT = Path(__file__).resolve().parents[1]
TEST_MODULES = sorted(ROOT.glob("tests/test_*.py"))


@pytest.mark.parametrize("path", TEST_MODULES, ids=lambda p: p.name)
def test_every_test_module_declares_what_it_needs(path: Path) -> None:
    """``NEEDS`` names every framework the module imports at its top (``()`` may be left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    stated = collection.declared(tree)
    found = collection.needs(path)
    assert stated is not None or not found, f"{path.name} imports {sorted(found)} but declares no NEEDS"
    assert found <= (stated or set()), f"{path.name} imports {sorted(found - (stated or set()))}"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("src/subpixel/__init__.py", set()),
        ("src/subpixel/_api.py", set()),
        ("src/subpixel/torch.py", {"torch"}),
        ("src/subpixel/flax/linen.py", {"flax", "jax"}),
        ("src/subpixel/keras.py", {"keras"}),
        ("tests/test_layers_torch.py", {"torch"}),
    ],
)
def test_needs_follows_top_level_imports(module: str, expected: set[str]) -> None:
    assert collection.needs(ROOT / module) >= expected
    if not expected:
        assert collection.needs(ROOT / module) == frozenset()


def _forget() -> None:
    """Drop what tests/collection.py has read (the page changed)."""
    collection.needs.cache_clear()
    collection._direct.cache_clear()


def test_needs_reads_imports_packages_and_importorskip(tmp_path: Path) -> None:
    page = tmp_path / "test_page.py"
    page.write_text(
        "import os\nfrom subpixel import torch as st\nflax = pytest.importorskip('flax')\n"
        "def f():\n    import keras\ntry:\n    import dask\nexcept ImportError:\n    pass\n",
        encoding="utf-8",
    )
    assert collection.needs(page) == {"torch", "flax"}
    page.write_text("NEEDS = ('jax',)\n", encoding="utf-8")
    _forget()
    assert collection.needs(page) == {"jax"}
    page.write_text("NEEDS = ('tensorflo',)\n", encoding="utf-8")
    _forget()
    with pytest.raises(ValueError, match="tensorflo"):
        collection.needs(page)


@pytest.mark.parametrize(
    ("value", "frameworks", "modules"),
    [
        ("numpy", {"numpy"}, {"numpy"}),
        ("torch", {"numpy", "torch"}, {"numpy", "torch"}),
        ("jax,flax", {"numpy", "jax", "flax"}, {"numpy", "jax", "flax"}),
        ("numpy,keras", {"numpy", "keras"}, {"numpy", "keras", "jax"}),  # Keras runs on JAX here
        ("torch:gpu,cupy", {"numpy", "torch", "cupy"}, {"numpy", "torch", "cupy"}),
        ("all", {"numpy", "array_api_strict", "torch", "jax", "dask", "flax", "keras", "tensorflow"}, None),
    ],
)
def test_requested_frameworks(
    monkeypatch: pytest.MonkeyPatch, value: str, frameworks: set[str], modules: set[str] | None
) -> None:
    monkeypatch.setenv("SUBPIXEL_BACKENDS", value)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert backends.requested_frameworks() == frameworks
    if modules is not None:
        assert set(backends.required_modules()) == modules
    assert all(b.value in value or value == "all" for b in backends.requested_backends())
    monkeypatch.setenv("SUBPIXEL_BACKENDS", "numpy,pytorch")
    with pytest.raises(ValueError, match="unknown backend 'pytorch'"):
        backends.requested_frameworks()


def _pytest(env_value: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SUBPIXEL_BACKENDS": env_value, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_a_run_collects_only_what_it_requests() -> None:
    """A NumPy run leaves out the torch modules (and source doctests) instead of failing on them.

    (A path named on the command line is collected as asked; the whole suite is what CI runs.)
    """
    result = _pytest("numpy", "--collect-only", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/test_icnr.py::" in result.stdout
    assert "src/subpixel/_plan.py::" in result.stdout
    for left_out in ("tests/test_layers_torch.py", "src/subpixel/torch.py", "src/subpixel/flax/linen.py"):
        assert f"{left_out}::" not in result.stdout
        assert f"{left_out}: " in result.stdout  # the summary says why


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_a_requested_framework_that_is_missing_fails_the_run() -> None:
    result = _pytest("numpy,cupy", "--collect-only", "-q", "tests/test_icnr.py")
    if "cupy" in sys.modules or result.returncode == 0:
        pytest.skip("cupy is installed here")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "SUBPIXEL_BACKENDS requests frameworks that are not installed: cupy" in result.stderr


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_a_requested_framework_cannot_be_skipped_for(tmp_path: Path) -> None:
    """``pytest.importorskip`` of a requested framework fails; of another, it skips. A test that
    needs an unrequested framework, or is parametrized over none of the requested backends, is not
    collected (deselected), never skipped."""
    (tmp_path / "test_skips.py").write_text(
        "import pytest\n\n"
        "def test_requested():\n    pytest.importorskip('numpy.no_such_module')\n\n"
        "def test_other():\n    pytest.importorskip('no_such_framework')\n\n"
        "@pytest.mark.needs('torch')\ndef test_unrequested():\n    pass\n\n"
        "@pytest.mark.parametrize('backend', [])\ndef test_none_requested(backend):\n    pass\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SUBPIXEL_BACKENDS": "numpy",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    }
    command = [sys.executable, "-m", "pytest", "-c", os.devnull, "--rootdir", str(tmp_path),
               "-p", "tests.collection", "-p", "no:cacheprovider", "-rA", str(tmp_path)]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert "1 failed, 1 skipped, 2 deselected" in result.stdout, result.stdout + result.stderr
    assert "SUBPIXEL_BACKENDS requests it, but could not import 'numpy.no_such_module'" in result.stdout


def test_the_root_conftest_installs_every_hook() -> None:
    """The root ``conftest.py`` re-exports each hook of tests/collection.py (one left out is inert)."""
    hooks = {name for name in vars(collection) if name.startswith("pytest_")}
    tree = ast.parse((ROOT / "conftest.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert hooks <= imported, hooks - imported


def test_the_package_namespace_holds_its_public_names_only() -> None:
    """``dir(subpixel)`` in a fresh process: ``__all__``, dunders and private modules, nothing else."""
    program = "import subpixel; print(sorted(n for n in dir(subpixel) if not n.startswith('_')))"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    import subpixel

    assert result.stdout.strip() == str(sorted(n for n in subpixel.__all__ if not n.startswith("_")))
