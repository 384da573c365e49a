"""Thresholds and route tables are data in ``subpixel._limits``: the fast paths and conformance read them."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import subpixel._dispatch
from subpixel import _limits
from subpixel._fast import numpy as fast_numpy
from subpixel.conformance import _cases
from subpixel.conformance._coverage import known_routes

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

SOURCE = Path(__file__).resolve().parents[1] / "src" / "subpixel"
FRAMEWORKS = ("numpy", "torch", "jax", "dask", "tensorflow", "keras", "flax", "cupy", "subpixel_kernels")


def _loaded_after(program: str) -> list[str]:
    """The frameworks a fresh interpreter has imported after running ``program``."""
    check = f"{program}\nimport sys\nprint(','.join(n for n in {FRAMEWORKS!r} if n in sys.modules))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    return [name for name in done.stdout.strip().split(",") if name]


def test_the_tables_import_no_framework() -> None:
    assert _loaded_after("import subpixel._limits") == []


def test_keras_routes_are_known_without_importing_keras() -> None:
    program = (
        "from subpixel.conformance._coverage import known_routes\n"
        "assert set(known_routes('keras')[0]) == {'keras:ops', 'keras:ops-dynamic'}"
    )
    assert not {"keras", "tensorflow", "torch", "jax"} & set(_loaded_after(program))


def test_no_library_module_parses_source() -> None:
    """Conformance reads the thresholds from ``subpixel._limits``; nothing in ``src`` reads source."""
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(name == "ast" or name.startswith("ast.") for name in names):
                offenders.append(path.relative_to(SOURCE).as_posix())
    assert offenders == []


def test_every_route_is_named_after_its_backend() -> None:
    for backend, table in _limits.ROUTES.items():
        assert table, backend
        assert all(name.startswith(f"{backend}:") and text for name, text in table.items()), backend
    assert _limits.routes("no-such-backend") == {}
    copy = _limits.routes("numpy")
    copy.clear()
    assert _limits.routes("numpy"), "routes() must hand out a copy"


def test_the_fast_paths_declare_the_tables_routes() -> None:
    assert _limits.routes("numpy") == fast_numpy.ROUTES
    assert _limits.routes("array_api") == subpixel._dispatch.ROUTES
    for name in _limits.ENGINE_ROUTES:
        assert f"numpy:{name}" in fast_numpy.ROUTES


@pytest.mark.needs("torch")
def test_the_torch_path_declares_the_tables_routes_and_thresholds() -> None:
    from subpixel._fast import torch as fast_torch

    assert _limits.routes("torch") == fast_torch.ROUTES
    assert fast_torch.KERNEL_ELEMENTS == _limits.TORCH_KERNEL_ELEMENTS
    assert fast_torch.SMALL_ELEMENTS == _limits.TORCH_SMALL_ELEMENTS
    assert fast_torch.SMALL_BYTES == _limits.TORCH_SMALL_BYTES


def test_known_routes_come_from_the_table() -> None:
    routes, unreachable = known_routes("numpy")
    assert routes == _limits.routes("numpy")
    assert set(unreachable) <= set(routes)
    assert known_routes("tensorflow:eager")[0] == {
        "tensorflow:eager": _limits.ROUTES["tensorflow"]["tensorflow:eager"]
    }


def test_every_size_label_is_an_exported_threshold() -> None:
    """The size family's cases of NumPy and torch sit at thresholds the library exports."""
    exported = {(t.name, backend) for t in _limits.THRESHOLDS for backend in t.backends}
    labels = set()
    for case in _cases.all_cases():
        if case.family == "sizes" and case.backends[0] in ("numpy", "torch") and " " in case.target:
            side, label = case.target.split()[:2]
            if side in ("below", "above") and label.isupper():
                labels.add((label, case.backends[0]))
    assert labels
    assert labels <= exported, labels - exported


@pytest.fixture
def fresh_cases() -> Iterator[None]:
    """Forget the cached cases before and after a test that moves a threshold."""
    _cases.clear_cache()
    yield
    _cases.clear_cache()


def test_a_moved_threshold_moves_the_size_cases(monkeypatch: pytest.MonkeyPatch, fresh_cases: None) -> None:
    """Any expression may give a threshold (no source is parsed): the cases follow its value."""
    moved = 2 * 40 * 1024 + 4096
    monkeypatch.setattr(_limits, "NUMPY_SMALL_BYTES", moved)
    cases = [c for c in _cases.all_cases() if c.backends == ("numpy",) and c.target == "below SMALL_BYTES"]
    assert cases
    for case in cases:
        nbytes = int(np.prod(case.shape)) * _cases.ITEMSIZES[case.dtypes[0]]
        assert 0.85 * moved <= nbytes < moved, case.id
