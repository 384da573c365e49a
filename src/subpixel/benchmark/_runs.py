"""Repeated runs of a named case set: paired ratios per run, medians and spread over the runs.

One run times every case of the set once: every candidate of a case is called in turn, in the
orders of a balanced Latin square (whole squares: ``repeats`` is rounded up so that every
candidate is timed after each other one equally often, see :mod:`subpixel.benchmark._timing`),
and each ratio (reference time / subpixel time, higher is
better) is taken within one repeat, so load shifts both times alike; a run keeps the median
of those paired ratios. The set is run ``runs`` times, one run after the other, and each
case's figure is the median of its run medians with their minimum and maximum: the spread
from run to run, which on a shared machine is the honest error bar.
"""

from __future__ import annotations

import gc
import os
import statistics
from collections.abc import Callable
from typing import Any

from subpixel.benchmark import _timing
from subpixel.benchmark._report import geometric_mean
from subpixel.benchmark._sets import REFERENCES, SetCase, candidates, make_input

__all__ = ["PATHS", "run_case", "run_set", "summarise"]

#: The subpixel candidates whose ratios the set reports.
PATHS = ("subpixel numpy", "subpixel torch")


def _load() -> list[float] | None:
    return [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None


def run_case(case: SetCase, repeats: int, target_s: float) -> dict[str, Any]:
    """Time one case once: seconds per candidate and the median paired ratio per path and reference."""
    x = make_input(case)
    found = candidates(case, x)
    names = list(found)
    calls = [found[name] for name in names]
    numbers = [_timing.calls_per_sample(call, target_s) for call in calls]
    square = _timing.square_size(len(calls))
    repeats = -(-repeats // square) * square
    samples = dict(zip(names, _timing.interleaved(calls, numbers, repeats), strict=True))
    ratios: dict[str, dict[str, float]] = {}
    for path in PATHS:
        if path not in samples:
            continue
        ratios[path] = {
            key: statistics.median(ref / t for ref, t in zip(samples[name], samples[path], strict=True))
            for key, name in REFERENCES.items()
            if name in samples
        }
    result = {
        "repeats": repeats,
        "seconds": {name: statistics.median(times) for name, times in samples.items()},
        "ratios": ratios,
    }
    del x, found, calls
    gc.collect()
    return result


def run_set(
    cases: tuple[SetCase, ...],
    runs: int,
    repeats: int,
    target_s: float,
    progress: Callable[[int, str], None],
) -> list[dict[str, Any]]:
    """Run the set ``runs`` times; return one record per run (its load and its case results)."""
    records = []
    done = 0
    for run in range(runs):
        record: dict[str, Any] = {"load_at_start": _load(), "cases": []}
        for case in cases:
            result = run_case(case, repeats, target_s)
            record["cases"].append(result)
            done += 1
            ratio = result["ratios"]
            text = ", ".join(f"{path.split()[1]} {r['copy']:.2f}" for path, r in ratio.items())
            progress(done, f"run {run + 1}: {case.label}: copy ratio {text}")
        record["load_at_end"] = _load()
        records.append(record)
    return records


def summarise(cases: tuple[SetCase, ...], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per case, path and reference: median, min and max over the runs; the same for geometric means."""
    rows = []
    for index, case in enumerate(cases):
        per_run = [record["cases"][index] for record in records]
        row: dict[str, Any] = {
            "label": case.label,
            "op": case.op,
            "shape": list(case.shape),
            "dtype": case.dtype,
            "factor": case.factor,
            "layout": case.layout,
            "bytes": case.nbytes,
            "copy_seconds": _timing.spread([r["seconds"]["np.copy"] for r in per_run]),
            "ratios": {},
        }
        for path in PATHS:
            if path not in per_run[0]["ratios"]:
                continue
            row["ratios"][path] = {
                key: _timing.spread([r["ratios"][path][key] for r in per_run])
                for key in per_run[0]["ratios"][path]
            }
        rows.append(row)
    means: dict[str, Any] = {}
    for path in PATHS:
        if path not in records[0]["cases"][0]["ratios"]:
            continue
        means[path] = {}
        for key in records[0]["cases"][0]["ratios"][path]:
            per_run = [[r["ratios"][path][key] for r in record["cases"]] for record in records]
            means[path][key] = {
                "geomean": _timing.spread([geometric_mean(values) for values in per_run]),
                "lowest": _timing.spread([min(values) for values in per_run]),
            }
    loads = [record["load_at_start"] for record in records] + [records[-1]["load_at_end"]]
    return {"rows": rows, "means": means, "loads": loads}
