"""The options of ``python -m subpixel conformance``, ``deploy`` and ``bench``: their argument parsers.

Standard library only, so that ``--help`` of every command works where NumPy (or any array
library) is missing: the commands pass in the names they offer (rows, dtypes, shapes); without
them, the help says where the lists come from and what to install.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from subpixel._cli import FORMATS, ArgumentParser

__all__ = ["BenchNames", "ConformanceNames", "bench_parser", "conformance_parser", "deploy_parser"]

CONFORMANCE = "python -m subpixel conformance"
BENCH = "python -m subpixel bench"
DEPLOY = "python -m subpixel deploy"


@dataclass(frozen=True)
class ConformanceNames:
    """What ``conformance`` offers, from the installed matrix.

    Parameters
    ----------
    rows, dtypes, families, profiles : sequence of str
        Row names, dtype names, case family ids and profiles.
    jobs : int
        The default of ``--jobs`` here.
    max_jobs : int
        The most worker processes ``--jobs`` takes by default.
    """

    rows: Sequence[str]
    dtypes: Sequence[str]
    families: Sequence[str]
    profiles: Sequence[str]
    jobs: int
    max_jobs: int


@dataclass(frozen=True)
class BenchNames:
    """What ``bench`` offers: every dtype, the default dtypes, and the short shape names."""

    dtypes: Sequence[str]
    default_dtypes: Sequence[str]
    shapes: Sequence[str]


def _missing_note(missing: str) -> str:
    return f" This installation cannot run it: {missing}." if missing else ""


def _listed(names: Sequence[str] | None) -> str:
    """Join the names as ``a, b, c``; without them, say when they show."""
    return ", ".join(names) if names is not None else "(listed once the command can run here)"


def conformance_parser(names: ConformanceNames | None = None, missing: str = "") -> argparse.ArgumentParser:
    """Return the parser of ``conformance``; ``names`` None (with ``missing`` saying why) still parses."""
    parser = ArgumentParser(
        prog=CONFORMANCE,
        description="Check every backend against torch.nn.PixelShuffle / PixelUnshuffle, bit for bit. "
        "Prints a short summary; the full report goes to --out." + _missing_note(missing),
        epilog="Exit status: 0 when every cell that ran passed and every requested backend and device ran; "
        "1 otherwise; 2 for bad arguments, including a row named in --backends whose library is not "
        "installed (found before anything runs or is written).",
    )
    rows = _listed(None if names is None else names.rows)
    parser.add_argument(
        "--backends",
        default="all",
        metavar="NAMES",
        help=f"comma-separated rows, or 'all' (default): {rows}. With 'all', a library that is not "
        "installed is 'not run'; a row named explicitly must be installed (else status 2).",
    )
    parser.add_argument(
        "--devices",
        default="all",
        metavar="NAMES",
        help="comma-separated devices among cpu,gpu, or 'all' (default: cpu, and gpu where present). "
        "A device named explicitly must be present.",
    )
    dtypes = _listed(None if names is None else names.dtypes)
    parser.add_argument(
        "--dtypes", default="all", metavar="NAMES", help=f"comma-separated dtypes or 'all': {dtypes}"
    )
    families = _listed(None if names is None else names.families)
    parser.add_argument(
        "--families",
        default="all",
        metavar="NAMES",
        help=f"comma-separated case families or 'all': {families}",
    )
    parser.add_argument("--quick", action="store_true", help="run the quick subset of the cases")
    jobs = "" if names is None else f"at most {names.max_jobs}, here %(default)s"
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None if names is None else names.jobs,
        metavar="N",
        help="run the built-in rows in up to N worker processes side by side, the rows of one array "
        f"backend in one process (default: the CPUs this process may use{', ' + jobs if jobs else ''}); "
        "1 runs every row in this process, one after another",
    )
    parser.add_argument(
        "--no-jax-x64", action="store_true", help="do not enable JAX x64: its 64-bit rows are then 'not run'"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("conformance-report"),
        metavar="DIR",
        help="folder for the full report, matrix.md and matrix.json (default: ./conformance-report)",
    )
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the JSON report here"
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="summary",
        help="what to print to stdout: a short summary (default), or the whole report as markdown or json",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress; print only the final line (with --format summary)"
    )
    _add_user_options(parser, names)
    return parser


def _add_user_options(parser: argparse.ArgumentParser, names: ConformanceNames | None) -> None:
    """Options that check a user's implementation and choose the profile."""
    parser.add_argument(
        "--profile",
        choices=None if names is None else names.profiles,
        default="default",
        help="'slow' adds inputs of about a gigabyte (default: 'default')",
    )
    parser.add_argument(
        "--impl",
        metavar="MODULE:FUNCTION",
        help="check your own function instead of the library: called as FUNCTION(x, upscale_factor), "
        "a channels-first CRD shuffle (torch's semantics), on NumPy arrays and on torch tensors when "
        "torch is installed; --backends then chooses the array backends. Or an exported file "
        "(model.onnx run by onnxruntime, model.tflite by LiteRT, model.pte by ExecuTorch): its first input "
        "and output are the array in and out; it runs the cases whose factor, dtype and shape it takes",
    )
    parser.add_argument(
        "--impl-inverse",
        metavar="MODULE:FUNCTION",
        help="the inverse (unshuffle) of --impl, same signature (or a second exported file)",
    )
    parser.add_argument(
        "--impl-options",
        default="",
        metavar="NAMES",
        help="comma-separated options --impl takes: channels_last and order (as keywords), tuple_factors; "
        "for an exported file, what it is: channels_last and order=DCR (default: channels first, CRD)",
    )
    parser.add_argument(
        "--ignore-strides",
        action="store_true",
        help="with --impl: compare values alone. The memory format (a torch result's strides against "
        "torch's op) is still reported as its own verdict, but does not fail the run. subpixel's own "
        "rows always keep torch's strides: without --impl this option is an error",
    )


def _positive(text: str) -> int:
    """Parse a whole number of at least 1 (``--jobs``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"expected a whole number of at least 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def bench_parser(names: BenchNames | None = None, missing: str = "") -> argparse.ArgumentParser:
    """Return the parser of ``bench``; ``names`` None (with ``missing`` saying why) still parses."""
    parser = ArgumentParser(
        prog=BENCH,
        description="Time subpixel against a copy of the same bytes and PyTorch's own op. Prints a short "
        "summary; --json writes every sample." + _missing_note(missing),
        epilog="Exit status: 0 after a run, 1 if it could not finish, 2 for bad arguments (found before "
        "anything runs).",
    )
    parser.add_argument(
        "--set",
        choices=("standard", "users", "cubes"),
        default="standard",
        help="standard: the shapes of --shapes x --dtypes x --factors; users: the shapes users run (RAW "
        "Bayer frames, 1080p and 4K frames, small images, NHWC, torch channels_last, 256 MiB, factor 3); "
        "cubes: 32 MiB inputs, {float32, uint8, uint16} x both directions x factors 2-4 (--shapes, "
        "--dtypes, --factors, --ops and --memory apply to the standard set only)",
    )
    parser.add_argument(
        "--runs",
        type=_positive,
        default=None,
        metavar="N",
        help="run the whole set N times and report the median and the spread of the runs "
        "(default 3 for users and cubes, 1 for standard)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the >1 GB shape, 3 repeats, shorter samples"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="paired repeats per case and run (default 7, quick 3; --set: 6, rounded up to "
        "whole balanced orders of the candidates)",
    )
    parser.add_argument(
        "--ops", default="shuffle,unshuffle", metavar="NAMES", help="shuffle, unshuffle or both"
    )
    dtypes = _listed(None if names is None else names.dtypes)
    parser.add_argument(
        "--dtypes",
        default=None if names is None else ",".join(names.default_dtypes),
        metavar="NAMES",
        help=f"comma-separated, among {dtypes}, or all",
    )
    parser.add_argument("--factors", default="2,3,4", metavar="INTS", help="comma-separated positive ints")
    shapes = _listed(None if names is None else names.shapes)
    parser.add_argument("--shapes", default="all", metavar="NAMES", help=f"comma-separated: {shapes}, or all")
    parser.add_argument("--list", action="store_true", help="list the shape names and exit")
    parser.add_argument("--memory", action="store_true", help="measure peak memory of the large cases")
    parser.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="write all samples and ratios here"
    )
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PATH",
        help="draw the copy ratios here (PNG; needs matplotlib)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="summary",
        help="what to print to stdout: a short summary (default), the markdown table, or the json results",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress; print only the final line")
    return parser


def deploy_parser(paths: Sequence[str] | None = None, missing: str = "") -> argparse.ArgumentParser:
    """Return the parser of ``deploy``; ``paths`` (the path names) None still parses."""
    parser = ArgumentParser(
        prog=DEPLOY,
        description="Export subpixel's layers and the framework's own op through each deployment path "
        "(exporter, converter, runtime), run the artefact on sizes other than the exported one and compare "
        "its bytes with the framework's eager result. Prints a short summary; the full report goes to "
        "--out." + _missing_note(missing),
        epilog="Exit status: 0 when every subpixel model that ran converts wherever the native op converts "
        "and keeps the eager bytes; 1 otherwise; 2 for bad arguments, including a path named in --paths "
        "whose packages are not installed (found before anything runs or is written).",
    )
    parser.add_argument(
        "--paths",
        default="fast",
        metavar="NAMES",
        help="comma-separated paths, 'fast' (default: the paths CI runs) or 'all': "
        f"{_listed(paths)}. A path whose packages are missing is 'not run'; one named explicitly must "
        "be installed (else status 2).",
    )
    parser.add_argument(
        "--dtypes",
        default="all",
        metavar="NAMES",
        help="comma-separated among float32, float16, uint8, int8, or 'all' "
        "(default: every dtype each path takes)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("deploy-report"),
        metavar="DIR",
        help="folder for the report, deploy.md and deploy.json, and the exported files "
        "(default: ./deploy-report)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="summary",
        help="what to print to stdout: a short summary (default), or the whole report as markdown or json",
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=2,
        metavar="N",
        help="run up to N groups of paths side by side, each group in its own process (default 2; 1 runs "
        "every path in this process but Keras on another library than TensorFlow)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress; print only the final line")
    return parser
