"""The built-in rows of the matrix in worker processes, several at once.

Rows are sent in groups: the library's row on one array backend and its layer rows go to one
worker, in order, so that they share what the first one compiled and imported (the Flax rows
run the JAX row's executables); every other row is a group alone. Groups go longest first to
the first idle worker. A worker runs the rows exactly
as the parent would (:func:`~subpixel.conformance._rows.run_implementation`), with its own
reference book, and sends back the rows, their route coverage, the devices' names and what its
references noted. Implementations registered at run time exist in the parent only, so they
run there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from subpixel.conformance._backends import ADAPTERS, JaxBackend
from subpixel.conformance._calls import layer_call, library_call, linen_call
from subpixel.conformance._cases import FAMILIES, all_cases
from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._pool import WorkerError, run_jobs, serve
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation, implementations
from subpixel.conformance._results import FAILED, Row
from subpixel.conformance._rows import Progress, run_implementation

__all__ = ["RowsJob", "RowsResult", "groups", "run_in_workers", "serve_rows"]

#: What a worker runs (see :func:`serve_rows`).
ENTRY = "from subpixel.conformance._parallel import serve_rows; serve_rows()"

#: What a row without recorded seconds (``Implementation.seconds``) counts when the groups are
#: ordered, costliest first, so that the longest rows start early.
_UNKNOWN_SECONDS = 10


@dataclass
class RowsJob:
    """Rows to run in a worker, by name, and the settings of the run."""

    names: list[str]
    devices: list[str]
    backends_explicit: bool
    devices_explicit: bool
    dtypes: list[str]
    families: list[str]
    quick: bool
    profile: str
    jax_x64: bool


@dataclass
class RowsResult:
    """What a worker sends back for a :class:`RowsJob`."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    coverage: dict[str, list[RouteCoverage]] = field(default_factory=dict)
    device_names: dict[str, str] = field(default_factory=dict)
    deviations: dict[str, str] = field(default_factory=dict)
    sources: dict[tuple[str, str], list[str]] = field(default_factory=dict)


def groups(chosen: list[Implementation]) -> list[list[Implementation]]:
    """Group the built-in rows, the costliest group first.

    The rows that call the library eagerly on one array backend (its row and its layers) form
    one group: they share the per-plan caches (the Flax rows run the executables the JAX row
    compiled). A row with compilation of its own (``jax.jit``, ``tf.function``) is a group alone.
    """
    by_key: dict[str, list[Implementation]] = {}
    for impl in chosen:
        call = impl.call
        eager = call in (library_call, linen_call) or (
            isinstance(call, functools.partial) and call.func is layer_call
        )
        by_key.setdefault(impl.backend if eager else impl.name, []).append(impl)

    def cost(group: list[Implementation]) -> float:
        return sum(impl.seconds or _UNKNOWN_SECONDS for impl in group)

    return sorted(by_key.values(), key=cost, reverse=True)


def run_rows(job: RowsJob, progress: Progress) -> RowsResult:
    """Run the rows of ``job`` in this process (a worker's side)."""
    book = ReferenceBook()
    known = implementations()
    adapters = ADAPTERS if job.jax_x64 else {**ADAPTERS, "jax": JaxBackend(enable_x64=False)}
    cases = [c for c in all_cases(job.quick, job.profile) if c.family in job.families]
    by_family = {f.id: [c for c in cases if c.family == f.id] for f in FAMILIES if f.id in job.families}
    result = RowsResult()
    for name in job.names:
        coverage: list[RouteCoverage] = []
        result.rows[name] = run_implementation(
            known[name],
            job.devices,
            job.backends_explicit,
            job.devices_explicit,
            job.dtypes,
            by_family,
            book,
            progress,
            result.device_names,
            coverage,
            adapters,
        )
        result.coverage[name] = coverage
    result.deviations = dict(book.deviations)
    result.sources = book.sources()
    return result


def serve_rows() -> None:
    """Be a worker that runs :class:`RowsJob` requests."""
    serve(run_rows)


def run_in_workers(
    jobs: list[RowsJob], workers: int, progress: Progress, book: ReferenceBook
) -> list[RowsResult]:
    """Run ``jobs`` in at most ``workers`` processes; merge the references' notes into ``book``.

    A job whose worker failed gives a failed row for each of its implementations.
    """
    merged = []
    for job, found in zip(jobs, run_jobs(list(jobs), workers, ENTRY, progress), strict=True):
        if isinstance(found, WorkerError):
            reason = f"the worker process running it failed: {found}"
            progress(f"{', '.join(job.names)}: FAILED: {reason}")
            rows = {
                name: [Row(name, ",".join(job.devices), "*", status=FAILED, reason=reason)]
                for name in job.names
            }
            found = RowsResult(rows=rows)
        result: RowsResult = found
        book.deviations.update(result.deviations)
        book.add_sources(result.sources)
        merged.append(result)
    return merged
