"""Run one fuzz row and record, with each memory sample, what the allocators hold.

Beside the resident memory the fuzz report samples (after a garbage collection and
``malloc_trim``; here with the oracle's cache of index arrays counted in, ``oracle_cache`` bytes),
each line of ``--out`` (JSON lines) gives glibc's heap (bytes in use, free, from the system,
mmapped; ``mallinfo2``), Python's allocated blocks, the number of objects the garbage collector
tracks and, on the Dask row, the most chunks of any input so far. Resident
memory that rises while the bytes in use and the blocks stay level is freed memory the
allocators keep, not memory the process holds. Linux with glibc 2.33 or later.

    python conformance/fuzz_memory_trace.py --backends dask --calls 300000 --seed 26309 \\
        --max-chunks 0 --out dask-trace.jsonl

``--max-chunks 0`` lifts the Dask row's cap on chunks per input (:data:`fuzz.MAX_CHUNKS`).
``--tracemalloc FROM,BASE,AT...`` starts :mod:`tracemalloc` at call FROM, snapshots it at call
BASE and at each AT, and writes (to ``--out`` with ``.tracemalloc.txt`` added) the places whose
memory allocated after FROM and still held grew most from BASE to each AT: what a slow climb of
the bytes in use is made of.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import importlib.util
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


#: The fields of glibc's ``struct mallinfo2``, in order.
MALLINFO2 = (
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
)


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]


def load_fuzz() -> Any:
    """Import ``conformance/fuzz.py`` (and the tests' reference beside it) as module ``fuzz``."""
    sys.path[:0] = [str(HERE.parent), str(HERE)]
    spec = importlib.util.spec_from_file_location("fuzz", HERE / "fuzz.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz"] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", required=True, help="one fuzz row, such as dask")
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--max-chunks", type=int, default=None, help="Dask row: chunks per input (0: no cap)")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, one per memory sample")
    parser.add_argument("--tracemalloc", default="", help="FROM,BASE,AT...: calls (multiples of 1,000)")
    parser.add_argument("--frames", type=int, default=12, help="frames kept per tracemalloc trace")
    args = parser.parse_args()
    try:
        marks = [int(v) for v in args.tracemalloc.split(",")] if args.tracemalloc else []
    except ValueError:
        parser.error(f"--tracemalloc must be calls separated by commas, not {args.tracemalloc!r}")
    if marks and (len(marks) < 3 or marks != sorted(marks)):
        parser.error(f"--tracemalloc needs FROM <= BASE <= AT..., not {args.tracemalloc!r}")
    fuzz = load_fuzz()
    if args.backends not in fuzz.ROWS:
        parser.error(f"--backends must be one of {', '.join(fuzz.ROWS)}, not {args.backends!r}")
    if args.max_chunks is not None:
        fuzz.MAX_CHUNKS = args.max_chunks or sys.maxsize
    libc = ctypes.CDLL(None)
    try:
        mallinfo2 = libc.mallinfo2
    except AttributeError:
        parser.error("needs glibc 2.33 or later (mallinfo2)")
    mallinfo2.restype = MallInfo2
    most = {"chunks": 0}
    lay_out = fuzz.DaskRow.lay_out

    def counting_lay_out(self: Any, values: Any, r: Any, call: Any) -> Any:
        laid = lay_out(self, values, r, call)
        most["chunks"] = max(most["chunks"], laid.array.npartitions)
        return laid

    fuzz.DaskRow.lay_out = counting_lay_out
    oracles: list[Any] = []
    oracle_init = fuzz.Oracle.__init__

    def keeping_init(self: Any, *args: Any, **kwargs: Any) -> None:
        oracle_init(self, *args, **kwargs)
        oracles.append(self)

    fuzz.Oracle.__init__ = keeping_init
    held_bytes = fuzz.held_bytes
    calls = 0
    base: list[tracemalloc.Snapshot] = []
    diffs = args.out.with_name(args.out.name + ".tracemalloc.txt")
    if marks:
        diffs.write_text("", encoding="utf-8")

    def trace_marks() -> None:
        if not marks:
            return
        if calls == marks[0]:
            tracemalloc.start(args.frames)
        if calls not in marks[1:]:
            return
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
        )
        if not base:
            base.append(snapshot)
            return
        stats = snapshot.compare_to(base[0], "traceback")
        with diffs.open("a", encoding="utf-8") as text:
            total = sum(s.size_diff for s in stats)
            text.write(
                f"== calls {marks[1]:,} -> {calls:,}: {total / 2**20:+.3f} MiB held, "
                f"allocated after {marks[0]:,}\n"
            )
            for stat in stats[:15]:
                text.write(f"{stat.size_diff / 2**10:+10.1f} KiB {stat.count_diff:+8d} blocks\n")
                text.writelines(f"      {line}\n" for line in stat.traceback.format()[-2 * args.frames :])
        if calls == marks[-1]:
            tracemalloc.stop()

    with args.out.open("w", encoding="utf-8") as out:

        def traced() -> int:
            nonlocal calls
            held = int(held_bytes())
            heap = mallinfo2()
            line = {
                "call": calls, "rss": held, "heap_in_use": heap.uordblks, "heap_free": heap.fordblks,
                "heap_from_system": heap.arena, "mmapped": heap.hblkhd, "blocks": sys.getallocatedblocks(),
                "objects": len(gc.get_objects()), "most_chunks": most["chunks"],
                "oracle_cache": oracles[-1].bytes if oracles else 0,
            }  # fmt: skip
            out.write(json.dumps(line) + "\n")
            out.flush()
            trace_marks()
            calls += fuzz.SAMPLE_EVERY
            return held

        fuzz.held_bytes = traced
        failures: int = fuzz.run_row(args.backends, args.seed, args.calls, None, print)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
