"""Run the matrix: every implementation x device x dtype x case family, compared byte for byte."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Iterable, Sequence

import numpy as np

from subpixel.conformance._backends import ADAPTERS, JaxBackend
from subpixel.conformance._cases import FAMILIES, PROFILES, all_cases, cases_by_id
from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._environment import environment
from subpixel.conformance._inputs import DTYPE_NAMES
from subpixel.conformance._kind_coverage import kind_coverage
from subpixel.conformance._parallel import RowsJob, groups, run_in_workers
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation, implementations
from subpixel.conformance._results import CaseResult, Cell, Matrix, Row, reproducer
from subpixel.conformance._rows import Progress, run_case, run_implementation
from subpixel.conformance._user import artefact_row, register_artefact

__all__ = [
    "DEVICES",
    "CaseResult",
    "Cell",
    "Matrix",
    "Row",
    "reproduce",
    "reproducer",
    "run_case",
    "run_matrix",
]

DEVICES = ("cpu", "gpu")


def _resolve(
    names: Sequence[str] | str, known: dict[str, Implementation]
) -> tuple[list[Implementation], bool, list[str]]:
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    if list(names) in ([], ["all"]):
        return list(known.values()), False, []
    unknown = [n for n in names if n not in known]
    return [known[n] for n in names if n in known], True, unknown


def run_matrix(
    backends: Sequence[str] | str = "all",
    devices: Sequence[str] | str = "all",
    *,
    quick: bool = False,
    dtypes: Iterable[str] | None = None,
    families: Iterable[str] | None = None,
    progress: Progress | None = None,
    book: ReferenceBook | None = None,
    profile: str = "default",
    require_routes: bool | None = None,
    jax_x64: bool = True,
    jobs: int = 1,
    ignore_strides: bool = False,
) -> Matrix:
    """Run the conformance matrix and return it (see :mod:`subpixel.conformance`).

    Parameters
    ----------
    backends : "all" or sequence of str
        Implementation names (``numpy``, ``torch``, ...). With ``all``, implementations whose
        library is not installed are "not run"; a name given explicitly must run.
    devices : "all" or sequence of {"cpu", "gpu"}
        With ``all``, a device that is absent is "not run"; a device given explicitly must run.
    quick : bool
        Run the quick subset of the cases.
    dtypes, families : iterable of str, optional
        Restrict the dtypes or the case families.
    progress : callable, optional
        Called with one line of text per row.
    book : ReferenceBook, optional
        Share inputs and references between runs.
    profile : {"default", "slow"}
        ``slow`` adds inputs of about a gigabyte.
    require_routes : bool, optional
        Fail when a route of a checked implementation was taken by no case. By default only a
        run that is not filtered by ``quick``, ``dtypes`` or ``families`` requires it. The same
        switch requires kind coverage: every (kind of input, size class) and (kind, element
        size) pair of the NumPy and torch rows met by a case.
    jax_x64 : bool
        Run JAX's 64-bit rows with x64 enabled (the default); False reports them as not run.
    jobs : int
        Run the built-in rows in up to this many worker processes, side by side (the rows of
        one array backend together, in one process); rows registered at run time run in this
        process meanwhile. 1 (the default) runs everything here, one row after another. The
        workers build their own reference books (``ReferenceBook()``); ``book`` then receives
        their notes (deviations, sources).
    ignore_strides : bool
        On registered rows (a user's function, not subpixel's own rows), compare values alone:
        a torch result whose memory format differs from torch's op passes, and the report still
        names it. Without it such a case fails, its memory format named as its own verdict.
        subpixel's own rows always need torch's strides; the option does not change them.

    Returns
    -------
    Matrix
        ``matrix.ok`` is false on any failed cell, a requested backend or device that did not
        run, or (in a run that is not filtered by ``quick``, ``dtypes`` or ``families``) a
        route of a checked implementation that no case took, or a pair of kind coverage that
        no case met.
    """
    started = time.time()
    book = ReferenceBook() if book is None else book
    known = implementations()
    chosen, backends_explicit, unknown = _resolve(backends, known)
    problems = [f"unknown backend {n!r} (known: {', '.join(known)})" for n in unknown]
    if isinstance(devices, str):
        devices = [d.strip() for d in devices.split(",") if d.strip()]
    devices_explicit = list(devices) not in ([], ["all"])
    wanted_devices = list(devices) if devices_explicit else list(DEVICES)
    problems += [
        f"unknown device {d!r} (known: {', '.join(DEVICES)})" for d in wanted_devices if d not in DEVICES
    ]
    wanted_devices = [d for d in wanted_devices if d in DEVICES]
    dtype_list = list(DTYPE_NAMES if dtypes is None else dtypes)
    problems += [f"unknown dtype {d!r}" for d in dtype_list if d not in DTYPE_NAMES]
    dtype_list = [d for d in dtype_list if d in DTYPE_NAMES]
    family_ids = [f.id for f in FAMILIES] if families is None else list(families)
    problems += [f"unknown case family {f!r}" for f in family_ids if f not in {g.id for g in FAMILIES}]
    if profile not in PROFILES:
        problems.append(f"unknown profile {profile!r} (known: {', '.join(PROFILES)})")
        profile = "default"
    cases = [c for c in all_cases(quick, profile) if c.family in family_ids]
    enforce = not quick and dtypes is None and families is None
    if require_routes is not None:
        enforce = require_routes
    by_family = {f: [c for c in cases if c.family == f] for f in family_ids}

    say = _serialised(progress or (lambda _line: None))
    adapters = ADAPTERS if jax_x64 else {**ADAPTERS, "jax": JaxBackend(enable_x64=False)}
    settings = RowsJob(
        [],
        wanted_devices,
        backends_explicit,
        devices_explicit,
        dtype_list,
        family_ids,
        quick,
        profile,
        jax_x64,
    )
    rows_of: dict[str, list[Row]] = {}
    coverage_of: dict[str, list[RouteCoverage]] = {}
    device_names: dict[str, str] = {}
    # Built-in rows go to workers when there are two groups or more; registered rows stay here.
    grouped = groups([impl for impl in chosen if impl.builtin]) if jobs > 1 else []
    grouped = grouped if len(grouped) > 1 else []
    worker_jobs = [dataclasses.replace(settings, names=[i.name for i in group]) for group in grouped]
    remote = {name for job in worker_jobs for name in job.names}
    local = [impl for impl in chosen if impl.name not in remote]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run_in_workers, worker_jobs, jobs, say, book) if worker_jobs else None
        for impl in local:
            coverage_of[impl.name] = []
            rows_of[impl.name] = run_implementation(
                impl,
                wanted_devices,
                backends_explicit,
                devices_explicit,
                dtype_list,
                by_family,
                book,
                say,
                device_names,
                coverage_of[impl.name],
                adapters,
                ignore_strides=ignore_strides,
            )
        for result in running.result() if running is not None else []:
            rows_of.update(result.rows)
            coverage_of.update(result.coverage)
            device_names.update(result.device_names)
    rows = [row for impl in chosen for row in rows_of[impl.name]]
    # A group whose worker died has failed rows and no coverage.
    coverage = [entry for impl in chosen for entry in coverage_of.get(impl.name, [])]
    for entry in coverage:
        entry.enforced = enforce
        # A route declared unreachable that a case took is a wrong declaration, filtered run or not.
        problems += [
            f"route coverage: {entry.implementation} ({entry.device}) took the route {route!r}, which its "
            f"fast path says is not reachable here ({entry.unreachable[route]})"
            for route in entry.contradicted
        ]
        if enforce:
            problems += [
                f"route coverage: no case of {entry.implementation} ({entry.device}) took the route "
                f"{route!r} ({entry.routes[route]})"
                for route in entry.missing
            ]
    by_id = {case.id: case for case in cases}
    kinds = [kind_coverage(entry, by_id, profile) for entry in coverage]
    for found in kinds:
        found.enforced = enforce
        if enforce:
            problems += [
                f"kind coverage: no case of {found.implementation} ({found.device}) met {pair}"
                for pair in found.missing
            ]
    header = environment(
        chosen, device_names, book, quick=quick, seconds=time.time() - started, case_count=len(cases)
    )
    header["profile"] = profile
    header["jobs"] = jobs if worker_jobs else 1
    header["compiles_per_shape"] = [impl.name for impl in chosen if impl.compiles_per_shape]
    header["route_coverage_enforced"] = enforce
    header["ignore_strides"] = ignore_strides
    fams = [{"id": f.id, "title": f.title} for f in FAMILIES if f.id in family_ids]
    header["kind_coverage_enforced"] = enforce
    return Matrix(header, rows, problems, fams, coverage, kinds)


def _serialised(progress: Progress) -> Progress:
    """Return ``progress`` behind a lock: rows in this process and in workers report at once."""
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            progress(line)

    return say


def reproduce(
    backend: str, device: str, dtype: str, case_id: str, *, ignore_strides: bool = False
) -> CaseResult:
    """Rerun one case of the matrix and print what it does; raise ``AssertionError`` if it fails.

    Parameters
    ----------
    backend : str
        Implementation name, as in the matrix.
    device : {"cpu", "gpu"}
        Device.
    dtype : str
        Dtype name.
    case_id : str
        Case id (``family/name``), as in the failure message.
    ignore_strides : bool
        A registered row whose memory format differs from torch's op passes (as in
        :func:`run_matrix`); the difference is printed.

    Returns
    -------
    CaseResult
        The result, when the case passes or does not apply.
    """
    named = artefact_row(backend) if backend not in implementations() else None
    if named is not None:
        # An exported file's row (--impl model.onnx): its name says the files and what they are declared.
        files, options = named
        register_artefact(files[0], inverse=files[1] if len(files) > 1 else None, options=options)
    impl = implementations()[backend]
    adapter = ADAPTERS[impl.backend]
    case = cases_by_id()[case_id]
    book = ReferenceBook()
    x = book.input(case, dtype)
    print(f"case {case.id}: {case.describe()}")
    print(f"input: subpixel.conformance.make_input({case.shape}, {dtype!r}, seed) in layout {case.layout!r}")
    print(f"implementation: {impl.name} ({impl.description}) on {device}, dtype {dtype}")
    with adapter.dtype_context(dtype):
        if case.error:
            print(f"expected: a ValueError naming {case.error!r}")
        else:
            expected = book.expected(case, dtype)
            print(f"expected shape {expected.shape}, references: {', '.join(expected.sources)}")
        result = run_case(impl, adapter, device, dtype, case, book)
    print(f"input bits (first 8): {np.ascontiguousarray(x).reshape(-1)[:8].view(np.uint8).tobytes().hex()}")
    if result.ok is False:
        raise AssertionError(result.message)
    if result.memory_format:
        if not ignore_strides:
            raise AssertionError(result.memory_format)
        print(f"{result.memory_format} (ignored: values alone are compared)")
    print("passed" if result.ok else f"not applicable: {result.message}")
    return result
