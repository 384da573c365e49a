"""The report: environment header, Markdown and JSON writers, console text."""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import platform
import sys
from pathlib import Path
from typing import Any

from subpixel.conformance._engine import FAILED, NOT_RUN, Matrix
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation

__all__ = ["environment", "to_json", "to_markdown", "write_reports"]

#: Distributions whose versions the header lists (when installed).
DISTRIBUTIONS = (
    "subpixel",
    "numpy",
    "array-api-compat",
    "array-api-strict",
    "torch",
    "jax",
    "jaxlib",
    "dask",
    "cupy",
    "cupy-cuda12x",
    "cupy-cuda13x",
    "cupy-cuda11x",
    "ml_dtypes",
    "onnx",
    "flax",
    "keras",
)


def _versions() -> dict[str, str]:
    found = {}
    for dist in DISTRIBUTIONS:
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:  # noqa: PERF203 - a dozen look-ups
            continue
    if "subpixel" not in found:
        import subpixel

        found["subpixel"] = subpixel.__version__
    return found


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(
    chosen: list[Implementation],
    device_names: dict[str, str],
    book: ReferenceBook,
    *,
    quick: bool,
    seconds: float,
    case_count: int,
) -> dict[str, Any]:
    """Return the header: versions, Python, platform, devices, references and known deviations."""
    import os

    golden = book.golden
    references = {
        "torch": "live torch (CPU)" if book.use_torch else "not installed: golden vectors used instead",
        "golden": f"{len(golden.cases)} cases recorded from torch {golden.torch_version}",
        "onnx": "onnx.reference.ReferenceEvaluator" if book.use_onnx else "onnx not installed: not used",
        "definition": "index formula evaluated by NumPy (always)",
        "cases_per_source": dict(sorted(book.source_counts.items())),
    }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "subpixel.conformance.run_matrix(...)",
        "quick": quick,
        "cases_per_dtype": case_count,
        "seconds": round(seconds, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "devices": device_names,
        "versions": _versions(),
        "implementations": {impl.name: impl.description for impl in chosen},
        "references": references,
        "torch_deviations": dict(sorted(book.deviations.items())),
    }


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
    }
    # Indented header, one line per row: readable, and a change of one cell is a one-line diff.
    head = json.dumps(payload, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(row, separators=(",", ":")) for row in rows)
    return f'{head},\n "rows": [\n{body}\n ]\n}}\n'


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
        f"{h['cases_per_dtype']} cases per dtype; {h['seconds']} s",
        f"- Python {h['python']} on {h['platform']}; CPU: {h['cpu']} ({h['cpu_count']} logical cores)",
        "- devices: " + (", ".join(f"{k} = {v}" for k, v in h["devices"].items()) or "none"),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in h["versions"].items()),
        "- references: "
        + "; ".join(f"{k}: {v}" for k, v in h["references"].items() if k != "cases_per_source"),
        "- (case, dtype) pairs per reference: "
        + ", ".join(f"{k} {v}" for k, v in h["references"]["cases_per_source"].items()),
    ]
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
        row_notes = _escape("; ".join(s.get("notes", [])))
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
    from subpixel.conformance._cases import all_cases

    for family in matrix.families:
        members = [c for c in all_cases(h["quick"]) if c.family == family["id"]]
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
