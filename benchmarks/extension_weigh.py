"""Weigh a small C extension against numba for the copy engine's compiled kernels.

The ``speed`` extra installs numba for two kernels (join and split, see
:mod:`subpixel._copy._compiled`). This script builds the same two kernels in C with the system
compiler, as a platform wheel would ship them (``-O3``, the baseline x86-64 instruction set unless
``--march`` says otherwise), swaps them in for numba's inside the library (same engine, same
blocks, same threads), and measures, in one process and side by side:

* correctness: every result of the C kernels equals numba's, byte for byte;
* speed: the users' shapes of ``python -m subpixel bench``, each a median of paired calls
  (fresh outputs, as there) with numba's kernels and with the C kernels, and ``np.copy`` of the
  same bytes (every call plans afresh, since the kernels are swapped between calls: the ratios to
  ``np.copy`` are a little lower than the benchmark's);
* cost: the shared object's size, and in fresh processes the time and resident memory to load it
  against importing numba and loading its cached kernels.

    PYTHONPATH=<numba> python benchmarks/extension_weigh.py
    PYTHONPATH=<numba> python benchmarks/extension_weigh.py --repeats 15 --march x86-64-v3

Needs numba (the comparison), a C compiler (``cc``) and Linux or macOS.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import subpixel
from subpixel import _api
from subpixel._copy import _blocked, _compiled

#: Copies the C kernels have made in this process (the check that they, not numba's, ran).
C_CALLS = [0]

ITEMS = {1: "uint8_t", 2: "uint16_t", 4: "uint32_t", 8: "uint64_t"}

#: The loops of ``_compiled._join``/``_split`` in C; LANES and T are compile-time constants.
KERNEL = """
void {name}(T *dst, const T *src, const uint64_t *g, uint64_t start, uint64_t stop) {{
    uint64_t n1 = g[7], n2 = g[10], d0 = g[5], d1 = g[8], d2 = g[11], s0 = g[6], s1 = g[9], s2 = g[12];
    uint64_t i2 = start % n2, i1 = (start / n2) % n1, i0 = start / n2 / n1;
    uint64_t d = g[0] + i0 * d0 + i1 * d1 + i2 * d2, s = g[1] + i0 * s0 + i1 * s1 + i2 * s2;
    uint64_t width = g[2], lane = g[3];
    for (uint64_t row = start; row < stop; row++) {{
        for (uint64_t w = 0; w < width; w++)
            for (uint64_t k = 0; k < LANES; k++)
                {body};
        i2++; d += d2; s += s2;
        if (i2 == n2) {{
            i2 = 0; i1++; d += d1 - n2 * d2; s += s1 - n2 * s2;
            if (i1 == n1) {{ i1 = 0; d += d0 - n1 * d1; s += s0 - n1 * s1; }}
        }}
    }}
}}
"""
BODIES = {
    "join": "dst[d + w * LANES + k] = src[s + k * lane + w]",
    "split": "dst[d + k * lane + w] = src[s + w * LANES + k]",
}

#: Users' shapes (a subset of ``python -m subpixel bench --set users``): name, shape, dtype, factor, inverse.
CASES: tuple[tuple[str, tuple[int, ...], str, int, bool], ...] = (
    ("RAW pack", (1, 1, 3000, 4000), "uint16", 2, True),
    ("RAW unpack", (1, 4, 1500, 2000), "uint16", 2, False),
    ("1080p space-to-depth", (8, 3, 1080, 1920), "uint8", 2, True),
    ("1080p depth-to-space", (8, 12, 540, 960), "uint8", 2, False),
    ("4K float16 by 4", (1, 48, 540, 960), "float16", 4, False),
    ("small float32 unshuffle", (64, 3, 64, 64), "float32", 2, True),
    ("float32 by 3", (2, 27, 700, 700), "float32", 3, False),
    ("256 MiB float32", (1, 64, 1024, 1024), "float32", 2, False),
)


def source() -> str:
    """Return the C source of every kernel the engine can ask for."""
    parts = ["#include <stdint.h>"]
    for item, ctype in ITEMS.items():
        for lanes in _compiled.LANES:
            for direction, body in BODIES.items():
                parts += [f"#define T {ctype}", f"#define LANES {lanes}u"]
                parts.append(KERNEL.format(name=f"{direction}_{item}_{lanes}", body=body))
                parts += ["#undef T", "#undef LANES"]
    return "\n".join(parts)


def build(folder: Path, march: str) -> Path:
    """Compile the kernels into a shared object in ``folder``; return its path."""
    c_file, library = folder / "kernels.c", folder / "kernels.so"
    c_file.write_text(source(), encoding="ascii")
    command = ["cc", "-O3", f"-march={march}", "-shared", "-fPIC", "-o", str(library), str(c_file)]
    subprocess.run(command, check=True)
    return library


def c_kernels(library: Path) -> Callable[[str, int], Callable[..., None] | None]:
    """Return a stand-in for :func:`subpixel._copy._compiled.kernel` calling the C kernels."""
    loaded = ctypes.CDLL(str(library))
    made: dict[tuple[str, int, int], Callable[..., None]] = {}
    calls = C_CALLS

    def kernel(direction: str, lanes: int) -> Callable[..., None] | None:
        if lanes not in _compiled.LANES:
            return None

        def run(dst: Any, src: Any, geometry: Any, start: Any, stop: Any) -> None:
            key = (direction, dst.itemsize, lanes)
            function = made.get(key)
            if function is None:
                function = made[key] = getattr(loaded, f"{direction}_{dst.itemsize}_{lanes}")
                function.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_uint64] * 2
                function.restype = None
            function(dst.ctypes.data, src.ctypes.data, geometry.ctypes.data, int(start), int(stop))
            calls[0] += 1

        return run

    return kernel


def _fresh_process(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; return its seconds and resident MiB it added."""
    probe = (
        "import time, resource; r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"t = time.perf_counter(); {code}; t = time.perf_counter() - t; "
        "print(t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - r0) / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout
    seconds, mib = out.split()
    return float(seconds), float(mib)


def _use(kernel: Callable[[str, int], Callable[..., None] | None]) -> None:
    """Make the engine take its compiled kernels from ``kernel`` (numba's, or the C ones).

    The library keeps runners per call signature and prepared copies (kernel included) per
    geometry: those caches are emptied, so every timed call plans afresh, with either kernel alike.
    """
    setattr(_compiled, "kernel", kernel)  # noqa: B010 - the engine looks the function up per plan
    _api._runners.clear()
    _api._spec_runners.clear()
    _blocked._jobs.clear()


def _call(case: tuple[str, tuple[int, ...], str, int, bool], x: np.ndarray[Any, Any]) -> Any:
    _, _, _, factor, inverse = case
    return (subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle)(x, factor)


def main(argv: list[str] | None = None) -> int:
    """Build, check and time the C kernels against numba's; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="paired calls per case (default 9)")
    parser.add_argument("--march", default="x86-64", help="instruction set for cc (default x86-64)")
    args = parser.parse_args(argv)
    if _compiled.reason_unavailable() is not None:
        print(f"needs numba: {_compiled.reason_unavailable()}", file=sys.stderr)
        return 2
    numba_kernel = _compiled.kernel
    with tempfile.TemporaryDirectory() as folder:
        library = build(Path(folder), args.march)
        size = library.stat().st_size
        c_kernel = c_kernels(library)
        load_c = _fresh_process(f"import ctypes; ctypes.CDLL({str(library)!r})")
        load_numba = _fresh_process(
            "from subpixel._copy import _compiled; "
            "[_compiled.kernel(d, n) for d in ('join', 'split') for n in _compiled.LANES]"
        )
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"C kernels: {size / 1024:.0f} KiB shared object (-O3 -march={args.march})")
        print(f"load in a fresh process: C {load_c[0] * 1e3:.1f} ms, +{load_c[1]:.1f} MiB;")
        print(f"  numba and its cached kernels {load_numba[0] * 1e3:.0f} ms, +{load_numba[1]:.0f} MiB")
        print("| case | numba / np.copy | C / np.copy | C speed / numba speed |")
        print("|---|---|---|---|")
        ratios = []
        for case in CASES:
            name, shape, dtype, _, _ = case
            x = np.random.default_rng(0).integers(0, 255, shape).astype(dtype)
            timings: dict[str, list[float]] = {"copy": [], "numba": [], "c": []}
            C_CALLS[0] = 0
            for kernel, label in ((numba_kernel, "numba"), (c_kernel, "c")):
                _use(kernel)  # warm both, and check the C bytes against numba's
                warm = _call(case, x)
                if label == "numba":
                    expected = warm.view(np.uint8).copy()
                elif not np.array_equal(warm.view(np.uint8), expected):
                    print(f"{name}: the C kernels' result differs from numba's", file=sys.stderr)
                    return 1
                elif not C_CALLS[0]:
                    print(f"{name}: the engine did not call the C kernels", file=sys.stderr)
                    return 1
            for _ in range(args.repeats):
                started = time.perf_counter()
                np.copy(x)
                timings["copy"].append(time.perf_counter() - started)
                for kernel, label in ((numba_kernel, "numba"), (c_kernel, "c")):
                    _use(kernel)
                    started = time.perf_counter()
                    _call(case, x)
                    timings[label].append(time.perf_counter() - started)
            _use(numba_kernel)
            copies = timings["copy"]
            paired = {k: [c / t for c, t in zip(copies, v, strict=True)] for k, v in timings.items()}
            versus = statistics.median(n / c for n, c in zip(timings["numba"], timings["c"], strict=True))
            ratios.append(versus)
            print(
                f"| {name} {shape} {dtype} | {statistics.median(paired['numba']):.2f} "
                f"| {statistics.median(paired['c']):.2f} | {versus:.2f} |"
            )
        geomean = float(np.exp(np.mean(np.log(ratios))))
        print(f"geometric mean of C speed / numba speed: {geomean:.2f}")
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
