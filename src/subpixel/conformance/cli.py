"""``python -m subpixel conformance``: run the matrix, summarise it, write Markdown and JSON."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from subpixel._cli import (
    FORMATS,
    ArgumentParser,
    Progress,
    UsageError,
    check_writable_dir,
    check_writable_file,
    choose,
    run_guarded,
)
from subpixel.conformance._backends import ADAPTERS
from subpixel.conformance._cases import FAMILIES, PROFILES
from subpixel.conformance._engine import DEVICES, run_matrix
from subpixel.conformance._inputs import DTYPE_NAMES
from subpixel.conformance._pool import MAX_DEFAULT_JOBS, default_jobs
from subpixel.conformance._registry import implementations
from subpixel.conformance._report import to_json, to_markdown, write_reports
from subpixel.conformance._results import FAILED, NOT_RUN, Matrix
from subpixel.conformance._user import register_user_function

__all__ = ["main"]

PROG = "python -m subpixel conformance"


def _parser() -> argparse.ArgumentParser:
    names = ", ".join(implementations())
    parser = ArgumentParser(
        prog=PROG,
        description="Check every backend against torch.nn.PixelShuffle / PixelUnshuffle, bit for bit. "
        "Prints a short summary; the full report goes to --out.",
        epilog="Exit status: 0 when every cell that ran passed and every requested backend and device ran; "
        "1 otherwise; 2 for bad arguments (found before anything runs or is written).",
    )
    parser.add_argument(
        "--backends",
        default="all",
        metavar="NAMES",
        help=f"comma-separated rows, or 'all' (default): {names}. With 'all', a library that is not "
        "installed is 'not run'; a row named explicitly must run.",
    )
    parser.add_argument(
        "--devices",
        default="all",
        metavar="NAMES",
        help="comma-separated devices among cpu,gpu, or 'all' (default: cpu, and gpu where present). "
        "A device named explicitly must be present.",
    )
    parser.add_argument(
        "--dtypes",
        default="all",
        metavar="NAMES",
        help=f"comma-separated dtypes or 'all': {', '.join(DTYPE_NAMES)}",
    )
    parser.add_argument(
        "--families",
        default="all",
        metavar="NAMES",
        help=f"comma-separated case families or 'all': {', '.join(f.id for f in FAMILIES)}",
    )
    parser.add_argument("--quick", action="store_true", help="run the quick subset of the cases")
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=default_jobs(),
        metavar="N",
        help="run the built-in rows in up to N worker processes side by side, the rows of one array "
        f"backend in one process (default: the CPUs this process may use, at most {MAX_DEFAULT_JOBS}, "
        "here %(default)s); 1 runs every row in this process, one after another",
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
        metavar="NAMES",
        help="comma-separated options --impl takes: channels_last and order (as keywords), tuple_factors",
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


def _split(value: str) -> list[str] | None:
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return None if parts in ([], ["all"]) else parts


def main(argv: list[str] | None = None) -> int:
    """Run the matrix; return 0 when it passed, 1 when it failed, 2 for bad arguments."""
    return run_guarded(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    # Every argument is checked before anything runs or any file is written.
    devices = choose("--devices", args.devices, DEVICES)
    dtypes = choose("--dtypes", args.dtypes, DTYPE_NAMES)
    families = choose("--families", args.families, [f.id for f in FAMILIES])
    if args.impl is None:
        for option in ("impl_inverse", "impl_options"):
            if getattr(args, option):
                msg = f"--{option.replace('_', '-')} needs --impl"
                raise UsageError(msg)
        backends: str | list[str] = args.backends
        choose("--backends", args.backends, list(implementations()))
    else:
        # With --impl, --backends names array backends; the rows are the user's function on each.
        chosen = (
            None if _split(args.backends) is None else choose("--backends", args.backends, list(ADAPTERS))
        )
        try:
            backends = register_user_function(
                args.impl, inverse=args.impl_inverse, options=_split(args.impl_options) or (), backends=chosen
            )
        except ValueError as error:
            msg = f"--impl: {error}"
            raise UsageError(msg) from None
    check_writable_dir("--out", args.out)
    if args.json is not None:
        check_writable_file("--json", args.json)
    return _run(args, argv, backends, devices, dtypes, families)


class _RowProgress:
    """Turn the engine's one line per row into done/total units (implementation x device x dtype)."""

    def __init__(self, units: dict[str, tuple[int, int]], bar: Progress, *, in_order: bool = True):
        # ``units[name] = (devices, dtypes)``; longest names first, so that "torch.compile" is
        # not read as "torch". ``in_order``: rows run one after another, in the order given.
        self.in_order = in_order
        self.units = units
        self.names = sorted(units, key=len, reverse=True)
        self.order = list(units)
        self.done_by: dict[str, int] = {}
        self.bar = bar

    def __call__(self, line: str) -> None:
        name = next((n for n in self.names if line.startswith((n + " ", n + ":"))), None)
        if name is not None:
            devices, dtypes = self.units[name]
            words = line[len(name) :].split(":", 1)[0].split()
            step = {0: devices * dtypes, 1: dtypes}.get(len(words), 1)
            self.done_by[name] = min(self.done_by.get(name, 0) + step, devices * dtypes)
            # Implementations run in order: every one before this is complete.
            for earlier in self.order[: self.order.index(name)] if self.in_order else []:
                self.done_by[earlier] = math.prod(self.units[earlier])
        self.bar.update(sum(self.done_by.values()), line)


def _run(
    args: argparse.Namespace,
    argv: list[str] | None,
    backends: str | list[str],
    devices: list[str],
    dtypes: list[str],
    families: list[str],
) -> int:
    known = implementations()
    units = {}
    rows = choose("--backends", backends, list(known)) if isinstance(backends, str) else backends
    for name in rows:
        adapter = ADAPTERS.get(known[name].backend)
        present = [d for d in devices if adapter is None or d in adapter.devices]
        units[name] = (max(len(present), 1), len(dtypes))
    total = sum(math.prod(u) for u in units.values())
    bar = Progress("conformance", total, enabled=not args.quiet)
    progress = _RowProgress(units, bar, in_order=args.jobs == 1)
    every_dtype = args.dtypes.strip() in ("", "all")
    every_family = args.families.strip() in ("", "all")
    try:
        matrix = run_matrix(
            backends,
            args.devices,
            quick=args.quick,
            dtypes=None if every_dtype else dtypes,
            families=None if every_family else families,
            progress=progress,
            profile=args.profile,
            jax_x64=not args.no_jax_x64,
            jobs=args.jobs,
        )
    finally:
        bar.close()
    shown = [a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[2:])]
    matrix.header["command"] = " ".join([PROG, *shown])
    md, js = write_reports(matrix, args.out)
    written = [md, js]
    if args.json is not None:
        args.json.write_text(to_json(matrix), encoding="utf-8")
        written.append(args.json)
    final = _final_line(matrix, bar, written)
    if args.format == "markdown":
        sys.stdout.write(to_markdown(matrix))
    elif args.format == "json":
        sys.stdout.write(to_json(matrix))
    elif not args.quiet:
        print("\n".join(_summary(matrix)))
    # The final line goes where the report is not, so that stdout stays one parseable report.
    print(final, file=sys.stdout if args.format == "summary" else sys.stderr)
    return 0 if matrix.ok else 1


def _summary(matrix: Matrix) -> list[str]:
    """One line per implementation and device: cells passed, failed or why nothing ran."""
    entries = matrix.summary()
    width = max((len(k) for k in entries), default=0)
    lines = []
    for key, entry in entries.items():
        if entry["cells_failed"]:
            text = f"FAILED {entry['cells_failed']} of {entry['cells_run']} cells"
        elif entry["cells_run"]:
            text = f"passed {entry['cells_run']} cells ({entry['cases_run']:,} cases"
            text += f", {entry['dtypes_run']} dtypes)"
        else:
            notes = entry.get("notes") or ["no cell ran"]
            text = "; ".join(notes)
        lines.append(f"  {key:<{width}}  {text}")
    lines.extend(f"  problem: {p}" for p in matrix.problems)
    for row, family, cell in matrix.failed_cells[:5]:
        first = (cell.first_failure or {}).get("reproducer", "")
        lines.append(
            f"  failed: {row.backend} {row.device} {row.dtype} {family}" + (f": {first}" if first else "")
        )
    return lines


def _final_line(matrix: Matrix, bar: Progress, written: list[Path]) -> str:
    cells = [c for row in matrix.rows for c in row.cells.values() if c.status != NOT_RUN]
    failed = len(matrix.failed_cells) + sum(
        1 for row in matrix.rows if row.status == FAILED and not row.cells
    )
    if matrix.ok:
        verdict = f"PASSED: {len(cells):,} {'cell' if len(cells) == 1 else 'cells'}"
    else:
        verdict = f"FAILED: {failed} failed cells or rows, {len(matrix.problems)} problems"
    files = " and ".join(str(p) for p in written)
    return f"conformance: {verdict} in {bar.eta().split(' elapsed')[0]}; full report in {files}"
