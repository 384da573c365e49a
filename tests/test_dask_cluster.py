"""A real ``dask.distributed`` cluster shuffles a Zarr store larger than its workers' memory.

Four worker processes, each with a memory limit, read an input several times larger than one
worker's limit (and larger than all limits together) from a Zarr store on disk, shuffle it
chunk by chunk and write the result to another Zarr store. The test checks the peak resident
memory of every worker process (the kernel's high-water mark, ``VmHWM``) against its limit, that
no worker was restarted, and that the output equals the in-memory NumPy result: byte for byte on a
sample of chunks, and by a checksum of every chunk.

``run_pipeline`` is also the body of ``benchmarks/scaling/dask_zarr.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster, wait

import subpixel

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("dask",)

zarr = pytest.importorskip("zarr", minversion="3", reason="Zarr 3 (Python 3.11 or newer) holds the stores")

# Workers unpickle this module's functions by value: no need for them to import the tests.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

MIB = 2**20
WORKERS = 4
LIMIT = 256 * MIB
#: float32 input of 1 GiB (4x one worker's limit, as much as all four limits together), 4 MiB chunks.
SHAPE = (16, 64, 512, 512)
CHUNKS = (1, 16, 256, 256)
FACTOR = 2
SAMPLED_CHUNKS = 6
#: Seconds any one phase may take before the test fails instead of hanging.
PHASE_TIMEOUT = 240

#: A streaming job holds nothing, so spilling to disk is switched off: the job must fit as it is.
#: Pausing (at 80% of the limit) and the nanny's kill (at 95%) keep their defaults.
NO_SPILL = {"distributed.worker.memory.target": False, "distributed.worker.memory.spill": False}


def make_block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
    """The input chunk at ``block_info``'s location: random bits, so every float pattern occurs."""
    assert block_info is not None
    info = block_info[None]
    return block_at(tuple(info["chunk-location"]), tuple(info["chunk-shape"]))


def block_at(location: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng([2024, *location])
    return rng.integers(0, 2**32, size=shape, dtype=np.uint32).view(np.float32)


def memory_peak() -> dict[str, int]:
    """This process's resident memory now and its high-water mark, from the kernel, in bytes."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return {"rss": fields["VmRSS"], "peak": fields["VmHWM"], "pid": os.getpid()}


def _memory_settings() -> tuple[Any, ...]:
    keys = ("target", "spill", "pause", "terminate")
    return tuple(dask.config.get(f"distributed.worker.memory.{key}") for key in keys)


def digest_region(path: str, region: tuple[slice, ...]) -> str:
    """Checksum of one region of a Zarr array, read from disk by the worker that runs this."""
    data = zarr.open_array(path, mode="r")[region]
    return hashlib.blake2b(np.ascontiguousarray(data).tobytes(), digest_size=16).hexdigest()


def regions(shape: tuple[int, ...], chunks: tuple[int, ...]) -> list[tuple[slice, ...]]:
    starts = [range(0, size, step) for size, step in zip(shape, chunks, strict=True)]
    return [
        tuple(slice(s, min(s + c, n)) for s, c, n in zip(corner, chunks, shape, strict=True))
        for corner in itertools.product(*starts)
    ]


def run_pipeline(
    root: Path,
    *,
    shape: tuple[int, ...] = SHAPE,
    chunks: tuple[int, ...] = CHUNKS,
    factor: int = FACTOR,
    workers: int = WORKERS,
    limit: int = LIMIT,
) -> dict[str, Any]:
    """Generate, shuffle and check-sum on a fresh ``LocalCluster``; return what was measured."""
    in_path, out_path = str(root / "input.zarr"), str(root / "output.zarr")
    with dask.config.set(NO_SPILL):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=limit,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        infos = client.scheduler_info(n_workers=-1)["workers"]
        limits = sorted({w["memory_limit"] for w in infos.values()})
        started = client.run(memory_peak)
        settings = client.run(_memory_settings)

        blocks = da.core.normalize_chunks(chunks, shape)
        source = da.map_blocks(make_block, chunks=blocks, dtype=np.float32, meta=np.empty((0,) * len(shape)))
        assert source.shape == shape
        target = zarr.create_array(
            in_path, shape=shape, chunks=chunks, dtype="float32", compressors=None, fill_value=0
        )
        t0 = time.perf_counter()
        client.compute(da.store(source, target, lock=False, compute=False)).result(PHASE_TIMEOUT)
        t_write = time.perf_counter() - t0

        x = da.from_zarr(in_path)
        y = subpixel.pixel_shuffle(x, factor)
        layer_tasks = len(y.dask.layers[y.name])
        new_layers = [name for name in y.dask.layers if name not in x.dask.layers]
        result = zarr.create_array(
            out_path, shape=y.shape, chunks=y.chunksize, dtype="float32", compressors=None, fill_value=0
        )
        t0 = time.perf_counter()
        client.compute(da.store(y, result, lock=False, compute=False)).result(PHASE_TIMEOUT)
        t_shuffle = time.perf_counter() - t0

        after = client.run(memory_peak)
        out_regions = regions(y.shape, y.chunksize)
        t0 = time.perf_counter()
        futures = client.map(digest_region, [out_path] * len(out_regions), out_regions)
        wait(futures, timeout=PHASE_TIMEOUT)
        digests = client.gather(futures)
        t_digest = time.perf_counter() - t0

    return {
        "limits": limits,
        "settings": settings,
        "started": started,
        "after": after,
        "input_chunks": x.npartitions,
        "input_chunksize": x.chunksize,
        "output_chunksize": y.chunksize,
        "layer_tasks": layer_tasks,
        "new_layers": new_layers,
        "out_shape": y.shape,
        "out_regions": out_regions,
        "digests": digests,
        "seconds": {"write input": t_write, "shuffle": t_shuffle, "checksums": t_digest},
        "paths": (in_path, out_path),
    }


def reference(shape: tuple[int, ...], chunks: tuple[int, ...], factor: int) -> np.ndarray:
    """The whole input, rebuilt in this process, shuffled by the NumPy path."""
    data = np.empty(shape, dtype=np.float32)
    for region in regions(shape, chunks):
        location = tuple(r.start // c for r, c in zip(region, chunks, strict=True))
        data[region] = block_at(location, tuple(r.stop - r.start for r in region))
    return subpixel.pixel_shuffle(data, factor)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux /proc")
def test_cluster_shuffles_zarr_larger_than_memory(tmp_path: Path) -> None:
    run = run_pipeline(tmp_path)
    input_bytes = math.prod(SHAPE) * 4
    assert input_bytes >= 4 * LIMIT
    assert input_bytes >= WORKERS * LIMIT

    # The cluster ran with the limit, and nothing was restarted or killed on the way.
    assert run["limits"] == [LIMIT]
    assert set(run["settings"].values()) == {(False, False, 0.8, 0.95)}
    assert len(run["after"]) == WORKERS
    assert {a: m["pid"] for a, m in run["started"].items()} == {a: m["pid"] for a, m in run["after"].items()}
    peaks = {address: m["peak"] for address, m in run["after"].items()}
    print(  # shown with pytest -s, and on failure
        f"peak RSS per worker (MiB, limit {LIMIT / MIB:.0f}):",
        sorted(round(p / MIB, 1) for p in peaks.values()),
        "seconds:",
        {k: round(v, 2) for k, v in run["seconds"].items()},
    )
    assert all(peak < LIMIT for peak in peaks.values()), {a: p / MIB for a, p in peaks.items()}

    # Chunk-local: one shuffle task per input chunk, no rechunk.
    assert run["new_layers"] == [name for name in run["new_layers"] if name.startswith("pixel_shuffle")]
    assert len(run["new_layers"]) == 1
    assert (
        run["layer_tasks"]
        == run["input_chunks"]
        == math.prod(s // c for s, c in zip(SHAPE, CHUNKS, strict=True))
    )
    assert run["output_chunksize"] == (1, 4, 512, 512)

    expected = reference(SHAPE, CHUNKS, FACTOR)
    assert run["out_shape"] == expected.shape
    out = zarr.open_array(run["paths"][1], mode="r")
    rng = np.random.default_rng(0)
    out_regions = run["out_regions"]
    for index in rng.choice(len(out_regions), size=SAMPLED_CHUNKS, replace=False):
        region = out_regions[index]
        assert out[region].tobytes() == np.ascontiguousarray(expected[region]).tobytes(), region
    mismatched = [
        region
        for region, digest in zip(out_regions, run["digests"], strict=True)
        if digest
        != hashlib.blake2b(np.ascontiguousarray(expected[region]).tobytes(), digest_size=16).hexdigest()
    ]
    assert mismatched == []
    assert len(run["digests"]) == len(out_regions) == run["input_chunks"]
