"""Concurrency and state: threads, caches, and memory over many calls on new shapes.

* 8 threads call shuffle and unshuffle at once, on different shapes, options and backends
  (NumPy, torch, JAX, array-api-strict, and some arrays large enough for the NumPy/torch
  multi-threaded copy), and every result is checked against the index-formula reference;
* every cache in the library is bounded, and stays so while the threads flood it;
* a long run of calls on shapes the caches have not seen leaves the process's resident memory
  flat (a subprocess measures it; CI runs ``CI_CALLS``, the long run a million).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import subpixel
from tests import collection
from tests.backends import Backend, requested_backends, requested_frameworks, to_numpy
from tests.reference import reference
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = 8
CALLS_PER_THREAD = 500
#: Calls and warm-up calls of the memory test in CI; ``benchmarks/reliability_long.py`` runs a
#: million. The warm-up fills every cache; each third of the rest spans a refill of the largest.
CI_CALLS = {"numpy": (40_000, 10_000), "torch": (40_000, 10_000)}

THREAD_BACKENDS = [
    b
    for b in requested_backends()
    if b in (Backend.NUMPY, Backend.TORCH, Backend.JAX, Backend.ARRAY_API_STRICT)
]
DTYPES = ("uint8", "int16", "float32", "float64", "complex64", "bool")
#: JAX compiles each new plan (tens of milliseconds): its threads share these shapes, valid with
#: any options (every size divisible by every factor).
JAX_CASES = [
    ((2, 12, 12, 12), 2),
    ((12, 6, 6), (3,)),
    ((1, 12, 6, 6, 12), (2, 3, 2)),
    ((1, 36, 6, 36), (6, 6)),
]

#: Dask rechunks inputs whose chunks split a channel group, with a ChunkingWarning (a hint
#: about speed): the results are what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::subpixel.ChunkingWarning")


def _call(rng: np.random.Generator, backend: Backend, large: bool) -> tuple[np.ndarray, Any, dict[str, Any]]:
    """A random valid call: its NumPy input, the factor and the options."""
    factor: Any
    k = int(rng.integers(1, 4))
    factors = tuple(int(f) for f in rng.integers(1, 4, k))
    inverse = bool(rng.integers(2))
    channels_last = bool(rng.integers(2))
    order = "CRD" if rng.integers(2) else "DCR"
    if backend is Backend.JAX:  # a few shapes, each compiled once and then shared by the threads
        shape, factor = JAX_CASES[int(rng.integers(len(JAX_CASES)))]
        values = special_array(shape, str(rng.choice(DTYPES)), rng)
        return values, factor, {"inverse": inverse, "channels_last": channels_last, "order": order}
    if large:  # past the 8 MiB threshold of the multi-threaded copy
        small = [64] * k
        small[-1] = (2**18 // int(np.prod(small[:-1]))) // int(np.prod(factors)) or 1
        channels = 3
        batch: list[int] = [3]
    else:
        small = [int(s) for s in rng.integers(1, 5, k)]
        channels = int(rng.integers(1, 4))
        batch = [int(b) for b in rng.integers(1, 3, int(rng.integers(0, 3)))]
    spatial = [s * f for s, f in zip(small, factors, strict=True)] if inverse else small
    channel_size = channels if inverse else channels * int(np.prod(factors))
    shape = (*batch, *spatial, channel_size) if channels_last else (*batch, channel_size, *spatial)
    dtype = "float32" if large else str(rng.choice(DTYPES))
    values = special_array(shape, dtype, rng)
    factor = factors[0] if k == 2 and factors[0] == factors[1] and rng.integers(2) else factors
    return values, factor, {"inverse": inverse, "channels_last": channels_last, "order": order}


def _worker(index: int, barrier: threading.Barrier, errors: list[str], counts: list[int]) -> None:
    rng = np.random.default_rng(1000 + index)
    barrier.wait()
    for call in range(CALLS_PER_THREAD):
        backend = THREAD_BACKENDS[int(rng.integers(len(THREAD_BACKENDS)))]
        large = backend in (Backend.NUMPY, Backend.TORCH) and call % 100 == index
        values, factor, options = _call(rng, backend, large)
        inverse = options.pop("inverse")
        func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
        try:
            result = to_numpy(func(backend.from_numpy(values), factor, **options))
            assert_same_bits(result, reference(values, factor, inverse=inverse, **options))
        except Exception as error:  # collected and reported by the main thread
            errors.append(
                f"thread {index} call {call} {backend} {values.shape} {factor} {options}: {error!r}"
            )
        counts[index] += 1


def test_eight_threads_calling_at_once_get_correct_results() -> None:
    assert THREAD_BACKENDS, "no thread-safe backend requested"
    for backend in THREAD_BACKENDS:
        if backend is Backend.JAX:
            import jax

            jax.config.update("jax_enable_x64", True)
        backend.namespace()
    barrier = threading.Barrier(THREADS)
    errors: list[str] = []
    counts = [0] * THREADS
    threads = [threading.Thread(target=_worker, args=(i, barrier, errors, counts)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    assert not errors, f"{len(errors)} wrong calls, first: {errors[:3]}"
    assert sum(counts) == THREADS * CALLS_PER_THREAD
    print(f"{THREADS} threads x {CALLS_PER_THREAD} calls on {[str(b) for b in THREAD_BACKENDS]}: all correct")


# --- caches ----------------------------------------------------------------------------------------


def _library_modules() -> list[Any]:
    modules = [subpixel]
    for info in pkgutil.walk_packages(subpixel.__path__, "subpixel."):
        if info.name.startswith(
            ("subpixel.torch", "subpixel.flax", "subpixel.keras", "subpixel.conformance")
        ):
            continue  # layers import frameworks; the conformance runner is not on the call path
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and collection.needs(Path(spec.origin)) - requested_frameworks():
            continue  # it imports a framework this run did not ask for
        modules.append(importlib.import_module(info.name))
    return modules


def _caches() -> dict[str, Any]:
    """Every memoizing function and module-level container on the call path, by name."""
    found: dict[str, Any] = {}
    for module in _library_modules():
        for name, value in vars(module).items():
            memoized = hasattr(value, "cache_info") and getattr(value, "__module__", "") == module.__name__
            private = name.startswith("_") and not name.startswith("__")
            if value is sys.modules:  # an alias for a fast lookup, not a cache
                continue
            if memoized or (private and isinstance(value, (dict, list, set))):
                found[f"{module.__name__}.{name}"] = value
    return found


@pytest.mark.slow  # a subprocess run of seconds to a minute
def test_every_cache_on_the_call_path_is_bounded() -> None:
    caches = _caches()
    memoized = {name: c for name, c in caches.items() if hasattr(c, "cache_info")}
    assert "subpixel._plan.plan_for" in memoized
    for name, cache in memoized.items():
        assert cache.cache_info().maxsize is not None, f"{name} is an unbounded lru_cache"
    # Flood with more new call signatures than any cache holds, then measure every container.
    x_small = np.zeros((1, 4, 1, 1), np.uint8)
    for n in range(1, 3 * subpixel._plan.PLAN_CACHE_SIZE):
        subpixel.pixel_shuffle(np.broadcast_to(x_small, (1, 4, 1, n)), 2)
    sizes = {
        name: (c.cache_info().currsize if hasattr(c, "cache_info") else len(c)) for name, c in caches.items()
    }
    for name, cache in memoized.items():
        assert sizes[name] <= cache.cache_info().maxsize, name
    containers = {name: size for name, size in sizes.items() if name not in memoized}
    assert all(size <= subpixel._plan.PLAN_CACHE_SIZE for size in containers.values()), containers


def test_the_type_cache_holds_one_entry_per_array_type() -> None:
    from subpixel import _dispatch

    subpixel.pixel_shuffle(np.zeros((1, 4, 2, 2)), 2)
    before = len(_dispatch._cache)
    for _ in range(1000):
        subpixel.pixel_shuffle(np.zeros((1, 4, 2, 2)), 2)
        subpixel.pixel_shuffle(np.ma.zeros((1, 4, 2, 2)), 2)
    assert len(_dispatch._cache) <= before + 1


# --- memory over many calls on new shapes -------------------------------------------------------

MEMORY_SCRIPT = """
import gc, json, sys
sys.path.insert(0, {root!r})
import numpy as np
import subpixel
from tests.test_concurrency import memory_run
print(json.dumps(memory_run({backend!r}, {calls}, {warmup})))
"""


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _shapes(i: int) -> tuple[tuple[int, ...], Any, dict[str, Any]]:
    """Call ``i``: even calls take a never-seen zero-size shape, odd ones cycle through 32768
    small shapes and options, more than every cache holds, so that every call misses."""
    if i % 2 == 0:
        return (0, 4 * (i // 2 + 1), 2, 2), 2, {}
    j = i // 2 % 32768
    options = {"channels_last": bool(j % 2), "order": "DCR" if j // 2 % 2 else "CRD"}
    b, c, h, w = j // 4 % 8 + 1, j // 32 % 4 + 1, j // 128 % 16 + 1, j // 2048 % 16 + 1
    shape = (b, h, w, 4 * c) if options["channels_last"] else (b, 4 * c, h, w)
    return shape, 2, options


def memory_run(backend: str, calls: int, warmup: int) -> dict[str, Any]:
    """Make ``calls`` calls on new shapes; sample resident memory every 500 calls after ``warmup``.

    The caches refill in a sawtooth (a cleared cache refills over a few thousand calls), so
    flatness compares the highest sample of the last third with that of the first third.
    """
    import gc

    chosen = Backend(backend)
    module = chosen.namespace()
    if chosen is Backend.TORCH:
        # One intra-op thread: on a busy machine torch's parallel kernel for tiny tensors waits
        # for a second core (~0.2 ms a call instead of ~4 us); memory is what is measured here.
        module.set_num_threads(1)
    buffers: dict[Any, Any] = {}
    samples: list[int] = []
    for i in range(calls):
        shape, factor, options = _shapes(i)
        size = int(np.prod(shape))
        base = buffers.get(size)
        if base is None:
            base = buffers[size] = chosen.from_numpy(np.arange(size, dtype=np.uint8))
        x = base.reshape(shape)
        y = subpixel.pixel_shuffle(x, factor, **options)
        if i % 1000 == 1:
            back = subpixel.pixel_unshuffle(y, factor, **options)
            assert bytes(to_numpy(back).tobytes()) == bytes(to_numpy(x).tobytes())
        if i >= warmup and (i - warmup) % 500 == 0:
            gc.collect()
            samples.append(_rss())
    third = max(1, len(samples) // 3)
    return {
        "backend": backend,
        "calls": calls,
        "warmup": warmup,
        "rss_first_third_max": max(samples[:third]),
        "rss_last_third_max": max(samples[-third:]),
        "rss_samples": len(samples),
    }


def run_memory(backend: str, calls: int, warmup: int) -> dict[str, Any]:
    """:func:`memory_run` in a fresh interpreter."""
    script = MEMORY_SCRIPT.format(root=ROOT, backend=backend, calls=calls, warmup=warmup)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=3600, check=False
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


#: Growth allowed between the first and last third: allocator noise, not a per-call leak (a
#: leak of one small tuple per call would be several MiB here and ~50 MiB in the long run).
FLAT_BYTES = 4 * 2**20


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", [b.value for b in requested_backends() if b in (Backend.NUMPY, Backend.TORCH)]
)
def test_many_calls_on_new_shapes_leave_memory_flat(backend: str) -> None:
    calls, warmup = CI_CALLS[backend]
    figures = run_memory(backend, calls, warmup)
    growth = figures["rss_last_third_max"] - figures["rss_first_third_max"]
    print(json.dumps(figures), f"growth {growth / 2**20:.2f} MiB")
    assert growth <= FLAT_BYTES, (
        f"{growth / 2**20:.1f} MiB more over {calls - warmup} calls after the warm-up"
    )
