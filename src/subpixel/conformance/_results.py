"""What a run of the matrix returns: case results, cells, rows and the matrix itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._kind_coverage import KindCoverage

__all__ = ["FAILED", "NOT_RUN", "PASSED", "CaseResult", "Cell", "Matrix", "Row", "reproducer"]

PASSED, FAILED, NOT_RUN = "passed", "FAILED", "not run"


@dataclass
class CaseResult:
    """One case: ``ok`` is True (passed), False (failed) or None (not applicable, with why).

    ``warnings`` holds the warnings the implementation emitted (recorded, never failures);
    ``routes`` the routes of the library that the case took (see :mod:`subpixel._routes`).
    ``memory_format`` is the memory-format verdict of a registered row (not one of subpixel's
    own): how its torch result's strides differ from those of torch's own op, a case whose
    values passed (``ok`` True); the cell decides whether that fails it. Empty when they agree,
    and always on subpixel's own rows, where differing strides make ``ok`` False.
    """

    case_id: str
    ok: bool | None
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)
    memory_format: str = ""


@dataclass
class Cell:
    """A family of cases for one implementation, device and dtype.

    ``failures`` lists the ids of every failed case; ``first_failure`` has the first one's
    message and reproducer. ``memory_format_failed`` counts the cases of a registered row whose
    values are exact but whose memory format differs from torch's op: failures (in ``failed``),
    or, when ``strides_ignored``, passes that the report still names.
    """

    status: str
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0
    reason: str = ""
    first_failure: dict[str, str] | None = None
    failures: list[str] = field(default_factory=list)
    warnings: int = 0
    first_warning: str = ""
    memory_format_failed: int = 0
    strides_ignored: bool = False

    @property
    def total(self) -> int:
        """Cases that ran."""
        return self.passed + self.failed

    def text(self) -> str:
        """Return ``passed N/N``, ``FAILED k/N`` or ``not run: why``, and the memory-format verdict.

        A registered row's cell whose memory format differs from torch's op reads, for example,
        ``FAILED 3/12 (values passed 12/12; memory format FAILED 3/12)``, or with
        ``--ignore-strides``, ``passed 12/12 (values passed 12/12; memory format ignored: 3/12 differ)``.
        """
        if self.status == NOT_RUN:
            return f"not run: {self.reason}"
        head = (
            f"FAILED {self.failed}/{self.total}"
            if self.status == FAILED
            else f"passed {self.passed}/{self.total}"
        )
        if not self.memory_format_failed:
            return head
        values_failed = self.failed - (0 if self.strides_ignored else self.memory_format_failed)
        values = f"FAILED {values_failed}" if values_failed else f"passed {self.total - values_failed}"
        layout = f"{self.memory_format_failed}/{self.total}"
        layout = f"ignored: {layout} differ" if self.strides_ignored else f"FAILED {layout}"
        return f"{head} (values {values}/{self.total}; memory format {layout})"


@dataclass
class Row:
    """One implementation, device and dtype (``dtype`` is ``*`` for a row that did not start)."""

    backend: str
    device: str
    dtype: str
    cells: dict[str, Cell] = field(default_factory=dict)
    status: str = PASSED
    reason: str = ""
    seconds: float = 0.0


@dataclass
class Matrix:
    """The whole run: header, rows, the problems that fail it besides failed cells, coverage.

    ``coverage`` has one entry per implementation and device whose routes are checked, and
    ``kinds`` the kinds of input each of them met (by size class and by element size).
    """

    header: dict[str, Any]
    rows: list[Row]
    problems: list[str]
    families: list[dict[str, str]]
    coverage: list[RouteCoverage] = field(default_factory=list)
    kinds: list[KindCoverage] = field(default_factory=list)

    @property
    def failed_cells(self) -> list[tuple[Row, str, Cell]]:
        """Every failed cell with its row and family."""
        return [
            (row, fam, cell) for row in self.rows for fam, cell in row.cells.items() if cell.status == FAILED
        ]

    @property
    def ok(self) -> bool:
        """No failed cell, no failed row and no problem."""
        return not self.problems and not any(row.status == FAILED for row in self.rows)

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per implementation and device: cells and cases that ran, passed and failed."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            entry = out.setdefault(
                f"{row.backend} ({row.device})",
                {
                    "dtypes_run": 0,
                    "cells_run": 0,
                    "cells_passed": 0,
                    "cells_failed": 0,
                    "cells_not_run": 0,
                    "cases_run": 0,
                    "cases_failed": 0,
                    "cases_not_applicable": 0,
                    "cases_memory_format_differs": 0,
                },
            )
            if not row.cells and row.reason:
                entry.setdefault("notes", [])
                note = f"{row.status}: {row.reason}" if row.status == FAILED else f"not run: {row.reason}"
                entry["notes"].append(note)
            if row.cells and any(c.status != NOT_RUN for c in row.cells.values()):
                entry["dtypes_run"] += 1
            for cell in row.cells.values():
                if cell.status == NOT_RUN:
                    entry["cells_not_run"] += 1
                    continue
                entry["cells_run"] += 1
                entry["cells_passed" if cell.status == PASSED else "cells_failed"] += 1
                entry["cases_run"] += cell.total
                entry["cases_failed"] += cell.failed
                entry["cases_not_applicable"] += cell.not_applicable
                entry["cases_memory_format_differs"] += cell.memory_format_failed
        return out


def reproducer(backend: str, device: str, dtype: str, case_id: str) -> str:
    """Return a one-line shell command that reruns one case and prints the difference."""
    call = f"c.reproduce({backend!r}, {device!r}, {dtype!r}, {case_id!r})"
    return f'python -c "import subpixel.conformance as c; {call}"'
