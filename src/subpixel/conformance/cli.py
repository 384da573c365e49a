"""``python -m subpixel conformance``: run the matrix, print it, write Markdown and JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from subpixel.conformance._backends import ADAPTERS, JaxBackend
from subpixel.conformance._cases import FAMILIES, PROFILES
from subpixel.conformance._engine import DEVICES, FAILED, run_matrix
from subpixel.conformance._inputs import DTYPE_NAMES
from subpixel.conformance._registry import implementations
from subpixel.conformance._report import to_markdown, write_reports
from subpixel.conformance._user import register_user_function

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    names = ", ".join(implementations())
    parser = argparse.ArgumentParser(
        prog="python -m subpixel conformance",
        description="Check every backend against torch.nn.PixelShuffle / PixelUnshuffle, bit for bit.",
        epilog="Exit status: 0 when every cell that ran passed and every requested backend and device ran; "
        "1 otherwise; 2 for bad arguments.",
    )
    parser.add_argument(
        "--backends",
        default="all",
        help=f"comma-separated rows, or 'all' (default): {names}. With 'all', a library that is not "
        "installed is 'not run'; a row named explicitly must run.",
    )
    parser.add_argument(
        "--devices",
        default="all",
        help="comma-separated devices among cpu,gpu, or 'all' (default: cpu, and gpu where present). "
        "A device named explicitly must be present.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("conformance-report"),
        help="folder for matrix.md and matrix.json (default: ./conformance-report)",
    )
    parser.add_argument("--quick", action="store_true", help="run the quick subset of the cases")
    parser.add_argument(
        "--dtypes", default="all", help=f"comma-separated dtypes or 'all': {', '.join(DTYPE_NAMES)}"
    )
    parser.add_argument(
        "--families",
        default="all",
        help=f"comma-separated case families or 'all': {', '.join(f.id for f in FAMILIES)}",
    )
    parser.add_argument(
        "--no-jax-x64", action="store_true", help="do not enable JAX x64: its 64-bit rows are then 'not run'"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_user_options(parser)
    return parser


def _add_user_options(parser: argparse.ArgumentParser) -> None:
    """Options that check a user's implementation and choose the profile."""
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="default",
        help="'slow' adds inputs of about a gigabyte (default: 'default')",
    )
    parser.add_argument(
        "--impl",
        metavar="MODULE:FUNCTION",
        help="check your own function instead of the library: called as FUNCTION(x, upscale_factor), "
        "a channels-first CRD shuffle (torch's semantics), on NumPy arrays and on torch tensors when "
        "torch is installed; --backends then chooses the array backends",
    )
    parser.add_argument(
        "--impl-inverse", metavar="MODULE:FUNCTION", help="the inverse (unshuffle) of --impl, same signature"
    )
    parser.add_argument(
        "--impl-options",
        default="",
        help="comma-separated options --impl takes: channels_last and order (as keywords), tuple_factors",
    )


def _split(value: str) -> list[str] | None:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return None if parts in ([], ["all"]) else parts


def main(argv: list[str] | None = None) -> int:
    """Run the matrix; return 0 when it passed, 1 when it failed, 2 for bad arguments."""
    args = _parser().parse_args(argv)
    jax_adapter = ADAPTERS["jax"]
    assert isinstance(jax_adapter, JaxBackend)
    enable_x64 = jax_adapter.enable_x64
    jax_adapter.enable_x64 = not args.no_jax_x64
    try:
        return _run(args, argv)
    finally:
        jax_adapter.enable_x64 = enable_x64


def _run(args: argparse.Namespace, argv: list[str] | None) -> int:
    devices = _split(args.devices)
    if devices is not None and any(d not in DEVICES for d in devices):
        print(f"--devices must name cpu or gpu, got {args.devices!r}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"conformance: {line}", file=sys.stderr, flush=True)

    backends = args.backends
    if args.impl is not None:
        try:
            backends = register_user_function(
                args.impl,
                inverse=args.impl_inverse,
                options=_split(args.impl_options) or (),
                backends=_split(args.backends),
            )
        except ValueError as error:
            print(f"--impl: {error}", file=sys.stderr)
            return 2
    matrix = run_matrix(
        backends,
        devices if devices is not None else "all",
        quick=args.quick,
        dtypes=_split(args.dtypes),
        families=_split(args.families),
        progress=progress,
        profile=args.profile,
    )
    shown = [a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[2:])]
    matrix.header["command"] = " ".join(["python -m subpixel conformance", *shown])
    print(to_markdown(matrix))
    md, js = write_reports(matrix, args.out)
    failed = len(matrix.failed_cells) + sum(
        1 for row in matrix.rows if row.status == FAILED and not row.cells
    )
    verdict = (
        "PASSED" if matrix.ok else f"FAILED: {failed} failed cells or rows, {len(matrix.problems)} problems"
    )
    print(f"conformance: {verdict}; wrote {md} and {js}", file=sys.stderr)
    return 0 if matrix.ok else 1
