"""The torch path against PyTorch's own op from 64 KiB to 4 MiB: every route threshold crossed.

Cases: {float32, uint8, int16, float64} x {shuffle, unshuffle} x r in {2, 3, 4}, CRD, channels
first, inputs of 64 KiB to 4 MiB (around :data:`subpixel._fast.torch.KERNEL_ELEMENTS`, where
the copy engine takes over from PyTorch's op or the three tensor methods). Each repeat times a
batch of calls of PyTorch's op and the same batch of ``subpixel`` calls on the same tensor, the
op first in even repeats and second in odd ones (what one leaves behind, such as PyTorch's
OpenMP workers still spinning, falls on each alike), and the table gives the median of the
in-repeat ratios ``op time / subpixel time`` (above 1: subpixel is faster) and the load average
at the start and the end.

    python benchmarks/torch_sizes.py
    python benchmarks/torch_sizes.py --kib 64,128 --repeats 31
    python benchmarks/torch_sizes.py --tiny     # per-call cost on 1x4x8x8 tensors instead

With ``--tiny`` each cell is the per-call cost of ``subpixel`` over that of PyTorch's op (below 1.3
is the target), each the fastest of ``--repeats`` batches of 20,000 calls, the two functions'
batches alternating: the minimum, not the median, since a per-call time this short only ever
gets longer under load.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import subpixel

DTYPES = {"float32": torch.float32, "uint8": torch.uint8, "int16": torch.int16, "float64": torch.float64}


def _load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "?"


def _ratio(
    op: Callable[..., Any], ours: Callable[..., Any], x: torch.Tensor, r: int, repeats: int, calls: int
) -> float:
    """Median over ``repeats`` of (time of ``calls`` of ``op(x, r)``) / (the same of ``ours``)."""
    ratios = []
    for repeat in range(repeats):
        seconds = {}
        for function in (op, ours) if repeat % 2 == 0 else (ours, op):
            start = time.perf_counter()
            for _ in range(calls):
                function(x, r)
            seconds[function] = time.perf_counter() - start
        ratios.append(seconds[op] / seconds[ours])
    return statistics.median(ratios)


def _input(kib: int, dtype: torch.dtype, r: int, inverse: bool) -> torch.Tensor:
    """A (1, r*r, s, s) tensor of ``kib`` KiB or just more (its shuffle when ``inverse``).

    ``s`` is the smallest multiple of ``r`` that makes ``kib`` KiB, so each row's inputs are at
    least the size it names (a threshold at that size applies).
    """
    elements = kib * 1024 // torch.empty((), dtype=dtype).element_size()
    square = math.isqrt(-(-elements // (r * r)) - 1) + 1  # the smallest s*s >= elements / (r*r)
    side = -(-square // r) * r
    x = (torch.randn(1, r * r, side, side) * 100).to(dtype)
    return torch.pixel_shuffle(x, r) if inverse else x


def _fastest_pair(
    functions: tuple[Callable[..., Any], ...], x: torch.Tensor, r: int, repeats: int
) -> list[float]:
    """Each function's fastest of ``repeats`` batches of 20,000 calls ``f(x, r)``, in seconds per call.

    The batches alternate between the functions (and which goes first), so a slow spell of the
    machine falls on each alike.
    """
    best = [math.inf] * len(functions)
    for repeat in range(repeats):
        order = range(len(functions)) if repeat % 2 == 0 else reversed(range(len(functions)))
        for i in order:
            f = functions[i]
            best[i] = min(best[i], timeit.timeit(lambda: f(x, r), number=20_000) / 20_000)  # noqa: B023
    return best


def _tiny(repeats: int) -> None:
    """Print the per-call cost of subpixel over PyTorch's op on 1x4x8x8 tensors (r*r*4 channels)."""
    print("cells: subpixel per-call time / PyTorch's op per-call time, r = 2 / 3 / 4")
    print("| dtype | shuffle | unshuffle |")
    print("|---|---|---|")
    costs = []
    for name, dtype in DTYPES.items():
        cells = []
        for inverse in (False, True):
            ratios = []
            for r in (2, 3, 4):
                x = (torch.randn(1, 4 * r * r, 8, 8) * 100).to(dtype)
                if inverse:
                    x = torch.pixel_shuffle(x, r)
                op = torch.pixel_unshuffle if inverse else torch.pixel_shuffle
                ours = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
                assert torch.equal(op(x, r), ours(x, r))
                times = _fastest_pair((op, ours), x, r, repeats)
                ratios.append(times[1] / times[0])
            costs += ratios
            cells.append(" / ".join(f"{v:.2f}" for v in ratios))
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print(f"highest: {max(costs):.2f}; median {statistics.median(costs):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kib", default="64,128,256,512,1024,4096", help="input sizes in KiB")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tiny", action="store_true", help="per-call cost on tiny tensors instead")
    args = parser.parse_args()
    sizes = [int(k) for k in args.kib.split(",")]
    print(f"load average at start: {_load()}; torch threads: {torch.get_num_threads()}")
    if args.tiny:
        _tiny(args.repeats)
        print(f"load average at end: {_load()}")
        return
    print("cells: op time / subpixel time, r = 2 / 3 / 4")
    print("| KiB | dtype | shuffle | unshuffle |")
    print("|---|---|---|---|")
    worst: list[tuple[float, str]] = []
    for kib in sizes:
        for name, dtype in DTYPES.items():
            cells = []
            for inverse in (False, True):
                ratios = []
                for r in (2, 3, 4):
                    x = _input(kib, dtype, r, inverse)
                    op = torch.pixel_unshuffle if inverse else torch.pixel_shuffle
                    ours = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
                    assert torch.equal(op(x, r), ours(x, r))
                    ratio = _ratio(op, ours, x, r, args.repeats, max(3, 2048 // kib))
                    ratios.append(ratio)
                    worst.append((ratio, f"{kib} KiB {name} {'un' if inverse else ''}shuffle r={r}"))
                cells.append(" / ".join(f"{v:.2f}" for v in ratios))
            print(f"| {kib} | {name} | {cells[0]} | {cells[1]} |")
    worst.sort()
    print("lowest:", "; ".join(f"{label} {ratio:.2f}" for ratio, label in worst[:5]))
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
