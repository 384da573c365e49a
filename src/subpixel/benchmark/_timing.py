"""Interleaved timing: every repeat runs every candidate once, so drift hits all alike.

The order is a new permutation each repeat (seeded by the repeat's number, so reruns time the
same orders): whatever the previous candidate leaves behind (freed memory the system reclaims,
worker threads still spinning) falls on a different candidate each time. A rotation would not
do: it keeps every candidate behind the same predecessor, and PyTorch's OpenMP workers, still
spinning after its own op, slowed the candidate after it by up to 2x on a 2-core machine.
"""

from __future__ import annotations

import gc
import math
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["calls_per_sample", "interleaved", "order", "spread"]


def calls_per_sample(run: Callable[[], Any], target_s: float) -> int:
    """How many calls make one sample of about ``target_s`` seconds (at least 1)."""
    run()  # warm up: imports, caches, JIT compiles
    once = math.inf
    # The fastest of a few calls: a lone first call can wait milliseconds for sleeping worker
    # threads (PyTorch's OpenMP pool) on a loaded machine, which says nothing of the op.
    for _ in range(5):
        start = time.perf_counter()
        run()
        once = min(once, time.perf_counter() - start)
        if once >= target_s:
            break
    if once >= target_s:
        return 1
    return max(1, min(1_000_000, int(target_s / max(once, 1e-7))))


def interleaved(runs: Sequence[Callable[[], Any]], numbers: Sequence[int], repeats: int) -> list[list[float]]:
    """Seconds per call: ``result[i][k]`` is candidate ``i`` in repeat ``k``."""
    samples: list[list[float]] = [[] for _ in runs]
    enabled = gc.isenabled()
    gc.disable()
    try:
        for k in range(repeats):
            for i in order(len(runs), k):
                run, number = runs[i], numbers[i]
                start = time.perf_counter()
                for _ in range(number):
                    run()
                samples[i].append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return samples


def order(count: int, repeat: int) -> list[int]:
    """Return the order of the ``count`` candidates in repeat ``repeat``: a seeded permutation."""
    indices = list(range(count))
    random.Random(repeat).shuffle(indices)
    return indices


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum, maximum and quartiles of ``values``."""
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "q1": q1, "q3": q3}
