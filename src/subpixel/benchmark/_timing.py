"""Interleaved timing: every repeat runs every candidate once, so drift hits all alike.

Whatever a candidate leaves behind (freed memory the system reclaims, worker threads still
spinning) falls on the candidate timed after it: PyTorch's OpenMP workers, spinning after its
own op or ``Tensor.clone``, slowed the next candidate by up to 2x on a 2-core machine. So the
orders are the rows of a balanced Latin square (Williams' design): over one whole square
(:func:`square_size` repeats) every candidate is timed right after each other candidate
equally often, and each repeat first calls its leading candidate once untimed, so that the
previous repeat's last candidate precedes no timed call. Orders that were merely shuffled per repeat put one
path after PyTorch's multi-threaded calls 5 times in 7 and the other path 3 times in 7.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["calls_per_sample", "interleaved", "order", "spread", "square_size"]


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
            indices = order(len(runs), k)
            runs[indices[0]]()  # untimed: the last call of the previous repeat precedes no timed one
            for i in indices:
                run, number = runs[i], numbers[i]
                start = time.perf_counter()
                for _ in range(number):
                    run()
                samples[i].append((time.perf_counter() - start) / number)
    finally:
        if enabled:
            gc.enable()
    return samples


def square_size(count: int) -> int:
    """Repeats in one balanced square of ``count`` candidates: ``count``, or twice that when odd."""
    return count if count % 2 == 0 else 2 * count


def order(count: int, repeat: int) -> list[int]:
    """Return the order of the ``count`` candidates in repeat ``repeat``: a row of Williams' design.

    Row 0 is ``0, 1, count - 1, 2, count - 2, ...`` and row ``r`` adds ``r`` to each (modulo
    ``count``); for an odd ``count`` rows ``count`` to ``2 * count - 1`` are those rows reversed.
    Over :func:`square_size` consecutive repeats each ordered pair of different candidates is
    adjacent equally often (once for an even ``count``, twice for an odd one).
    """
    first = [0, *((step + 1) // 2 if step % 2 else count - step // 2 for step in range(1, count))]
    row = repeat % square_size(count)
    indices = [(i + row) % count for i in first]
    return indices if row < count else indices[::-1]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, minimum, maximum and quartiles of ``values``."""
    ordered = sorted(values)
    if len(ordered) >= 2:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = q3 = ordered[0]
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1], "q1": q1, "q3": q3}
