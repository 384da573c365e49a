"""The long reliability run: fuzzing at the ``long`` hypothesis profile and a million calls.

Run once, not in CI; it prints the figures of ``docs/reliability.md`` and writes them as JSON::

    .venv/bin/python benchmarks/reliability_long.py fuzz --backends numpy,torch --out out/rel-a.json
    .venv/bin/python benchmarks/reliability_long.py fuzz --backends jax --examples 10000
    .venv/bin/python benchmarks/reliability_long.py memory --calls 1000000 --out out/rel-mem.json

``fuzz`` runs ``tests/test_fuzz.py`` under ``HYPOTHESIS_PROFILE=long`` (20,000 examples per test
and backend, 500 for the large-input test; ``--examples`` for another count), one backend at a
time, and counts the examples from ``--hypothesis-show-statistics``. ``memory`` makes
``--calls`` calls on new shapes per backend in a fresh interpreter and reports resident memory
after the warm-up and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATS = re.compile(r"^(tests/\S+::\S+):\s*$|(\d+) passing, (\d+) failing, and (\d+) invalid", re.MULTILINE)


#: Runs pytest under a profile of ``sys.argv[1]`` examples, registered before the conftest loads it.
CUSTOM_PROFILE = """
import os, sys
from hypothesis import settings
settings.register_profile("reliability-custom", max_examples=int(sys.argv[1]), deadline=None)
os.environ["HYPOTHESIS_PROFILE"] = "reliability-custom"
import pytest
sys.exit(pytest.main(sys.argv[2:] + ["-W", "ignore::pytest.PytestAssertRewriteWarning"]))
"""


def fuzz(backends: list[str], examples: int | None = None) -> dict[str, object]:
    """Run the fuzz tests per backend at the long profile (or ``examples`` per test)."""
    results: dict[str, object] = {}
    for backend in backends:
        env = {**os.environ, "HYPOTHESIS_PROFILE": "long", "SUBPIXEL_BACKENDS": backend}
        args = ["tests/test_fuzz.py", "-q", "-p", "no:cacheprovider", "--hypothesis-show-statistics"]
        if examples is None:
            command = [sys.executable, "-m", "pytest", *args]
        else:
            command = [sys.executable, "-c", CUSTOM_PROFILE, str(examples), *args]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = round(time.perf_counter() - start, 1)
        tests: dict[str, dict[str, int]] = {}
        current = None
        for match in STATS.finditer(done.stdout):
            if match.group(1):
                current = match.group(1)
                tests[current] = {"passing": 0, "failing": 0, "invalid": 0}
            elif current is not None:
                counts = tests[current]
                counts["passing"] += int(match.group(2))
                counts["failing"] += int(match.group(3))
                counts["invalid"] += int(match.group(4))
        failures = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        results[backend] = {"exit": done.returncode, "seconds": seconds, "tests": tests, "failures": failures}
        print(json.dumps({backend: results[backend]}), flush=True)
        if done.returncode:
            print(done.stdout[-6000:], flush=True)
    return results


def memory(backends: list[str], calls: int, warmup: int) -> dict[str, object]:
    """``calls`` calls on new shapes per backend, in a fresh interpreter each."""
    sys.path.insert(0, str(ROOT))
    from tests.test_concurrency import run_memory

    results: dict[str, object] = {}
    for backend in backends:
        start = time.perf_counter()
        figures = run_memory(backend, calls, warmup)
        figures["seconds"] = round(time.perf_counter() - start, 1)
        figures["growth_bytes"] = figures["rss_last_third_max"] - figures["rss_first_third_max"]
        results[backend] = figures
        print(json.dumps({backend: figures}), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["fuzz", "memory"])
    parser.add_argument("--backends", default="numpy,array_api_strict,torch,jax,dask")
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--warmup", type=int, default=100_000)
    parser.add_argument("--examples", type=int, default=None, help="examples per test instead of 20,000")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    if args.stage == "fuzz":
        results = fuzz(backends, args.examples)
    else:
        results = memory([b for b in backends if b in ("numpy", "torch")], args.calls, args.warmup)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    failed = any(isinstance(r, dict) and r.get("exit") for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
