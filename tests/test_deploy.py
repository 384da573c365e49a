"""The deployment matrix (``python -m subpixel deploy``): registry, engine, report, command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from subpixel.conformance.deploy import _engine, _models, _registry, _report
from subpixel.conformance.deploy._path import Artefact, DeployPath, Model

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

SRC = str(Path(__file__).resolve().parents[1] / "src")

#: The fast paths CI runs.
FAST = {
    "onnxruntime (torch.onnx dynamo)",
    "onnxruntime (torch.onnx TorchScript)",
    "onnx.reference (torch.onnx dynamo)",
    "onnx.reference (torch.onnx TorchScript)",
    "OpenVINO (torch.onnx dynamo file)",
    "LiteRT (Keras on TensorFlow)",
    "LiteRT int8-quantized (Keras on TensorFlow)",
    "LiteRT (jax2tf)",
    "LiteRT int8-quantized (jax2tf)",
    "XLA CPU (jax.export)",
}

TORCHSCRIPT = "onnxruntime (torch.onnx TorchScript)"


def _deploy(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = (
        [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", "subpixel", "deploy"]
    )
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def _plan_models(name: str) -> list[_models.DeployModel]:
    """The models of the plan called ``name`` (subpixel's layer, and the native op where there is one)."""
    return [m for m in _models.MODELS if m.plan.name == name]


# --- registry ------------------------------------------------------------------------------------


def test_the_registry_finds_every_runtime_module_and_their_paths() -> None:
    modules = _registry.runtime_modules()
    short = {name.rpartition(".")[2] for name in modules}
    assert {"_onnxruntime", "_onnx_reference", "_openvino", "_litert_keras"} <= short
    assert {"_jax2tf", "_jax_export"} <= short
    assert not short & _registry.ENGINE_MODULES
    found = _registry.paths()
    fast = {name for name, path in found.items() if path.fast}
    assert fast >= FAST
    assert "OpenVINO (openvino.convert_model)" in found
    assert not found["OpenVINO (openvino.convert_model)"].fast
    # The fast paths come first.
    names = list(found)
    assert names[: len(fast)] == [n for n in names if found[n].fast]


def test_every_path_can_be_named_alone_in_paths() -> None:
    """``--paths`` takes a comma-separated list: each name, given alone, selects its path."""
    from subpixel._cli import choose

    known = list(_registry.paths())
    for name in known:
        assert choose("--paths", name, known) == [name]


def test_a_runtime_module_without_paths_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_registry, "runtime_modules", lambda: ["subpixel.conformance.deploy._models"])
    _registry.paths.cache_clear()
    try:
        with pytest.raises(TypeError, match=r"_models must export PATHS, a tuple of DeployPath"):
            _registry.paths()
    finally:
        _registry.paths.cache_clear()


def test_importing_the_deployment_matrix_imports_no_runtime() -> None:
    runtimes = [
        "torch",
        "onnx",
        "onnxruntime",
        "onnxscript",
        "openvino",
        "tensorflow",
        "keras",
        "ai_edge_litert",
        "jax",
    ]
    code = (
        "import sys\n"
        "import subpixel.conformance.deploy\n"
        "from subpixel.conformance.deploy import _registry, cli\n"
        "_registry.paths()\n"  # every runtime module imported, no runtime
        f"print(sorted(m for m in {runtimes!r} if m in sys.modules))\n"
    )
    done = _deploy(code=code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_models_pair_subpixel_with_the_native_op_and_change_every_size_but_channels() -> None:
    names = [m.name for m in _models.MODELS]
    assert "torch shuffle x2 CRD NCHW [subpixel]" in names
    assert "torch shuffle x2 CRD NCHW [native]" in names
    assert "torch unshuffle x2 CRD NCHW [native]" in names
    assert "keras shuffle x2 DCR NHWC [native]" in names
    assert "keras shuffle x2 CRD NHWC [native]" not in names  # no native op: LiteRT's is DCR only
    for plan in _models.PLANS:
        shapes = plan.shapes()
        channel = len(shapes[0]) - 1 if plan.channels_last else 1
        assert len({s[channel] for s in shapes}) == 1
        for other in shapes[1:]:
            assert all(other[a] != shapes[0][a] for a in plan.dynamic_axes), (plan.name, other)
    with pytest.raises(KeyError, match="no deployment model named 'nope'"):
        _models.model_named("nope")


# --- the byte comparison ---------------------------------------------------------------------------


def test_compare_counts_elements_whose_bytes_differ() -> None:
    expected = np.array([0.0, -0.0, np.nan, 1.0], dtype=np.float32)
    assert _engine.compare(expected.copy(), expected) == 0
    assert _engine.compare(np.array([-0.0, 0.0, np.nan, 1.0], dtype=np.float32), expected) == 2
    other_nan = expected.copy()
    other_nan.view(np.uint32)[2] ^= 1  # another payload
    assert _engine.compare(other_nan, expected) == 1
    assert _engine._nan_only(other_nan, expected)
    assert not _engine._nan_only(np.array([-0.0, 0.0, np.nan, 1.0], dtype=np.float32), expected)
    assert _engine.compare(expected[:3], expected) == 4  # another shape: every element
    assert _engine.compare(expected.astype(np.float16), expected) == 4


# --- the engine on paths that need no exporter (torch eager as the "runtime") ---------------------


def _eager_path(name: str, transform: Any = None, *, fast: bool = False) -> DeployPath:
    """A path whose artefact is the torch module itself; ``transform`` changes its output."""

    def convert(model: Model, workdir: Path) -> Artefact:
        return Artefact(handle=model.layer, op_types=["Eager"], max_rank=4, dynamic=True)

    def run(artefact: Artefact, x: Any) -> Any:
        import torch

        with torch.no_grad():
            y = artefact.handle(torch.from_numpy(x)).numpy()
        return y if transform is None else transform(y)

    return DeployPath(
        name, "eager", "torch", ("torch",), ("torch",), convert, run, ("float32", "float16"), fast
    )


@pytest.mark.needs("torch")
def test_a_path_that_reverses_the_channel_order_is_caught(tmp_path: Path) -> None:
    planted = _eager_path("planted", lambda y: np.ascontiguousarray(y[:, ::-1]))
    outcomes = _engine.run_paths([planted], tmp_path, models=_plan_models("torch shuffle x2 CRD NCHW"))
    ours = [o for o in outcomes if o.maker == "subpixel"]
    assert len(ours) == 2  # float32, float16
    for outcome in ours:
        assert outcome.converts
        assert outcome.failed
        assert outcome.sizes == 3  # the exported size and two others
        assert outcome.differ > 0
        assert outcome.bits == f"{outcome.differ} of {outcome.elements} differ"
    md = _report.to_markdown(_report.header([planted], "test", 0.0), outcomes)
    assert "FAILED" in md


@pytest.mark.needs("torch")
def test_a_faithful_path_passes_with_every_size(tmp_path: Path) -> None:
    faithful = _eager_path("faithful")
    outcomes = _engine.run_paths(
        [faithful], tmp_path, dtypes=["float32"], models=_plan_models("torch unshuffle x2 CRD NCHW")
    )
    assert [(o.maker, o.bits, o.failed, o.sizes, o.dynamic) for o in outcomes] == [
        ("native", "equal", False, 3, "yes"),
        ("subpixel", "equal", False, 3, "yes"),
    ]
    assert outcomes[1].native_ops == 1


@pytest.mark.needs("torch")
def test_nan_payloads_the_runtime_canonicalises_for_the_native_op_too_are_compared_with_it(
    tmp_path: Path,
) -> None:
    def canonical(y: Any) -> Any:
        y = y.copy()
        y[np.isnan(y)] = np.float16("nan") if y.dtype == np.float16 else np.float32("nan")
        return y

    path = _eager_path("canonicalising", canonical)
    models = _plan_models("torch shuffle x2 CRD NCHW") + _plan_models("torch shuffle x2 DCR NCHW")
    outcomes = {
        (o.model, o.dtype): o for o in _engine.run_paths([path], tmp_path, dtypes=["float16"], models=models)
    }
    native = outcomes["torch shuffle x2 CRD NCHW [native]", "float16"]
    assert native.differ > 0  # the runtime's own change, reported, not failed
    assert not native.failed
    ours = outcomes["torch shuffle x2 CRD NCHW [subpixel]", "float16"]
    assert ours.bits == "equal"
    assert ours.compared_with == "the native op through eager"
    assert not ours.failed
    alone = outcomes["torch shuffle x2 DCR NCHW [subpixel]", "float16"]  # no native op: NaN payloads aside
    assert alone.bits == "equal"
    assert alone.compared_with == "eager, NaN payloads aside"
    assert "canonicalises for the native op too" in alone.notes[0]


@pytest.mark.needs("torch")
def test_nan_canonicalisation_excuses_nothing_else(tmp_path: Path) -> None:
    def canonical_and_wrong(y: Any) -> Any:
        y = y.copy()
        y[np.isnan(y)] = np.float32("nan")
        y.reshape(-1)[0] = 7.0 if not np.isnan(y.reshape(-1)[0]) else 8.0
        return y

    path = _eager_path("wrong", canonical_and_wrong)
    outcomes = _engine.run_paths(
        [path], tmp_path, dtypes=["float32"], models=_plan_models("torch shuffle x2 DCR NCHW")
    )
    assert outcomes[0].failed


@pytest.mark.needs("torch")
def test_more_operators_than_the_native_op_or_a_rank_above_4_fails(tmp_path: Path) -> None:
    def convert(model: Model, workdir: Path) -> Artefact:
        ops = ["Reshape", "Transpose", "Reshape"] if "subpixel" in model.name else ["DepthToSpace"]
        return Artefact(
            handle=model.layer, op_types=ops, max_rank=6 if "subpixel" in model.name else 4, dynamic=True
        )

    path = replace(_eager_path("long"), convert=convert)
    models = _plan_models("torch shuffle x2 CRD NCHW") + _plan_models("torch shuffle x2 DCR NCHW")
    outcomes = {o.model: o for o in _engine.run_paths([path], tmp_path, dtypes=["float32"], models=models)}
    paired = outcomes["torch shuffle x2 CRD NCHW [subpixel]"]
    assert (paired.bits, paired.failed, paired.native_ops) == ("equal", True, 1)
    assert paired.notes == ["3 operators where the native op has 1"]  # its rank is the native op's business
    alone = outcomes["torch shuffle x2 DCR NCHW [subpixel]"]
    assert (alone.bits, alone.failed) == ("equal", True)
    assert alone.notes == ["a rank-6 tensor (with no native op, the bar is rank 4)"]


@pytest.mark.needs("torch")
def test_a_rank_the_path_gives_the_native_op_too_is_the_converters_choice(tmp_path: Path) -> None:
    def convert(model: Model, workdir: Path) -> Artefact:
        return Artefact(
            handle=model.layer, op_types=["Reshape", "Transpose", "Reshape"], max_rank=6, dynamic=True
        )

    path = replace(_eager_path("lowering"), convert=convert)
    models = _plan_models("torch shuffle x2 CRD NCHW") + _plan_models("torch shuffle x2 DCR NCHW")
    outcomes = {o.model: o for o in _engine.run_paths([path], tmp_path, dtypes=["float32"], models=models)}
    alone = outcomes["torch shuffle x2 DCR NCHW [subpixel]"]
    assert (alone.bits, alone.failed) == ("equal", False)
    assert alone.notes == ["rank 6: the path lowers the native op to rank 6 too"]


def test_a_path_whose_packages_are_missing_is_not_run(tmp_path: Path) -> None:
    path = replace(_eager_path("absent"), requires=("no_such_module_here",))
    (outcome,) = _engine.run_paths([path], tmp_path)
    assert outcome.bits == "not run: not installed"
    assert outcome.reason == "needs no_such_module_here"
    assert not outcome.failed


@pytest.mark.needs("torch")
def test_a_conversion_error_is_one_line_and_fails_only_where_the_native_op_converts(tmp_path: Path) -> None:
    from subpixel.conformance.deploy._path import ConversionError

    def convert(model: Model, workdir: Path) -> Artefact:
        if "subpixel" in model.name or model.name.startswith("torch shuffle x3"):
            msg = "rank 6 is not supported\nsecond line"
            raise ConversionError(msg)
        return Artefact(handle=model.layer, op_types=["Op"], dynamic=True)

    path = replace(_eager_path("picky"), convert=convert)
    models = _plan_models("torch shuffle x2 CRD NCHW") + _plan_models("torch shuffle x3 CRD NCHW")
    outcomes = {o.model: o for o in _engine.run_paths([path], tmp_path, dtypes=["float32"], models=models)}
    two = outcomes["torch shuffle x2 CRD NCHW [subpixel]"]
    assert (two.converts, two.reason, two.failed) == (False, "ConversionError: rank 6 is not supported", True)
    three = outcomes["torch shuffle x3 CRD NCHW [subpixel]"]
    assert (three.converts, three.failed) == (False, False)
    assert three.notes == ["the native op does not convert either"]


@pytest.mark.needs("torch")
def test_a_plan_with_no_native_op_near_it_is_excused_only_by_the_same_error(tmp_path: Path) -> None:
    from subpixel.conformance.deploy._path import ConversionError

    def convert(model: Model, workdir: Path) -> Artefact:
        if model.name.endswith("[native]"):
            # Each direction's native op fails with an error of its own.
            raise ConversionError("unshuffle refused" if "unshuffle" in model.name else "no such op")
        if "NHWC" in model.name:
            raise ConversionError("no such op")  # the native shuffle's error, word for word
        if "NCDHW" in model.name:
            raise ConversionError("unshuffle refused")  # the error of the other direction's op
        return Artefact(handle=model.layer, op_types=["Op"], max_rank=4, dynamic=True)

    path = replace(_eager_path("picky"), convert=convert)
    names = ("torch shuffle x2 CRD NCHW", "torch unshuffle x2 CRD NCHW", "torch shuffle x2 CRD NHWC")
    models = [m for name in (*names, "torch shuffle x2 CRD NCDHW") for m in _plan_models(name)]
    outcomes = {o.model: o for o in _engine.run_paths([path], tmp_path, dtypes=["float32"], models=models)}
    nhwc = outcomes["torch shuffle x2 CRD NHWC [subpixel]"]
    assert (nhwc.converts, nhwc.failed) == (False, False)
    assert nhwc.notes == [
        "torch.nn.PixelShuffle (torch shuffle x2 CRD NCHW) does not convert either, with the same error"
    ]
    volume = outcomes["torch shuffle x2 CRD NCDHW [subpixel]"]
    assert (volume.converts, volume.failed, volume.notes) == (False, True, [])


def test_a_plan_without_a_native_op_is_held_to_the_native_op_of_its_other_order() -> None:
    crd = _models.model_named("keras shuffle x2 CRD NHWC [subpixel]")
    assert crd.counterpart is None
    assert crd.nearest_native == _models.model_named("keras shuffle x2 DCR NHWC [native]")
    assert _models.model_named("keras shuffle x2 DCR NHWC [subpixel]").nearest_native is None
    dcr = _models.model_named("torch shuffle x2 DCR NCHW [subpixel]")
    assert dcr.nearest_native == _models.model_named("torch shuffle x2 CRD NCHW [native]")


# --- a real path, end to end -----------------------------------------------------------------------


@pytest.mark.needs("torch")
def test_onnxruntime_torchscript_path_keeps_torch_bits_with_one_node(tmp_path: Path) -> None:
    path = _registry.paths()[TORCHSCRIPT]
    models = _plan_models("torch shuffle x2 CRD NCHW") + _plan_models("torch shuffle x2 CRD NHWC")
    outcomes = {
        (o.model, o.dtype): o
        for o in _engine.run_paths([path], tmp_path, dtypes=["float32", "uint8"], models=models)
    }
    for dtype in ("float32", "uint8"):
        native = outcomes["torch shuffle x2 CRD NCHW [native]", dtype]
        assert native.ops == ["DepthToSpace"]
        ours = outcomes["torch shuffle x2 CRD NCHW [subpixel]", dtype]
        assert (ours.converts, ours.bits, ours.dynamic, ours.sizes, ours.failed) == (
            True,
            "equal",
            "yes",
            3,
            False,
        )
        assert ours.native_ops == 1
        assert len(ours.ops) <= 1
        last = outcomes["torch shuffle x2 CRD NHWC [subpixel]", dtype]
        assert (last.bits, last.failed) == ("equal", False)
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == sorted(
        f"torch-shuffle-x2-CRD-{layout}-{maker}.{dtype}.TorchScript.onnx"
        for layout, makers in (("NCHW", ("native", "subpixel")), ("NHWC", ("subpixel",)))
        for maker in makers
        for dtype in ("float32", "uint8")
    )


@pytest.mark.needs("openvino")
def test_openvino_reads_the_dynamo_file_and_keeps_torch_bits(tmp_path: Path) -> None:
    path = _registry.paths()["OpenVINO (torch.onnx dynamo file)"]
    outcomes = _engine.run_paths(
        [path], tmp_path, dtypes=["float32"], models=_plan_models("torch shuffle x3 CRD NCHW")
    )
    assert [(o.maker, o.bits, o.dynamic, o.failed) for o in outcomes] == [
        ("native", "equal", "yes", False),
        ("subpixel", "equal", "yes", False),
    ]


@pytest.mark.needs("keras", "tensorflow")
def test_litert_runs_keras_in_a_tensorflow_worker_and_keeps_the_bits(tmp_path: Path) -> None:
    path = _registry.paths()["LiteRT (Keras on TensorFlow)"]
    models = _plan_models("keras shuffle x2 DCR NHWC")
    outcomes = _engine.run_paths([path], tmp_path, dtypes=["float32"], models=models)
    assert [(o.maker, o.bits, o.dynamic, o.sizes) for o in outcomes] == [
        ("native", "equal", "yes", 3),
        ("subpixel", "equal", "yes", 3),
    ]
    assert outcomes[0].ops == ["DEPTH_TO_SPACE"]
    assert outcomes[1].native_ops == 1
    assert list(tmp_path.glob("*.tflite"))


# --- JAX: jax2tf -> LiteRT, jax.export -> XLA -------------------------------------------------------

JAX_EXPORT = "XLA CPU (jax.export)"


def test_jax_plans_pair_subpixel_with_keras_on_jax_for_dcr_only() -> None:
    jax_models = [m for m in _models.MODELS if m.plan.framework == "jax"]
    natives = {m.name for m in jax_models if m.maker == "native"}
    assert natives == {"jax shuffle x2 DCR NHWC [native]", "jax unshuffle x2 DCR NHWC [native]"}
    assert "jax shuffle x2 CRD NCHW [subpixel]" in {m.name for m in jax_models}
    # Keras's op on JAX is itself reshapes and a rank-6 transpose: its rank excuses nothing.
    assert all(m.plan.native_is_spelled for m in jax_models)
    assert not any(m.plan.native_is_spelled for m in _models.MODELS if m.plan.framework != "jax")
    crd = _models.model_named("jax shuffle x2 CRD NHWC [subpixel]")
    assert crd.nearest_native == _models.model_named("jax shuffle x2 DCR NHWC [native]")


def test_jax_symbolic_shapes_name_batch_and_spatial_sizes_and_an_unshuffles_multiple() -> None:
    from subpixel.conformance.deploy._jax_export import polymorphic_shape

    x = np.zeros((2, 2, 8, 10), np.float32)
    assert polymorphic_shape(Model("jax", None, x, (0, 2, 3), multiple=2)) == "b, 2, 2*s1, 2*s2"
    assert polymorphic_shape(Model("jax", None, x, (0, 1, 2), channels_last=True)) == "b, s1, s2, 10"
    assert polymorphic_shape(Model("jax", None, x)) == "2, 2, 8, 10"


def test_stablehlo_ops_are_the_operations_on_the_array_and_the_rank_every_tensors() -> None:
    from subpixel.conformance.deploy._jax_export import stablehlo_ops

    module = """
    %c = stablehlo.constant dense<2> : tensor<1xi32>
    %0 = stablehlo.get_dimension_size %arg0, dim = 0 : (tensor<?x8x?x?xf32>) -> tensor<i32>
    %1 = stablehlo.concatenate %a, %c, dim = 0 : (tensor<1xi32>, tensor<1xi32>) -> tensor<6xi32>
    stablehlo.custom_call @shape_assertion(%3, %0) : (tensor<i1>, tensor<i32>) -> ()
    %4 = stablehlo.dynamic_reshape %arg0, %1 : (tensor<?x8x?x?xi8>, tensor<6xi32>) -> tensor<?x2x2x2x?x?xi8>
    %5 = stablehlo.transpose %4, dims = [0, 1, 4, 2, 5, 3] : (tensor<?x2x2x2x?x?xi8>) -> tensor<2x?x2x?x2xi8>
    """
    assert stablehlo_ops(module) == (["dynamic_reshape", "transpose"], 6)
    assert stablehlo_ops("") == ([], None)


@pytest.mark.needs("jax")
def test_a_jax_path_that_reverses_the_channel_order_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _registry.paths()[JAX_EXPORT]

    def planted(artefact: Artefact, x: Any) -> Any:
        return np.ascontiguousarray(path.run(artefact, x)[:, ::-1])

    monkeypatch.setattr(_engine, "_needs_worker", lambda p: False)  # a plan without Keras's op: no worker
    outcomes = _engine.run_paths(
        [replace(path, run=planted)],
        tmp_path,
        dtypes=["float32"],
        models=_plan_models("jax shuffle x2 CRD NCHW"),
    )
    (ours,) = outcomes
    assert (ours.converts, ours.sizes, ours.failed) == (True, 3, True)
    assert ours.differ > 0
    assert ours.bits == f"{ours.differ} of {ours.elements} differ"


@pytest.mark.needs("jax", "keras")
def test_jax_export_keeps_the_eager_bits_with_symbolic_sizes(tmp_path: Path) -> None:
    path = _registry.paths()[JAX_EXPORT]
    models = _plan_models("jax unshuffle x2 DCR NHWC") + _plan_models("jax shuffle x2 CRD NCHW")
    outcomes = {
        (o.model, o.dtype): o
        for o in _engine.run_paths([path], tmp_path, dtypes=["float16", "int8"], models=models)
    }
    for dtype in ("float16", "int8"):
        native = outcomes["jax unshuffle x2 DCR NHWC [native]", dtype]
        ours = outcomes["jax unshuffle x2 DCR NHWC [subpixel]", dtype]
        for outcome in (native, ours):
            assert (outcome.bits, outcome.dynamic, outcome.sizes) == ("equal", "yes", 3)
        assert ours.native_ops == len(native.ops)
        assert not ours.failed
        # Keras's spelling, which TensorFlow's op also lowers to: one rank-6 transpose.
        assert (ours.ops, ours.max_rank) == (native.ops, 6)
        alone = outcomes["jax shuffle x2 CRD NCHW [subpixel]", dtype]
        # No native op: symbolic sizes take the rank-4 steps, which meet the bar of rank 4.
        assert (alone.bits, alone.dynamic, alone.max_rank, alone.failed) == ("equal", "yes", 4, False)
        assert alone.ops.count("transpose") == 2
    assert list(tmp_path.glob("*.jax-export.bin"))


@pytest.mark.needs("jax", "keras", "tensorflow", "ai_edge_litert")
def test_litert_from_jax2tf_keeps_the_eager_bits_with_dynamic_sizes(tmp_path: Path) -> None:
    chosen = [_registry.paths()[name] for name in ("LiteRT (jax2tf)", "LiteRT int8-quantized (jax2tf)")]
    outcomes = _engine.run_paths(
        chosen, tmp_path, dtypes=["float32", "int8"], models=_plan_models("jax shuffle x2 DCR NHWC")
    )
    assert [(o.path, o.maker, o.dtype, o.bits, o.dynamic, o.sizes) for o in outcomes] == [
        ("LiteRT (jax2tf)", "native", "float32", "equal", "yes", 3),
        ("LiteRT (jax2tf)", "native", "int8", "equal", "yes", 3),
        ("LiteRT (jax2tf)", "subpixel", "float32", "equal", "yes", 3),
        ("LiteRT (jax2tf)", "subpixel", "int8", "equal", "yes", 3),
        ("LiteRT int8-quantized (jax2tf)", "native", "int8", "equal", "yes", 3),
        ("LiteRT int8-quantized (jax2tf)", "subpixel", "int8", "equal", "yes", 3),
    ]
    for outcome in outcomes:
        assert "TRANSPOSE" in outcome.ops
        assert not any(op.startswith("FlexOps") or op == "CUSTOM" for op in outcome.ops)
        assert not outcome.failed
    assert len(list(tmp_path.glob("jax-*.tflite"))) == 6


@pytest.mark.needs("jax", "keras", "tensorflow", "ai_edge_litert")
def test_litert_from_jax2tf_takes_a_volume_at_rank_5_and_no_float16_transpose(tmp_path: Path) -> None:
    path = _registry.paths()["LiteRT (jax2tf)"]
    models = _plan_models("jax shuffle x2 DCR NHWC") + _plan_models("jax shuffle x2 CRD NCDHW")
    outcomes = {
        (o.model, o.dtype): o
        for o in _engine.run_paths([path], tmp_path, dtypes=["float32", "float16"], models=models)
    }
    volume = outcomes["jax shuffle x2 CRD NCDHW [subpixel]", "float32"]
    assert (volume.bits, volume.dynamic, volume.sizes, volume.max_rank) == ("equal", "yes", 3, 5)
    assert not volume.failed
    # TFLite has no float16 TRANSPOSE: Keras's op fails with the very error of the volume's steps.
    native = outcomes["jax shuffle x2 DCR NHWC [native]", "float16"]
    half = outcomes["jax shuffle x2 CRD NCDHW [subpixel]", "float16"]
    assert (native.converts, half.converts, half.failed) == (False, False, False)
    assert half.reason == native.reason
    assert "'tfl.transpose'" in half.reason
    assert half.notes == [
        "keras.ops.depth_to_space (jax shuffle x2 DCR NHWC) does not convert either, with the same error"
    ]


# --- the report ------------------------------------------------------------------------------------


@pytest.mark.needs("torch")
def test_the_report_gives_versions_ops_dynamic_sizes_and_bits(tmp_path: Path) -> None:
    path = _registry.paths()[TORCHSCRIPT]
    outcomes = _engine.run_paths(
        [path], tmp_path / "work", dtypes=["int8"], models=_plan_models("torch unshuffle x2 CRD NCHW")
    )
    absent = replace(_eager_path("absent"), requires=("no_such_module_here",))
    outcomes += _engine.run_paths([absent], tmp_path / "work")
    head = _report.header([path, absent], "python -m subpixel deploy --dtypes int8", 1.25)
    md_file, json_file = _report.write_reports(head, outcomes, tmp_path / "out")
    md = md_file.read_text(encoding="utf-8")
    for distribution in ("onnxruntime", "torch", "subpixel"):
        assert f"| {distribution} |" in md
    assert f"## {TORCHSCRIPT}" in md
    assert "| torch unshuffle x2 CRD NCHW [subpixel] | int8 | yes |" in md
    assert "| yes | equal |" in md  # dynamic sizes, bits
    assert "not run: not installed (needs no_such_module_here)" in md
    data = json.loads(json_file.read_text(encoding="utf-8"))
    assert data["header"]["versions"]["onnxruntime"] != "not installed"
    assert data["header"]["seconds"] == 1.2
    first = data["outcomes"][0]
    assert first["ops"]
    assert first["max_rank"] >= 4
    assert first["bits"] == "equal"


# --- command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--paths", "nope"], "--paths: unknown 'nope'; choose from"),
        (["--dtypes", "float64"], "--dtypes: unknown 'float64'"),
        (["--format", "xml"], "argument --format: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_command_line_mistakes_are_one_line_and_status_2(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = _deploy(*args, "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("python -m subpixel deploy: error: ")
    assert message in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.needs("torch")  # the path needs torch too: only onnxruntime is hidden here
def test_a_named_path_whose_runtime_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    code = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda name, *a: None if name == 'onnxruntime' else real(name, *a)\n"
        "from subpixel.conformance.deploy import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    done = _deploy("--paths", TORCHSCRIPT, "--out", str(tmp_path / "out"), code=code)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"python -m subpixel deploy: error: --paths: {TORCHSCRIPT} needs onnxruntime, "
        "which is not installed: "
        "pip install onnxruntime (see --help)"
    )
    assert not (tmp_path / "out").exists()


def test_help_lists_the_paths_and_works_without_frameworks() -> None:
    done = _deploy("--help")
    assert done.returncode == 0
    assert "--paths NAMES" in done.stdout
    assert "onnxruntime (torch.onnx dynamo)" in " ".join(done.stdout.split())
    listed = subprocess.run(
        [sys.executable, "-m", "subpixel", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        check=False,
    )
    assert "deploy" in listed.stdout


@pytest.mark.needs("torch")
def test_deploy_runs_a_path_and_writes_both_reports(tmp_path: Path) -> None:
    done = _deploy("--paths", TORCHSCRIPT, "--dtypes", "uint8", "--out", str(tmp_path), "--quiet")
    data = json.loads((tmp_path / "deploy.json").read_text(encoding="utf-8"))
    failed = sum(o["failed"] for o in data["outcomes"])
    # The status follows the outcomes (which fail depends on what the layers emit today).
    assert done.returncode == (1 if failed else 0), done.stderr
    verdict = f"FAILED: {failed} of 10 outcomes" if failed else "PASSED: 10 outcomes"
    assert done.stdout.startswith(f"deploy: {verdict} in "), done.stdout
    assert {o["model"] for o in data["outcomes"]} == {
        m.name for m in _models.MODELS if m.plan.framework == "torch"
    }
    assert (tmp_path / "deploy.md").read_text(encoding="utf-8").startswith("# Deployment matrix")
