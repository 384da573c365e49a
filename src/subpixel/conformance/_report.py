"""The report: environment header, Markdown and JSON writers, console text."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from subpixel._cli import load_text
from subpixel.conformance._cases import all_cases
from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._report_kinds import kind_json, kind_lines
from subpixel.conformance._results import FAILED, NOT_RUN, Matrix

__all__ = ["to_json", "to_markdown", "write_reports"]


def to_json(matrix: Matrix) -> str:
    """Return the matrix as JSON (header, summary, families, rows with cells, problems)."""
    rows = []
    for row in matrix.rows:
        entry = dataclasses.asdict(row)
        entry["seconds"] = round(row.seconds, 3)
        for family, cell in row.cells.items():
            entry["cells"][family]["text"] = cell.text()
            entry["cells"][family]["total"] = cell.total
        rows.append(entry)
    payload = {
        "status": "passed" if matrix.ok else "failed",
        "header": matrix.header,
        "summary": matrix.summary(),
        "problems": matrix.problems,
        "families": matrix.families,
        "route_coverage": [
            {
                "implementation": c.implementation,
                "device": c.device,
                "enforced": c.enforced,
                "routes": {route: c.text(route) for route in _route_names(c)},
                "cases": c.cases,
            }
            for c in matrix.coverage
        ],
        "kind_coverage": kind_json(matrix.kinds),
    }
    # Indented header, one line per row: readable, and a change of one cell is a one-line diff.
    head = json.dumps(payload, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(row, separators=(",", ":")) for row in rows)
    return f'{head},\n "rows": [\n{body}\n ]\n}}\n'


def _route_names(coverage: RouteCoverage) -> list[str]:
    """Return the declared routes first, then any other route of the prefix that a case took."""
    return [*coverage.routes, *(r for r in sorted(coverage.cases) if r not in coverage.routes)]


def _coverage_lines(matrix: Matrix) -> list[str]:
    if not matrix.coverage:
        return []
    enforced = all(c.enforced for c in matrix.coverage)
    lines = [
        "",
        "## Route coverage",
        "",
        "Every route of each fast path, and how many cases took it"
        + (
            " (a route no case took fails the run)."
            if enforced
            else " (filtered run: reported, not enforced)."
        ),
        "",
        "| implementation (device) | route | what it is | cases that took it |",
        "|---|---|---|---|",
    ]
    for c in matrix.coverage:
        names = _route_names(c)
        if not names:
            lines.append(f"| {c.implementation} ({c.device}) | - | no routes declared for {c.prefix!r} | - |")
        for route in names:
            what = _escape(c.routes.get(route, "(not declared in ROUTES)"))
            text = c.text(route)
            if text.startswith(("NOT", "TAKEN")):
                text = f"**{text}**"
            lines.append(f"| {c.implementation} ({c.device}) | `{route}` | {what} | {_escape(text)} |")
    return lines


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(matrix: Matrix) -> str:
    """Return the matrix as Markdown: header, per-backend summary, the table, failures, notes."""
    h = matrix.header
    failed = matrix.failed_cells
    status = (
        "PASSED" if matrix.ok else f"FAILED ({len(failed)} failed cells, {len(matrix.problems)} problems)"
    )
    lines = [
        "# subpixel conformance matrix",
        "",
        f"**{status}** - every cell compares raw bytes, shape, dtype and device with the references.",
        "",
        f"- date: {h['date']}; command: `{h['command']}`; quick: {h['quick']}; "
        f"{h['cases_per_dtype']} cases per dtype; {h['seconds']} s"
        + (f" ({h['jobs']} worker processes)" if h.get("jobs", 1) > 1 else ""),
        f"- Python {h['python']} on {h['platform']}; CPU: {h['cpu']} ({h['cpu_count']} logical cores); "
        f"load average {load_text(h.get('load_average'))}; "
        f"profile {h.get('profile', 'default')}",
        "- devices: " + (", ".join(f"{k} = {v}" for k, v in h["devices"].items()) or "none"),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in h["versions"].items()),
        "- references: "
        + "; ".join(f"{k}: {v}" for k, v in h["references"].items() if k != "cases_per_source"),
        "- expected results by source (one per case and dtype): "
        + ", ".join(f"{k} {v}" for k, v in h["references"]["cases_per_source"].items()),
    ]
    if h.get("compiles_per_shape"):
        lines.append(
            "- rows that compile per shape, each case that is not quick on one dtype of each element "
            "size (the quick, size and autodiff cases on every dtype): " + ", ".join(h["compiles_per_shape"])
        )
    if h.get("ignore_strides"):
        lines.append(
            "- --ignore-strides: registered rows are checked on their values; a memory format that differs "
            "from torch's op is reported, not failed (subpixel's own rows always need torch's strides)"
        )
    if h["torch_deviations"]:
        lines += ["- known torch deviations (the documented result is the reference):"]
        lines += [f"  - `{case}`: {text}" for case, text in h["torch_deviations"].items()]
    for problem in matrix.problems:
        lines.append(f"- **problem**: {_escape(problem)}")
    lines += ["", "## Per backend", ""]
    lines += [
        "| backend (device) | dtypes run | cells run | passed | failed | not run | cases run | "
        "cases failed | cases n/a | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in matrix.summary().items():
        notes_of = list(s.get("notes", []))
        if s["cases_memory_format_differs"]:
            verdict = "ignored (--ignore-strides)" if h.get("ignore_strides") else "FAILED"
            notes_of.append(
                f"memory format {verdict}: {s['cases_memory_format_differs']} cases differ from torch's op"
            )
        row_notes = _escape("; ".join(notes_of))
        lines.append(
            f"| {name} | {s['dtypes_run']} | {s['cells_run']} | {s['cells_passed']} | {s['cells_failed']} | "
            f"{s['cells_not_run']} | {s['cases_run']} | {s['cases_failed']} | {s['cases_not_applicable']} | "
            f"{row_notes} |"
        )
    lines += ["", "## Matrix", ""]
    titles = [f["title"] for f in matrix.families]
    lines.append("| backend | device | dtype | " + " | ".join(titles) + " |")
    lines.append("|---" * (3 + len(titles)) + "|")
    notes: list[str] = []
    for row in matrix.rows:
        if not row.cells:
            text = ("FAILED: " if row.status == FAILED else "not run: ") + _escape(row.reason)
            lines.append(
                f"| {row.backend} | {row.device} | {row.dtype} | {text} |" + " |" * (len(titles) - 1)
            )
            continue
        if row.status == NOT_RUN and row.reason:
            lines.append(
                f"| {row.backend} | {row.device} | {row.dtype} | not run: {_escape(row.reason)} |"
                + " |" * (len(titles) - 1)
            )
            continue
        texts = []
        for family in matrix.families:
            cell = row.cells.get(family["id"])
            if cell is None:
                texts.append("FAILED: row stopped" if row.status == FAILED else "")
                continue
            text = cell.text()
            if cell.status == FAILED:
                notes.append(f"{row.backend} {row.device} {row.dtype} / {family['title']}")
                text = f"**{text}** [{len(notes)}]"
            texts.append(_escape(text))
        lines.append(f"| {row.backend} | {row.device} | {row.dtype} | " + " | ".join(texts) + " |")
        if row.status == FAILED and row.reason:
            lines.append(
                f"| {row.backend} | {row.device} | {row.dtype} | FAILED: {_escape(row.reason)} |"
                + " |" * (len(titles) - 1)
            )
    lines += _coverage_lines(matrix)
    lines += kind_lines(matrix.kinds)
    if failed:
        lines += ["", "## Failures (first failing case of each cell)", ""]
        for number, (_row, _family, cell) in enumerate(failed, 1):
            first = cell.first_failure or {}
            lines.append(f"{number}. {notes[number - 1]}: {first.get('message', '')}")
            lines.append(f"   reproduce: `{first.get('reproducer', '')}`")
    applicable = sorted(
        {
            f"{row.backend}: {cell.reason}"
            for row in matrix.rows
            for cell in row.cells.values()
            if cell.reason.startswith("n/a")
        }
    )
    if applicable:
        lines += ["", "## Cases not applicable inside cells that ran", ""]
        lines += [f"- {_escape(text)}" for text in applicable]
    lines += ["", "## Case families", ""]
    for family in matrix.families:
        members = [c for c in all_cases(h["quick"], h.get("profile", "default")) if c.family == family["id"]]
        lines.append(
            f"- **{family['title']}** (`{family['id']}`, {len(members)} cases): "
            + "; ".join(f"`{c.describe()}`" for c in members[:3])
            + ("; ..." if len(members) > 3 else "")
        )
    return "\n".join(lines) + "\n"


def write_reports(matrix: Matrix, out: Path) -> tuple[Path, Path]:
    """Write ``matrix.md`` and ``matrix.json`` into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "matrix.md"
    js = out / "matrix.json"
    md.write_text(to_markdown(matrix), encoding="utf-8")
    js.write_text(to_json(matrix), encoding="utf-8")
    return md, js
