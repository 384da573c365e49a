"""``python -m subpixel deploy``: the deployment matrix, summarised, with Markdown and JSON reports."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy  # noqa: F401 - the matrix needs NumPy: without it, __main__ answers with the install hint

from subpixel._cli import Progress, UsageError, check_writable_dir, choose, install_hint, run_guarded
from subpixel._commands import DEPLOY, deploy_parser
from subpixel._quiet import native_logs_quieted
from subpixel.conformance.deploy._engine import Outcome, run_paths
from subpixel.conformance.deploy._models import MODELS
from subpixel.conformance.deploy._path import DeployPath
from subpixel.conformance.deploy._registry import missing, paths
from subpixel.conformance.deploy._report import header, to_json, to_markdown, write_reports

__all__ = ["DTYPES", "main"]

#: The dtypes a path may take.
DTYPES = ("float32", "float16", "uint8", "int8")


def main(argv: list[str] | None = None) -> int:
    """Run the deployment matrix; return 0 when it passed, 1 when it failed, 2 for bad arguments."""
    return run_guarded(DEPLOY, lambda: _main(argv))


def choose_paths(value: str) -> tuple[list[DeployPath], bool]:
    """Return the paths ``--paths`` names, and whether they were named one by one.

    Raises
    ------
    UsageError
        For an unknown name, or a path named explicitly whose packages are missing.
    """
    known = paths()
    text = value.strip()
    if text in ("", "fast"):
        return [p for p in known.values() if p.fast], False
    if text == "all":
        return list(known.values()), False
    chosen = [known[name] for name in choose("--paths", value, list(known), shown=[*known, "fast"])]
    lacking = {p.name: missing(p) for p in chosen if missing(p)}
    if lacking:
        what = "; ".join(f"{name} needs {', '.join(modules)}" for name, modules in lacking.items())
        hints = "; ".join(dict.fromkeys(install_hint(m) for ms in lacking.values() for m in ms))
        msg = f"--paths: {what}, which is not installed: {hints}"
        raise UsageError(msg)
    return chosen, True


def _main(argv: list[str] | None) -> int:
    args = deploy_parser(list(paths())).parse_args(argv)
    chosen, _ = choose_paths(args.paths)
    dtypes = choose("--dtypes", args.dtypes, DTYPES)
    check_writable_dir("--out", args.out)
    started = time.perf_counter()
    total = sum(
        len([m for m in MODELS if m.plan.framework == p.framework]) * len(set(p.dtypes) & set(dtypes))
        for p in chosen
    )
    bar = Progress("deploy", total, enabled=not args.quiet)
    done = [0]

    def progress(line: str) -> None:
        done[0] += 1
        bar.update(done[0], line)

    try:
        with native_logs_quieted():  # TensorFlow's and the converters' C++ log lines
            outcomes = run_paths(
                chosen, args.out / "artefacts", dtypes=dtypes, progress=progress, jobs=args.jobs
            )
    finally:
        bar.close()
    shown = [a if " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[2:])]
    head = header(chosen, " ".join([DEPLOY, *shown]), time.perf_counter() - started)
    md, js = write_reports(head, outcomes, args.out)
    failed = [o for o in outcomes if o.failed]
    if args.format == "markdown":
        sys.stdout.write(to_markdown(head, outcomes))
    elif args.format == "json":
        sys.stdout.write(to_json(head, outcomes))
    elif not args.quiet:
        print("\n".join(summary(chosen, outcomes)))
    verdict = (
        f"FAILED: {len(failed)} of {len(outcomes)} outcomes"
        if failed
        else f"PASSED: {len(outcomes)} outcomes"
    )
    final = f"deploy: {verdict} in {head['seconds']} s; full report in {md} and {js}"
    print(final, file=sys.stdout if args.format == "summary" else sys.stderr)
    return 1 if failed else 0


def summary(chosen: Sequence[DeployPath], outcomes: Sequence[Outcome]) -> list[str]:
    """One line per path: outcomes equal, failed, or why it did not run; then the first failures."""
    width = max((len(p.name) for p in chosen), default=0)
    lines = []
    for path in chosen:
        mine = [o for o in outcomes if o.path == path.name]
        if len(mine) == 1 and not mine[0].model:
            text = f"{mine[0].bits} ({mine[0].reason})"
        else:
            ours = [o for o in mine if o.maker == "subpixel"]
            bad = sum(o.failed for o in ours)
            equal = sum(o.bits == "equal" for o in ours)
            text = f"subpixel: {equal} of {len(ours)} equal" + (f", FAILED {bad}" if bad else "")
            native = [o for o in mine if o.maker == "native"]
            text += f"; native op: {sum(o.bits == 'equal' for o in native)} of {len(native)} equal"
        lines.append(f"  {path.name:<{width}}  {text}")
    for o in [o for o in outcomes if o.failed][:5]:
        if not o.converts:
            why = f"does not convert: {o.reason}"
        else:
            why = o.bits if o.bits != "equal" else "; ".join(o.notes)
        lines.append(f"  failed: {o.path}: {o.model} {o.dtype}: {why}")
    return lines
