"""Threads of the NumPy copy engine: how many, the shared pool, and what happens on ``fork``.

Large NumPy copies (and the torch CPU path, which runs the same engine) split their blocks
over a small pool of threads; NumPy releases the GIL while it copies. This module owns that
pool and its size:

* the size is :func:`get_num_threads`, set with :func:`set_num_threads` or, at import, with
  the environment variable ``SUBPIXEL_NUM_THREADS``; by default it is the number of CPUs this
  process may use (its CPU affinity and any cgroup CPU quota), at most
  :data:`MAX_DEFAULT_THREADS`;
* with one thread there is no pool at all;
* the pool is created on first use and dropped in the child after ``fork`` (the child
  inherits the pool object but none of its threads), so a forked child builds its own;
* only the main thread splits work over the pool: a call from any other thread (a Dask worker
  thread, a thread of any other pool, a pool thread of our own) copies on its own thread, so
  threads never multiply and the pool never waits on itself.

Importing this module imports no array library and starts no thread.
"""

from __future__ import annotations

import math
import operator
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "ENV_VAR",
    "MAX_DEFAULT_THREADS",
    "available_cpus",
    "get_num_threads",
    "pool",
    "set_num_threads",
    "threads_for_call",
]

#: Environment variable read once, at import: the number of copy threads.
ENV_VAR = "SUBPIXEL_NUM_THREADS"

#: The default thread count never exceeds this: a copy is bound by memory bandwidth, which a
#: few cores already saturate.
MAX_DEFAULT_THREADS = 8

#: Name prefix of the pool's threads (``threading.enumerate()`` shows them).
THREAD_NAME_PREFIX = "subpixel-copy"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as file:
            return file.read()
    except (OSError, ValueError):
        return None


def _cgroup_v2_limit(root: str, relative: str) -> float | None:
    """Return the tightest ``cpu.max`` quota on the path from the process's cgroup up to the root."""
    limit: float | None = None
    path = relative.strip("/")
    while True:
        text = _read(os.path.join(root, path, "cpu.max") if path else os.path.join(root, "cpu.max"))
        if text is not None:
            fields = text.split()
            if len(fields) == 2 and fields[0] != "max":
                try:
                    quota, period = int(fields[0]), int(fields[1])
                except ValueError:
                    quota, period = 0, 0
                if quota > 0 and period > 0:
                    limit = quota / period if limit is None else min(limit, quota / period)
        if not path:
            return limit
        path = os.path.dirname(path)


def _cgroup_v1_limit(root: str, relative: str) -> float | None:
    """Return the ``cpu.cfs_quota_us / cpu.cfs_period_us`` quota of the process's cgroup, if any."""
    for folder in (os.path.join(root, relative.strip("/")), root):
        quota_text = _read(os.path.join(folder, "cpu.cfs_quota_us"))
        period_text = _read(os.path.join(folder, "cpu.cfs_period_us"))
        if quota_text is None or period_text is None:
            continue
        try:
            quota, period = int(quota_text), int(period_text)
        except ValueError:
            continue
        if quota > 0 and period > 0:
            return quota / period
        return None
    return None


def _cgroup_cpu_limit() -> float | None:
    """Return the CPU quota of this process's cgroup (v2 ``cpu.max`` or v1 CFS quota), or None."""
    text = _read("/proc/self/cgroup")
    if text is None:
        return None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, relative = parts
        if hierarchy == "0" and not controllers:
            limit = _cgroup_v2_limit("/sys/fs/cgroup", relative)
            if limit is None:
                limit = _cgroup_v2_limit("/sys/fs/cgroup/unified", relative)
            if limit is not None:
                return limit
        elif "cpu" in controllers.split(","):
            for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                limit = _cgroup_v1_limit(os.path.join("/sys/fs/cgroup", mount), relative)
                if limit is not None:
                    return limit
    return None


def available_cpus() -> int:
    """Return the number of CPUs this process may use: its affinity, capped by any cgroup quota.

    Returns
    -------
    int
        At least 1. ``os.sched_getaffinity`` where the platform has it (else
        ``os.cpu_count()``), rounded-up cgroup quota where one is set.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpu_limit()
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def _default_threads() -> int:
    return max(1, min(available_cpus(), MAX_DEFAULT_THREADS))


def _from_environment() -> int:
    """Return ``SUBPIXEL_NUM_THREADS`` as a count, or the default when it is unset or empty."""
    value = os.environ.get(ENV_VAR, "").strip()
    if not value:
        return _default_threads()
    try:
        count = int(value, 10)
    except ValueError:
        count = 0
    if count < 1:
        msg = f"subpixel: environment variable {ENV_VAR} must be a positive integer, got {value!r}"
        raise ValueError(msg)
    return count


_num_threads = _from_environment()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def get_num_threads() -> int:
    """Return how many threads the copy engine may use for one large copy.

    Returns
    -------
    int
        The value set by :func:`set_num_threads`, else ``SUBPIXEL_NUM_THREADS`` as read at
        import, else the number of CPUs this process may use (affinity and cgroup quota), at
        most 8.

    Notes
    -----
    Only calls from the main thread use more than one thread; see :func:`set_num_threads`.
    """
    return _num_threads


def set_num_threads(n: int) -> None:
    """Set how many threads the copy engine may use for one large copy.

    Parameters
    ----------
    n : int
        A positive integer. ``1`` runs every copy on the calling thread and removes the pool.

    Raises
    ------
    TypeError
        If ``n`` is not an integer (``bool`` included).
    ValueError
        If ``n`` is less than 1.

    Notes
    -----
    The setting is process-wide and is inherited by forked children (which build a fresh pool
    on first use). Copies of at least 8 MiB called from the main thread are split over the
    threads; calls from any other thread (a Dask worker, a thread pool of your own) run on
    that thread alone, so nested pools do not oversubscribe the CPUs. The pool is separate
    from torch's intra-op threads (``torch.set_num_threads``) and from BLAS threads.
    """
    global _num_threads, _pool
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        msg = f"set_num_threads: argument n must be an int, got {type(n).__name__} {n!r}"
        raise TypeError(msg)
    count = operator.index(n)
    if count < 1:
        msg = f"set_num_threads: argument n must be a positive int, got {count}"
        raise ValueError(msg)
    with _lock:
        _num_threads = count
        if _pool is not None and _pool_size != count:
            # Dropped, not shut down: a copy that holds it may still submit. Its idle threads
            # end when the last reference goes (the executor wakes them through a weakref).
            _pool = None


def threads_for_call() -> int:
    """Return how many threads a large copy requested now, on this thread, may use."""
    if _num_threads == 1 or threading.current_thread() is not threading.main_thread():
        return 1
    return _num_threads


def pool() -> ThreadPoolExecutor:
    """Return the shared pool, sized :func:`get_num_threads`, creating it on first use."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != _num_threads:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=_num_threads, thread_name_prefix=THREAD_NAME_PREFIX)
            _pool_size = _num_threads
        return _pool


def _forget_pool_in_child() -> None:
    """After ``fork``, in the child: drop the parent's pool (it has no threads here) and lock."""
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)
