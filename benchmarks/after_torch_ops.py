"""The torch path right after a multi-threaded PyTorch call, against the same call after a NumPy copy.

PyTorch's OpenMP workers keep spinning for a while after a parallel op (``Tensor.clone`` of a
large tensor, its own pixel shuffle), and on a machine with few cores they compete with the copy
engine's threads. Each case times ``subpixel`` on a tensor (median of ``--repeats`` calls), each
call right after ``np.copy`` of the same bytes, right after ``Tensor.clone``, and 50 ms after
``Tensor.clone``, and prints the ratio of the second to the first (1.00: no cost).

    python benchmarks/after_torch_ops.py
    OMP_WAIT_POLICY=PASSIVE python benchmarks/after_torch_ops.py   # workers that sleep at once
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import subpixel

#: (label, input shape, dtype, factor, unshuffle): users' shapes that the engine splits over threads.
CASES = (
    ("RAW pack", (1, 1, 3000, 4000), np.uint16, 2, True),
    ("4K by 4", (1, 48, 540, 960), np.float16, 4, False),
    ("1080p depth-to-space", (8, 12, 540, 960), np.uint8, 2, False),
)


def _median_after(before: Callable[[], Any], call: Callable[[], Any], repeats: int) -> float:
    """Median seconds of ``call``, each run right after ``before``."""
    seconds = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()
    print(
        f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; torch threads: "
        f"{torch.get_num_threads()}; subpixel threads: {subpixel.get_num_threads()}; "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"
    )
    print("| case | after np.copy | right after Tensor.clone | ratio | 50 ms after Tensor.clone |")
    print("|---|---|---|---|---|")
    for label, shape, dtype, r, inverse in CASES:
        x = np.random.default_rng(0).integers(0, 255, shape).astype(dtype)
        t = torch.from_numpy(x)
        function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle

        def call(t: torch.Tensor = t, function: Callable[..., Any] = function, r: int = r) -> Any:
            return function(t, r)

        def napped(t: torch.Tensor = t) -> None:
            t.clone()
            time.sleep(0.05)

        def copied(x: np.ndarray[Any, Any] = x) -> None:
            np.copy(x)

        call()
        quiet = _median_after(copied, call, args.repeats)
        busy = _median_after(t.clone, call, args.repeats)
        later = _median_after(napped, call, args.repeats)
        print(
            f"| {label} | {quiet * 1e3:.2f} ms | {busy * 1e3:.2f} ms | {busy / quiet:.2f} "
            f"| {later * 1e3:.2f} ms |"
        )
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
