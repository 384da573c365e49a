"""Shuffle a Zarr store larger than memory on a local Dask cluster; print memory and throughput.

Run from the repository root (it reuses the pipeline of ``tests/test_dask_cluster.py``)::

    .venv/bin/python benchmarks/scaling/dask_zarr.py                 # the CI sizes: 1 GiB, 4 x 256 MiB
    .venv/bin/python benchmarks/scaling/dask_zarr.py --batch 64      # 4 GiB through the same workers

It prints the peak resident memory of every worker process (the kernel's ``VmHWM``) against
its limit, the seconds and MB/s of each phase, and, side by side, the in-memory NumPy shuffle
of one 64 MiB slab to show what a single core does without disk or scheduler.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests import test_dask_cluster as pipeline

import subpixel

MIB = 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=pipeline.SHAPE[0], help="images of 64x512x512 float32")
    parser.add_argument("--workers", type=int, default=pipeline.WORKERS)
    parser.add_argument("--limit-mib", type=int, default=pipeline.LIMIT // MIB)
    args = parser.parse_args()
    shape = (args.batch, *pipeline.SHAPE[1:])
    size = math.prod(shape) * 4
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = pipeline.run_pipeline(Path(tmp), shape=shape, workers=args.workers, limit=args.limit_mib * MIB)
        total = time.perf_counter() - start
    print(f"input {shape} float32 = {size / MIB:.0f} MiB in chunks {pipeline.CHUNKS}")
    print(
        f"workers {args.workers} x {args.limit_mib} MiB limit, 1 thread each; "
        f"{run['layer_tasks']} shuffle tasks for {run['input_chunks']} input chunks"
    )
    for address, memory in sorted(run["after"].items()):
        idle = run["started"][address]["rss"] / MIB
        print(
            f"  worker {address}: idle {idle:.0f} MiB, peak {memory['peak'] / MIB:.1f} MiB "
            f"({memory['peak'] / (args.limit_mib * MIB):.0%} of limit)"
        )
    for phase, seconds in run["seconds"].items():
        print(f"  {phase:12s} {seconds:6.2f} s  {size / seconds / 1e6:7.0f} MB/s of input")
    print(f"  whole run with cluster start and stop: {total:.1f} s")
    slab = np.ones((1, *pipeline.SHAPE[1:]), np.float32)
    best = min(_timed(lambda: subpixel.pixel_shuffle(slab, pipeline.FACTOR)) for _ in range(5))
    print(
        f"  in-memory NumPy shuffle of one 64 MiB image in this process: {slab.nbytes / best / 1e6:.0f} MB/s"
    )
    return 0


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
