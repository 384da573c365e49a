"""``conformance --impl model.onnx`` (and ``.tflite``, ``.pte``): the kit checks the files users ship."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: One dtype keeps each run to seconds: a file takes one dtype, the others are not applicable.
FAST = ["--dtypes", "float32", "--quiet"]


def _conformance(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "subpixel", "conformance", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=600,
        check=False,
    )


def _depth_to_space(path: Path, mode: str, *, channels: int = 8, static: bool = False) -> Path:
    """Write an ONNX model of one ``DepthToSpace`` node (blocksize 2) with the given mode."""
    from onnx import TensorProto, helper, save

    shape: list[int | str] = [2, channels, 3, 4] if static else ["n", channels, "h", "w"]
    out: list[int | str] = [2, channels // 4, 6, 8] if static else ["n", channels // 4, "h2", "w2"]
    node = helper.make_node("DepthToSpace", ["x"], ["y"], blocksize=2, mode=mode)
    graph = helper.make_graph(
        [node],
        "shuffle",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
    )
    # IR version 8: every onnxruntime this project supports loads it (1.23, the last for Python
    # 3.10, stops at 11; onnx writes its own newest by default).
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    save(model, str(path))
    return path


def _lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return done.stderr.strip().splitlines()


@pytest.mark.needs("torch")
# The exporter's own modules warn while they run (a pytree API deprecation), not subpixel.
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")
def test_torch_pixel_shuffle_exported_to_onnx_passes(tmp_path: Path) -> None:
    import torch

    model = tmp_path / "shuffle.onnx"
    auto = torch.export.Dim.AUTO
    dims = ({0: auto, 2: auto, 3: auto},)
    torch.onnx.export(
        torch.nn.PixelShuffle(2).eval(), (torch.zeros(2, 8, 3, 4),), str(model), dynamic_shapes=dims
    )
    done = _conformance("--impl", str(model), "--out", str(tmp_path / "out"), "--dtypes", "float32")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shuffle.onnx (onnxruntime): a shuffle by 2 of float32 input (?, 8, ?, ?)" in done.stdout
    assert "conformance: PASSED" in done.stdout


def test_a_dcr_model_declared_crd_fails_with_the_cell_reproducer(tmp_path: Path) -> None:
    model = _depth_to_space(tmp_path / "dcr.onnx", "DCR")
    done = _conformance("--impl", str(model), "--out", str(tmp_path / "out"), "--dtypes", "float32")
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if line.strip().startswith("failed: ")]
    assert failed, done.stdout
    assert 'python -c "import subpixel.conformance as c; c.reproduce(' in failed[0]
    command = failed[0].partition(": ")[2].split(": ", 1)[1]
    assert command.startswith("python -c ")
    rerun = subprocess.run(
        f'"{sys.executable}"' + command.removeprefix("python"),
        shell=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        check=False,
    )
    assert rerun.returncode == 1
    assert "bytes differ" in rerun.stderr
    # Declared as what it is, it passes.
    right = _conformance(
        "--impl", str(model), "--impl-options", "order=DCR", "--out", str(tmp_path / "o2"), *FAST
    )
    assert right.returncode == 0, right.stdout + right.stderr


def test_a_crd_depth_to_space_passes_and_a_static_model_runs_the_cases_of_its_shape(tmp_path: Path) -> None:
    model = _depth_to_space(tmp_path / "static.onnx", "CRD", static=True)
    done = _conformance("--impl", str(model), "--out", str(tmp_path / "out"), "--dtypes", "float32")
    assert done.returncode == 0, done.stdout + done.stderr
    described = "static.onnx (onnxruntime): a shuffle by 2 of float32 input (2, 8, 3, 4)"
    assert f"{described}; runs only the cases of that shape" in done.stdout
    report = (tmp_path / "out" / "matrix.json").read_text(encoding="utf-8")
    assert "takes input of shape (2, 8, 3, 4)" in report  # why the other cases did not apply


def test_a_file_whose_shape_no_case_has_fails(tmp_path: Path) -> None:
    model = _depth_to_space(tmp_path / "odd.onnx", "CRD", channels=44)
    done = _conformance("--impl", str(model), "--out", str(tmp_path / "out"), *FAST)
    assert done.returncode == 1
    assert f"no case of the matrix fits {model}" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--impl", "missing.onnx"], "--impl: no such file: 'missing.onnx'"),
        (["--impl", "{dcr}", "--impl-options", "order=XYZ"], "--impl: options of a file must be among"),
        (["--impl", "{dcr}", "--impl-inverse", "{dcr}"], "are both shuffles"),
        (
            ["--impl", "{dcr}", "--backends", "torch"],
            "--backends: an exported file runs on NumPy arrays only",
        ),
    ],
)
def test_file_mistakes_are_one_line_and_status_2(tmp_path: Path, args: list[str], message: str) -> None:
    model = _depth_to_space(tmp_path / "dcr.onnx", "DCR")
    done = _conformance(*[a.format(dcr=model) for a in args], "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    (line,) = _lines(done)
    assert line.startswith("python -m subpixel conformance: error: ")
    assert message in line


def test_a_file_the_runtime_refuses_is_one_line_and_status_2(tmp_path: Path) -> None:
    # onnxruntime raises its own exception type (not a RuntimeError) for a model it cannot load.
    import onnx

    model = tmp_path / "future.onnx"
    proto = onnx.load(str(_depth_to_space(tmp_path / "dcr.onnx", "DCR")))
    proto.ir_version = 99
    onnx.save(proto, str(model))
    done = _conformance("--impl", str(model), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    (line,) = _lines(done)
    assert line.startswith("python -m subpixel conformance: error: ")
    assert f"cannot open {str(model)!r} with onnxruntime" in line


#: ``python -m subpixel conformance ARGS`` where ExecuTorch cannot be found, installed or not.
WITHOUT_EXECUTORCH = """
import importlib.util, sys
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.startswith("executorch") else real(name, *a)
from subpixel.conformance import cli
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_pte_file_without_executorch_is_one_line_and_status_2(tmp_path: Path) -> None:
    model = tmp_path / "model.pte"
    model.write_bytes(b"")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXECUTORCH, "--impl", str(model), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert _lines(done) == [
        f"python -m subpixel conformance: error: --impl: {model} needs executorch, which is not installed: "
        "pip install executorch (see --help)"
    ]
    assert not (tmp_path / "out").exists()


#: torch's PixelShuffle as ExecuTorch programs: fixed sizes, and dynamic batch and spatial sizes.
TORCH_TO_PTE = """
import sys
import torch
from executorch.exir import to_edge_transform_and_lower

model = torch.nn.PixelShuffle(2).eval()
x = torch.zeros(2, 8, 3, 4)
sizes = {0: torch.export.Dim("n", max=8), 2: torch.export.Dim("h", max=64), 3: torch.export.Dim("w", max=64)}
for name, shapes in (("static", None), ("dynamic", (sizes,))):
    program = torch.export.export(model, (x,), dynamic_shapes=shapes)
    with open(f"{sys.argv[1]}/{name}.pte", "wb") as file:
        file.write(to_edge_transform_and_lower(program).to_executorch().buffer)
"""


@pytest.mark.needs("torch", "executorch")
def test_executorch_programs_of_torch_pixel_shuffle_pass(tmp_path: Path) -> None:
    made = subprocess.run(
        [sys.executable, "-c", TORCH_TO_PTE, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    static = _conformance(
        "--impl", str(tmp_path / "static.pte"), "--out", str(tmp_path / "a"), "--dtypes", "float32"
    )
    assert static.returncode == 0, static.stdout + static.stderr
    assert "static.pte (ExecuTorch): a shuffle by 2 of float32 input (2, 8, 3, 4); runs only" in static.stdout
    dynamic = _conformance(
        "--impl", str(tmp_path / "dynamic.pte"), "--out", str(tmp_path / "b"), "--dtypes", "float32"
    )
    assert dynamic.returncode == 0, dynamic.stdout + dynamic.stderr
    assert "dynamic.pte (ExecuTorch): a shuffle by 2 of float32 input (?, 8, ?, ?)" in dynamic.stdout


#: Keras on TensorFlow writes ``keras.ops.depth_to_space`` (DCR, channels last) as a .tflite file.
KERAS_TO_TFLITE = """
import sys
import keras
import tensorflow as tf

inputs = keras.Input(shape=(None, None, 8))
model = keras.Model(inputs, keras.layers.Lambda(lambda t: keras.ops.depth_to_space(t, 2))(inputs))
signature = tf.TensorSpec([None, None, None, 8], "float32")
function = tf.function(lambda x: model(x)).get_concrete_function(signature)
converter = tf.lite.TFLiteConverter.from_concrete_functions([function], model)
open(sys.argv[1], "wb").write(converter.convert())
"""


@pytest.mark.needs("keras", "tensorflow")
def test_a_tflite_file_from_keras_depth_to_space_passes_as_dcr_channels_last_and_fails_as_crd(
    tmp_path: Path,
) -> None:
    model = tmp_path / "d2s.tflite"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    made = subprocess.run(
        [sys.executable, "-c", KERAS_TO_TFLITE, str(model)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    right = _conformance(
        "--impl",
        str(model),
        "--impl-options",
        "channels_last,order=DCR",
        "--out",
        str(tmp_path / "a"),
        "--dtypes",
        "float32",
    )
    assert right.returncode == 0, right.stdout + right.stderr
    assert "d2s.tflite (LiteRT (" in right.stdout
    assert "a shuffle by 2 of float32 input (?, ?, ?, 8)" in right.stdout
    wrong = _conformance(
        "--impl", str(model), "--impl-options", "channels_last", "--out", str(tmp_path / "b"), *FAST
    )
    assert wrong.returncode == 1
