"""``python -m subpixel conformance``: run the matrix, summarise it, write Markdown and JSON."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from subpixel._cli import (
    Progress,
    UsageError,
    check_writable_dir,
    check_writable_file,
    choose,
    install_hint,
    run_guarded,
)
from subpixel._commands import CONFORMANCE, ConformanceNames, conformance_parser
from subpixel._quiet import native_logs_quieted
from subpixel.conformance._backends import ADAPTERS
from subpixel.conformance._cases import FAMILIES, PROFILES, installed
from subpixel.conformance._engine import DEVICES, run_matrix
from subpixel.conformance._inputs import DTYPE_NAMES
from subpixel.conformance._pool import MAX_DEFAULT_JOBS, default_jobs
from subpixel.conformance._registry import Implementation, implementations
from subpixel.conformance._report import to_json, to_markdown, write_reports
from subpixel.conformance._results import FAILED, NOT_RUN, Matrix
from subpixel.conformance._user import register_artefact, register_user_function
from subpixel.conformance.deploy._artefact import is_artefact, runtime_modules

__all__ = ["main"]

PROG = CONFORMANCE


def _parser() -> argparse.ArgumentParser:
    names = ConformanceNames(
        rows=list(implementations()),
        dtypes=DTYPE_NAMES,
        families=[f.id for f in FAMILIES],
        profiles=PROFILES,
        jobs=default_jobs(),
        max_jobs=MAX_DEFAULT_JOBS,
    )
    return conformance_parser(names)


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
        for option in ("impl_inverse", "impl_options", "ignore_strides"):
            if getattr(args, option):
                msg = f"--{option.replace('_', '-')} needs --impl"
                if option == "ignore_strides":
                    msg += " (subpixel's own rows always keep the strides of torch's op)"
                raise UsageError(msg)
        backends: str | list[str] = args.backends
        named = _split(args.backends)
        known = implementations()
        rows = choose("--backends", args.backends, list(known))
        _check_named_rows(
            [known[name] for name in rows] if named else [], devices if _split(args.devices) else []
        )
    elif is_artefact(args.impl):
        backends = _register_file(args)
    else:
        # With --impl, --backends names array backends; the rows are the user's function on each.
        chosen = (
            None if _split(args.backends) is None else choose("--backends", args.backends, list(ADAPTERS))
        )
        _check_libraries({f"{args.impl} on {name}": (ADAPTERS[name].module,) for name in chosen or []})
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


def _register_file(args: argparse.Namespace) -> list[str]:
    """Register the row of an exported file (``--impl model.onnx``); its lines go to ``args.described``.

    Raises
    ------
    UsageError
        If ``--backends`` names more than NumPy, the file's runtime is not installed, or the file
        cannot be opened or probed.
    """
    chosen = _split(args.backends)
    if chosen not in (None, ["numpy"]):
        msg = f"--backends: an exported file runs on NumPy arrays only, got {args.backends!r}"
        raise UsageError(msg)
    for name in [args.impl, *([args.impl_inverse] if args.impl_inverse else [])]:
        modules = runtime_modules(Path(name))
        if not any(installed(m) for m in modules):
            msg = f"--impl: {name} needs {modules[0]}, which is not installed: {install_hint(modules[0])}"
            raise UsageError(msg)
    try:
        names, args.described = register_artefact(
            args.impl, inverse=args.impl_inverse, options=_split(args.impl_options) or ()
        )
    except ValueError as error:
        msg = f"--impl: {error}"
        raise UsageError(msg) from None
    return names


def _check_named_rows(rows: list[Implementation], devices: list[str]) -> None:
    """Rows named in ``--backends`` must be installed, and run on a device named in ``--devices``.

    Raises
    ------
    UsageError
        Naming the rows, what each lacks and what to install (or the devices a row runs on).
    """
    adapters = {row.name: ADAPTERS.get(row.backend) for row in rows}
    modules = {row.name: (*row.requires, *[a.module for a in [adapters[row.name]] if a]) for row in rows}
    _check_libraries(modules)
    for name, adapter in adapters.items():
        if adapter is not None and devices and not set(devices) & set(adapter.devices):
            msg = f"--devices: {name} runs on {', '.join(adapter.devices)} only, not on {', '.join(devices)}"
            raise UsageError(msg)


def _check_libraries(requires: dict[str, tuple[str, ...]]) -> None:
    """Each row (key) must have its libraries (value) installed; else one line saying what to install."""
    lacking = {
        name: [m for m in dict.fromkeys(modules) if not installed(m)] for name, modules in requires.items()
    }
    lacking = {name: modules for name, modules in lacking.items() if modules}
    if lacking:
        what = "; ".join(f"{name} needs {', '.join(modules)}" for name, modules in lacking.items())
        hints = dict.fromkeys(
            install_hint(m.partition(".")[0]) for modules in lacking.values() for m in modules
        )
        verb = "is" if sum(len(modules) for modules in lacking.values()) == 1 else "are"
        msg = f"--backends: {what}, which {verb} not installed: {'; '.join(hints)}"
        raise UsageError(msg)


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
        with native_logs_quieted():  # TensorFlow's and XLA's C++ start-up lines, here and in the workers
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
                ignore_strides=args.ignore_strides,
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
        print("\n".join(f"  {line}" for line in getattr(args, "described", [])))
    if getattr(args, "described", None) and not any(e["cases_run"] for e in matrix.summary().values()):
        print(f"{PROG}: no case of the matrix fits {args.impl}", file=sys.stderr)
        return 1
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
        text += _memory_format(entry, ignored=bool(matrix.header.get("ignore_strides")))
        lines.append(f"  {key:<{width}}  {text}")
    lines.extend(f"  problem: {p}" for p in matrix.problems)
    for row, family, cell in matrix.failed_cells[:5]:
        first = (cell.first_failure or {}).get("reproducer", "")
        lines.append(
            f"  failed: {row.backend} {row.device} {row.dtype} {family}" + (f": {first}" if first else "")
        )
    return lines


def _memory_format(entry: dict[str, Any], *, ignored: bool) -> str:
    """Say how many torch results of a registered row differ from torch's op in memory format."""
    differs = entry.get("cases_memory_format_differs", 0)
    if not differs:
        return ""
    what = f"{differs} {'case differs' if differs == 1 else 'cases differ'} from torch's op"
    if ignored:
        return f"; memory format ignored: {what}"
    values = entry["cases_failed"] - differs
    return f"; memory format FAILED: {what} (values: {values} failed; --ignore-strides compares values alone)"


def _count(n: int, noun: str) -> str:
    """``1 cell``, ``2,595 cells``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _final_line(matrix: Matrix, bar: Progress, written: list[Path]) -> str:
    cells = [c for row in matrix.rows for c in row.cells.values() if c.status != NOT_RUN]
    if matrix.ok:
        verdict = f"PASSED: {_count(len(cells), 'cell')}"
    else:
        # A row can fail with no failed cell: it stopped part-way (its cells so far passed) or
        # never started (its library failed to import, no usable device).
        stopped = sum(
            1
            for row in matrix.rows
            if row.status == FAILED and not any(c.status == FAILED for c in row.cells.values())
        )
        parts = [_count(len(matrix.failed_cells), "failed cell")]
        if stopped:
            parts.append(f"{_count(stopped, 'row')} stopped or not started")
        if matrix.problems:
            parts.append(_count(len(matrix.problems), "problem"))
        verdict = "FAILED: " + ", ".join(parts)
    files = " and ".join(str(p) for p in written)
    return f"conformance: {verdict} in {bar.eta().split(' elapsed')[0]}; full report in {files}"
