"""What the speed extra's compiled kernels cost a user: disk, start-up time and memory.

Needs ``subpixel-kernels`` installed (``pip install ./kernels`` from a clone, or the ``speed``
extra). Prints the installed size of the distribution, and for fresh interpreters (median and
range of ``--runs``) the time and resident memory that loading every kernel adds to a process
that has already imported NumPy and subpixel, and the first and second large copies' times in a
process with the kernels and in one without them (a kernel compiled on first use would show as
a first copy slower than the one without kernels; both pay the engine's own first-call set-up).

    python benchmarks/kernels_cost.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from importlib import metadata
from typing import Any

#: Run in each fresh interpreter (argument: "on", or "off" for the NumPy engine without kernels):
#: load every kernel, then time two copies.
PROBE = """
import json, resource, sys, time
import numpy as np
import subpixel
from subpixel import _routes
from subpixel._copy import _compiled
_compiled.AVAILABLE = sys.argv[1] == "on"
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
kernels = [_compiled.kernel(d, n) for d in ("join", "split") for n in _compiled.LANES]
load = time.perf_counter() - started
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
x = np.ones((1, 64, 512, 512), np.float32)
copies = []
for _ in range(2):
    with _routes.counting() as counter:
        started = time.perf_counter()
        subpixel.pixel_shuffle(x, 2)
        copies.append(time.perf_counter() - started)
print(json.dumps({"load": load, "mib": grown, "loaded": all(kernels) == (sys.argv[1] == "on"),
                  "first": copies[0],
                  "second": copies[1], "routes": sorted(counter)}))
"""


def installed_bytes(name: str) -> int:
    """Bytes on disk of every file the distribution ``name`` installed."""
    files = metadata.distribution(name).files or []
    return sum(os.path.getsize(f.locate()) for f in files if os.path.exists(f.locate()))


def main(argv: list[str] | None = None) -> int:
    """Measure and print the kernels' cost; exit 2 where they are not installed or do not load."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters (default 7)")
    args = parser.parse_args(argv)
    try:
        version = metadata.version("subpixel-kernels")
    except metadata.PackageNotFoundError:
        print("kernels_cost.py: subpixel-kernels is not installed (pip install ./kernels)", file=sys.stderr)
        return 2
    runs: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    for _ in range(args.runs):
        for mode, found in runs.items():  # interleaved, so both see the same machine
            command = [sys.executable, "-c", PROBE, mode]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            found.append(json.loads(done.stdout))
    compiled = [("numpy:compiled-join" in r["routes"]) for r in runs["on"]] + [
        ("numpy:compiled-join" not in r["routes"]) for r in runs["off"]
    ]
    if not all(compiled) or not all(r["loaded"] for found in runs.values() for r in found):
        print(f"kernels_cost.py: the kernels did not load or run as asked: {runs}", file=sys.stderr)
        return 2

    def spread(key: str, scale: float, unit: str, mode: str = "on") -> str:
        values = [r[key] * scale for r in runs[mode]]
        return f"{statistics.median(values):.2f} {unit} [{min(values):.2f}-{max(values):.2f}]"

    print(f"subpixel-kernels {version}: {installed_bytes('subpixel-kernels') / 1024:.0f} KiB installed")
    print(f"over {args.runs} fresh interpreters (median [range]):")
    print(f"  loading all 14 kernels: {spread('load', 1e3, 'ms')}, +{spread('mib', 1, 'MiB')} resident")
    for mode, label in (("on", "with the kernels"), ("off", "without them")):
        first, second = spread("first", 1e3, "ms", mode), spread("second", 1e3, "ms", mode)
        print(f"  64 MiB float32 shuffle {label}: first {first}, second {second}")
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
