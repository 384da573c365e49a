"""Mutation testing of the shuffle's core with the conformance matrix as the only test.

Samples mutants (one small change each: a comparison, an arithmetic operator, a boolean
operator, an integer constant, a negated condition, a dropped ``not``) over ``_plan.py``,
``_shuffle.py`` and ``_fast/``, leaving out performance constants (module-level upper-case
assignments: block sizes, thresholds) and docstrings. Each mutant is written into a copy of the
package and the reduced matrix runs on it in a fresh process, restricted to the backends the
mutated file serves but still reaching every route of them (route coverage enforced). A mutant
is *killed* when the matrix fails (or crashes, or times out) and *survives* when it passes.

    python conformance/mutate.py --count 150 --out conformance/reports/mutation.md

Run it through ``nox -s mutation``; it takes about an hour on two cores.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "subpixel"
TARGETS = ("_plan.py", "_shuffle.py", "_fast")

#: The backends whose rows check a mutant of each file (the others cannot reach its code).
BACKENDS = {
    "_fast/numpy.py": "numpy,torch",
    "_fast/_blocked.py": "numpy,torch",
    "_fast/_pages.py": "torch",
    "_fast/torch.py": "torch",
    "_fast/_torch_plain.py": "torch",
    "_fast/dask.py": "dask",
    "_fast/jax.py": "jax",
    "_fast/jax_sharding.py": "jax",
}
ALL_BACKENDS = "numpy,array_api_strict,torch,jax,dask"
FAMILIES = "factors,unshuffle,ndim,zero_size,layouts,channels_last,dcr,nd_tuple,sizes,autodiff"
DTYPES = "uint8,int16,float16,float32,float64,complex128"

RUNNER = """
import sys
from subpixel.conformance import run_matrix
matrix = run_matrix(sys.argv[1], ["cpu"], families=sys.argv[2].split(","), dtypes=sys.argv[3].split(","),
                    require_routes=True)
for row, family, cell in matrix.failed_cells[:1]:
    print("killed by", row.backend, row.dtype, family, cell.first_failure["case"])
for problem in matrix.problems[:1]:
    print("killed by", problem)
raise SystemExit(0 if matrix.ok else 1)
"""

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
    files = []
    for target in TARGETS:
        path = PACKAGE / target
        files += sorted(path.glob("*.py")) if path.is_dir() else [path]
    for path in files:
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("_fast/") and relative not in BACKENDS:
            continue  # a fast path without rows here (TensorFlow's runs in its own rows)
        tree = ast.parse(path.read_text(encoding="utf-8"))
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


def mutated_source(mutant: Mutant) -> tuple[str, str]:
    """Return ``(original line, mutated module source)``."""
    source = (PACKAGE / mutant.path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    order = {id(node): index for index, node in enumerate(ast.walk(tree))}
    mutated = ast.fix_missing_locations(_Apply(mutant, order).visit(tree))
    return source.splitlines()[mutant.line - 1].strip(), ast.unparse(mutated)


def _matrix(backends: str, workdir: Path, timeout: float) -> tuple[int, str]:
    """Run the reduced matrix on ``backends`` with the package in ``workdir``: (exit status, detail)."""
    env = dict(os.environ, PYTHONPATH=str(workdir), KERAS_BACKEND="jax")
    if "jax" in backends.split(","):  # several CPU devices, so that the sharded route runs
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    command = [sys.executable, "-c", RUNNER, backends, FAMILIES, DTYPES]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    detail = next((line for line in lines if line.startswith("killed by")), lines[-1] if lines else "")
    return done.returncode, detail[:200]


def run(mutant: Mutant, workdir: Path, timeout: float) -> tuple[str, str, float]:
    """Run the reduced matrix on one mutant; return ``(status, detail, seconds)``."""
    target = workdir / "subpixel" / mutant.path
    original = target.read_text(encoding="utf-8")
    _, source = mutated_source(mutant)
    target.write_text(source, encoding="utf-8")
    started = time.perf_counter()
    try:
        status, detail = _matrix(BACKENDS.get(mutant.path, ALL_BACKENDS), workdir, timeout)
        seconds = time.perf_counter() - started
        return ("survived", "", seconds) if status == 0 else ("killed", detail, seconds)
    except subprocess.TimeoutExpired:
        return "killed", f"timed out after {timeout:.0f} s", time.perf_counter() - started
    finally:
        target.write_text(original, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Sample mutants, run them, write the report; exit 0 (the score is information)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=150, help="mutants to sample (default 150)")
    parser.add_argument("--seed", type=int, default=20261201, help="sampling seed")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per mutant")
    parser.add_argument("--out", type=Path, default=ROOT / "conformance" / "reports" / "mutation.md")
    parser.add_argument("--list", action="store_true", help="list the sampled mutants and stop")
    args = parser.parse_args(argv)
    pool = candidates()
    # Random order, so that a run stopped early is still a fair sample.
    sample = random.Random(args.seed).sample(pool, min(args.count, len(pool)))
    if args.list:
        for m in sample:
            print(f"{m.path}:{m.line} {m.kind}: {mutated_source(m)[0]}")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="subpixel-mutants-") as folder:
        workdir = Path(folder)
        shutil.copytree(PACKAGE, workdir / "subpixel", ignore=shutil.ignore_patterns("__pycache__"))
        # The unmutated package must pass every reduced matrix, or a "kill" would mean nothing.
        for backends in sorted({BACKENDS.get(m.path, ALL_BACKENDS) for m in sample}):
            code, detail = _matrix(backends, workdir, args.timeout * 2)
            print(f"baseline {backends}: {'passed' if code == 0 else 'FAILED ' + detail}", flush=True)
            if code != 0:
                return 1
        for number, mutant in enumerate(sample, 1):
            status, detail, seconds = run(mutant, workdir, args.timeout)
            line = mutated_source(mutant)[0]
            entry = {"mutant": mutant.__dict__, "line": line, "status": status, "detail": detail}
            results.append({**entry, "seconds": round(seconds, 1)})
            where = f"{mutant.path}:{mutant.line} {mutant.kind}"
            print(f"[{number}/{len(sample)}] {status:8} {where} ({seconds:.0f} s)", flush=True)
            _write(args.out, results, len(pool), len(sample))
    return 0


def _write(out: Path, results: list[dict[str, object]], pool: int, sample: int) -> None:
    killed = sum(1 for r in results if r["status"] == "killed")
    lines = [
        "# Mutation score of the conformance matrix",
        "",
        f"{len(results)} of {sample} sampled mutants run (from {pool} mutation points in `_plan.py`, "
        f"`_shuffle.py` and `_fast/`, performance constants excluded); **{killed} killed, "
        f"{len(results) - killed} survived: score {killed / max(1, len(results)):.0%}**.",
        f"Load average at the end: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}.",
        "",
        "## Survivors",
        "",
        "| file:line | mutation | original line |",
        "|---|---|---|",
    ]
    for r in results:
        if r["status"] == "survived":
            m = r["mutant"]
            assert isinstance(m, dict)
            text = str(r["line"]).replace("|", "\\|")
            lines.append(f"| `{m['path']}:{m['line']}` | {m['kind']} | `{text}` |")
    lines += ["", "## Every mutant", "", "```json", json.dumps(results, indent=0), "```", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
