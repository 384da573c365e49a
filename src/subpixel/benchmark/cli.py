"""``python -m subpixel bench``: time subpixel against a copy of the same bytes and PyTorch's op.

Every repeat runs every candidate once (interleaved, in the orders of a balanced Latin
square), and each ratio is taken within one repeat, so load on the machine shifts numerator and
denominator alike; the table shows the median ratio with its minimum and maximum over the repeats. The
copy ratio compares with ``np.copy`` of the same bytes (the memory-copy limit); the JSON also
holds each candidate's ratio to its own library's copy (``tensor.clone``, a jitted
``jnp.copy``).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from typing import Any

import numpy as np

from subpixel._cli import (
    Progress,
    UsageError,
    check_writable_file,
    choose,
    load_text,
    run_guarded,
)
from subpixel._commands import BENCH, BenchNames, bench_parser
from subpixel._copy import _compiled
from subpixel.benchmark import _cases, _memory, _report, _runs, _set_report, _sets, _timing

__all__ = ["main"]


PROG = BENCH

#: Dtypes the benchmark can time (NumPy dtypes; every candidate library takes them).
DTYPES = tuple(
    dict.fromkeys(
        (
            *_cases.DTYPES,
            "float32",
            "float64",
            "float16",
            "uint8",
            "uint16",
            "int8",
            "int16",
            "int32",
            "int64",
        )
    )
)
OPS = ("shuffle", "unshuffle")
#: Short shape names: the first word of each name in ``_cases.SHAPES`` ("tiny", "16x256x128x128", ...).
SHORT_SHAPES = {name.split()[0]: name for name in _cases.SHAPES}


def _parser() -> argparse.ArgumentParser:
    return bench_parser(BenchNames(dtypes=DTYPES, default_dtypes=_cases.DTYPES, shapes=list(SHORT_SHAPES)))


def _factors(value: str) -> tuple[int, ...]:
    factors = []
    for part in (p.strip() for p in value.split(",")):
        if not part.isdigit() or int(part) <= 0:
            msg = f"--factors: expected comma-separated positive ints, got {part!r}"
            raise UsageError(msg)
        factors.append(int(part))
    return tuple(dict.fromkeys(factors))


def _check(
    args: argparse.Namespace,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...], tuple[str, ...]]:
    """Check every option before anything runs; return ops, dtypes, factors and shape names."""
    ops = tuple(choose("--ops", args.ops, OPS))
    dtypes = tuple(choose("--dtypes", args.dtypes, DTYPES))
    factors = _factors(args.factors)
    aliases = {**{name: name for name in _cases.SHAPES}, **SHORT_SHAPES}
    shapes = tuple(
        choose("--shapes", args.shapes, list(_cases.SHAPES), aliases=aliases, shown=list(SHORT_SHAPES))
    )
    if args.repeats is not None and args.repeats <= 0:
        msg = f"--repeats: expected a positive int, got {args.repeats}"
        raise UsageError(msg)
    if args.json is not None:
        check_writable_file("--json", args.json)
    if args.plot is not None:
        if not _cases.installed("matplotlib"):
            msg = "--plot needs matplotlib, which is not installed: pip install matplotlib"
            raise UsageError(msg)
        check_writable_file("--plot", args.plot)
    return ops, dtypes, factors, shapes


def _input(case: _cases.Case) -> np.ndarray[Any, Any]:
    if case.nbytes < 1 << 20:
        rng = np.random.default_rng(0)
        return rng.integers(0, 255, size=case.shape).astype(case.dtype)
    return np.ones(case.shape, dtype=case.dtype)


def _run_case(case: _cases.Case, repeats: int, target_s: float) -> dict[str, Any]:
    x = _input(case)
    found = _cases.candidates(case, x)
    numbers = [_timing.calls_per_sample(c.run, target_s) for c in found]
    samples = _timing.interleaved([c.run for c in found], numbers, repeats)
    by_name = dict(zip((c.name for c in found), samples, strict=True))
    native = by_name.get("torch native")
    result: dict[str, Any] = {
        "op": case.op,
        "name": case.name,
        "shape": list(case.shape),
        "dtype": case.dtype,
        "factor": case.factor,
        "bytes": case.nbytes,
        "candidates": {},
    }
    copy = by_name["np.copy"]
    for cand, times, number in zip(found, samples, numbers, strict=True):
        own = by_name[cand.own_copy]
        entry: dict[str, Any] = {
            "calls_per_sample": number,
            "samples_s": times,
            "seconds": _timing.spread(times),
            "copy_ratio": _timing.spread([c / t for c, t in zip(copy, times, strict=True)]),
            "own_copy": cand.own_copy,
            "own_copy_ratio": _timing.spread([c / t for c, t in zip(own, times, strict=True)]),
            "torch_ratio": None,
        }
        if native is not None:
            entry["torch_ratio"] = _timing.spread([n / t for n, t in zip(native, times, strict=True)])
        result["candidates"][cand.name] = entry
    del x, found
    gc.collect()
    return result


def _summary(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    large = [r for r in results if r["name"] in _cases.LARGE]
    for name in ("subpixel numpy", "subpixel torch", "subpixel jax"):
        ratios = [r["candidates"][name]["copy_ratio"]["median"] for r in large if name in r["candidates"]]
        if ratios:
            gm = _report.geometric_mean(ratios)
            own = [
                r["candidates"][name]["own_copy_ratio"]["median"] for r in large if name in r["candidates"]
            ]
            lines.append(
                f"{name}: geometric mean over {len(ratios)} large cases (copy time / subpixel time, higher "
                f"is better): vs np.copy {gm:.2f}, vs its library's copy {_report.geometric_mean(own):.2f}"
            )
        torch_ratios = [
            (r["candidates"][name]["torch_ratio"]["median"], r)
            for r in results
            if name in r["candidates"] and r["candidates"][name]["torch_ratio"] is not None
        ]
        if torch_ratios:
            worst, case = min(torch_ratios, key=lambda item: item[0])
            lines.append(
                f"{name}: lowest speed vs torch native {worst:.2f} (torch time / subpixel time; "
                f"{case['op']} {case['name']} {case['dtype']} r={case['factor']})"
            )
    for r in results:
        c = r["candidates"]
        if r["name"].startswith("tiny"):
            label = f"tiny {r['op']} {r['dtype']} r={r['factor']}"
            # Speeds, as every ratio here: the other's time / subpixel's time (higher is better).
            if "subpixel torch" in c and "torch native" in c:
                ratio = c["torch native"]["seconds"]["median"] / c["subpixel torch"]["seconds"]["median"]
                lines.append(f"{label}: subpixel torch speed vs torch native {ratio:.2f} (higher is better)")
            naive = c["numpy reshape/transpose/copy"]["seconds"]["median"]
            ratio = naive / c["subpixel numpy"]["seconds"]["median"]
            lines.append(
                f"{label}: subpixel numpy speed vs bare reshape/transpose/copy {ratio:.2f} (higher is better)"
            )
        if "subpixel jax" in c:
            ratio = c["jax.jit naive"]["seconds"]["median"] / c["subpixel jax"]["seconds"]["median"]
            if ratio < 0.95:
                lines.append(
                    f"{r['op']} {r['name']} {r['dtype']} r={r['factor']}: subpixel jax speed vs jax.jit "
                    f"naive {ratio:.2f} (higher is better)"
                )
    return lines


def _memory_rows(results: list[dict[str, Any]], bar: Progress) -> list[dict[str, Any]]:
    rows = []
    names = ["np.copy", "subpixel numpy", "einops numpy"]
    if _cases.installed("torch"):
        names += ["subpixel torch", "torch native"]
    for r in results:
        if r["name"] not in _cases.LARGE or r["dtype"] != "float32" or r["factor"] != 2:
            continue
        for name in names:
            peak = _memory.peak_extra_bytes(name, r["op"], tuple(r["shape"]), r["dtype"], r["factor"])
            rows.append({"op": r["op"], "name": r["name"], "candidate": name, **peak})
            bar.update(
                bar.done,
                f"memory {r['op']} {r['name']} {name}: peak growth {peak['extra'] / 2**20:.1f} MiB"
                f" for a {peak['out'] / 2**20:.1f} MiB result",
            )
    return rows


def _environment() -> dict[str, Any]:
    import os

    versions: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("torch", "jax", "einops", "subpixel_kernels"):
        if _cases.installed(module):
            versions[module] = __import__(module).__version__
    load = [round(value, 2) for value in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {
        "machine": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": load,
        "versions": versions,
        "gpu": "none (CPU-only machine: GPU targets not measured)",
        "compiled_kernels": _compiled.reason_unavailable() or "subpixel-kernels active (the speed extra)",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0, or 2 for bad arguments."""
    return run_guarded(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.list:
        print("\n".join(f"{short:16} {name}" for short, name in SHORT_SHAPES.items()))
        return 0
    ops, dtypes, factors, shapes = _check(args)
    if args.set != "standard":
        return _main_set(args)
    if args.quick:
        shapes = tuple(s for s in shapes if s not in _cases.HUGE)
    repeats = args.repeats or (3 if args.quick else 7)
    target_s = 0.005 if args.quick else 0.02
    todo = _cases.cases(ops=ops, dtypes=dtypes, factors=factors, shapes=shapes)
    # The >1 GB shape runs once per op, float32 and r=2 only (memory is shared).
    todo = [c for c in todo if c.name not in _cases.HUGE or (c.dtype == "float32" and c.factor == 2)]
    if not todo:
        msg = "no case to run: the >1 GB shape runs for float32 and factor 2 only, and --quick skips it"
        raise UsageError(msg)
    env = _environment()
    bar = Progress("bench", len(todo), enabled=not args.quiet)
    bar.update(0, f"{len(todo)} cases, {repeats} repeats; {env['versions']}")
    results = []
    started = time.perf_counter()
    try:
        for done, case in enumerate(todo, 1):
            case_repeats = min(repeats, 3) if case.name in _cases.HUGE else repeats
            result = _run_case(case, case_repeats, target_s)
            results.append(result)
            bar.update(done, _case_line(case, result))
        memory = _memory_rows(results, bar) if args.memory else []
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    summary = _summary(results) + [
        f"memory {m['op']} {m['name']} {m['candidate']}: peak growth {m['extra'] / 2**20:.1f} MiB"
        f" for a {m['out'] / 2**20:.1f} MiB result"
        for m in memory
    ]
    payload = {
        "environment": env,
        "repeats": repeats,
        "elapsed_s": elapsed,
        "results": results,
        "memory": memory,
        "summary": summary,
    }
    written = []
    if args.json is not None:
        _report.write_json(args.json, payload)
        written.append(str(args.json))
    if args.plot is not None:
        title = ", ".join(
            ["copy ratio (median, interquartile range over repeats)", *filter(None, [env["processor"]])]
        )
        _report.plot(args.plot, results, title)
        written.append(str(args.plot))
    if args.format == "markdown":
        print(_report.table(results))
    elif args.format == "json":
        json.dump(payload, sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif not args.quiet:
        print("\n".join(summary))
    final = f"bench: {len(todo)} cases in {elapsed:.0f} s, load average {load_text(env['loadavg_at_start'])}"
    final += f"; wrote {' and '.join(written)}" if written else "; --json PATH keeps every sample"
    print(final, file=sys.stdout if args.format == "summary" else sys.stderr)
    return 0


def _case_line(case: _cases.Case, result: dict[str, Any]) -> str:
    sub = result["candidates"]
    line = f"{case.op} {case.name} {case.dtype} r={case.factor}: copy ratio numpy "
    line += f"{sub['subpixel numpy']['copy_ratio']['median']:.2f}"
    if "subpixel torch" in sub and sub["subpixel torch"]["torch_ratio"] is not None:
        line += f", torch {sub['subpixel torch']['copy_ratio']['median']:.2f}"
        line += f" (vs native {sub['subpixel torch']['torch_ratio']['median']:.2f}x)"
    return line


def _main_set(args: argparse.Namespace) -> int:
    """Run a named set (``--set users``/``cubes``) ``--runs`` times; print its table."""
    cases = _sets.SETS[args.set]
    runs = args.runs or 3
    repeats = args.repeats or 6  # rounded up to whole balanced squares per case (6 with torch)
    target_s = 0.005 if args.quick else 0.02
    env = _environment()
    bar = Progress("bench", runs * len(cases), enabled=not args.quiet)
    bar.update(0, f"set {args.set}: {len(cases)} cases x {runs} runs, {repeats} repeats; {env['versions']}")
    started = time.perf_counter()
    try:
        records = _runs.run_set(cases, runs, repeats, target_s, bar.update)
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    summary = _runs.summarise(cases, records)
    table = _set_report.table(summary, runs)
    payload = {
        "environment": env,
        "set": args.set,
        "runs": runs,
        "repeats": repeats,
        "elapsed_s": elapsed,
        "records": records,
        "summary": summary,
    }
    written = []
    if args.json is not None:
        _report.write_json(args.json, payload)
        written.append(str(args.json))
    if args.plot is not None:
        title = f"set {args.set}: median over {runs} runs (whiskers: lowest to highest run)"
        _set_report.plot(args.plot, summary, title)
        written.append(str(args.plot))
    if args.format == "json":
        json.dump(payload, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(table)
    final = f"bench: set {args.set}, {len(cases)} cases x {runs} runs in {elapsed:.0f} s"
    final += f"; {env['compiled_kernels']}"
    final += f"; wrote {' and '.join(written)}" if written else ""
    print(final, file=sys.stderr)
    return 0
