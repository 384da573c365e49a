"""Mutation testing of the shuffle's core with the conformance matrix as the only test.

Samples mutants (one small change each: a comparison, an arithmetic operator, a boolean
operator, an integer constant, a negated condition, a dropped ``not``) over ``_plan.py``,
``_shuffle.py`` and every ``_fast/*.py`` and ``_copy/*.py`` there is, leaving out performance
constants (module-level upper-case assignments: block sizes, thresholds) and docstrings. Each
mutant is written into a copy of the package and checked by a reduced matrix restricted to the
rows that can reach the mutated file (a fast path's own backend; the backends of the fast paths
that import a helper module or the copy engine; every backend for ``_plan.py`` and
``_shuffle.py``), which still takes every route of those rows (route coverage enforced). A
mutant is *killed* when the matrix fails (or crashes, or times out) and *survives* when it
passes.

Every sampled mutant runs: there is no time limit. The results are saved beside the report
(``mutation.json``) after each mutant, and a run cut short resumes from them. The report gives
the whole population of mutation points (per file and per kind), the sample and the count run.
With subpixel-kernels installed the compiled kernels run (report ``mutation.md``); without it
the lanes kernels do (``mutation-without-kernels.md``); run both.

To keep each mutant cheap:

- the expected results are computed once, from the definition alone (the full matrix already
  proves that torch, ONNX and TensorFlow agree with it), and shared with every mutant through
  ``fork``; the frameworks are imported once, before the first fork, and none of them runs in the
  parent, so no thread pool is inherited half-alive;
- each mutant first meets the small-input families on its rows, and only a mutant that survives
  them meets the whole reduced matrix (size routes, gradients, route coverage), with eight
  JAX CPU devices so that the sharded route runs; a mutant of a file the JAX rows reach then
  meets those rows again in a fresh process on one device, as the published matrix runs them
  (what JAX declares unreachable there). The stages are parts of one matrix: a mutant is killed
  when any fails.

    python conformance/mutate.py --count 150 --jobs 2

A survivor called equivalent needs evidence beyond the matrix: ``--fuzz-survivors CALLS`` runs
the fuzz driver (``conformance/fuzz.py``) on each survivor's package copy, ``CALLS`` calls per row
that reaches the mutated file, logs it under ``reports/mutation-fuzz/`` and puts the outcome in the
report; ``--materialize N FOLDER`` writes sample ``N``'s package copy for a run by hand
(``fuzz.py --package FOLDER``). Run it through ``nox -s mutation`` (not in CI).
"""

from __future__ import annotations

import argparse
import ast
import collections
import contextlib
import importlib
import importlib.util
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "subpixel"
TARGETS = ("_plan.py", "_shuffle.py", "_fast", "_copy")
#: The copy engine's package: its files are reached through the fast paths that import it.
ENGINE = "_copy"
NOTES = Path(__file__).with_name("mutation-survivors.json")
#: Notes that hold only without subpixel-kernels (lines the compiled kernels' absence makes unreachable).
NOTES_WITHOUT_KERNELS = Path(__file__).with_name("mutation-survivors-without-kernels.json")

#: The rows that check a fast-path module, by its name (its backend's, or a helper's).
ROWS = {
    "numpy": ("numpy",),
    "torch": ("torch",),
    # The traceable route: the rows that run it (traced sizes, static sizes), beside the eager
    # route's plain copies.
    "_torch_plain": ("torch", "torch.jit.trace", "torch.compile"),
    "jax": ("jax",),
    "dask": ("dask",),
    "tensorflow": ("tensorflow", "tensorflow.graph", "tensorflow.function"),
}
#: Rows for the core (``_plan.py``, ``_shuffle.py``) and for a file nothing maps to.
ALL_ROWS = (
    "numpy",
    "shuffle_plan",  # the public plan, applied with NumPy
    "array_api_strict",
    "torch",
    "torch.jit.trace",
    "torch.compile",
    "jax",
    "dask",
    "tensorflow",
    "tensorflow.function",
    "subpixel.keras.tensorflow",  # the Keras layers on TensorFlow plan their steps with block_moves
)
#: Files that run only when an optional library is installed (the compiled kernels).
OPTIONAL = {"_copy/_compiled.py": "subpixel_kernels"}
#: Frameworks imported before the first fork (imported, never run: no thread pool starts).
PRELOAD = ("numpy", "array_api_strict", "array_api_compat.numpy", "ml_dtypes", "torch", "jax", "dask.array")
SMALL_FAMILIES = ("factors", "unshuffle", "ndim", "zero_size", "layouts", "channels_last", "dcr", "nd_tuple")
LARGE_FAMILIES = ("sizes", "autodiff")
FAMILIES = (*SMALL_FAMILIES, *LARGE_FAMILIES)
DTYPES = ("uint8", "int16", "float16", "bfloat16", "float32", "float64", "complex128")

_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


@dataclass(frozen=True)
class Mutant:
    """One change: in ``path``, node number ``index`` of the walk, of kind ``kind``."""

    path: str
    index: int
    line: int
    kind: str


def target_files() -> list[str]:
    """The files mutated, relative to the package: the core, ``_fast/*.py`` and ``_copy/*.py``.

    A file that runs only with an optional library (see :data:`OPTIONAL`) is left out where the
    library is not installed: none of its code could run, so each mutant would survive.
    """
    found = []
    for target in TARGETS:
        path = PACKAGE / target
        found += sorted(path.glob("*.py")) if path.is_dir() else [path]
    names = [p.relative_to(PACKAGE).as_posix() for p in found if p.name != "__init__.py"]
    return [n for n in names if n not in OPTIONAL or importlib.util.find_spec(OPTIONAL[n]) is not None]


def _fast_imports(path: Path) -> set[str]:
    """The ``subpixel._fast`` modules that ``path`` imports (at the top or inside a function).

    An import of the copy engine (``subpixel._copy`` or any module of it) counts as :data:`ENGINE`.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [f"{node.module or ''}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["subpixel", "_fast"] and len(parts) > 2:
                found.add(parts[2])
            elif parts[:2] == ["subpixel", ENGINE]:
                found.add(ENGINE)
    return found


def rows_for(relative: str, seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The matrix rows that can reach ``relative``.

    A fast path's own rows, and the rows of every fast path that imports it; for a file of the
    copy engine, the rows of every fast path that imports the engine (NumPy and torch); every
    row for the core, or for a file no fast path imports.
    """
    stem = Path(relative).stem
    if relative.startswith(f"{ENGINE}/"):
        stem = ENGINE
    elif not relative.startswith("_fast/"):
        return ALL_ROWS
    found = list(ROWS.get(stem, ()))
    for other in sorted((PACKAGE / "_fast").glob("*.py")):
        name = f"_fast/{other.name}"
        if other.stem != stem and name not in seen and stem in _fast_imports(other):
            found += [r for r in rows_for(name, seen | {relative}) if r not in found]
    return tuple(found) or ALL_ROWS


def _constant_lines(tree: ast.Module) -> set[int]:
    """Lines of module-level UPPER_CASE assignments (performance constants) and docstrings."""
    skip: set[int] = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in targets
        ):
            skip.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    for walked in ast.walk(tree):
        body = getattr(walked, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                skip.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return skip


def _kinds(node: ast.AST) -> list[str]:
    """The mutations that apply to ``node``."""
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPS:
        return ["compare"]
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _SWAPS:
        return ["arithmetic"]
    if isinstance(node, ast.BoolOp):
        return ["boolean"]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ["drop-not"]
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ["constant"]
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return ["boolean-constant"]
    if isinstance(node, (ast.If, ast.While)):
        return ["negate-condition"]
    return []


def candidates() -> list[Mutant]:
    """Every mutation point of the target files."""
    found = []
    for relative in target_files():
        tree = ast.parse((PACKAGE / relative).read_text(encoding="utf-8"))
        skip = _constant_lines(tree)
        for index, node in enumerate(ast.walk(tree)):
            line = getattr(node, "lineno", 0)
            if not line or line in skip:
                continue
            found += [Mutant(relative, index, line, kind) for kind in _kinds(node)]
    return found


class _Apply(ast.NodeTransformer):
    def __init__(self, mutant: Mutant, order: dict[int, int]) -> None:
        self.mutant = mutant
        self.order = order

    def visit(self, node: ast.AST) -> ast.AST:
        node = super().visit(node)
        if self.order.get(id(node)) != self.mutant.index:
            return node
        kind = self.mutant.kind
        if kind == "compare":
            assert isinstance(node, ast.Compare)
            node.ops = [_SWAPS[type(node.ops[0])](), *node.ops[1:]]
        elif kind == "arithmetic":
            assert isinstance(node, (ast.BinOp, ast.AugAssign))
            node.op = _SWAPS[type(node.op)]()
        elif kind == "boolean":
            assert isinstance(node, ast.BoolOp)
            node.op = _SWAPS[type(node.op)]()
        elif kind == "drop-not":
            assert isinstance(node, ast.UnaryOp)
            return node.operand
        elif kind == "constant":
            assert isinstance(node, ast.Constant)
            assert isinstance(node.value, int)
            node.value = node.value + 1
        elif kind == "boolean-constant":
            assert isinstance(node, ast.Constant)
            node.value = not node.value
        elif kind == "negate-condition":
            assert isinstance(node, (ast.If, ast.While))
            node.test = ast.UnaryOp(ast.Not(), node.test)
        return node


def mutated_source(mutant: Mutant, package: Path = PACKAGE) -> tuple[str, str]:
    """Return ``(original line, mutated module source)``."""
    source = (package / mutant.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    order = {id(node): index for index, node in enumerate(ast.walk(tree))}
    mutated = ast.fix_missing_locations(_Apply(mutant, order).visit(tree))
    return source.splitlines()[mutant.line - 1].strip(), ast.unparse(mutated)


def mutation_text(mutant: Mutant, package: Path = PACKAGE) -> str:
    """Return the change as ``before => after``: the statement that differs, as ``ast`` writes it."""
    before = ast.unparse(ast.parse((package / mutant.path).read_text(encoding="utf-8"))).splitlines()
    after = mutated_source(mutant, package)[1].splitlines()
    changed = [(a.strip(), b.strip()) for a, b in zip(before, after, strict=False) if a != b]
    if not changed:
        return "(no textual change)"
    return f"{changed[0][0]} => {changed[0][1]}"


# -- running ---------------------------------------------------------------------------------------
def _cases_of(conformance: Any, rows: tuple[str, ...], families: tuple[str, ...]) -> list[tuple[Any, str]]:
    adapters = {conformance.get_implementation(r).backend for r in rows}
    return [
        (case, dtype)
        for case in conformance.all_cases()
        if case.family in families
        for dtype in DTYPES
        if any(case.runs_on(adapter, dtype) for adapter in adapters)
    ]


def _references(rows: set[str]) -> Any:
    """Inputs and expected results of every case the reduced matrices run, from the definition."""
    conformance = importlib.import_module("subpixel.conformance")
    book = conformance.ReferenceBook(use_torch=False, use_onnx=False, golden=conformance.GoldenVectors())
    book.peer_references = ()
    documented_shape = conformance.documented_shape
    for case, dtype in _cases_of(conformance, tuple(rows), FAMILIES):
        if case.error:  # an input the call must reject: no expected result
            book.input(case, dtype)
        elif case.autodiff:
            out = documented_shape(case.shape, case.factors, case.inverse, case.channels_last)
            book.input(case, dtype)
            book.extra_input(case, dtype, "tangent", case.shape)
            book.extra_input(case, dtype, "cotangent", out)
        else:
            book.expected(case, dtype)
    return book


def _fresh_library() -> Any:
    """Drop every ``subpixel`` module so that the next import reads the (mutated) sources."""
    for name in [n for n in sys.modules if n == "subpixel" or n.startswith("subpixel.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    return importlib.import_module("subpixel.conformance")


def _stage(book: Any, rows: tuple[str, ...], families: tuple[str, ...]) -> tuple[bool, str, list[str]]:
    """Run the rows one after the other, stopping at the first failure.

    Returns ``(passed, detail, routes no case took)``; the routes are checked by the caller
    over both stages.
    """
    conformance = _fresh_library()
    missing: list[str] = []
    for name in rows:
        matrix = conformance.run_matrix([name], ["cpu"], families=list(families), dtypes=list(DTYPES),
                                        book=book, require_routes=False)  # fmt: skip
        for row, family, cell in matrix.failed_cells[:1]:
            return False, f"{row.backend} {row.dtype} {family} {cell.first_failure['case']}", []
        for row in matrix.rows:
            if row.status == "FAILED":
                return False, f"{row.backend} {row.dtype}: {row.reason}"[:200], []
        if matrix.problems:
            return False, matrix.problems[0][:200], []
        missing += [f"{c.implementation} {route}" for c in matrix.coverage for route in c.missing]
    return True, "", missing


def _in_child(
    book: Any, rows: tuple[str, ...], families: tuple[str, ...], timeout: float, folder: Path | None = None
) -> tuple[bool, str, list[str]]:
    """Run one stage in a forked child (importing the package copy in ``folder``); a crash or a
    timeout fails it."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        if folder is not None:
            sys.path[0] = str(folder)
            # Rows that run in a process of their own (the Keras layers on another backend)
            # must import the same copy.
            paths = (str(folder), os.environ.get("PYTHONPATH", ""))
            os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        answer: tuple[bool, str, list[str]] = (False, "", [])
        try:
            answer = _stage(book, rows, families)
        except BaseException as error:  # a crash is a failed matrix
            answer = (False, f"crashed: {type(error).__name__}: {error}"[:200], [])
        with contextlib.suppress(OSError):
            os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            return False, f"timed out after {timeout:.0f} s", []
        time.sleep(0.05)
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    try:
        passed, detail, missing = json.loads(b"".join(chunks))
    except ValueError:
        return False, f"the matrix process ended with status {os.waitstatus_to_exitcode(status)}", []
    return bool(passed), str(detail), list(missing)


def check(
    book: Any, rows: tuple[str, ...], timeouts: dict[tuple[str, ...], float], folder: Path | None = None
) -> tuple[bool, str, str]:
    """The reduced matrix in two stages: ``(passed, stage that failed, detail)``.

    The small-input families run first (without TensorFlow's rows when others exist: most
    mutants of the core fail on NumPy in seconds), then the size and gradient families on every
    row. A route no case of either stage took fails the second.
    """
    first = tuple(r for r in rows if not r.startswith("tensorflow")) or rows
    passed, detail, missing = _in_child(
        book, first, SMALL_FAMILIES, timeouts.get(("small", *rows), 600.0), folder
    )
    if not passed:
        return False, "small", detail
    passed, detail, more = _in_child(
        book, rows, LARGE_FAMILIES, timeouts.get(("large", *rows), 900.0), folder
    )
    if not passed:
        return False, "large", detail
    never = sorted(set(more) & set(missing) | {m for m in more if m.split()[0] not in first})
    if never:
        return False, "large", f"route coverage: no case took {never[0]}"
    jax_rows = [r for r in rows if r.split(".")[0] == "jax"]
    if jax_rows:
        passed, detail = _one_device(jax_rows, timeouts.get(("one-device", *rows), 600.0), folder)
        if not passed:
            return False, "one-device", detail
    return True, "", ""


def _one_device(rows: list[str], timeout: float, folder: Path | None) -> tuple[bool, str]:
    """Run the JAX ``rows`` of the matrix, unfiltered, on one CPU device, as the published matrix does.

    The stages above force eight devices (for the sharded route); what JAX does with one (the
    routes it declares unreachable there) needs a fresh process, since JAX reads its device
    count once.
    """
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "").split()
    env["XLA_FLAGS"] = " ".join(
        f for f in flags if not f.startswith("--xla_force_host_platform_device_count")
    )
    if folder is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH", "")) if p)
    with tempfile.TemporaryDirectory(prefix="subpixel-one-device-") as out:
        # Unfiltered (every family and dtype), so that route coverage is enforced.
        command = [sys.executable, "-m", "subpixel", "conformance", "--backends", ",".join(rows),
                   "--devices", "cpu", "--quiet", "--out", out]  # fmt: skip
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            return False, f"one device: timed out after {timeout:.0f} s"
        if done.returncode == 0:
            return True, ""
        # The report's first problem or failed cell; else the verdict line (logs go to stderr).
        report = Path(out) / "matrix.json"
        found = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
        failed = [f"{row['backend']} {row['dtype']}: {row.get('reason', '')}" for row in found.get("rows", [])
                  if str(row.get("status")).lower() == "failed"]  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        lines = [*found.get("problems", []), *failed, *lines] or done.stderr.splitlines()[-1:]
    return False, f"one device: {lines[0] if lines else f'status {done.returncode}'}"[:200]


def kernels() -> str:
    """Whether the compiled kernels run: subpixel-kernels' version, or ``""`` where it is not installed."""
    if importlib.util.find_spec("subpixel_kernels") is None:
        return ""
    from importlib import metadata

    return metadata.version("subpixel-kernels")


def default_out() -> Path:
    """``mutation.md`` with the compiled kernels, ``mutation-without-kernels.md`` without them."""
    name = "mutation.md" if kernels() else "mutation-without-kernels.md"
    return ROOT / "conformance" / "reports" / name


def materialize(mutant: Mutant, folder: Path) -> Path:
    """Write a copy of the package with ``mutant`` applied into ``folder``; return ``folder``.

    ``python conformance/fuzz.py --package FOLDER`` then runs the fuzz driver on the mutant.
    """
    copy = folder / "subpixel"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / mutant.path).write_text(mutated_source(mutant, PACKAGE)[1], encoding="utf-8")
    return folder


#: The fuzz row for a matrix row the fuzz driver has no row of its own for (the driver has no
#: traced or compiled torch row: a mutant of the traceable route is fuzzed through the eager torch row).
FUZZ_ROWS = {"tensorflow.graph": "tensorflow.function", "torch.jit.trace": "torch", "torch.compile": "torch"}


def fuzz_mutant(mutant: Mutant, calls: int, logs: Path, seed: int) -> dict[str, Any]:
    """Run the fuzz driver on ``mutant``, ``calls`` calls per row that reaches its file.

    Returns ``{"calls", "rows", "mismatches", "first", "log"}``; the driver's output is kept in
    ``logs`` (one file per mutant), the evidence an "equivalent" survivor needs.
    """
    rows = list(dict.fromkeys(FUZZ_ROWS.get(r, r) for r in rows_for(mutant.path)))
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{mutant.path.replace('/', '_')}-{mutant.line}-{mutant.kind}-{mutant.index}.log"
    first = ""
    failed = False
    with tempfile.TemporaryDirectory(prefix="subpixel-fuzz-mutant-") as folder:
        materialize(mutant, Path(folder))
        command = [sys.executable, str(ROOT / "conformance" / "fuzz.py"), "--backends", ",".join(rows),
                   "--calls", str(calls), "--seed", str(seed), "--package", folder]  # fmt: skip
        with log.open("w", encoding="utf-8") as handle:
            handle.write(f"mutant {mutant.path}:{mutant.line} {mutant.kind} (node {mutant.index})\n")
            handle.write(f"{' '.join(command)}\n")
            handle.flush()
            done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
        failed = done.returncode != 0
    for text in log.read_text(encoding="utf-8").splitlines():
        if text.startswith("MISMATCH"):
            first = text
            break
    return {"calls": calls, "rows": rows, "seed": seed, "status": done.returncode,
            "mismatches": failed, "first": first[:300], "log": log.as_posix()}  # fmt: skip


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    loaded: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["results"]
    return loaded


def _save(path: Path, results: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"results": results}, indent=1) + "\n", encoding="utf-8")
    temporary.replace(path)


def population(pool: list[Mutant]) -> dict[str, dict[str, int]]:
    """The mutation points by file and kind."""
    table: dict[str, dict[str, int]] = {}
    for m in pool:
        table.setdefault(m.path, {}).setdefault(m.kind, 0)
        table[m.path][m.kind] += 1
    return table


def main(argv: list[str] | None = None) -> int:
    """Sample mutants, run every one of them, write the report; exit 0 (the score is information)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=150, help="mutants to sample (default 150)")
    parser.add_argument("--seed", type=int, default=20261201, help="sampling seed")
    parser.add_argument(
        "--out", type=Path, default=None, help="report (default: by whether subpixel-kernels is installed)"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the sampled mutants and their rows, and stop"
    )
    parser.add_argument("--only", default="", help="comma-separated sample numbers (1-based) to run")
    parser.add_argument("--jobs", type=int, default=1, help="mutants checked at once, each in its own copy")
    parser.add_argument(
        "--materialize",
        nargs=2,
        metavar=("NUMBER", "FOLDER"),
        help="write sample NUMBER's package into FOLDER",
    )
    parser.add_argument(
        "--fuzz-survivors", type=int, default=0, metavar="CALLS",
        help="then run the fuzz driver on each survivor not yet fuzzed, CALLS calls per row",
    )  # fmt: skip
    args = parser.parse_args(argv)
    out: Path = args.out or default_out()
    results_path = out.with_suffix(".json")
    pool = candidates()
    # Random order, so that a run stopped early is still a fair sample.
    sample = random.Random(args.seed).sample(pool, min(args.count, len(pool)))
    if args.materialize:
        number, folder = int(args.materialize[0]), Path(args.materialize[1])
        materialize(sample[number - 1], folder)
        print(f"sample {number} ({sample[number - 1]}) written into {folder / 'subpixel'}")
        return 0
    chosen = (
        [(n, sample[n - 1]) for n in map(int, args.only.split(","))]
        if args.only
        else list(enumerate(sample, 1))
    )
    if args.list:
        for n, m in chosen:
            print(f"{n}: {m.path}:{m.line} {m.kind} [{','.join(rows_for(m.path))}]: {mutated_source(m)[0]}")
        return 0
    started = time.monotonic()
    # Results so far (a run cut short resumes where it stopped: every sampled mutant runs).
    results = [r for r in _load(results_path) if Mutant(**r["mutant"]) in sample]
    done = {Mutant(**r["mutant"]) for r in results}
    queue = [(n, m) for n, m in chosen if m not in done]
    print(f"{len(pool)} mutation points, {len(sample)} sampled, {len(done)} already run, {len(queue)} to run",
          flush=True)  # fmt: skip
    report = {
        "pool": population(pool),
        "sample": len(sample),
        "sampled_per_file": dict(collections.Counter(m.path for m in sample)),
        "kernels": kernels(),
        "seed": args.seed,
    }
    baseline = 0.0
    if queue:
        baseline = _run_queue(queue, sample, results, results_path, out, report, args.jobs, started)
        if baseline < 0:
            return 1
    if args.fuzz_survivors:
        for r in results:
            if r["status"] == "survived" and "fuzz" not in r:
                mutant = Mutant(**r["mutant"])
                r["fuzz"] = fuzz_mutant(
                    mutant, args.fuzz_survivors, results_path.parent / "mutation-fuzz", args.seed
                )
                print(f"fuzz {mutant.path}:{mutant.line} {mutant.kind}: {r['fuzz']}", flush=True)
                _save(results_path, results)
    _write(out, results, report, time.monotonic() - started, baseline, args.jobs)
    return 0


def _run_queue(
    queue: list[tuple[int, Mutant]],
    sample: list[Mutant],
    results: list[dict[str, Any]],
    results_path: Path,
    out: Path,
    report: dict[str, Any],
    jobs: int,
    started: float,
) -> float:
    """Run every mutant of ``queue`` (no time limit); return the seconds spent before the first
    mutant (references and baselines), or -1 when the unmutated package fails its matrix."""
    sys.dont_write_bytecode = True  # every import of a mutated file compiles its source
    os.environ.setdefault("KERAS_BACKEND", "jax")
    # Eight CPU devices, so that JAX's sharded route runs (read when a child first uses JAX).
    os.environ["XLA_FLAGS"] = (
        f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=8".strip()
    )
    with tempfile.TemporaryDirectory(prefix="subpixel-mutants-") as folder:
        workdir = Path(folder)
        copy = workdir / "subpixel"
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
        sys.path.insert(0, str(workdir))
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        groups = sorted({rows_for(m.path) for _, m in queue})
        book = _references({row for group in groups for row in group})
        print(f"references ready ({time.monotonic() - started:.0f} s)", flush=True)
        # The unmutated package must pass every reduced matrix, or a "kill" would mean nothing.
        timeouts: dict[tuple[str, ...], float] = {}
        for rows in groups:
            begun = time.monotonic()
            passed, stage, detail = check(book, rows, {})
            seconds = time.monotonic() - begun
            for stage_name in ("small", "large", "one-device"):
                key = (stage_name, *rows)
                timeouts[key] = max(120.0, 4 * seconds)
            state = "passed" if passed else f"FAILED ({stage}): {detail}"
            print(f"baseline {','.join(rows)}: {state} ({seconds:.0f} s)", flush=True)
            if not passed:
                return -1.0
        baseline = time.monotonic() - started
        # Lanes: each runs its mutants one at a time in its own copy of the package.
        lanes = [copy]
        for lane in range(1, max(1, jobs)):
            lanes.append(workdir / f"lane{lane}" / "subpixel")
            shutil.copytree(copy, lanes[-1])
        lock = threading.Lock()

        def lane_loop(package: Path) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    number, mutant = queue.pop(0)
                result = _run_mutant(mutant, package, book, timeouts)
                with lock:
                    results.append(result)
                    where = f"{mutant.path}:{mutant.line} {mutant.kind}"
                    print(
                        f"[{number}/{len(sample)}] {result['status']:8} {result['stage']:5} {where} "
                        f"({result['seconds']:.0f} s) {result['detail'][:90]}",
                        flush=True,
                    )
                    _save(results_path, results)
                    _write(out, results, report, time.monotonic() - started, baseline, len(lanes))

        threads = [threading.Thread(target=lane_loop, args=(lane,)) for lane in lanes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return baseline


_AST_LOCK = threading.Lock()


def _run_mutant(
    mutant: Mutant, package: Path, book: Any, timeouts: dict[tuple[str, ...], float]
) -> dict[str, Any]:
    """Write ``mutant`` into the copy ``package``, check it, restore the file; return the result."""
    target = package / mutant.path
    original = target.read_text(encoding="utf-8")
    with _AST_LOCK:  # CPython 3.11's ast.parse fails when two threads parse at once
        line, source = mutated_source(mutant, package)
        change = mutation_text(mutant, package)
        rows = rows_for(mutant.path)
    target.write_text(source, encoding="utf-8")
    begun = time.monotonic()
    try:
        passed, stage, detail = check(book, rows, timeouts, package.parent)
    finally:
        target.write_text(original, encoding="utf-8")
    return {"mutant": mutant.__dict__, "line": line, "mutation": change,
            "status": "survived" if passed else "killed", "stage": stage, "detail": detail,
            "seconds": round(time.monotonic() - begun, 1)}  # fmt: skip


def _notes(with_kernels: bool = True) -> dict[str, str]:
    """Why each known survivor survives, by :func:`note_key` (``path|before => after``).

    A note begins with its verdict: ``Equivalent.``, ``Speed only.`` or ``Unreachable.`` (no
    result can change: the mutant counts as not result-changing) or ``Gap.`` (the matrix misses it).
    Without the compiled kernels, the notes of :data:`NOTES_WITHOUT_KERNELS` take precedence.
    """
    notes: dict[str, str] = {}
    for path in (NOTES,) if with_kernels else (NOTES, NOTES_WITHOUT_KERNELS):
        if path.exists():
            notes.update(json.loads(path.read_text(encoding="utf-8")))
    return notes


def _write(
    out: Path,
    results: list[dict[str, Any]],
    report: dict[str, Any],
    seconds: float,
    baseline: float,
    jobs: int = 1,
) -> None:
    pool: dict[str, dict[str, int]] = report["pool"]
    points = sum(sum(kinds.values()) for kinds in pool.values())
    sample = report["sample"]
    killed = sum(1 for r in results if r["status"] == "killed")
    survived = len(results) - killed
    notes = _notes(with_kernels=bool(report["kernels"]))
    justified = sum(1 for r in results if r["status"] == "survived" and _why(r, notes) is not None)
    dead, changing = result_changing(results, notes)
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    kernels_version = report["kernels"]
    mode = (
        f"subpixel-kernels {kernels_version} installed: the compiled kernels run (the lanes kernels, "
        "which they replace, cannot)"
        if kernels_version
        else "subpixel-kernels not installed: the lanes kernels run; `_copy/_compiled.py` is not in the "
        "population"
    )
    lines = [
        "# Mutation score of the conformance matrix",
        "",
        f"Population: **{points} mutation points** in `_plan.py`, `_shuffle.py`, `_fast/` and `_copy/` "
        f"(performance constants and docstrings excluded). Sample: **{sample}** (seed {report['seed']}). "
        f"Run: **{len(results)} of {sample}**; **{killed} killed, {survived} survived** "
        f"({justified} of the survivors justified below, {survived - justified} not yet justified).",
        "",
        f"**Score: {dead} of {changing} result-changing mutants killed "
        f"({100 * dead / max(changing, 1):.0f}%)**, "
        "a survivor counting as result-changing unless its note shows it keeps every result "
        "(equivalent, speed only, or unreachable from any input the library accepts).",
        "",
        f"- Compiled kernels: {mode}.",
        f"- `python conformance/mutate.py` (`nox -s mutation`); {seconds / 60:.1f} minutes in this "
        f"invocation on {os.cpu_count()} cores, {jobs} mutant(s) at a time ({baseline:.0f} s of it for the "
        f"references and the unmutated baselines); load average at the end {load}. No time limit: a run cut "
        "short resumes from the results beside this report.",
        f"- Reduced matrix: families {', '.join(FAMILIES)}; dtypes {', '.join(DTYPES)}; route coverage "
        "enforced; the rows that reach the mutated file (below). Expected results from the definition.",
        "",
        "## Population and sample, per file",
        "",
        "| file | rows | mutation points | sampled | run | killed | survived |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in sorted(pool):
        mine = [r for r in results if r["mutant"]["path"] == path]
        dead = sum(1 for r in mine if r["status"] == "killed")
        count = report["sampled_per_file"].get(path, 0)
        lines.append(
            f"| `{path}` | {', '.join(rows_for(path))} | {sum(pool[path].values())} | {count} | {len(mine)} "
            f"| {dead} | {len(mine) - dead} |"
        )
    kinds: collections.Counter[str] = collections.Counter()
    for per_file in pool.values():
        kinds.update(per_file)
    lines += [
        "",
        "Mutation points by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()) + ".",
        "",
    ]
    lines += ["## Survivors and why", "",
              "| file:line | mutation | change | why it survives | fuzz run on the mutant |",
              "|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        if r["status"] == "survived":
            m = r["mutant"]
            text = str(r.get("mutation") or r["line"]).replace("|", "\\|")
            why = (_why(r, notes) or "not yet justified").replace("|", "\\|")
            lines.append(f"| `{m['path']}:{m['line']}` | {m['kind']} | `{text}` | {why} | {_fuzzed(r)} |")
    lines += ["", "## Every mutant", "", "```json", *(json.dumps(r) for r in results), "```", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


def _why(result: dict[str, Any], notes: dict[str, str]) -> str | None:
    return notes.get(note_key(result))


def note_key(result: dict[str, Any]) -> str:
    """The key of a survivor's note: its file and its change (``before => after``)."""
    change = result.get("mutation") or mutation_text(Mutant(**result["mutant"]))
    return f"{result['mutant']['path']}|{change}"


#: How a note begins, by verdict: a survivor that cannot change a result, and one that can.
SAME_RESULT = ("Equivalent.", "Speed only.", "Unreachable.")
GAP = "Gap."


def result_changing(results: list[dict[str, Any]], notes: dict[str, str]) -> tuple[int, int]:
    """Return ``(killed, result-changing)``: survivors not noted as keeping every result count."""
    killed = sum(1 for r in results if r["status"] == "killed")
    same = sum(
        1 for r in results if r["status"] == "survived" and (_why(r, notes) or "").startswith(SAME_RESULT)
    )
    return killed, len(results) - same


def _fuzzed(result: dict[str, Any]) -> str:
    """The fuzz evidence for a survivor: calls and rows, and whether any call differed."""
    fuzz = result.get("fuzz")
    if not fuzz:
        return "not run"
    rows = ", ".join(fuzz["rows"])
    if fuzz["mismatches"]:
        return f"**differs** ({rows}, seed {fuzz['seed']}): `{fuzz['first'][:160]}` (log `{fuzz['log']}`)"
    return (
        f"{fuzz['calls']:,} calls per row ({rows}, seed {fuzz['seed']}): no difference (log `{fuzz['log']}`)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
