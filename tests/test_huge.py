"""Huge inputs: an int8 array of a little more than 2**31 elements, shuffled and unshuffled.

Index arithmetic anywhere on the way (a fast path's blocked copy, a compiled kernel) must not
overflow 32 bits. Without a second full-size reference (memory is shared), correctness is
checked by the index formula at sampled output positions (a million at random, and every
position of the output's last 2**20 elements, past flat index 2**31) and by a round trip
whose result is compared with the input by SHA-256 in chunks; the input is hashed again
afterwards to show it was not modified.

Peak memory is the process's resident high-water mark (``VmHWM``, reset before each call)
minus its resident size just before the call: it must stay at the output's size plus bounded
scratch. Each backend runs in its own subprocess, one after the other (a lock), never two at once.

Run alone: ``pytest tests/test_huge.py -q -s`` (prints the figures); about a minute.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any, TypedDict

import numpy as np
import pytest

from tests.reference import Order

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


#: 12 * 13380 * 13380 = 2_148_292_800 elements: 2**31 + 809_152, about 2.0 GiB of int8.
class Case(TypedDict):
    """One huge case: the input's shape and the call's options."""

    shape: tuple[int, ...]
    factor: int
    order: Order
    channels_last: bool


CASES: dict[str, Case] = {
    "numpy": {"shape": (1, 12, 13380, 13380), "factor": 2, "order": "CRD", "channels_last": False},
    "torch": {"shape": (1, 13380, 13380, 12), "factor": 2, "order": "DCR", "channels_last": True},
}
#: Scratch a call may use beyond its output: 256 MiB (blocked copies use a few MiB).
SCRATCH_BYTES = 256 * 2**20
SAMPLES = 1_000_000
CHUNK = 64 * 2**20


def _status(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    msg = f"no {field} in /proc/self/status"
    raise RuntimeError(msg)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")  # resets VmHWM to the current resident size (Linux >= 4.0)


def _digest(flat: np.ndarray) -> str:
    sha = hashlib.sha256()
    for start in range(0, flat.size, CHUNK):
        sha.update(flat[start : start + CHUNK].data)
    return sha.hexdigest()


def _check_samples(
    y: np.ndarray, x: np.ndarray, factor: int, order: str, channels_last: bool, rng: np.random.Generator
) -> int:
    from tests.reference import source_index

    tail = np.arange(max(0, y.size - 2**20), y.size, dtype=np.int64)
    positions = np.concatenate(
        [rng.integers(0, y.size, SAMPLES, dtype=np.int64), tail, [0, 2**31 - 1, 2**31]]
    )
    out_index = np.unravel_index(positions, y.shape)
    src = source_index(
        out_index, x.shape, (factor, factor), inverse=False, channels_last=channels_last, order=order
    )
    got, want = y[out_index], x[src]
    if not np.array_equal(got, want):
        bad = int(np.flatnonzero(got != want)[0])
        msg = f"output flat position {positions[bad]} holds {got[bad]}, the formula says {want[bad]}"
        raise AssertionError(msg)
    return int(positions.size)


def child(backend: str) -> dict[str, Any]:
    """Run one huge shuffle and unshuffle in this process; return the figures."""
    import subpixel

    case = CASES[backend]
    shape, factor = case["shape"], case["factor"]
    order, channels_last = case["order"], case["channels_last"]
    options = {"order": order, "channels_last": channels_last}
    size = math.prod(shape)
    rng = np.random.default_rng(2026)
    x_np = np.empty(shape, np.int8)
    flat = x_np.reshape(-1)
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        flat[start:stop] = rng.integers(-128, 128, stop - start, dtype=np.int8)
    digest_in = _digest(flat)
    x: Any = x_np
    if backend == "torch":
        import torch

        x = torch.from_numpy(x_np)  # the same memory
    figures: dict[str, Any] = {"backend": backend, "shape": shape, "elements": size, **options}

    _reset_peak()
    before = _status("VmRSS")
    start_time = time.perf_counter()
    y = subpixel.pixel_shuffle(x, factor, order=order, channels_last=channels_last)
    figures["shuffle_s"] = round(time.perf_counter() - start_time, 2)
    figures["shuffle_extra_bytes"] = _status("VmHWM") - before
    y_np = y.numpy() if backend == "torch" else y
    assert type(y) is type(x), type(y)
    assert y_np.dtype == np.int8
    assert y_np.flags.c_contiguous or backend == "torch"
    assert not np.shares_memory(y_np, x_np)
    figures["samples_checked"] = _check_samples(
        y_np, x_np, factor, order=order, channels_last=channels_last, rng=rng
    )
    assert _digest(flat) == digest_in, "the shuffle modified its input"
    del x, x_np, flat

    _reset_peak()
    before = _status("VmRSS")
    start_time = time.perf_counter()
    z = subpixel.pixel_unshuffle(y, factor, order=order, channels_last=channels_last)
    figures["unshuffle_s"] = round(time.perf_counter() - start_time, 2)
    figures["unshuffle_extra_bytes"] = _status("VmHWM") - before
    del y, y_np
    z_np = z.numpy() if backend == "torch" else z
    assert z_np.shape == shape
    figures["round_trip_sha256_equal"] = _digest(np.ascontiguousarray(z_np).reshape(-1)) == digest_in
    figures["peak_rss_bytes"] = _status("VmHWM")
    return figures


def _wait_for_memory(needed: int) -> None:
    """Memory is shared: wait (up to 3 minutes) until ``needed`` bytes are available."""
    import psutil

    deadline = time.monotonic() + 180
    while psutil.virtual_memory().available < needed:
        if time.monotonic() > deadline:
            available = psutil.virtual_memory().available
            pytest.fail(f"the huge test needs {needed / 2**30:.1f} GiB free, {available / 2**30:.1f} GiB are")
        time.sleep(5)


def run_case(backend: str) -> dict[str, Any]:
    """Run :func:`child` for ``backend`` in a fresh interpreter; return its figures."""
    size = math.prod(CASES[backend]["shape"])
    _wait_for_memory(2 * size + 2 * 2**30)
    code = (
        f"import json, sys; sys.path.insert(0, {ROOT!r}); from tests.test_huge import child; "
        f"print(json.dumps(child({backend!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=480, check=False, cwd=ROOT
    )
    assert done.returncode == 0, f"{backend}: exit {done.returncode}\n{done.stdout}\n{done.stderr[-4000:]}"
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _requested() -> list[str]:
    from tests.backends import requested_backends

    return [b.value for b in requested_backends() if b.value in CASES]


@contextlib.contextmanager
def _one_at_a_time() -> Iterator[None]:
    """Hold a lock that every huge case takes, so that two never run at once (``pytest -n``)."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), "subpixel-test-huge.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.mark.slow
@pytest.mark.parametrize("backend", _requested())
def test_more_than_2_to_the_31_int8_elements(backend: str) -> None:
    """NumPy and torch, each where the run requests it (not collected where it requests neither).

    The cases take a lock in turn, so that their 4 GiB runs never overlap, even under ``pytest -n``.
    """
    with _one_at_a_time():
        figures = run_case(backend)
    print(json.dumps(figures))
    size = figures["elements"]
    assert size > 2**31
    assert figures["round_trip_sha256_equal"], figures
    assert figures["samples_checked"] > SAMPLES
    for step in ("shuffle", "unshuffle"):
        extra = figures[f"{step}_extra_bytes"]
        assert extra <= size + SCRATCH_BYTES, (
            f"{backend} {step}: {extra / 2**20:.0f} MiB beyond the input, "
            f"more than the output ({size / 2**20:.0f} MiB) + {SCRATCH_BYTES / 2**20:.0f} MiB scratch"
        )
