"""The deployment report: Markdown and JSON, with the versions of every distribution involved."""

from __future__ import annotations

import importlib.metadata
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from subpixel import _catalog
from subpixel.conformance.deploy._engine import Outcome, as_dicts
from subpixel.conformance.deploy._path import DeployPath

__all__ = ["header", "to_json", "to_markdown", "write_reports"]

#: Distributions every report lists besides the paths' own.
_ALWAYS = ("subpixel", "numpy")


def versions(chosen: Sequence[DeployPath]) -> dict[str, str]:
    """Return the installed version of each distribution the paths name ("not installed" otherwise)."""
    names = dict.fromkeys([*_ALWAYS, *(d for p in chosen for d in p.distributions)])
    return {name: _version(name) for name in names}


def _version(name: str) -> str:
    """Return the version of ``name``, or of the distribution that stands in for it.

    A backend of the catalog may come as another distribution (``tensorflow-cpu`` for
    ``tensorflow``): its entry lists them.
    """
    known = {entry.name: entry.distributions for entry in _catalog.entries()}
    found = [_installed_version(distribution) for distribution in known.get(name, (name,))]
    return next((version for version in found if version), "not installed")


def _installed_version(distribution: str) -> str:
    """Return the version of an installed distribution, or ``""``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def header(chosen: Sequence[DeployPath], command: str, seconds: float) -> dict[str, Any]:
    """Return what the report says about the run: command, platform, versions, time."""
    return {
        "command": command,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions(chosen),
        "seconds": round(seconds, 1),
        "paths": {p.name: {"runtime": p.runtime, "fast": p.fast, "note": p.note} for p in chosen},
    }


def _ops(outcome: Outcome) -> str:
    if not outcome.converts:
        return ""
    kinds: dict[str, int] = {}
    for op in outcome.ops:
        kinds[op] = kinds.get(op, 0) + 1
    listed = ", ".join(f"{k} x{n}" if n > 1 else k for k, n in kinds.items())
    return f"{len(outcome.ops)}: {listed}" if listed else "0"


def _verdict(outcome: Outcome) -> str:
    if outcome.failed:
        return "FAILED"
    if outcome.maker == "native":
        return "native"
    return "ok" if outcome.converts else "-"


def to_markdown(head: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    """Return the report as Markdown: versions, one line per path, then one table per path."""
    failed = sum(o.failed for o in outcomes)
    lines = [
        "# Deployment matrix",
        "",
        f"`{head['command']}` on Python {head['python']} ({head['platform']}), {head['seconds']} s: "
        + (f"**FAILED: {failed} outcomes**" if failed else "**passed**"),
        "",
        "Each model is exported at its first shape with dynamic batch and spatial sizes where the exporter "
        "allows, and run at that shape and two others; its bytes are compared with the framework's eager "
        "result (torch eager for torch, Keras eager for Keras, JAX eager for JAX) on inputs holding NaN "
        "payloads, -0.0, infinities and subnormals. `native` rows are the framework's own op through the "
        "same path (for JAX, which has none, Keras's op on its JAX backend). "
        "A subpixel row fails where it does not convert but the native op does, where a byte differs, where "
        "it loses dynamic sizes the native op keeps, where it has more operators than the native op, or, "
        "with no native op, where a tensor exceeds rank 4 (rank 5 for volumes). A plan with no native op "
        "is held to converting where the same plan's native op in the other order converts; with none in "
        "the other order either, a conversion error that a native op of the same direction gives word for "
        "word, on the same path and dtype, is reported, not failed.",
        "",
        "| distribution | version |",
        "|---|---|",
        *(f"| {name} | {version} |" for name, version in head["versions"].items()),
        "",
    ]
    by_path: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_path.setdefault(outcome.path, []).append(outcome)
    for name, rows in by_path.items():
        info = head["paths"].get(name, {})
        lines += [f"## {name}", ""]
        if info.get("note"):
            lines += [f"{info['note']}.", ""]
        if len(rows) == 1 and not rows[0].model:
            lines += [f"{rows[0].bits} ({rows[0].reason}).", ""]
            continue
        lines += [
            "| model | dtype | converts | ops | native's ops | max rank | dynamic | bits | time | verdict |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        notes = []
        for o in rows:
            converts = "yes" if o.converts else f"no: {o.reason}".replace("|", "/")
            native = "" if o.native_ops is None else str(o.native_ops)
            rank = "" if o.max_rank is None else str(o.max_rank)
            bits = o.bits if o.compared_with == "eager" else f"{o.bits} (vs {o.compared_with})"
            lines.append(
                f"| {o.model} | {o.dtype} | {converts} | {_ops(o)} | {native} | {rank} | {o.dynamic} | "
                f"{bits} | {o.seconds:.1f} s | {_verdict(o)} |"
            )
            notes += [f"- {o.model} {o.dtype}: {note}" for note in o.notes]
        lines += ["", *notes, ""] if notes else [""]
    return "\n".join(lines)


def to_json(head: dict[str, Any], outcomes: Sequence[Outcome]) -> str:
    """Return the report as JSON: the header and every outcome."""
    return json.dumps({"header": head, "outcomes": as_dicts(outcomes)}, indent=1) + "\n"


def write_reports(head: dict[str, Any], outcomes: Sequence[Outcome], out: Path) -> tuple[Path, Path]:
    """Write ``deploy.md`` and ``deploy.json`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "deploy.md", out / "deploy.json"
    md.write_text(to_markdown(head, outcomes), encoding="utf-8")
    js.write_text(to_json(head, outcomes), encoding="utf-8")
    return md, js
