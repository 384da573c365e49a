"""Run the matrix: every implementation x device x dtype x case family, compared byte for byte."""

from __future__ import annotations

import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from subpixel import _routes
from subpixel.conformance._autodiff import check_autodiff
from subpixel.conformance._backends import (
    ADAPTERS,
    ArrayBackend,
    HostResult,
    JaxBackend,
    NotApplicableError,
    TorchBackend,
)
from subpixel.conformance._cases import FAMILIES, PROFILES, Case, all_cases, cases_by_id, installed
from subpixel.conformance._coverage import RouteCoverage, known_routes
from subpixel.conformance._environment import environment
from subpixel.conformance._inputs import DTYPE_NAMES, DTYPES
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation, implementations
from subpixel.conformance._results import (
    FAILED,
    NOT_RUN,
    PASSED,
    CaseResult,
    Cell,
    Matrix,
    Row,
    reproducer,
)

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
_ITEMSIZE = {d.name: d.itemsize for d in DTYPES}

Progress = Callable[[str], None]


def _first_difference(got: HostResult, want: bytes, itemsize: int, shape: tuple[int, ...]) -> str:
    a = np.frombuffer(got.data, dtype=np.uint8)
    b = np.frombuffer(want, dtype=np.uint8)
    if a.size != b.size:
        return f"{a.size} bytes, expected {b.size}"
    differ = np.flatnonzero(a != b)
    first = int(differ[0]) // itemsize
    count = len({int(i) // itemsize for i in differ})
    index = tuple(int(i) for i in np.unravel_index(first, shape)) if shape else ()
    got_hex = a[first * itemsize : (first + 1) * itemsize][::-1].tobytes().hex()
    want_hex = b[first * itemsize : (first + 1) * itemsize][::-1].tobytes().hex()
    return (
        f"{count} element(s) differ; first at index {index}: got bits 0x{got_hex}, expected 0x{want_hex} "
        f"(little-endian element read as a number)"
    )


def run_case(
    impl: Implementation, adapter: ArrayBackend, device: str, dtype: str, case: Case, book: ReferenceBook
) -> CaseResult:
    """Run one case and compare shape, dtype, device and bytes; check the input is left alone.

    Autodiff cases also compare gradients, forward-mode tangents and double backward.
    """
    missing = sorted(case.options - impl.options)
    if missing:
        return CaseResult(case.id, None, f"{impl.name} has no {', '.join(missing)} option")
    with _routes.counting() as seen:
        result = _run_case(impl, adapter, device, dtype, case, book)
    result.routes = set(seen)
    # A case built for one route of this row's library must take it (not only some case).
    prefix = (impl.routes or "").partition(":")[0]
    if (
        result.ok
        and case.route
        and case.route.partition(":")[0] == prefix
        and case.route not in result.routes
    ):
        taken = ", ".join(sorted(result.routes)) or "none"
        where = f"{case.describe()} on {impl.name} {device} {dtype}"
        result.ok = False
        result.message = f"{where}: took the route(s) {taken}, not {case.route}, which the case is built for"
    return result


def _run_case(
    impl: Implementation, adapter: ArrayBackend, device: str, dtype: str, case: Case, book: ReferenceBook
) -> CaseResult:
    if case.autodiff:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                found = check_autodiff(impl, adapter, device, dtype, case, book)
            except NotApplicableError as why:
                return CaseResult(case.id, None, str(why))
        warned = [f"{w.category.__name__}: {w.message}" for w in caught]
        where = f"{case.describe()} on {impl.name} {device} {dtype}"
        return CaseResult(case.id, not found, f"{where}: {found}" if found else "", warned)
    x_host = book.input(case, dtype)
    try:
        x, owner = adapter.make_input(case, x_host, dtype, device)
    except NotApplicableError as why:
        return CaseResult(case.id, None, str(why))
    where = f"{case.describe()} on {impl.name} {device} {dtype}"
    original = adapter.to_host(x, dtype)
    if (original.shape, original.data) != (x_host.shape, x_host.tobytes()):
        return CaseResult(case.id, False, f"{where}: the input did not reach {adapter.name} bit for bit")
    # Warnings (a dask rechunking notice, say) are advice, not results: they are recorded, and
    # never turned into errors by the caller's warning filters.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = impl.call(x, case.factor, case.inverse, case.channels_last, case.order)
            if case.round_trip:
                y = impl.call(y, case.factor, not case.inverse, case.channels_last, case.order)
        except Exception as error:  # any exception is a failed case, reported with its text
            return CaseResult(case.id, False, f"{where}: raised {type(error).__name__}: {error}")
    warned = [f"{w.category.__name__}: {w.message}" for w in caught]
    expected = book.expected(case, dtype)
    try:
        problem = _check_output(
            impl, adapter, dtype, case, x, owner, y, expected.shape, expected.data, x_host
        )
    except Exception as error:
        problem = f"checking the output raised {type(error).__name__}: {error}"
    if problem is None and expected.error is not None:
        problem = expected.error
    if problem is not None:
        return CaseResult(case.id, False, f"{where}: {problem}", warned)
    return CaseResult(case.id, True, "", warned)


def _check_output(
    impl: Implementation,
    adapter: ArrayBackend,
    dtype: str,
    case: Case,
    x: Any,
    owner: Any,
    y: Any,
    shape: tuple[int, ...],
    data: bytes,
    x_host: np.ndarray[Any, Any],
) -> str | None:
    if not adapter.is_array(y):
        return f"returned {type(y).__module__}.{type(y).__name__}, not a {adapter.name} array"
    if not adapter.dtype_matches(y, dtype):
        return f"returned dtype {adapter.dtype_text(y)}, expected {dtype}"
    moved = adapter.device_mismatch(y, x)
    if moved is not None:
        return moved
    got = adapter.to_host(y, dtype)
    if got.shape != shape:
        return f"returned shape {got.shape}, expected {shape}"
    if got.data != data:
        return "bytes differ: " + _first_difference(got, data, x_host.dtype.itemsize, shape)
    after = adapter.to_host(x, dtype)
    if after.data != x_host.tobytes():
        return "modified its input"
    if adapter.shares_memory(y, got, owner):
        return "the output shares memory with the input"
    if isinstance(adapter, TorchBackend):
        return adapter.memory_format_problem(case, x, y)
    return None


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
        run that is not filtered by ``quick``, ``dtypes`` or ``families`` requires it.
    jax_x64 : bool
        Run JAX's 64-bit rows with x64 enabled (the default); False reports them as not run.

    Returns
    -------
    Matrix
        ``matrix.ok`` is false on any failed cell, a requested backend or device that did not
        run, or (in a run that is not filtered by ``quick``, ``dtypes`` or ``families``) a
        route of a checked implementation that no case took.
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

    rows: list[Row] = []
    coverage: list[RouteCoverage] = []
    device_names: dict[str, str] = {}
    say = progress or (lambda _line: None)
    adapters = ADAPTERS if jax_x64 else {**ADAPTERS, "jax": JaxBackend(enable_x64=False)}
    for impl in chosen:
        rows += _run_implementation(
            impl,
            wanted_devices,
            backends_explicit,
            devices_explicit,
            dtype_list,
            by_family,
            book,
            say,
            device_names,
            coverage,
            adapters,
        )
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
    header = environment(
        chosen, device_names, book, quick=quick, seconds=time.time() - started, case_count=len(cases)
    )
    header["profile"] = profile
    header["route_coverage_enforced"] = enforce
    fams = [{"id": f.id, "title": f.title} for f in FAMILIES if f.id in family_ids]
    return Matrix(header, rows, problems, fams, coverage)


def _run_implementation(
    impl: Implementation,
    devices: list[str],
    backend_explicit: bool,
    devices_explicit: bool,
    dtypes: list[str],
    by_family: dict[str, list[Case]],
    book: ReferenceBook,
    say: Progress,
    device_names: dict[str, str],
    coverage: list[RouteCoverage] | None = None,
    adapters: dict[str, ArrayBackend] = ADAPTERS,
) -> list[Row]:
    adapter = adapters.get(impl.backend)
    if adapter is None:
        return [
            Row(
                impl.name,
                "-",
                "*",
                status=FAILED if backend_explicit else NOT_RUN,
                reason=f"no conformance adapter for the {impl.backend!r} array backend",
            )
        ]
    missing = [m for m in (*impl.requires, adapter.module) if not installed(m)]
    if missing:
        status = FAILED if backend_explicit else NOT_RUN
        reason = f"not installed ({', '.join(dict.fromkeys(missing))})"
        say(f"{impl.name}: {status.lower()}: {reason}")
        return [Row(impl.name, "-", "*", status=status, reason=reason)]
    try:
        adapter.load()
    except Exception as error:
        say(f"{impl.name}: FAILED: import failed")
        return [
            Row(impl.name, "-", "*", status=FAILED, reason=f"import failed: {type(error).__name__}: {error}")
        ]
    usable = [d for d in devices if d in adapter.devices]
    if not usable:
        status = FAILED if backend_explicit and devices_explicit else NOT_RUN
        reason = f"{impl.name} runs on {', '.join(adapter.devices)} only"
        return [Row(impl.name, ",".join(devices), "*", status=status, reason=reason)]
    if impl.setup is not None:
        try:
            impl.setup()
        except Exception as error:
            reason = f"setup failed: {type(error).__name__}: {error}"
            say(f"{impl.name}: FAILED: {reason}")
            return [Row(impl.name, ",".join(usable), "*", status=FAILED, reason=reason)]
    rows = []
    for device in usable:
        problem = adapter.device_problem(device)
        if problem is not None:
            status = FAILED if devices_explicit else NOT_RUN
            say(f"{impl.name} {device}: {status.lower()}: {problem}")
            rows.append(Row(impl.name, device, "*", status=status, reason=problem))
            continue
        device_names[f"{adapter.name}:{device}"] = adapter.device_name(device)
        covered = None
        if impl.routes is not None:
            routes, unreachable = known_routes(impl.routes)
            covered = RouteCoverage(impl.name, device, impl.routes, routes, unreachable)
            if coverage is not None:
                coverage.append(covered)
        rows.extend(_run_row(impl, adapter, device, dtype, by_family, book, say, covered) for dtype in dtypes)
    return rows


def _run_row(
    impl: Implementation,
    adapter: ArrayBackend,
    device: str,
    dtype: str,
    by_family: dict[str, list[Case]],
    book: ReferenceBook,
    say: Progress,
    coverage: RouteCoverage | None = None,
) -> Row:
    row = Row(impl.name, device, dtype)
    started = time.perf_counter()
    problem = adapter.dtype_problem(dtype, device)
    if problem is not None:
        row.status, row.reason = NOT_RUN, problem
        row.cells = {family: Cell(NOT_RUN, reason=problem) for family in by_family}
        say(f"{impl.name} {device} {dtype}: not run: {problem}")
        return row
    try:
        with adapter.dtype_context(dtype):
            for family, cases in by_family.items():
                mine = [c for c in cases if c.runs_on(adapter.name, dtype)]
                row.cells[family] = _run_cell(impl, adapter, device, dtype, mine, book, coverage)
    except Exception as error:
        row.status = FAILED
        row.reason = f"the row stopped: {type(error).__name__}: {error}"
        row.reason += " | " + traceback.format_exc(limit=3).replace("\n", " ")
    row.seconds = time.perf_counter() - started
    if any(cell.status == FAILED for cell in row.cells.values()):
        row.status = FAILED
    elif row.status != FAILED and all(cell.status == NOT_RUN for cell in row.cells.values()):
        row.status = NOT_RUN
        row.reason = "no case applies"
    ran = sum(cell.total for cell in row.cells.values())
    failed = sum(cell.failed for cell in row.cells.values())
    say(f"{impl.name} {device} {dtype}: {ran - failed}/{ran} cases passed ({row.seconds:.2f} s)")
    return row


def _run_cell(
    impl: Implementation,
    adapter: ArrayBackend,
    device: str,
    dtype: str,
    cases: list[Case],
    book: ReferenceBook,
    coverage: RouteCoverage | None = None,
) -> Cell:
    cell = Cell(PASSED)
    reasons: list[str] = []
    itemsize = _ITEMSIZE[dtype]
    for case in cases:
        result = run_case(impl, adapter, device, dtype, case, book)
        if coverage is not None and result.ok is not None:
            coverage.add({r for r in result.routes if r in coverage.routes}, itemsize)
        if result.warnings:
            cell.warnings += len(result.warnings)
            cell.first_warning = cell.first_warning or f"{case.id}: {result.warnings[0]}"
        if result.ok is None:
            cell.not_applicable += 1
            reasons.append(result.message)
        elif result.ok:
            cell.passed += 1
        else:
            cell.failed += 1
            cell.failures.append(case.id)
            if cell.first_failure is None:
                cell.first_failure = {
                    "case": case.id,
                    "message": result.message,
                    "reproducer": reproducer(impl.name, device, dtype, case.id),
                }
    if cell.failed:
        cell.status = FAILED
        if reasons:
            cell.reason = "n/a: " + "; ".join(dict.fromkeys(reasons))
    elif not cell.passed:
        cell.status = NOT_RUN
        cell.reason = (
            "; ".join(dict.fromkeys(reasons)) or f"no case of this family for {adapter.name} {dtype}"
        )
    elif reasons:
        cell.reason = "n/a: " + "; ".join(dict.fromkeys(reasons))
    return cell


def reproduce(backend: str, device: str, dtype: str, case_id: str) -> CaseResult:
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

    Returns
    -------
    CaseResult
        The result, when the case passes or does not apply.
    """
    impl = implementations()[backend]
    adapter = ADAPTERS[impl.backend]
    case = cases_by_id()[case_id]
    book = ReferenceBook()
    x = book.input(case, dtype)
    print(f"case {case.id}: {case.describe()}")
    print(f"input: subpixel.conformance.make_input({case.shape}, {dtype!r}, seed) in layout {case.layout!r}")
    print(f"implementation: {impl.name} ({impl.description}) on {device}, dtype {dtype}")
    with adapter.dtype_context(dtype):
        expected = book.expected(case, dtype)
        print(f"expected shape {expected.shape}, references: {', '.join(expected.sources)}")
        result = run_case(impl, adapter, device, dtype, case, book)
    print(f"input bits (first 8): {np.ascontiguousarray(x).reshape(-1)[:8].view(np.uint8).tobytes().hex()}")
    if result.ok is False:
        raise AssertionError(result.message)
    print("passed" if result.ok else f"not applicable: {result.message}")
    return result
