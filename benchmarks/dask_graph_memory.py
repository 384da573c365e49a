"""Resident memory of a process that shuffles Dask arrays of many chunks, call after call.

Shuffles one input with several chunkings, each ``--repeats`` times in a row, and prints the
resident memory after each call (garbage collected and glibc's free heap trimmed, as the fuzz
report samples it). A leak grows with every repeat of the same graph; a bounded cache grows over
the first repeats and stops; an allocator's high-water mark rises with the first graph larger
than any before it and stays level for smaller ones. The last column is the least-squares slope
over the second half of the repeats. The graph sizes run from hundreds to tens of
thousands of tasks (the synchronous scheduler, one thread).

    python benchmarks/dask_graph_memory.py --repeats 40
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import os
import time
import warnings
from importlib import metadata

#: (chunks, label): one float32 input of (4, 16, 240, 240), 14 MiB, shuffled by 2.
CHUNKINGS = (
    ((1, 4, 60, 60), "256 chunks"),
    ((1, 4, 16, 16), "3,600 chunks"),
    ((1, 4, 8, 8), "14,400 chunks"),
    ((1, 4, 16, 16), "3,600 chunks again"),
)


def held_mib() -> float:
    """Resident memory after a garbage collection and ``malloc_trim`` (Linux)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40, help="calls per chunking (default 40)")
    args = parser.parse_args()
    if args.repeats < 4:
        parser.error(f"--repeats must be at least 4, not {args.repeats}")

    import dask
    import dask.array as da
    import numpy as np

    import subpixel

    dask.config.set(scheduler="synchronous")
    warnings.simplefilter("ignore")  # the rechunking warning of channel chunks that split groups
    x = np.arange(4 * 16 * 240 * 240, dtype=np.float32).reshape(4, 16, 240, 240)
    print(f"load average {' / '.join(f'{v:.2f}' for v in os.getloadavg())}, dask {metadata.version('dask')}")
    print("| input | tasks | after call 1 | halfway | after the last call | growth per call, second half |")
    print("|---|---|---|---|---|---|")
    for chunks, label in CHUNKINGS:
        held = []
        tasks = 0
        started = time.perf_counter()
        for _ in range(args.repeats):
            y = subpixel.pixel_shuffle(da.from_array(x, chunks=chunks), 2)
            tasks = len(y.__dask_graph__())
            y.compute()
            del y
            held.append(held_mib())
        settled = args.repeats // 2
        slope = np.polyfit(np.arange(settled, args.repeats), held[settled:], 1)[0]
        print(
            f"| {label} | {tasks:,} | {held[0]:.1f} MiB | {held[settled]:.1f} MiB | {held[-1]:.1f} MiB "
            f"| {slope:+.2f} MiB ({time.perf_counter() - started:.0f} s) |",
            flush=True,
        )


if __name__ == "__main__":
    main()
