"""Worker processes that run jobs of the matrix side by side, one job at a time each.

Most of the matrix's time is compilation (XLA, traced graphs), which runs on one core: a
machine with several cores runs independent rows faster in several processes. The parent
sends each job to the first idle worker (in the order given: longest first balances best) and
collects the answers; a worker sends progress lines while it works. Workers are started with
``python -c`` (never forked: the parent may hold framework thread pools) and stop when their
stdin closes.

Protocol (see :mod:`subpixel.conformance._messages`): the parent sends ``("job", request)``;
the worker answers any number of ``("progress", line)`` and then ``("ok", result)`` or
``("error", text)``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from subpixel.conformance._messages import end_worker, receive, send, stdout_for_messages

__all__ = ["WorkerError", "default_jobs", "run_jobs", "serve"]

#: The most workers :func:`default_jobs` proposes: each imports its own frameworks.
MAX_DEFAULT_JOBS = 4


class WorkerError(RuntimeError):
    """A job failed in its worker, or the worker process ended."""


def default_jobs() -> int:
    """Return the number of CPUs this process may use, at most :data:`MAX_DEFAULT_JOBS`."""
    affinity = getattr(os, "sched_getaffinity", None)
    count = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(count, MAX_DEFAULT_JOBS))


class _Worker:
    """One worker process, started with ``python -c "<entry>"``."""

    def __init__(self, entry: str) -> None:
        command = [sys.executable, "-c", entry]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def run(self, request: Any, progress: Callable[[str], None]) -> Any:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        send(stdin, ("job", request))
        while True:
            try:
                kind, payload = receive(stdout)
            except EOFError:
                msg = f"the worker process ended (exit status {self.process.wait()})"
                raise WorkerError(msg) from None
            if kind == "progress":
                progress(payload)
            elif kind == "error":
                raise WorkerError(payload)
            else:
                return payload

    def close(self) -> None:
        end_worker(self.process, timeout=60)


def run_jobs(requests: list[Any], jobs: int, entry: str, progress: Callable[[str], None]) -> list[Any]:
    """Run every request in at most ``jobs`` workers; return the results in the requests' order.

    ``entry`` is the Python source a worker runs (it calls :func:`serve`). A job that failed
    gives a :class:`WorkerError` in its place; a worker whose process ended is replaced.
    ``progress`` is called with the workers' progress lines, one at a time.
    """
    results: list[Any] = [None] * len(requests)
    pending = list(range(len(requests)))
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            progress(line)

    def slot() -> None:
        worker: _Worker | None = None
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    index = pending.pop(0)
                worker = worker or _Worker(entry)
                try:
                    results[index] = worker.run(requests[index], say)
                except WorkerError as error:
                    results[index] = error
                    if worker.process.poll() is not None:
                        worker.close()
                        worker = None
        finally:
            if worker is not None:
                worker.close()

    threads = [threading.Thread(target=slot, daemon=True) for _ in range(max(1, min(jobs, len(requests))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def serve(handle: Callable[[Any, Callable[[str], None]], Any]) -> None:
    """Be a worker: answer each job with ``handle(request, progress)`` until stdin closes."""
    stdin = sys.stdin.buffer
    with stdout_for_messages() as answers:  # closed when stdin ends: no unclosed file at exit

        def progress(line: str) -> None:
            send(answers, ("progress", line))

        while True:
            try:
                _, request = receive(stdin)
            except EOFError:
                return
            try:
                reply: tuple[str, Any] = ("ok", handle(request, progress))
            except Exception as error:  # reported to the parent as the job's failure
                reply = ("error", f"{type(error).__name__}: {error}")
            send(answers, reply)
