"""The conformance matrix: a quick run on the requested backends, golden vectors, planted bugs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from subpixel.conformance import (
    Implementation,
    Matrix,
    ReferenceBook,
    cases_by_id,
    compute_golden,
    implementations,
    load_golden,
    register_implementation,
    reproduce,
    run_case,
    run_matrix,
    unregister_implementation,
)
from subpixel.conformance._backends import ADAPTERS
from subpixel.conformance._results import NOT_RUN
from subpixel.conformance._rows import run_implementation
from subpixel.conformance.cli import main
from tests.backends import Backend, requested_backends

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "src" / "subpixel" / "conformance" / "golden.json"

#: Matrix row and device for each test backend id.
ROWS = {
    Backend.NUMPY: ("numpy", "cpu"),
    Backend.ARRAY_API_STRICT: ("array_api_strict", "cpu"),
    Backend.TORCH: ("torch", "cpu"),
    Backend.TORCH_GPU: ("torch", "gpu"),
    Backend.JAX: ("jax", "cpu"),
    Backend.JAX_GPU: ("jax", "gpu"),
    Backend.DASK: ("dask", "cpu"),
    Backend.CUPY: ("cupy", "gpu"),
}


def _layers_on(backend: str) -> list[str]:
    """The registered wrapper rows whose arrays belong to ``backend`` and whose libraries exist."""
    rows = []
    for name, impl in implementations().items():
        wrapper = impl.builtin and impl.backend == backend and name not in (backend, "jax.jit")
        if wrapper and all(importlib.util.find_spec(m) is not None for m in impl.requires):
            rows.append(name)
    return rows


def _failed_cases(matrix: Matrix) -> list[tuple[str, str, str, str]]:
    return [
        (row.backend, row.dtype, family, case_id)
        for row in matrix.rows
        for family, cell in row.cells.items()
        for case_id in cell.failures
    ]


def _assert_clean(matrix: Matrix) -> None:
    """No problem, no failed row, no failed case."""
    assert not matrix.problems, matrix.problems
    stopped = [
        (r.backend, r.device, r.dtype, r.reason) for r in matrix.rows if r.status == "FAILED" and not r.cells
    ]
    assert not stopped, stopped
    messages = [
        f"{row.backend} {row.device} {row.dtype} {fam}: {cell.first_failure}"
        for row, fam, cell in matrix.failed_cells
        if cell.first_failure
    ]
    assert not _failed_cases(matrix), "\n".join(messages)


@pytest.fixture(scope="module")
def book() -> ReferenceBook:
    """References shared by the tests of this module."""
    return ReferenceBook()


@pytest.mark.parametrize("chosen", requested_backends(), ids=str)
def test_quick_matrix_on_requested_backend(chosen: Backend, book: ReferenceBook) -> None:
    """The library and its layer wrappers on this backend pass every quick cell, every dtype."""
    name, device = ROWS[chosen]
    matrix = run_matrix([name], [device], quick=True, book=book)
    _assert_clean(matrix)
    # The row ran: a dtype is "not run" only where the library lacks it (strict: float16, bfloat16).
    ran = [r for r in matrix.rows if any(c.total for c in r.cells.values())]
    assert len(ran) >= 13, [(r.dtype, r.status, r.reason) for r in matrix.rows]
    assert sum(c.total for r in matrix.rows for c in r.cells.values()) > 300
    # The layer wrappers (and jax.jit) on this backend: the same cases on a few dtypes (on JAX each
    # new shape compiles; the full matrix run covers every dtype).
    others = _layers_on(name) + (["jax.jit"] if name == "jax" else [])
    if others:
        layers = run_matrix(
            others, [device], quick=True, dtypes=["bool", "int32", "bfloat16", "float64"], book=book
        )
        _assert_clean(layers)
        for other in others:
            # A row that runs a sample of the cases (torch.compile) runs a few of them here.
            least = 60 if implementations()[other].sample is None else 5
            ran_cases = sum(c.total for r in layers.rows if r.backend == other for c in r.cells.values())
            assert ran_cases > least, other


@pytest.mark.needs("torch")
def test_golden_vectors_match_live_torch() -> None:
    """The stored vectors are what torch computes now (regenerate with conformance/regenerate_golden.py)."""
    fresh = compute_golden()
    stored = load_golden()
    assert set(stored.cases) == set(fresh.cases)
    assert stored.cases == fresh.cases  # shapes and SHA-256 per case and dtype
    # The file is exactly what the script writes (the torch version it was recorded with aside).
    assert GOLDEN.read_text(encoding="utf-8") == fresh.to_json().replace(
        f'"torch_version": "{fresh.torch_version}"', f'"torch_version": "{stored.torch_version}"'
    )


def test_golden_vectors_are_checked_without_torch() -> None:
    """Without torch the golden vectors are a reference, and a wrong stored hash fails the cells."""
    clean = run_matrix(
        ["numpy"], ["cpu"], quick=True, dtypes=["float32"], book=ReferenceBook(use_torch=False)
    )
    assert clean.ok
    assert clean.header["references"]["cases_per_source"]["golden"] > 10
    assert "torch" not in clean.header["references"]["cases_per_source"]
    # The recorded torch deviation is reported from the golden file too.
    assert any("zero_size/unshuffle" in case for case in clean.header["torch_deviations"])

    tampered = load_golden()
    entry = tampered.cases["factors/r2-1x4x2x3"]
    entry["sha256"] = dict(entry["sha256"], float32="0" * 64)
    broken = run_matrix(
        ["numpy"],
        ["cpu"],
        quick=True,
        dtypes=["float32"],
        book=ReferenceBook(use_torch=False, golden=tampered),
    )
    assert not broken.ok
    [(row, family, cell)] = broken.failed_cells
    assert (row.dtype, family, cell.failures) == ("float32", "factors", ["factors/r2-1x4x2x3"])
    assert cell.first_failure is not None
    assert "references disagree" in cell.first_failure["message"]


BLOCK_TORCH = """
import sys
from importlib.abc import MetaPathFinder


class NoTorch(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


sys.meta_path.insert(0, NoTorch())
from subpixel.conformance._results import NOT_RUN
from subpixel.conformance.cli import main

status = main(sys.argv[1:])
assert "torch" not in sys.modules
raise SystemExit(status)
"""


def test_cli_without_torch_uses_the_golden_vectors(tmp_path: Path) -> None:
    """A job without torch (JAX-only, CuPy-only) still checks against torch's recorded results."""
    args = ["--backends", "numpy", "--devices", "cpu", "--quick", "--dtypes", "bfloat16,uint64", "--quiet"]
    args += ["--jobs", "1"]  # in this process: the script blocks torch here, worker processes would see it
    script = tmp_path / "no_torch.py"
    script.write_text(BLOCK_TORCH, encoding="utf-8")
    command = [sys.executable, str(script), *args, "--out", str(tmp_path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))
    rows = {(r["backend"], r["dtype"]): r for r in report["rows"]}
    assert all(rows[("numpy", d)]["status"] == "passed" for d in ("bfloat16", "uint64"))
    sources = report["header"]["references"]["cases_per_source"]
    assert sources["golden"] > 20
    assert "torch" not in sources
    # Naming torch, which is missing, is a bad argument: one line, status 2, nothing written.
    command = [
        sys.executable,
        str(script),
        "--backends",
        "numpy,torch",
        *args[2:],
        "--out",
        str(tmp_path / "t"),
    ]
    named = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert (named.returncode, named.stdout) == (2, "")
    assert named.stderr.splitlines() == [
        "python -m subpixel conformance: error: --backends: torch needs torch, which is not installed: "
        "pip install 'subpixel[torch]' (see --help)"
    ]
    assert not (tmp_path / "t").exists()


@pytest.mark.needs("torch")  # the golden case is checked without torch
def test_torch_zero_size_deviation_is_recorded(book: ReferenceBook) -> None:
    """torch's CPU pixel_unshuffle of a zero-size input keeps the input's shape: recorded, not copied."""
    matrix = run_matrix(["numpy"], ["cpu"], quick=True, dtypes=["int8"], families=["zero_size"], book=book)
    assert matrix.ok
    text = matrix.header["torch_deviations"]["zero_size/unshuffle-batch0-0x2x4x4"]
    assert "(0, 2, 4, 4)" in text
    assert "(0, 8, 2, 2)" in text


# -- planted bugs: each must be reported as FAILED with a reproducer ------------------------------


def _np_plan(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    from subpixel import shuffle_plan

    return shuffle_plan(x.shape, factor, inverse=inverse, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def _correct(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    from subpixel import pixel_shuffle, pixel_unshuffle

    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def _swapped_order(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    return _correct(x, factor, inverse, channels_last, "DCR" if order == "CRD" else "CRD")


def _off_by_one_factor(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    wrong = tuple(f + 1 for f in factor) if isinstance(factor, tuple) else factor + 1
    return _correct(x, wrong, inverse, channels_last, order)


def _swapped_offsets(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    # Reads offset (i, j) from where (j, i) belongs: the factor axes are permuted in reverse.
    plan = _np_plan(x, factor, inverse, channels_last, order)
    axes = list(plan.axes)
    if not inverse and not channels_last and len(axes) >= 4:
        axes[-1], axes[-3] = axes[-3], axes[-1]
    elif inverse and not channels_last and len(axes) >= 4:
        k = len(axes)
        axes[k - 4], axes[k - 3] = axes[k - 3], axes[k - 4]
    moved = np.transpose(np.reshape(x, plan.expand_shape), axes)
    return np.reshape(moved, plan.collapse_shape).copy()


def _cast_through_float64(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    out = _correct(x, factor, inverse, channels_last, order)
    if out.dtype.kind == "c":
        return out.astype(np.complex128).astype(out.dtype)  # lossless: stays correct
    return out.astype(np.float64).astype(out.dtype)


def _returns_float32(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    return _correct(x, factor, inverse, channels_last, order).astype(np.float32)


def _aliasing(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    # The plan without the final copy: a view of the input whenever no data has to move.
    plan = _np_plan(x, factor, inverse, channels_last, order)
    return np.reshape(np.transpose(np.reshape(x, plan.expand_shape), plan.axes), plan.collapse_shape)


def _in_place(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    out = _correct(x, factor, inverse, channels_last, order)
    if x.flags.writeable and x.size:
        x.reshape(-1)[:1] = x.reshape(-1)[-1:]  # scribbles on the caller's array
    return out


def _torch_zero_size_shape(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    # Copies torch's CPU deviation: a zero-size unshuffle returns the input's shape.
    if inverse and x.size == 0:
        return x.copy()
    return _correct(x, factor, inverse, channels_last, order)


PLANTED = {
    # name: (callable, families that must fail, words the first failure's message must hold)
    "planted-swapped-order": (_swapped_order, {"factors", "dcr", "unshuffle"}, "bytes differ"),
    "planted-off-by-one-factor": (_off_by_one_factor, {"factors", "large", "unshuffle"}, ""),
    "planted-swapped-offsets": (_swapped_offsets, {"factors", "unshuffle", "layouts"}, "bytes differ"),
    "planted-cast-through-float64": (_cast_through_float64, {"factors", "dcr"}, "bytes differ"),
    "planted-returns-float32": (_returns_float32, {"factors", "dcr"}, "dtype"),
    "planted-aliasing": (_aliasing, {"factors", "unshuffle"}, "shares memory"),
    "planted-in-place": (_in_place, {"factors", "dcr", "channels_last"}, "modified its input"),
    "planted-zero-size-shape": (_torch_zero_size_shape, {"zero_size"}, "shape"),
}


@pytest.fixture
def planted(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = request.param
    register_implementation(Implementation(name, "numpy", PLANTED[name][0], requires=("numpy",)))
    try:
        yield name
    finally:
        unregister_implementation(name)


@pytest.mark.parametrize("planted", sorted(PLANTED), indirect=True)
def test_planted_bug_is_reported(
    planted: str, book: ReferenceBook, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong implementation registered as a row makes the matrix fail, with reproducers."""
    _call, families, words = PLANTED[planted]
    dtypes = ["int64", "float32", "float16"]
    matrix = run_matrix([planted], ["cpu"], quick=True, dtypes=dtypes, book=book)
    assert not matrix.ok
    failed = matrix.failed_cells
    assert families <= {family for _row, family, _cell in failed}, [(r.dtype, f) for r, f, _ in failed]
    for row, _family, cell in failed:
        assert cell.first_failure is not None
        assert cell.first_failure["message"]
        reproducer = cell.first_failure["reproducer"]
        assert reproducer.startswith('python -c "import subpixel.conformance as c; c.reproduce(')
        assert repr(planted) in reproducer
        assert repr(row.dtype) in reproducer
    messages = " ".join(cell.first_failure["message"] for _r, _f, cell in failed if cell.first_failure)
    assert words in messages
    # The reproducer reruns the same case and fails the same way.
    row, _family, cell = failed[0]
    assert cell.first_failure is not None
    with pytest.raises(AssertionError, match="on " + planted):
        reproduce(planted, row.device, row.dtype, cell.first_failure["case"])
    assert "case " in capsys.readouterr().out


def test_correct_implementation_registered_the_same_way_passes(book: ReferenceBook) -> None:
    """The planted tests' harness is not what fails them: the correct callable passes."""
    register_implementation(Implementation("planted-none", "numpy", _correct, requires=("numpy",)))
    try:
        matrix = run_matrix(["planted-none"], ["cpu"], quick=True, dtypes=["int64", "float32"], book=book)
    finally:
        unregister_implementation("planted-none")
    assert matrix.ok
    assert sum(cell.total for row in matrix.rows for cell in row.cells.values()) > 50


def _heads_only(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    # Moves the first bytes of each element right and loses the rest (zeros in their place).
    out = _correct(x, factor, inverse, channels_last, order)
    if out.dtype.names and out.size:
        raw = out.view(np.uint8).reshape((*out.shape, out.dtype.itemsize))
        raw[..., out.dtype["head"].itemsize :] = 0
    return out


def test_wide_elements_must_move_whole(book: ReferenceBook) -> None:
    """NumPy elements of 64 KiB: the library passes; a copy of each element's first bytes alone fails."""
    cases = [c for c in cases_by_id().values() if c.layout == "numpy_wide_elements"]
    assert len(cases) >= 3
    assert {c.factor for c in cases} >= {1, (1,)}
    adapter = ADAPTERS["numpy"]
    for call, ok in ((_correct, True), (_heads_only, False)):
        impl = Implementation(f"wide-{call.__name__}", "numpy", call)
        for case in cases:
            result = run_case(impl, adapter, "cpu", case.dtypes[0], case, book)
            assert result.ok is ok, (call.__name__, case.id, result.message)
            assert ok or "copied in part" in result.message, result.message


# -- command line and reports --------------------------------------------------------------------


def test_cli_writes_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--backends", "numpy", "--devices", "cpu", "--quick", "--dtypes", "float32,bool",
                   "--out", str(tmp_path)])  # fmt: skip
    assert status == 0
    out = capsys.readouterr()
    assert "numpy (cpu)  passed 20 cells" in out.out  # the summary; the full report is in the files
    assert "| numpy | cpu | float32 | passed" in (tmp_path / "matrix.md").read_text(encoding="utf-8")
    assert "numpy cpu float32:" in out.err  # progress
    report = json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))
    assert report["status"] == "passed"
    header = report["header"]
    assert header["versions"]["numpy"] == np.__version__
    assert header["python"] == sys.version.split()[0]
    assert header["devices"] == {"numpy:cpu": "cpu"}
    assert header["command"].startswith("python -m subpixel conformance --backends numpy")
    summary = report["summary"]["numpy (cpu)"]
    assert summary["cells_run"] == 20
    assert summary["cases_run"] > 40
    cell = report["rows"][0]["cells"]["factors"]
    assert cell["text"].startswith("passed ")
    markdown = (tmp_path / "matrix.md").read_text(encoding="utf-8")
    assert markdown.startswith("# subpixel conformance matrix")
    assert "**PASSED**" in markdown


def test_cli_fails_on_failure_and_missing_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_implementation(Implementation("planted-cli", "numpy", _swapped_order, requires=("numpy",)))
    register_implementation(
        Implementation("missing-lib", "numpy", _correct, requires=("subpixel_no_such_module",))
    )
    try:
        assert main(["--backends", "planted-cli", "--devices", "cpu", "--quick", "--dtypes", "int16",
                     "--out", str(tmp_path)]) == 1  # fmt: skip
        text = (tmp_path / "matrix.md").read_text(encoding="utf-8")
        assert "**FAILED" in text
        assert "reproduce: `python -c" in text
        # Named explicitly but not installed: a bad argument, found before anything is written.
        assert main(["--backends", "missing-lib", "--devices", "cpu", "--out", str(tmp_path / "m")]) == 2
        assert "missing-lib needs subpixel_no_such_module, which is not installed" in capsys.readouterr().err
        assert not (tmp_path / "m").exists()
        # Reached through "all": reported as not run, which is not a failure.
        rows = run_implementation(
            implementations()["missing-lib"], ["cpu"], False, False, ["int8"], {}, ReferenceBook(), print, {}
        )
        assert [(r.status, r.reason) for r in rows] == [(NOT_RUN, "not installed (subpixel_no_such_module)")]
    finally:
        unregister_implementation("planted-cli")
        unregister_implementation("missing-lib")
    # A device named explicitly that the row named does not have: a bad argument too.
    assert main(["--backends", "numpy", "--devices", "gpu", "--quick", "--out", str(tmp_path)]) == 2
    assert "--devices: numpy runs on cpu only, not on gpu" in capsys.readouterr().err
    # Unknown names.
    assert main(["--backends", "no-such-backend", "--quick", "--out", str(tmp_path)]) == 2
    assert main(["--devices", "tpu", "--out", str(tmp_path)]) == 2
    capsys.readouterr()


@pytest.mark.needs("jax")
def test_jax_rows_without_x64_are_not_run(tmp_path: Path) -> None:
    args = ["--backends", "jax", "--devices", "cpu", "--quick", "--dtypes", "float64,int8"]
    status = main([*args, "--families", "factors", "--no-jax-x64", "--quiet", "--out", str(tmp_path)])
    assert status == 0
    rows = {r["dtype"]: r for r in json.loads((tmp_path / "matrix.json").read_text(encoding="utf-8"))["rows"]}
    assert rows["float64"]["status"] == NOT_RUN
    assert rows["float64"]["reason"] == "JAX x64 disabled"
    assert rows["int8"]["cells"]["factors"]["text"].startswith("passed")
    assert ADAPTERS["jax"].dtype_problem("float64", "cpu") is None  # the option does not outlive the call


def test_importing_the_engine_imports_no_framework() -> None:
    code = (
        "import sys, subpixel.conformance, subpixel.conformance.cli\n"
        "assert 'numpy' in subpixel.conformance.implementations()\n"
        "bad = [m for m in ('torch', 'jax', 'cupy', 'dask', 'flax', 'keras', 'onnx') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_inputs_carry_the_special_float_values() -> None:
    from subpixel.conformance import make_input

    bits = make_input((4, 16), "float32", 7).view(np.uint32).ravel()
    for pattern in (0x80000000, 0x7F800000, 0xFF800000, 0x7FC00001, 0x7F800001, 0xFFC00321, 0x00000001):
        assert pattern in bits
    assert len(set(bits.tolist())) > 40  # NaNs with distinct payloads, not one NaN
    again = make_input((4, 16), "float32", 7)
    assert again.tobytes() == make_input((4, 16), "float32", 7).tobytes()
    assert make_input((4, 16), "float32", 8).tobytes() != again.tobytes()


# -- a user's function: values and memory format, two verdicts ----------------------------------

USER_FUNCTIONS = """
import torch


def exact_contiguous(x, upscale_factor):
    # torch's values, but a contiguous result where torch's op keeps channels_last
    return torch.nn.functional.pixel_shuffle(x, upscale_factor).contiguous()


def wrong_contiguous(x, upscale_factor):
    # values moved one pixel along the width: wrong wherever the width is above 1
    return torch.roll(exact_contiguous(x, upscale_factor), 1, -1)
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of users' shuffles importable for one test; its rows are removed afterwards."""
    name = f"user_shuffles_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(USER_FUNCTIONS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for function in ("exact_contiguous", "wrong_contiguous"):
        unregister_implementation(f"{name}:{function} [torch]")


def _user_run(
    module: str, function: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, dict[str, Any]]:
    args = ["--impl", f"{module}:{function}", "--backends", "torch", "--devices", "cpu", "--quick"]
    args += ["--dtypes", "float32,uint8", "--families", "layouts", "--jobs", "1", "--out", str(out)]
    status = main([*args, *extra])
    summary = capsys.readouterr().out
    report = json.loads((out / "matrix.json").read_text(encoding="utf-8"))
    return status, summary, report


@pytest.mark.needs("torch")
def test_impl_memory_format_is_a_verdict_of_its_own(
    user_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    row = f"{user_module}:exact_contiguous [torch]"
    # Without --ignore-strides: the channels_last cases fail, on their memory format alone.
    status, summary, report = _user_run(user_module, "exact_contiguous", tmp_path / "strict", capsys)
    assert status == 1
    assert "memory format FAILED: 2 cases differ from torch's op (values: 0 failed" in summary
    cells = [r["cells"]["layouts"] for r in report["rows"] if r["backend"] == row]
    assert [c["text"] for c in cells] == ["FAILED 1/2 (values passed 2/2; memory format FAILED 1/2)"] * 2
    assert all("memory format: output strides" in c["first_failure"]["message"] for c in cells)
    assert all(c["failures"] == ["layouts/torch_channels_last-2x8x3x4"] for c in cells)
    assert report["summary"][f"{row} (cpu)"]["cases_memory_format_differs"] == 2
    # With it: the same function passes on its values, and the report still names the memory format.
    ignoring = tmp_path / "ignoring"
    status, summary, report = _user_run(user_module, "exact_contiguous", ignoring, capsys, "--ignore-strides")
    assert status == 0
    assert "memory format ignored: 2 cases differ from torch's op" in summary
    cells = [r["cells"]["layouts"] for r in report["rows"] if r["backend"] == row]
    assert [c["text"] for c in cells] == [
        "passed 2/2 (values passed 2/2; memory format ignored: 1/2 differ)"
    ] * 2
    assert report["header"]["ignore_strides"] is True
    markdown = (ignoring / "matrix.md").read_text(encoding="utf-8")
    assert "memory format ignored (--ignore-strides): 2 cases differ from torch's op" in markdown


@pytest.mark.needs("torch")
def test_impl_with_wrong_values_fails_with_ignore_strides(
    user_module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, summary, report = _user_run(user_module, "wrong_contiguous", tmp_path, capsys, "--ignore-strides")
    assert status == 1
    assert "FAILED 2 of 2 cells" in summary
    messages = [r["cells"]["layouts"]["first_failure"]["message"] for r in report["rows"] if r["cells"]]
    assert messages
    assert all("bytes differ" in m for m in messages)


@pytest.mark.needs("torch")
def test_ignore_strides_leaves_subpixels_own_rows_strict(book: ReferenceBook) -> None:
    """run_matrix's ignore_strides applies to registered rows only: a built-in row's cells keep the check."""

    def contiguous(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        return _correct(x, factor, inverse, channels_last, order).contiguous()

    planted = Implementation("strides-builtin", "torch", contiguous, requires=("torch",))
    object.__setattr__(planted, "builtin", True)  # as subpixel's own rows are marked
    register_implementation(planted)
    try:
        matrix = run_matrix(
            ["strides-builtin"], ["cpu"], quick=True, dtypes=["float32"], families=["layouts"], book=book,
            ignore_strides=True,
        )  # fmt: skip
    finally:
        unregister_implementation("strides-builtin")
    assert not matrix.ok
    [(_row, _family, cell)] = matrix.failed_cells
    assert cell.first_failure is not None
    assert "output strides" in cell.first_failure["message"]
    assert not cell.strides_ignored


@pytest.mark.slow  # two subprocess runs that import TensorFlow
@pytest.mark.needs("tensorflow")
def test_tensorflow_rows_print_no_native_start_up_logs(tmp_path: Path) -> None:
    """TensorFlow's C++ start-up lines stay out of the output, here and in the worker processes."""
    args = [sys.executable, "-m", "subpixel", "conformance", "--backends", "numpy,tensorflow"]
    args += ["--quick", "--dtypes", "float32", "--families", "factors", "--jobs", "2", "--out", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    native = re.compile(
        r"^([IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]|WARNING: All log messages before absl)"
    )
    run = subprocess.run(args, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "tensorflow (cpu)  passed 1 cells" in run.stdout
    assert [line for line in (run.stdout + run.stderr).splitlines() if native.match(line)] == []
    # The check can fail: with the user's TF_CPP_MIN_LOG_LEVEL=0 every line shows.
    shown = subprocess.run(
        args, capture_output=True, text=True, check=False, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"}, cwd=ROOT
    )
    assert shown.returncode == 0, shown.stderr
    assert [line for line in shown.stderr.splitlines() if native.match(line)] != []


@pytest.mark.slow  # a subprocess run with worker processes and the Keras worker
@pytest.mark.needs("array_api_strict", "keras", "jax")
def test_a_run_leaves_no_unclosed_file(tmp_path: Path) -> None:
    """Every process of a run (this one, the row workers, the Keras worker) closes what it opens."""
    args = [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-m", "subpixel", "conformance"]
    args += ["--backends", "numpy,array_api_strict,subpixel.keras.jax", "--quick", "--dtypes", "int8"]
    args += ["--families", "factors", "--jobs", "2", "--quiet", "--out", str(tmp_path)]
    # The workers inherit the development mode and the warning filter through the environment.
    env = {**os.environ, "PYTHONDEVMODE": "1", "PYTHONWARNINGS": "error::ResourceWarning"}
    run = subprocess.run(args, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("conformance: PASSED: 3 cells")
    assert "ResourceWarning" not in run.stderr, run.stderr
    assert "Exception ignored" not in run.stderr, run.stderr


def test_the_final_line_counts_a_stopped_row() -> None:
    # A row that stopped after cells that passed fails the run, and the last line says why.
    from subpixel.conformance import cli
    from subpixel.conformance._results import FAILED, PASSED, Cell, Matrix, Row

    class Bar:
        def eta(self) -> str:
            return "3s elapsed"

    stopped = Row("numpy", "cpu", "uint8", {"factors": Cell(PASSED, passed=4)}, FAILED, "the row stopped")
    fine = Row("numpy", "cpu", "int8", {"factors": Cell(PASSED, passed=4)})
    failing = Row("numpy", "cpu", "int16", {"factors": Cell(FAILED, passed=3, failed=1)}, FAILED)
    line = cli._final_line(Matrix({}, [stopped, fine], [], []), Bar(), [])  # type: ignore[arg-type]
    assert "FAILED: 0 failed cells, 1 row stopped or not started in 3s" in line
    line = cli._final_line(Matrix({}, [fine, failing], ["a problem"], []), Bar(), [])  # type: ignore[arg-type]
    assert "FAILED: 1 failed cell, 1 problem in 3s" in line
    line = cli._final_line(Matrix({}, [fine], [], []), Bar(), [])  # type: ignore[arg-type]
    assert "PASSED: 1 cell in 3s" in line
