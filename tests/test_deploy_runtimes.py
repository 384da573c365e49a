"""The slow deployment paths: their declarations, and one end-to-end run per runtime where requested.

The end-to-end tests need a runtime of the ``deploy-slow`` (or ``deploy-tvm``) dependency group
and run only where ``SUBPIXEL_BACKENDS`` requests it (``SUBPIXEL_BACKENDS=torch,executorch``).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from subpixel.conformance._inputs import DTYPE_NAMES, make_input
from subpixel.conformance.deploy import _coreml, _executorch, _litert_torch, _mnn, _ncnn, _tvm
from subpixel.conformance.deploy._path import ConversionError, DeployPath, Model
from subpixel.conformance.deploy._torch_export import check_framework, check_shape
from tests.backends import FRAMEWORKS, RUNTIMES, requested_frameworks

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

MODULES = {
    "_executorch": _executorch,
    "_litert_torch": _litert_torch,
    "_tvm": _tvm,
    "_mnn": _mnn,
    "_ncnn": _ncnn,
    "_coreml": _coreml,
}

RUNTIME_NAMES = {
    "_executorch": "ExecuTorch",
    "_litert_torch": "LiteRT",
    "_tvm": "TVM",
    "_mnn": "MNN",
    "_ncnn": "ncnn",
    "_coreml": "Core ML",
}

#: What importing the modules must leave unimported.
RUNTIME_MODULES = (
    "torch",
    "onnx",
    "executorch",
    "litert_torch",
    "ai_edge_litert",
    "tvm",
    "MNN",
    "_tools",
    "pnnx",
    "ncnn",
    "coremltools",
)


def _paths() -> list[DeployPath]:
    return [path for module in MODULES.values() for path in module.PATHS]


def test_every_module_declares_paths_of_its_one_runtime() -> None:
    for name, module in MODULES.items():
        assert module.PATHS, name
        assert all(isinstance(path, DeployPath) for path in module.PATHS), name
        assert {path.runtime for path in module.PATHS} == {RUNTIME_NAMES[name]}, name
    assert len(_executorch.PATHS) == 2  # portable and XNNPACK: two paths, one runtime


def test_path_names_are_unique() -> None:
    names = [path.name for path in _paths()]
    assert len(names) == len(set(names)), names


def test_declarations_are_torch_slow_paths_with_known_dtypes() -> None:
    for path in _paths():
        assert path.framework == "torch", path.name
        assert not path.fast, path.name
        assert path.requires, path.name
        assert "torch" in path.distributions, path.name
        assert path.dtypes, path.name
        assert set(path.dtypes) <= set(DTYPE_NAMES), path.name
        assert path.dtypes[0] == "float32", path.name
        assert path.runs_here == (path.runtime != "Core ML"), path.name


def test_each_runtime_can_be_requested_for_its_end_to_end_test(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(RUNTIMES) <= FRAMEWORKS
    main_modules = {path.requires[0].partition(".")[0] for path in _paths()}
    assert main_modules <= set(RUNTIMES), main_modules
    monkeypatch.setenv("SUBPIXEL_BACKENDS", "torch,executorch,MNN")
    assert requested_frameworks() == {"numpy", "torch", "executorch", "MNN"}
    monkeypatch.setenv("SUBPIXEL_BACKENDS", "all")
    assert not requested_frameworks() & set(RUNTIMES)


def test_dtypes_say_what_each_runtime_takes() -> None:
    assert _ncnn.PATHS[0].dtypes == ("float32",)
    assert _coreml.PATHS[0].dtypes == ("float32", "float16")
    assert _mnn.PATHS[0].dtypes == ("float32", "uint8")


def test_mnn_never_imports_the_converter_wrapper_that_installs_and_reports() -> None:
    tree = ast.parse(Path(_mnn.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "MNN.expr" in imported
    assert not any(name.startswith("MNN.tools") for name in imported), imported
    child = ast.parse(_mnn._CONVERTER)
    assert {
        alias.name for node in ast.walk(child) if isinstance(node, ast.Import) for alias in node.names
    } == {
        "sys",
        "_tools",
    }


def test_importing_the_modules_imports_no_runtime() -> None:
    program = (
        "import sys\n"
        "from subpixel.conformance.deploy import _coreml, _executorch, _litert_torch, _mnn, _ncnn, _tvm\n"
        f"print(sorted(name for name in {RUNTIME_MODULES!r} if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_keras_model_is_refused_with_the_path_named() -> None:
    model = Model("keras", object(), np.zeros((1, 4, 2, 2), np.float32))
    with pytest.raises(
        ConversionError, match=r"MNN \(torch.onnx dynamo\) takes torch models, got framework='keras'"
    ):
        check_framework(model, "MNN (torch.onnx dynamo)")


def test_a_static_artefact_refuses_another_size_naming_both_shapes() -> None:
    x = np.zeros((1, 8, 4, 14), np.float32)
    check_shape((1, 8, 6, 10), (2, 3), x, "p")  # dynamic spatial axes: fits
    with pytest.raises(ValueError, match=r"x has shape \(1, 8, 4, 14\); the p artefact was exported for "):
        check_shape((1, 8, 6, 10), (), x, "p")
    with pytest.raises(ValueError, match=r"dynamic axes: 2, 3"):
        check_shape((1, 8, 6, 10), (2, 3), np.zeros((1, 8, 6), np.float32), "p")


def test_ncnn_param_reading() -> None:
    param = "7767517\n3 3\nInput in0 0 1 in0\nTensor.unflatten u 1 1 in0 1\nPermute p 1 1 1 out0 0=0\n"
    assert _ncnn.layer_types(param) == ["Tensor.unflatten", "Permute"]
    assert _ncnn.pnnx_max_rank("pnnx.Input in 0 1 0 #0=(1,4,12,20)f32\n") == 4
    assert _ncnn.pnnx_max_rank("nothing here") is None


# End to end: torch's op and subpixel's layer through the runtime, bit for bit with torch eager.

#: The runtimes and converters warn about their own deprecations (importlib.resources, pytree,
#: the untested-torch notice of coremltools): not about subpixel, so these tests let them pass.
RUNTIME_WARNINGS = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning", "ignore::RuntimeWarning"
)


def _layers() -> list[tuple[str, Any]]:
    import torch

    import subpixel.torch as st

    return [("torch", torch.nn.PixelShuffle(2)), ("subpixel", st.PixelShuffle(2))]


def _end_to_end(path: DeployPath, tmp_path: Path, others: list[tuple[int, ...]]) -> None:
    import torch

    for impl, layer in _layers():
        example = make_input((1, 8, 6, 10), "float32", 1)
        model = Model("torch", layer, example, dynamic_axes=(0, 2, 3))
        workdir = tmp_path / impl
        workdir.mkdir()
        artefact = path.convert(model, workdir)
        assert artefact.op_types, impl
        for seed, shape in enumerate([(1, 8, 6, 10), *others], start=2):
            x = make_input(shape, "float32", seed)
            kept = x.copy()
            got = np.asarray(path.run(artefact, x))
            want = layer(torch.from_numpy(x.copy())).numpy()
            assert np.array_equal(x.view(np.uint8), kept.view(np.uint8)), (impl, shape)  # input untouched
            assert got.shape == want.shape, (impl, shape)
            assert np.array_equal(got.view(np.uint8), want.view(np.uint8)), (impl, shape)


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "executorch")
@pytest.mark.parametrize("index", [0, 1], ids=["portable", "xnnpack"])
def test_executorch_end_to_end(tmp_path: Path, index: int) -> None:
    _end_to_end(_executorch.PATHS[index], tmp_path, [(1, 8, 4, 14)])


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "litert_torch")
def test_litert_torch_end_to_end(tmp_path: Path) -> None:
    _end_to_end(_litert_torch.PATHS[0], tmp_path, [])  # static: litert-torch 0.10 keeps no dynamic size


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "tvm")
def test_tvm_end_to_end(tmp_path: Path) -> None:
    _end_to_end(_tvm.PATHS[0], tmp_path, [(1, 8, 4, 14), (2, 8, 6, 10)])


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "MNN")
def test_mnn_end_to_end(tmp_path: Path) -> None:
    _end_to_end(_mnn.PATHS[0], tmp_path, [(1, 8, 4, 14), (2, 8, 6, 10)])


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "pnnx", "ncnn")
def test_ncnn_end_to_end(tmp_path: Path) -> None:
    _end_to_end(_ncnn.PATHS[0], tmp_path, [(1, 8, 4, 14), (3, 8, 6, 4)])  # a batch runs item by item


@pytest.mark.slow
@RUNTIME_WARNINGS
@pytest.mark.needs("torch", "coremltools")
def test_coreml_converts_to_one_pixel_shuffle(tmp_path: Path) -> None:
    path = _coreml.PATHS[0]
    for impl, layer in _layers():
        model = Model("torch", layer, make_input((1, 8, 6, 10), "float32", 1), dynamic_axes=(0, 2, 3))
        workdir = tmp_path / impl
        workdir.mkdir()
        artefact = path.convert(model, workdir)
        assert artefact.op_types == ["pixel_shuffle"], impl
        assert artefact.dynamic
        with pytest.raises(RuntimeError, match="Core ML cannot run models on this platform"):
            path.run(artefact, model.example)
