"""``python -m subpixel bench``: time subpixel against a copy of the same bytes and PyTorch's op.

Every repeat runs every candidate once (interleaved, in an order that rotates), and each
ratio is taken within one repeat, so load on the machine shifts numerator and denominator
alike; the table shows the median ratio with its minimum and maximum over the repeats. The
copy ratio compares with ``np.copy`` of the same bytes (the memory-copy limit); the JSON also
holds each candidate's ratio to its own library's copy (``tensor.clone``, a jitted
``jnp.copy``).
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from subpixel.benchmark import _cases, _memory, _report, _timing

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m subpixel bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip the >1 GB shapes, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per case (default 7, quick 3)")
    parser.add_argument("--ops", default="shuffle,unshuffle")
    parser.add_argument("--dtypes", default=",".join(_cases.DTYPES))
    parser.add_argument("--factors", default="2,3,4")
    parser.add_argument("--shapes", default="all", help="comma list of shape names (see --list) or 'all'")
    parser.add_argument("--list", action="store_true", help="list the shape names and exit")
    parser.add_argument("--memory", action="store_true", help="measure peak memory of the large cases")
    parser.add_argument("--json", type=Path, default=None, help="write all samples and ratios here")
    parser.add_argument("--plot", type=Path, default=None, help="draw the copy ratios here (PNG)")
    return parser


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
                f"{name}: geometric mean over {len(ratios)} large cases: copy ratio {gm:.2f}, "
                f"ratio to its own library's copy {_report.geometric_mean(own):.2f}"
            )
        torch_ratios = [
            (r["candidates"][name]["torch_ratio"]["median"], r)
            for r in results
            if name in r["candidates"] and r["candidates"][name]["torch_ratio"] is not None
        ]
        if torch_ratios:
            worst, case = min(torch_ratios, key=lambda item: item[0])
            lines.append(
                f"{name}: lowest torch ratio {worst:.2f} ({case['op']} {case['name']} {case['dtype']} "
                f"r={case['factor']})"
            )
    for r in results:
        c = r["candidates"]
        if r["name"].startswith("tiny"):
            label = f"tiny {r['op']} {r['dtype']} r={r['factor']}"
            if "subpixel torch" in c and "torch native" in c:
                ratio = c["subpixel torch"]["seconds"]["median"] / c["torch native"]["seconds"]["median"]
                lines.append(f"{label}: subpixel torch per call = {ratio:.2f}x torch native")
            naive = c["numpy reshape/transpose/copy"]["seconds"]["median"]
            ratio = c["subpixel numpy"]["seconds"]["median"] / naive
            lines.append(f"{label}: subpixel numpy per call = {ratio:.2f}x bare reshape/transpose/copy")
        if "subpixel jax" in c:
            ratio = c["jax.jit naive"]["seconds"]["median"] / c["subpixel jax"]["seconds"]["median"]
            if ratio < 0.95:
                lines.append(
                    f"{r['op']} {r['name']} {r['dtype']} r={r['factor']}: subpixel jax at {ratio:.2f}x "
                    "the speed of jax.jit naive"
                )
    return lines


def _memory_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
            print(
                f"memory {r['op']:9} {r['name']:22} {name:16} peak growth {peak['extra'] / 2**20:8.1f} MiB"
                f" for a {peak['out'] / 2**20:8.1f} MiB result",
                flush=True,
            )
    return rows


def _environment() -> dict[str, Any]:
    import os

    versions: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("torch", "jax", "einops"):
        if _cases.installed(module):
            versions[module] = __import__(module).__version__
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "machine": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": load,
        "versions": versions,
        "gpu": "none (CPU-only machine: GPU targets not measured)",
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0, or 2 for bad arguments."""
    args = _parser().parse_args(argv)
    if args.list:
        print("\n".join(_cases.SHAPES))
        return 0
    shapes = tuple(_cases.SHAPES) if args.shapes == "all" else tuple(args.shapes.split(","))
    unknown = [s for s in shapes if s not in _cases.SHAPES]
    if unknown:
        print(f"unknown shape names {unknown}; choose from {list(_cases.SHAPES)}", file=sys.stderr)
        return 2
    if args.quick:
        shapes = tuple(s for s in shapes if s not in _cases.HUGE)
    repeats = args.repeats or (3 if args.quick else 7)
    target_s = 0.005 if args.quick else 0.02
    todo = _cases.cases(
        ops=tuple(args.ops.split(",")),
        dtypes=tuple(args.dtypes.split(",")),
        factors=tuple(int(f) for f in args.factors.split(",")),
        shapes=shapes,
    )
    # The >1 GB shape runs once per op, float32 and r=2 only (memory is shared).
    todo = [c for c in todo if c.name not in _cases.HUGE or (c.dtype == "float32" and c.factor == 2)]
    env = _environment()
    print(f"# subpixel benchmark: {len(todo)} cases, {repeats} repeats; {env['versions']}", flush=True)
    results = []
    started = time.perf_counter()
    for case in todo:
        case_repeats = min(repeats, 3) if case.name in _cases.HUGE else repeats
        result = _run_case(case, case_repeats, target_s)
        results.append(result)
        sub = result["candidates"]
        print(
            f"{case.op:9} {case.name:22} {case.dtype:7} r={case.factor}: copy ratio numpy "
            f"{sub['subpixel numpy']['copy_ratio']['median']:.2f}"
            + (
                f", torch {sub['subpixel torch']['copy_ratio']['median']:.2f}"
                f" (vs native {sub['subpixel torch']['torch_ratio']['median']:.2f}x)"
                if "subpixel torch" in sub and sub["subpixel torch"]["torch_ratio"] is not None
                else ""
            ),
            flush=True,
        )
    memory = _memory_rows(results) if args.memory else []
    print()
    print(_report.table(results))
    print()
    print("\n".join(_summary(results)))
    payload = {
        "environment": env,
        "repeats": repeats,
        "elapsed_s": time.perf_counter() - started,
        "results": results,
        "memory": memory,
        "summary": _summary(results),
    }
    if args.json is not None:
        _report.write_json(args.json, payload)
        print(f"wrote {args.json}")
    if args.plot is not None:
        _report.plot(
            args.plot,
            results,
            ", ".join(
                ["copy ratio (median, interquartile range over repeats)", *filter(None, [env["processor"]])]
            ),
        )
        print(f"wrote {args.plot}")
    return 0
