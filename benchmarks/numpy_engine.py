"""The NumPy path against ``np.copy`` of the same bytes: 32 MiB inputs, every dtype size, both directions.

Cases: {float32, uint8, uint16} x {shuffle, unshuffle} x r in {2, 3, 4}, CRD, channels first,
inputs of 32 MiB. Each repeat times ``np.copy``, ``subpixel`` on NumPy, (where subpixel-kernels is
installed) ``subpixel`` with the compiled kernels switched off, which is what the default
install runs, (with ``--torch``) the torch path on a tensor of the same bytes (uint16 as
int16), with and without the kernels, and (with ``--before``) the copy engine of an earlier
git revision, in an order that rotates per repeat; the table gives the median of the in-repeat ratios
``np.copy time / candidate time`` and the load average at the start and the end.

    python benchmarks/numpy_engine.py                      # this checkout
    python benchmarks/numpy_engine.py --before c3890d0      # and the engine of that revision
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import subpixel
from subpixel._copy import _compiled

ROOT = Path(__file__).resolve().parent.parent
MIB = 2**20
H = W = 256


#: Where the copy engine lived: ``src/subpixel/_copy/`` now, ``src/subpixel/_fast/`` before.
ENGINE_FILES = ("src/subpixel/_copy/_blocked.py", "src/subpixel/_fast/_blocked.py")


def _engine_at(revision: str) -> Any:
    """The ``copy_into`` of the copy engine's ``_blocked.py`` at ``revision``."""
    for name in ENGINE_FILES:
        shown = subprocess.run(
            ["git", "show", f"{revision}:{name}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            text = shown.stdout
            break
    else:
        msg = f"--before: {revision} has none of {', '.join(ENGINE_FILES)}"
        raise SystemExit(msg)
    # An engine from before the move imports its kernels from where they were.
    text = text.replace("from subpixel._fast import _compiled", "from subpixel._copy import _compiled")
    folder = Path(tempfile.mkdtemp())
    path = folder / "before_blocked.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("before_blocked", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.copy_into


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=None, help="git revision whose copy engine to time beside")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument(
        "--torch", action="store_true", help="also time the torch path on tensors of the same bytes"
    )
    args = parser.parse_args()
    before = _engine_at(args.before) if args.before else None
    threads = subpixel.get_num_threads()
    print(f"load average at start: {_load()}; subpixel threads: {threads}; cpus: {os.cpu_count()}")
    rows: list[Any] = []
    ratios: dict[str, list[float]] = {
        "default": [],
        "after": [],
        "before": [],
        "torch default": [],
        "torch": [],
    }
    if _compiled.AVAILABLE:
        print("subpixel-kernels installed: 'after' runs the compiled kernels, 'default' the engine alone")
    for dtype in ("float32", "uint8", "uint16"):
        for op in ("shuffle", "unshuffle"):
            for r in (2, 3, 4):
                total = args.mib * MIB // np.dtype(dtype).itemsize
                c = max(1, round(total / (r * r * H * W)))
                inverse = op == "unshuffle"
                shape = (1, c, H * r, W * r) if inverse else (1, c * r * r, H, W)
                x = np.random.default_rng(0).integers(0, 200, shape).astype(dtype)
                plan = subpixel.shuffle_plan(shape, r, inverse=inverse)
                function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
                runs = {
                    "copy": lambda x=x: np.copy(x),
                    "after": lambda x=x, r=r, function=function: function(x, r),
                }
                if _compiled.AVAILABLE:

                    def default(x: Any = x, r: int = r, function: Any = function) -> Any:
                        _compiled.AVAILABLE = False
                        try:
                            return function(x, r)
                        finally:
                            _compiled.AVAILABLE = True

                    runs["default"] = default
                if args.torch:
                    import torch

                    t = torch.from_numpy(x.view(np.int16) if dtype == "uint16" else x)

                    def on_torch(t: Any = t, r: int = r, function: Any = function) -> Any:
                        return function(t, r)

                    runs["torch"] = on_torch
                    if _compiled.AVAILABLE:

                        def torch_default(t: Any = t, r: int = r, function: Any = function) -> Any:
                            _compiled.AVAILABLE = False
                            try:
                                return function(t, r)
                            finally:
                                _compiled.AVAILABLE = True

                        runs["torch default"] = torch_default
                if before is not None:

                    def old(x: Any = x, plan: Any = plan) -> Any:
                        src = x.reshape(plan.expand_shape).transpose(plan.axes)
                        out = np.empty(plan.collapse_shape, x.dtype)
                        before(out.reshape(src.shape), src)
                        return out

                    assert old().tobytes() == runs["after"]().tobytes()
                    runs["before"] = old
                names = list(runs)
                for f in runs.values():
                    f()
                per: dict[str, list[float]] = {n: [] for n in names if n != "copy"}
                for k in range(args.repeats):
                    t = {}
                    for n in names[k % len(names) :] + names[: k % len(names)]:
                        start = time.perf_counter()
                        runs[n]()
                        t[n] = time.perf_counter() - start
                    for n in per:
                        per[n].append(t["copy"] / t[n])
                cells = {n: statistics.median(v) for n, v in per.items()}
                for n, v in cells.items():
                    ratios[n].append(v)
                rows.append((dtype, op, r, cells))
                print(dtype, op, f"r={r}", {n: round(v, 2) for n, v in cells.items()}, flush=True)
    print(f"load average at end: {_load()}")
    shown = [n for n in ("before", "default", "after", "torch default", "torch") if ratios[n]]
    print()
    print(f"cells: {' / '.join(shown)}")
    print("| dtype | direction | r=2 | r=3 | r=4 |")
    print("|---|---|---|---|---|")
    for i in range(0, len(rows), 3):
        dtype, op = rows[i][0], rows[i][1]
        cells = [" / ".join(f"{rows[i + j][3][n]:.2f}" for n in shown) for j in range(3)]
        print(f"| {dtype} | {op} | " + " | ".join(cells) + " |")
    for n in shown:
        gm = math.exp(sum(math.log(v) for v in ratios[n]) / len(ratios[n]))
        print(f"{n}: geometric mean {gm:.2f}, lowest {min(ratios[n]):.2f}")


if __name__ == "__main__":
    sys.exit(main())
