"""How often a plain ``np.copy`` into fresh memory stalls on this machine, and why.

A benchmark whose every output is freshly allocated (as ``python -m subpixel bench`` does) pays
for the page faults of the new memory inside each timed call. This script times ``--copies``
copies of ``--mib`` MiB with NumPy alone (no subpixel, no other library), and for each call more
than ``--slow`` times the median it prints the wall and CPU time of the call and what
``/proc/vmstat`` counted during it (page faults, huge-page faults, compaction stalls). A call
whose CPU time matches its wall time and whose page faults are 4 KiB ones by the thousand was
slowed by the kernel (or the hypervisor under it) supplying memory, not by the copy: such a call
distorts any ratio measured in it, which is why the benchmarks quote medians of paired runs.

    python benchmarks/copy_stalls.py
    python benchmarks/copy_stalls.py --mib 256 --copies 100

Linux only (``/proc/vmstat``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

COUNTERS = ("pgfault", "thp_fault_alloc", "thp_fault_fallback", "compact_stall", "allocstall_normal")


def _vmstat() -> dict[str, int]:
    counts = {}
    for line in Path("/proc/vmstat").read_text().splitlines():
        name, value = line.split()
        counts[name] = int(value)
    return counts


def main(argv: list[str] | None = None) -> int:
    """Time the copies and print the stalled ones with their kernel counters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=32, help="size of each copy in MiB (default 32)")
    parser.add_argument("--copies", type=int, default=300, help="number of copies (default 300)")
    parser.add_argument("--slow", type=float, default=4.0, help="a stall: this many medians (default 4)")
    args = parser.parse_args(argv)
    source = np.ones(args.mib << 20, np.uint8)
    calls: list[tuple[float, float, dict[str, int]]] = []
    for _ in range(args.copies):
        before, started, cpu = _vmstat(), time.perf_counter(), time.process_time()
        copy = np.copy(source)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = _vmstat()
        calls.append((wall, cpu, {k: after.get(k, 0) - before.get(k, 0) for k in COUNTERS}))
        del copy
    median = statistics.median(wall for wall, _, _ in calls)
    stalls = [call for call in calls if call[0] > args.slow * median]
    faults = statistics.median(call[2]["pgfault"] for call in calls)
    print(
        f"{args.copies} copies of {args.mib} MiB into fresh memory: median {median * 1e3:.2f} ms "
        f"({faults:.0f} page faults), max {max(w for w, _, _ in calls) * 1e3:.1f} ms; "
        f"{len(stalls)} over {args.slow:g}x the median; load average "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    for wall, cpu, counts in stalls:
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        print(f"  {wall * 1e3:7.1f} ms wall, {cpu * 1e3:7.1f} ms CPU ({wall / median:.0f}x): {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
