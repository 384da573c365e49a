"""Run the full benchmark and write the committed results used by ``docs/performance.md``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/run_benchmark.py            # full run, about 15 minutes
    .venv/bin/python benchmarks/run_benchmark.py --quick    # no >1 GB shape, 3 repeats

It writes ``benchmarks/results/cpu.json`` (every sample, ratio and peak-memory figure),
``benchmarks/results/cpu.md`` (the printed table) and ``docs/performance.png`` (the plot).
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

from subpixel.benchmark.cli import main

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def run(extra: list[str]) -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    argv = [
        "--memory",
        "--json",
        str(RESULTS / "cpu.json"),
        "--plot",
        str(ROOT / "docs" / "performance.png"),
        *extra,
    ]
    printed = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text: str) -> int:
            sys.__stdout__.write(text)
            sys.__stdout__.flush()
            return printed.write(text)

    with contextlib.redirect_stdout(Tee()):
        status = main(argv)
    (RESULTS / "cpu.md").write_text(printed.getvalue())
    return status


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
