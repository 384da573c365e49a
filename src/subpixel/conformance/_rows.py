"""Run the rows of the matrix: each case of an implementation on a device and dtype, byte for byte."""

from __future__ import annotations

import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import subpixel
from subpixel import ChunkingWarning, _routes
from subpixel.conformance._autodiff import check_autodiff
from subpixel.conformance._backends import ADAPTERS, ArrayBackend, HostResult, NotApplicableError
from subpixel.conformance._cases import Case, installed, runs_compiled
from subpixel.conformance._coverage import RouteCoverage, known_routes
from subpixel.conformance._inputs import DTYPES
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation
from subpixel.conformance._results import FAILED, NOT_RUN, PASSED, CaseResult, Cell, Row, reproducer

__all__ = ["Progress", "run_case", "run_implementation"]

_ITEMSIZE = {d.name: d.itemsize for d in DTYPES}
#: The package's folder: frames in it are the library's (and the matrix's own).
_PACKAGE = os.path.dirname(os.path.abspath(subpixel.__file__)) + os.sep

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
    if case.error and not impl.builtin:
        return CaseResult(case.id, None, "the error messages checked are subpixel's own: its rows only")
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
    # A registered row's memory format is a verdict of its own; subpixel's own rows must match torch's.
    layout: list[str] | None = None if impl.builtin else []
    if case.autodiff:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                found = check_autodiff(impl, adapter, device, dtype, case, book, layout)
            except NotApplicableError as why:
                return CaseResult(case.id, None, str(why))
        warned = [f"{w.category.__name__}: {w.message}" for w in caught]
        where = f"{case.describe()} on {impl.name} {device} {dtype}"
        result = CaseResult(case.id, not found, f"{where}: {found}" if found else "", warned)
        result.memory_format = f"{where}: memory format: {layout[0]}" if layout else ""
        return result
    x_host = book.input(case, dtype)
    try:
        x, owner = adapter.make_input(case, x_host, dtype, device)
    except NotApplicableError as why:
        return CaseResult(case.id, None, str(why))
    where = f"{case.describe()} on {impl.name} {device} {dtype}"
    if case.error:
        return _run_rejected(impl, adapter, x, case, where)
    original = adapter.to_host(x, dtype)
    if (original.shape, original.data) != (x_host.shape, x_host.tobytes()):
        return CaseResult(case.id, False, f"{where}: the input did not reach {adapter.name} bit for bit")
    # Warnings (a dask rechunking notice, say) are advice, not results: they are recorded, and
    # never turned into errors by the caller's warning filters. The library's own warnings must
    # point at the caller's line: the first frame outside the package (here, the matrix's caller;
    # a registered row calls from its own code, so its warnings are not held to that line).
    caller = _outside_frame()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = impl.call(x, case.factor, case.inverse, case.channels_last, case.order)
            if case.round_trip:
                y = impl.call(y, case.factor, not case.inverse, case.channels_last, case.order)
        except NotApplicableError as why:  # an exported file whose fixed shape, factor or dtype differs
            return CaseResult(case.id, None, str(why))
        except Exception as error:  # any exception is a failed case, reported with its text
            return CaseResult(case.id, False, f"{where}: raised {type(error).__name__}: {error}")
    warned = [f"{w.category.__name__}: {w.message}" for w in caught]
    for w in caught:  # a registered row's warnings come from its own code: not checked
        if impl.builtin and issubclass(w.category, ChunkingWarning) and (w.filename, w.lineno) != caller:
            where_to = f"{w.filename}:{w.lineno}, not at the caller's line {caller[0]}:{caller[1]}"
            return CaseResult(
                case.id, False, f"{where}: its {w.category.__name__} points at {where_to}", warned
            )
    expected = book.expected(case, dtype)
    try:
        problem = _check_output(
            impl, adapter, dtype, case, x, owner, y, expected.shape, expected.data, x_host, layout
        )
    except Exception as error:
        problem = f"checking the output raised {type(error).__name__}: {error}"
    if problem is None and expected.error is not None:
        problem = expected.error
    if problem is not None:
        return CaseResult(case.id, False, f"{where}: {problem}", warned)
    return CaseResult(
        case.id, True, "", warned, memory_format=f"{where}: memory format: {layout[0]}" if layout else ""
    )


def _outside_frame() -> tuple[str, int]:
    """Return the file and line of the first frame up the stack outside the subpixel package."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


def _run_rejected(impl: Implementation, adapter: ArrayBackend, x: Any, case: Case, where: str) -> CaseResult:
    """Run a case whose input is invalid: the call must raise ``ValueError`` naming ``case.error``.

    Where the row learns sizes only when a graph runs, the backend's run-time error
    (:meth:`ArrayBackend.run_time_errors`) stands in for the ``ValueError``, in the words of
    whichever op failed first (XLA drops the library's graph assertions).
    """
    wanted = f"a ValueError naming {case.error!r}"
    deferred = adapter.run_time_errors(impl.routes or "")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = impl.call(x, case.factor, case.inverse, case.channels_last, case.order)
        except NotApplicableError as why:
            return CaseResult(case.id, None, str(why))
        except ValueError as error:
            if case.error in str(error):
                return CaseResult(case.id, True, "", [f"{w.category.__name__}: {w.message}" for w in caught])
            problem = f"raised ValueError: {error}; expected {wanted}"
        except deferred:
            return CaseResult(case.id, True, "", [f"{w.category.__name__}: {w.message}" for w in caught])
        except Exception as error:  # any other exception is a failed case, reported with its text
            problem = f"raised {type(error).__name__}: {error}; expected {wanted}"
        else:
            problem = f"returned {type(y).__module__}.{type(y).__name__}; expected {wanted}"
    return CaseResult(case.id, False, f"{where}: {problem}")


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
    memory_format: list[str] | None = None,
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
    problem = adapter.memory_format_problem(case, x, y)
    if problem is not None:
        if memory_format is None:
            return problem
        memory_format.append(problem)  # a verdict of its own
    return adapter.output_problem(case, x, y)


def run_implementation(
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
    adapters: Mapping[str, ArrayBackend] = ADAPTERS,
    *,
    ignore_strides: bool = False,
) -> list[Row]:
    """Run one implementation on each device and dtype; return its rows.

    A library that is not installed, a failed import or setup, or an absent device gives one
    row saying so (failed when the backend or device was asked for explicitly). The route
    coverage of each device is appended to ``coverage`` and the devices' names are added to
    ``device_names``. ``ignore_strides``: a registered row whose values are exact passes whatever
    its memory format (which is still reported); subpixel's own rows always need torch's strides.
    """
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
    missing = [m for m in (*impl.requires, *adapter.requires) if not installed(m)]
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
        # The dtypes this row runs: a row that compiles per shape shares its cases among them.
        runnable = [d for d in dtypes if adapter.dtype_problem(d, device) is None]
        rows.extend(
            _run_row(impl, adapter, device, dtype, by_family, book, say, covered, runnable, ignore_strides)
            for dtype in dtypes
        )
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
    runnable: Sequence[str] = (),
    ignore_strides: bool = False,
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
                if impl.sample is not None:
                    mine = [c for c in mine if impl.sample(c, dtype)]
                elif impl.compiles_per_shape:
                    mine = [c for c in mine if runs_compiled(c, dtype, runnable)]
                row.cells[family] = _run_cell(
                    impl, adapter, device, dtype, mine, book, coverage, ignore_strides
                )
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
    ignore_strides: bool = False,
) -> Cell:
    cell = Cell(PASSED, strides_ignored=ignore_strides and not impl.builtin)
    reasons: list[str] = []
    itemsize = _ITEMSIZE[dtype]
    for case in cases:
        result = run_case(impl, adapter, device, dtype, case, book)
        # Inputs to reject take no route; wide elements are not of the dtype's size (the tallies are by size).
        tallied = not case.error and case.layout != "numpy_wide_elements"
        if coverage is not None and result.ok is not None and tallied:
            reached = {r for r in result.routes if r in coverage.routes}
            coverage.add(reached, itemsize, case.id, bool(result.ok))
        if result.warnings:
            cell.warnings += len(result.warnings)
            cell.first_warning = cell.first_warning or f"{case.id}: {result.warnings[0]}"
        if result.memory_format:
            cell.memory_format_failed += 1
            if not ignore_strides:
                result.ok, result.message = False, result.memory_format
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
