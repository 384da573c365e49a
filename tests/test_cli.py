"""The command line: version, argument errors, output formats, progress, closed pipes, demo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from subpixel import __version__, _cli, _quiet
from subpixel._cli import Progress
from subpixel.benchmark import _cases
from subpixel.benchmark import cli as bench_cli
from subpixel.conformance import cli as conformance_cli
from tests.backends import FRAMEWORKS

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

SRC = str(Path(__file__).resolve().parents[1] / "src")
#: The smallest real matrix: one backend, one dtype, one family of the quick cases.
SMALL = ["--quick", "--backends", "numpy", "--dtypes", "int8", "--families", "factors"]


def _python(
    *args: str, code: str | None = None, extra: list[str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "subpixel", *args]
    if code is not None:
        command = [sys.executable, "-c", code, *(extra or [])]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, check=False, **kwargs
    )


#: ``python -m subpixel ARGS`` as if the top-level modules named in ``sys.argv[1]`` were not installed:
#: importing them fails and ``importlib.util.find_spec`` cannot see them.
WITHOUT = """
import importlib.abc, runpy, sys

blocked = set(sys.argv[1].split(","))


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
sys.argv = ["subpixel", *sys.argv[2:]]
runpy.run_module("subpixel", run_name="__main__", alter_sys=True)
"""


def _python_without(blocked: list[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m subpixel ARGS`` in ``cwd`` with the modules ``blocked`` missing."""
    return _python(code=WITHOUT, extra=[",".join(blocked), *args], cwd=cwd)


def test_version_and_help() -> None:
    done = _python("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"subpixel {__version__}\n", "")
    done = _python("--help")
    assert done.returncode == 0
    assert "conformance" in done.stdout
    assert "--version" in done.stdout


@pytest.mark.parametrize("args", [[], ["nope"]])
def test_unknown_command_is_one_line_and_status_2(args: list[str]) -> None:
    done = _python(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert "choose from demo, conformance, deploy, bench" in done.stderr


@pytest.mark.parametrize("command", ["conformance", "deploy", "bench", "demo"])
def test_help_of_every_command_works_without_numpy_or_any_framework(tmp_path: Path, command: str) -> None:
    done = _python_without(sorted({"numpy", *FRAMEWORKS}), command, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith(f"usage: python -m subpixel {command} [-h]")
    if command != "demo":
        assert "needs numpy, which is not installed: pip install 'subpixel[numpy]'" in " ".join(
            done.stdout.split()
        )
        assert "--format {summary,markdown,json}" in done.stdout
    if command == "conformance":
        assert "--ignore-strides" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["conformance", "--quick"], "python -m subpixel conformance: needs numpy, which is not installed: "),
        (["bench", "--quick"], "python -m subpixel bench: needs numpy, which is not installed: "),
        (
            ["conformance", "--bogus"],
            "python -m subpixel conformance: error: unrecognized arguments: --bogus",
        ),
        (["bench", "--format", "xml"], "python -m subpixel bench: error: argument --format: invalid choice"),
    ],
)
def test_a_command_without_numpy_is_one_line_and_status_2(tmp_path: Path, args: list[str], text: str) -> None:
    done = _python_without(["numpy"], *args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(text)
    assert list(tmp_path.iterdir()) == []  # no report folder


@pytest.mark.parametrize(
    "args",
    [
        ["--backends", "numpy,torch"],
        ["--backends", "subpixel.torch", "--out", "elsewhere"],
        ["--impl", "numpy:copy", "--backends", "numpy,torch"],
    ],
)
def test_conformance_row_whose_library_is_missing_is_a_usage_error(tmp_path: Path, args: list[str]) -> None:
    done = _python_without(["torch"], "conformance", "--quick", *args, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, ""), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("python -m subpixel conformance: error: --backends: ")
    assert "torch needs torch, which is not installed: pip install 'subpixel[torch]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # neither ./conformance-report nor --out was created


def _report_folder(tmp_path: Path) -> Path:
    out = tmp_path / "report"
    out.mkdir()
    (out / "matrix.md").write_text("previous report\n")
    (out / "matrix.json").write_text("{}\n")
    return out


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--backends", "foo"], "--backends: unknown 'foo'"),
        (["--backends", "numpy,foo"], "--backends: unknown 'foo'"),
        (["--dtypes", "float128"], "--dtypes: unknown 'float128'"),
        (["--families", "nope"], "--families: unknown 'nope'"),
        (["--devices", "tpu"], "--devices: unknown 'tpu'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--impl", "subpixel_no_such_module:shuffle"], "--impl: "),
        (["--impl", "numpy:copy", "--backends", "foo"], "--backends: unknown 'foo'"),
        (["--impl-inverse", "numpy:copy"], "--impl-inverse needs --impl"),
        (["--ignore-strides"], "--ignore-strides needs --impl (subpixel's own rows always keep"),
        (["--backends", "numpy", "--devices", "gpu"], "--devices: numpy runs on cpu only, not on gpu"),
        (["--backends", "numpy", "--jobs", "0"], "--jobs: expected a whole number of at least 1, got '0'"),
        (["--profile", "fast"], "argument --profile: invalid choice: 'fast'"),
        (["--impl", "numpy:copy", "--impl-options", "speed"], "--impl: register_user_function: options"),
        (["--impl", "numpy"], "--impl: load_function: spec must be 'package.module:function'"),
        (["--impl", "numpy:no_such_function"], "--impl: load_function: 'numpy' has no attribute"),
    ],
)
def test_conformance_bad_argument_runs_nothing_and_keeps_reports(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    text: str,
) -> None:
    out = _report_folder(tmp_path)
    monkeypatch.setattr(conformance_cli, "run_matrix", _must_not_run)
    status = conformance_cli.main([*args, "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1, captured.err
    assert text in captured.err
    assert "Traceback" not in captured.err
    assert (out / "matrix.md").read_text() == "previous report\n"
    assert (out / "matrix.json").read_text() == "{}\n"


def _must_not_run(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("the matrix ran although an argument was bad")


def _unwritable(tmp_path: Path) -> list[Path]:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    paths = [blocker / "report"]  # a folder inside a file cannot be created on any system
    if Path("/proc/self").is_dir():
        paths.append(Path("/proc/nope"))
    return paths


def test_conformance_unwritable_outputs_are_found_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conformance_cli, "run_matrix", _must_not_run)
    for path in _unwritable(tmp_path):
        assert conformance_cli.main([*SMALL, "--out", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("python -m subpixel conformance: error: --out: cannot write in ")
        assert len(err.splitlines()) == 1
        assert conformance_cli.main([*SMALL, "--out", str(tmp_path), "--json", str(path / "m.json")]) == 2
        assert "--json: cannot write" in capsys.readouterr().err


def test_conformance_prints_a_summary_and_writes_the_full_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _report_folder(tmp_path)
    extra = tmp_path / "copy.json"
    assert conformance_cli.main([*SMALL, "--out", str(out), "--json", str(extra)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) <= 5, captured.out
    assert lines[0].split() == ["numpy", "(cpu)", "passed", "1", "cell", "(4", "cases,", "1", "dtypes)"] or (
        "numpy (cpu)" in lines[0] and "passed" in lines[0]
    )
    assert lines[-1].startswith("conformance: PASSED: 1 cell in ")
    assert str(out / "matrix.md") in lines[-1]
    # Progress goes to stderr, as plain lines with done/total when stderr is not a terminal.
    assert "conformance: [1/1] numpy cpu int8" in captured.err
    assert (out / "matrix.md").read_text().startswith("# subpixel conformance matrix")
    report = json.loads((out / "matrix.json").read_text())
    assert report["status"] == "passed"
    assert json.loads(extra.read_text()) == report


def test_conformance_quiet_prints_only_the_final_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert conformance_cli.main([*SMALL, "--out", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert len(captured.out.splitlines()) == 1
    assert captured.out.startswith("conformance: PASSED")


@pytest.mark.parametrize("form", ["markdown", "json"])
def test_conformance_format_prints_the_whole_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    assert conformance_cli.main([*SMALL, "--out", str(tmp_path), "--format", form, "--quiet"]) == 0
    captured = capsys.readouterr()
    if form == "json":
        assert json.loads(captured.out)["status"] == "passed"
    else:
        assert captured.out == (tmp_path / "matrix.md").read_text()
    # The verdict goes to stderr, so that stdout holds the report alone.
    assert captured.err.startswith("conformance: PASSED")


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_closed_pipe_ends_without_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "subpixel", "conformance", *SMALL, "--out", str(tmp_path)]
    command += ["--format", "markdown"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line is written, as with `| head`
        err = process.stderr.read().decode()
        status = process.wait(timeout=300)
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert status == 1


def test_progress_is_one_updating_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = Progress("job", 4, stream=stream)
    bar.update(1, "first")
    bar.update(2, "second")
    bar.close()
    text = stream.getvalue()
    assert "\n" not in text
    assert text.count("\r") >= 3
    assert "job: [1/4] first" in text
    assert "job: [2/4] second" in text
    assert "left" in text
    assert text.endswith("\r")


def test_progress_is_plain_lines_elsewhere() -> None:
    stream = io.StringIO()
    bar = Progress("job", 2, stream=stream)
    bar.update(1, "first")
    bar.update(5, "past the end")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["job: [1/2] first", "job: [2/2] past the end"]
    assert "\r" not in stream.getvalue()
    quiet = io.StringIO()
    Progress("job", 2, stream=quiet, enabled=False).update(1, "hidden")
    assert quiet.getvalue() == ""


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--factors", "2.5"], "--factors: expected comma-separated positive ints, got '2.5'"),
        (["--factors", "0"], "--factors"),
        (["--dtypes", "bfloat16", "--shapes", "tiny"], "--dtypes: unknown 'bfloat16'"),
        (["--ops", "foo"], "--ops: unknown 'foo'"),
        (["--shapes", "huge"], "--shapes: unknown 'huge'; choose from tiny, "),
        (["--repeats", "0"], "--repeats"),
        (["--format", "xml"], "invalid choice"),
        (["--json", "{unwritable}/b.json"], "--json: cannot write"),
    ],
)
def test_bench_bad_argument_is_one_line_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    text: str,
) -> None:
    monkeypatch.setattr(bench_cli, "_run_case", _must_not_run)
    args = [a.replace("{unwritable}", str(_unwritable(tmp_path)[0])) for a in args]
    assert bench_cli.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1, captured.err
    assert captured.err.startswith("python -m subpixel bench: error: ")
    assert text in captured.err


def test_bench_plot_says_what_it_needs_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench_cli, "_run_case", _must_not_run)
    real = _cases.installed
    monkeypatch.setattr(_cases, "installed", lambda name: name != "matplotlib" and real(name))
    assert bench_cli.main(["--quick", "--shapes", "tiny", "--plot", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err
    assert "pip install matplotlib" in err
    assert not (tmp_path / "p.png").exists()


def test_bench_short_names_and_output_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = ["--quick", "--repeats", "1", "--shapes", "tiny", "--ops", "shuffle", "--dtypes", "uint8"]
    small += ["--factors", "2"]
    assert bench_cli.main([*small, "--json", str(tmp_path / "b.json")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].startswith("bench: 1 cases in ")
    assert "bench: [1/1] shuffle tiny 1x4x8x8 uint8 r=2" in captured.err
    saved = json.loads((tmp_path / "b.json").read_text())
    assert [r["name"] for r in saved["results"]] == ["tiny 1x4x8x8"]
    assert bench_cli.main([*small, "--format", "json", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["results"][0]["dtype"] == "uint8"
    assert captured.err.startswith("bench: 1 cases")
    assert bench_cli.main([*small, "--format", "markdown", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("| op | shape |")
    assert bench_cli.main(["--list"]) == 0
    assert capsys.readouterr().out.split()[0] == "tiny"


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_demo_runs_from_golden_vectors_without_torch() -> None:
    code = """
import importlib.util, sys

class NoTorch:  # as if torch were not installed: importing it fails, find_spec finds nothing
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "torch":
            raise ModuleNotFoundError(name)

sys.meta_path.insert(0, NoTorch())
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.partition(".")[0] == "torch" else real(name, *a)
from subpixel._demo import main
raise SystemExit(main([]))
"""
    done = _python(code=code)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "torch is not installed: comparing with torch" in done.stdout
    assert "numpy: identical bytes" in done.stdout
    assert "torch: not installed" in done.stdout
    assert done.stdout.rstrip().endswith("all backends agree with torch's recorded result")


@pytest.mark.needs("torch")
def test_demo_with_torch_and_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from subpixel import _demo

    assert _demo.main([]) == 0
    out = capsys.readouterr().out
    assert "numpy: identical bytes" in out
    assert out.rstrip().endswith("all backends agree with torch")
    assert _demo.main(["--bogus"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "unrecognized arguments: --bogus" in err


def test_native_start_up_logs_are_dropped_and_everything_else_passes(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    written = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1796560120.559955   20978 port.cc:153] oneDNN custom operations are on.\n",
        "W0000 00:00:1796560120.560200   20978 cudart_stub.cc:31] Could not find cuda drivers.\n",
        "E0000 00:00:1796560128.441121   20978 cuda_platform.cc:52] an error passes\n",
        "a line of the command\n",
        "\rconformance: [1/2] a progress line without its end",
    ]
    with _quiet.native_logs_quieted():
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
        for text in written:
            os.write(2, text.encode())
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert capfd.readouterr().err == "".join(written[3:])
    # A value the user set is kept, and nothing is dropped.
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with _quiet.native_logs_quieted():
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
        os.write(2, written[1].encode())
    assert capfd.readouterr().err == written[1]


def test_load_average_reads_as_three_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (3.7294921875, 2.1, 1.5))
    small = ["--quick", "--repeats", "1", "--shapes", "tiny", "--ops", "shuffle", "--dtypes", "uint8"]
    assert bench_cli.main([*small, "--factors", "2", "--json", str(tmp_path / "b.json")]) == 0
    final = capsys.readouterr().out.splitlines()[-1]
    assert ", load average 3.73, 2.10, 1.50; wrote " in final, final
    assert json.loads((tmp_path / "b.json").read_text())["environment"]["loadavg_at_start"] == [
        3.73,
        2.1,
        1.5,
    ]
    # The conformance report says it the same way.
    assert conformance_cli.main([*SMALL, "--out", str(tmp_path), "--quiet"]) == 0
    assert "; load average 3.73, 2.10, 1.50; " in (tmp_path / "matrix.md").read_text()


@pytest.mark.parametrize(
    ("source", "text"),
    [("raise RuntimeError('boom\\nagain')\n", "RuntimeError: boom again"), ("def f(:\n", "SyntaxError: ")],
)
def test_conformance_impl_module_that_fails_to_import_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    text: str,
) -> None:
    name = f"broken_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(conformance_cli, "run_matrix", _must_not_run)
    out = tmp_path / "report"
    assert conformance_cli.main(["--impl", f"{name}:shuffle", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1, captured.err
    assert f"--impl: load_function: cannot import module {name!r}" in captured.err
    assert text in captured.err
    assert not out.exists()


def test_an_install_hint_says_which_python_the_extra_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    # On Python 3.10 the jax extra installs nothing (its requirement's marker): the hint says so.
    monkeypatch.setattr(sys, "version_info", (3, 10, 13, "final", 0))
    assert (
        _cli.install_hint("jax")
        == "pip install 'subpixel[jax]' on Python 3.11 or newer (this is Python 3.10)"
    )
    assert _cli.install_hint("torch") == "pip install 'subpixel[torch]'"
    monkeypatch.setattr(sys, "version_info", (3, 12, 1, "final", 0))
    assert _cli.install_hint("jax") == "pip install 'subpixel[jax]'"
