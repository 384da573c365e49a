"""The copy engine's threads: the setting, the default, fork safety and a clean exit.

Scenarios that start processes run in a fresh interpreter (a script in a subprocess with a
timeout), so a hang fails the test instead of stopping the run, and the parent's state (its
pool used before the fork) is exactly what the scenario sets up. Every child checks its result
byte for byte and reports the routes it took: the multi-threaded route runs inside a forked
child.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import subpixel
from subpixel import _limits, _routes, _threads
from subpixel._copy import _blocked, _compiled
from subpixel._fast import numpy as fast_numpy
from tests.reference import reference

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parent.parent
#: The route of the large float32 shuffle these tests run: the compiled kernel where subpixel-kernels is.
ENGINE = "numpy:compiled-join" if _compiled.AVAILABLE else "numpy:blocked"
#: Seconds a scenario may take before it counts as hung.
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    before = subpixel.get_num_threads()
    yield
    subpixel.set_num_threads(before)


def _large() -> np.ndarray[Any, Any]:
    """A float32 input past the threaded copy's threshold whose shuffle takes the slice copies."""
    rng = np.random.default_rng(0)
    shape = (4, 64, 96, 96)
    assert 4 * np.prod(shape) >= _limits.PARALLEL_BYTES
    return rng.integers(0, 2**32, size=shape, dtype=np.uint32).view(np.float32)


def _expected(x: np.ndarray[Any, Any]) -> bytes:
    return reference(x, 2, inverse=False, channels_last=False, order="CRD").tobytes()


def _shuffle_routes(x: np.ndarray[Any, Any]) -> set[str]:
    with _routes.counting() as counter:
        y = subpixel.pixel_shuffle(x, 2)
    assert y.tobytes() == _expected(x)
    return set(counter)


def _pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(_threads.THREAD_NAME_PREFIX)]


def _wait_for(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


# --- the setting ------------------------------------------------------------------------------


def test_default_is_the_cpus_this_process_may_use() -> None:
    done = _run_script(
        "import subpixel, subpixel._threads as t; print(subpixel.get_num_threads(), t.available_cpus())",
        env={_threads.ENV_VAR: None},
    )
    threads, cpus = map(int, done.stdout.split())
    assert threads == min(cpus, _threads.MAX_DEFAULT_THREADS)
    if hasattr(os, "sched_getaffinity"):
        assert cpus <= len(os.sched_getaffinity(0))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_default_follows_cpu_affinity_and_one_cpu_means_no_pool() -> None:
    cpu = min(os.sched_getaffinity(0))
    script = f"""
        import os, threading
        os.sched_setaffinity(0, {{{cpu}}})
        import numpy as np, subpixel
        from subpixel import _routes
        from subpixel._fast import numpy as fast_numpy
        x = np.zeros((4, 64, 96, 96), np.float32)
        with _routes.counting() as counter:
            subpixel.pixel_shuffle(x, 2)
        names = [t.name for t in threading.enumerate() if t.name.startswith("subpixel")]
        missing = fast_numpy.unreachable_routes()
        print(subpixel.get_num_threads(), sorted(counter), names, missing.get("numpy:threaded"))
    """
    out = _run_script(script, env={_threads.ENV_VAR: None}).stdout.strip()
    assert out == f"1 [{ENGINE!r}] [] one copy thread allowed (subpixel.get_num_threads() == 1)"


def test_set_num_threads_validates_n() -> None:
    for bad in (2.0, "2", None, True):
        with pytest.raises(TypeError, match=r"set_num_threads: argument n must be an int, got"):
            subpixel.set_num_threads(bad)  # type: ignore[arg-type]
    for bad_value in (0, -3):
        message = rf"set_num_threads: argument n must be a positive int, got {bad_value}"
        with pytest.raises(ValueError, match=message):
            subpixel.set_num_threads(bad_value)
    subpixel.set_num_threads(np.int64(3))
    assert subpixel.get_num_threads() == 3
    assert type(subpixel.get_num_threads()) is int


@pytest.mark.parametrize(("value", "expected"), [("3", "3"), (" 1 ", "1"), ("16", "16")])
def test_environment_variable_sets_the_count(value: str, expected: str) -> None:
    done = _run_script("import subpixel; print(subpixel.get_num_threads())", env={_threads.ENV_VAR: value})
    assert done.stdout.strip() == expected


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "4 threads"])
def test_bad_environment_variable_fails_at_import_naming_it(value: str) -> None:
    done = _run_script("import subpixel", env={_threads.ENV_VAR: value}, check=False)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        "ValueError: subpixel: environment variable SUBPIXEL_NUM_THREADS must be a positive integer, "
        f"got {value!r}"
    )


def test_cgroup_quotas_are_read(tmp_path: Path) -> None:
    v2 = tmp_path / "v2"
    (v2 / "a" / "b").mkdir(parents=True)
    (v2 / "cpu.max").write_text("max 100000\n")
    (v2 / "a" / "cpu.max").write_text("150000 100000\n")
    (v2 / "a" / "b" / "cpu.max").write_text("max 100000\n")
    assert _threads._cgroup_v2_limit(str(v2), "/a/b") == 1.5
    assert _threads._cgroup_v2_limit(str(v2), "/") is None
    v1 = tmp_path / "v1"
    v1.mkdir()
    (v1 / "cpu.cfs_quota_us").write_text("250000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert _threads._cgroup_v1_limit(str(v1), "/not/there") == 2.5
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert _threads._cgroup_v1_limit(str(v1), "/") is None
    assert _threads.available_cpus() >= 1


# --- which route a call takes ---------------------------------------------------------------------


def test_main_thread_splits_large_copies_over_the_pool() -> None:
    subpixel.set_num_threads(2)
    assert "numpy:threaded" not in fast_numpy.unreachable_routes()
    assert _shuffle_routes(_large()) == {ENGINE, "numpy:threaded"}
    assert _wait_for(lambda: 1 <= len(_pool_threads()) <= 2)  # earlier pools' threads may still be ending


def test_one_thread_runs_on_the_caller_and_removes_the_pool() -> None:
    subpixel.set_num_threads(2)
    _shuffle_routes(_large())
    subpixel.set_num_threads(1)
    assert _threads._pool is None
    missing = fast_numpy.unreachable_routes()
    assert missing["numpy:threaded"] == "one copy thread allowed (subpixel.get_num_threads() == 1)"
    assert {route for route in missing if "lanes" not in route and "compiled" not in route} == {
        "numpy:threaded"
    }
    assert _shuffle_routes(_large()) == {ENGINE}
    assert _threads._pool is None
    assert _wait_for(lambda: not _pool_threads())


def test_other_threads_copy_on_their_own_thread() -> None:
    """A call from a thread that is not the main thread (a Dask worker, any pool) uses one thread."""
    subpixel.set_num_threads(2)
    seen: list[set[str]] = []
    worker = threading.Thread(target=lambda: seen.append(_shuffle_routes(_large())))
    worker.start()
    worker.join(TIMEOUT)
    assert seen == [{ENGINE}]


def test_main_thread_uses_the_pool_while_other_threads_copy() -> None:
    subpixel.set_num_threads(2)
    x = _large()
    expected = _expected(x)
    results: list[bool] = []

    def work() -> None:
        results.append(subpixel.pixel_shuffle(x, 2).tobytes() == expected)

    with _routes.counting() as counter:  # records from every thread
        workers = [threading.Thread(target=work) for _ in range(3)]
        for worker in workers:
            worker.start()
        for _ in range(3):
            work()
        for worker in workers:
            worker.join(TIMEOUT)
    assert results == [True] * 6
    assert counter == {"numpy:threaded": 3, ENGINE: 6}


def test_resizing_replaces_the_pool() -> None:
    subpixel.set_num_threads(3)
    assert _shuffle_routes(_large()) == {ENGINE, "numpy:threaded"}
    assert _wait_for(lambda: 1 <= len(_pool_threads()) <= 3)  # earlier pools' threads may still be ending
    old_threads = _pool_threads()
    subpixel.set_num_threads(2)
    assert _threads._pool is None
    assert _shuffle_routes(_large()) == {ENGINE, "numpy:threaded"}
    assert _wait_for(lambda: not any(t.is_alive() for t in old_threads))
    assert _wait_for(lambda: 1 <= len(_pool_threads()) <= 2)
    kept = _threads._pool
    subpixel.set_num_threads(2)
    assert _threads._pool is kept is not None  # the same size keeps the pool


def _run_recording(delay_on_main: float) -> tuple[list[Any], list[str]]:
    """Run the engine's threaded loop over 64 numbered blocks; return them as copied, and by whom.

    Each part takes 5 ms (``delay_on_main`` more on the calling thread), so both threads come.
    """
    blocks: list[Any] = [(index,) for index in range(64)]
    done: list[Any] = []
    who: list[str] = []
    lock = threading.Lock()

    def kernel(part: list[Any]) -> None:
        on_main = threading.current_thread() is threading.main_thread()
        time.sleep(0.005 + (delay_on_main if on_main else 0.0))
        with lock:
            done.extend(part)
            who.extend(["main" if on_main else "pool"] * len(part))

    _blocked._run("blocked", None, kernel, blocks, _limits.PARALLEL_BYTES)
    return done, who


def test_threaded_copies_share_every_block_once_and_the_caller_works_too() -> None:
    subpixel.set_num_threads(2)
    done, who = _run_recording(0.0)
    assert sorted(done) == [(index,) for index in range(64)]
    parts = _blocked.PARTS_PER_THREAD * 2
    assert 64 % parts == 0
    # Each part is a run of consecutive blocks, copied by one thread.
    runs = [done[i : i + 64 // parts] for i in range(0, 64, 64 // parts)]
    assert all(run == [(run[0][0] + k,) for k in range(len(run))] for run in runs)
    assert "main" in who


def test_a_slowed_thread_takes_fewer_parts() -> None:
    """Parts are handed out as threads come for them: a thread held up by other work copies less."""
    subpixel.set_num_threads(2)
    _, who = _run_recording(0.2)
    assert who.count("main") < who.count("pool")
    assert who.count("main") + who.count("pool") == 64


def test_an_error_in_a_pool_thread_reaches_the_caller() -> None:
    subpixel.set_num_threads(2)

    def kernel(part: list[Any]) -> None:
        time.sleep(0.005)
        if threading.current_thread() is not threading.main_thread():
            msg = "planted"
            raise OSError(msg)

    with pytest.raises(OSError, match="planted"):
        _blocked._run("blocked", None, kernel, [(i,) for i in range(16)], _limits.PARALLEL_BYTES)


# --- processes --------------------------------------------------------------------------------------

#: A scenario's preamble: the parent uses the threaded copy, then starts children that shuffle.
PREAMBLE = """
import json, sys, warnings
import numpy as np
import subpixel
from subpixel import _routes
from subpixel._copy import _blocked, _compiled

ENGINE = "numpy:compiled-join" if _compiled.AVAILABLE else "numpy:blocked"

# Python 3.12+ warns that forking a process with threads may deadlock: that is what is tested.
warnings.filterwarnings("ignore", message=".*use of fork", category=DeprecationWarning)

def make(seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2**32, size=(4, 64, 96, 96), dtype=np.uint32).view(np.float32)

def shuffle_and_check(seed):
    x = make(seed)
    with _routes.counting() as counter:
        y = subpixel.pixel_shuffle(x, 2)
    n, c, h, w = x.shape
    ok = y.tobytes() == x.reshape(n, c // 4, 2, 2, h, w).transpose(0, 1, 4, 2, 5, 3).tobytes()
    return ok, sorted(counter)

def parent_uses_the_pool():
    ok, routes = shuffle_and_check(99)
    assert ok and routes == [ENGINE, "numpy:threaded"], routes
"""


def _run_script(
    body: str, *, env: dict[str, str | None] | None = None, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    environment.setdefault(_threads.ENV_VAR, "2")
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    if cwd is not None:  # a script file: spawned children re-import it as their main module
        script = cwd / "scenario.py"
        script.write_text(textwrap.dedent(body))
        command = [sys.executable, str(script)]
    else:
        command = [sys.executable, "-c", textwrap.dedent(body)]
    done = subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd or ROOT,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _scenario(tmp_path: Path, main: str) -> Any:
    """Run PREAMBLE + ``main`` as a script file (spawned children re-import it); return its JSON."""
    body = (
        PREAMBLE
        + '\nif __name__ == "__main__":\n    parent_uses_the_pool()\n'
        + textwrap.indent(textwrap.dedent(main), "    ")
    )
    done = _run_script(body, cwd=tmp_path)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a subprocess run of seconds to a minute
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_multiprocessing_children_after_the_parent_used_the_pool(tmp_path: Path, method: str) -> None:
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method!r} is not available on this platform")
    results = _scenario(
        tmp_path,
        f"""
        import multiprocessing
        with multiprocessing.get_context({method!r}).Pool(2) as pool:
            print(json.dumps(pool.map_async(shuffle_and_check, [0, 1, 2]).get(timeout=60)))
        """,
    )
    assert results == [[True, [ENGINE, "numpy:threaded"]]] * 3


def test_process_pool_executor(tmp_path: Path) -> None:
    results = _scenario(
        tmp_path,
        """
        import concurrent.futures
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            futures = [pool.submit(shuffle_and_check, seed) for seed in range(3)]
            print(json.dumps([f.result(timeout=60) for f in futures]))
        """,
    )
    assert results == [[True, [ENGINE, "numpy:threaded"]]] * 3


def test_fork_while_another_thread_holds_the_pool_lock(tmp_path: Path) -> None:
    """The child gets a fresh lock: a lock held at the moment of the fork cannot block it."""
    results = _scenario(
        tmp_path,
        """
        import os, time
        from subpixel import _threads
        with _threads._lock:
            pid = os.fork()
            if pid == 0:
                ok, routes = shuffle_and_check(5)
                os._exit(0 if ok and routes == [ENGINE, "numpy:threaded"] else 3)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                print(json.dumps(os.waitstatus_to_exitcode(status)))
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            print(json.dumps("hung"))
        """,
    )
    assert results == 0


@pytest.mark.needs("torch")
def test_torch_dataloader_workers(tmp_path: Path) -> None:
    results = _scenario(
        tmp_path,
        """
        import torch
        from torch.utils.data import DataLoader, Dataset

        class Shuffled(Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                ok, routes = shuffle_and_check(i)
                return ok and routes == [ENGINE, "numpy:threaded"]

        loader = DataLoader(Shuffled(), batch_size=None, num_workers=2, timeout=60)
        print(json.dumps([bool(b) for b in loader]))
        """,
    )
    assert results == [True] * 4


@pytest.mark.needs("dask")
def test_dask_worker_processes(tmp_path: Path) -> None:
    """Tasks run in a worker's threads: they complete, each on its own thread (no nested pool)."""
    results = _scenario(
        tmp_path,
        """
        import logging
        from distributed import Client, LocalCluster
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            futures = client.map(shuffle_and_check, range(3))
            print(json.dumps(client.gather(futures, errors="raise")))
        """,
    )
    assert results == [[True, [ENGINE]]] * 3


def test_no_thread_is_left_at_exit() -> None:
    """The pool's threads end with the interpreter: the process exits promptly after using them."""
    script = PREAMBLE + textwrap.dedent(
        """
        import threading
        parent_uses_the_pool()
        print(sum(t.name.startswith("subpixel-copy") for t in threading.enumerate()))
        """
    )
    started = time.monotonic()
    done = _run_script(script)
    assert int(done.stdout.strip()) >= 1
    assert done.returncode == 0
    assert time.monotonic() - started < TIMEOUT
