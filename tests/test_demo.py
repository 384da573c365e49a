"""``python -m subpixel demo``: every installed backend of the catalog, TensorFlow and Keras included.

With torch installed the demo needs no NumPy: it makes every input from raw bytes through the
backend catalog. The run without torch (golden vectors) is tested in tests/test_cli.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from subpixel import _catalog, _demo
from subpixel._quiet import NATIVE_LOG
from tests.backends import keras_backend
from tests.without_numpy import PROLOGUE

SRC = str(Path(__file__).resolve().parents[1] / "src")

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch",)

#: The subprocess refuses every ``numpy`` import, as tests/test_torch_without_numpy.py does.
WITHOUT_NUMPY = PROLOGUE + textwrap.dedent(
    """
    from subpixel._demo import main
    code = main([])
    print("numpy imported:", "numpy" in sys.modules)
    raise SystemExit(code)
    """
)


@pytest.mark.slow  # a subprocess that imports torch
def test_demo_runs_on_torch_without_numpy() -> None:
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-c", WITHOUT_NUMPY]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "            torch: identical bytes (shape (1, 1, 6, 6), int32)" in lines
    assert "            numpy: not installed" in lines
    assert lines[-2:] == ["all backends agree with torch", "numpy imported: False"]


@pytest.mark.needs("tensorflow", "keras")
def test_demo_checks_tensorflow_and_the_keras_layers(capsys: pytest.CaptureFixture[str]) -> None:
    assert _demo.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "       tensorflow: identical bytes (shape (1, 1, 6, 6), int32)" in lines
    label = f"keras ({keras_backend()})"
    assert f"{label:>17}: identical bytes (shape (1, 1, 6, 6), int32)" in lines
    assert lines[-1] == "all backends agree with torch"


def test_demo_lists_every_catalog_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert _demo.main([]) == 0
    labels = [line.partition(":")[0].strip() for line in capsys.readouterr().out.splitlines() if ": " in line]
    assert labels[: len(_catalog.entries())] == [entry.name for entry in _catalog.entries()]


def test_a_backend_that_fails_is_an_error_line_and_exit_status_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    numpy = _catalog.entry("numpy")

    def broken(data: bytes, shape: tuple[int, ...], dtype: str) -> object:
        raise RuntimeError("planted")

    monkeypatch.setattr(numpy, "from_bytes", broken)
    monkeypatch.setattr(_catalog, "entries", lambda: (numpy, _catalog.entry("torch")))
    monkeypatch.setenv("KERAS_BACKEND", "none")  # Keras: "not run", without importing it
    assert _demo.main([]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "            numpy: ERROR RuntimeError: planted" in out
    assert out[-1] == "1 backend(s) disagree"


@pytest.mark.needs("tensorflow")
def test_demo_prints_no_native_start_up_logs() -> None:
    # TensorFlow's C++ start-up lines (absl, oneDNN, CUDA probes) are dropped, as in conformance.
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "subpixel", "demo"]
    result = subprocess.run(command, capture_output=True, env=env, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert b"tensorflow: identical bytes" in result.stdout
    noisy = [line for line in result.stderr.splitlines() if NATIVE_LOG.match(line)]
    assert not noisy, noisy
