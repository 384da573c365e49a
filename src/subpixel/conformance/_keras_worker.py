"""The Keras rows' worker process, and the client that talks to it.

Keras fixes its backend when it is imported, so each ``subpixel.keras.<backend>`` row runs its
layers in a process of its own (:func:`serve`), started with ``KERAS_BACKEND`` set. The two
sides exchange length-prefixed pickles: requests ``("backend",)`` (answered with the backend
Keras runs on) or ``("shuffle", x, factor, inverse, channels_last, order)`` with ``x`` a NumPy
array; answers ``("ok", payload)`` or ``("error", text)``. A shuffle's payload is the
output as a NumPy array and the routes of the library that the call took (counted in the worker
by :func:`subpixel._routes.counting`), which the client records again in its own process, so a
Keras row reports its routes like any other row. Anything the frameworks print goes to stderr,
so stdout carries only answers.
"""

from __future__ import annotations

import atexit
import functools
import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any

import numpy as np

from subpixel import _routes

__all__ = ["Worker", "keras_call", "main", "serve", "worker"]


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """Return the next message, or raise ``EOFError`` when the stream has ended."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


# -- the worker's side ---------------------------------------------------------------------------
def _answer(request: tuple[Any, ...]) -> Any:
    import keras

    if request[0] == "backend":
        return str(keras.backend.backend())
    from subpixel import keras as layers

    _, x, factor, inverse, channels_last, order = request
    kind = layers.PixelUnshuffle if inverse else layers.PixelShuffle
    data_format = "channels_last" if channels_last else "channels_first"
    with _routes.counting() as seen:
        y = kind(factor, data_format=data_format, order=order)(x)
    return keras.ops.convert_to_numpy(y), dict(seen)


def main(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer requests until stdin closes."""
    while True:
        try:
            request = _receive(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", _answer(request))
        except Exception as error:  # reported to the parent as the case's failure
            reply = ("error", f"{type(error).__name__}: {error}")
        _send(stdout, reply)


# -- the matrix's side ---------------------------------------------------------------------------
class Worker:
    """A worker process running the Keras layers on one Keras ``backend``."""

    def __init__(self, backend: str) -> None:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_ENABLE_X64": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-c", "from subpixel.conformance._keras_worker import serve; serve()"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.lock = threading.Lock()
        atexit.register(self.close)
        running = self.ask(("backend",))
        if running != backend:
            self.close()
            msg = f"the Keras worker runs on {running!r}, not on {backend!r}"
            raise RuntimeError(msg)

    def close(self) -> None:
        """End the worker (it stops when its stdin closes)."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def ask(self, request: tuple[Any, ...]) -> Any:
        """Send one request and return the answer; a worker error is raised here."""
        with self.lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None
            assert stdout is not None
            _send(stdin, request)
            try:
                status, payload = _receive(stdout)
            except EOFError:
                msg = "the Keras worker process ended"
                raise RuntimeError(msg) from None
        if status == "error":
            raise RuntimeError(payload)
        return payload


@functools.cache
def worker(backend: str) -> Worker:
    """Return the worker of ``backend``, started on first use and ended at exit."""
    return Worker(backend)


def keras_call(backend: str, x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the Keras layer in the worker of ``backend``; record the routes it took here."""
    request = ("shuffle", np.ascontiguousarray(x), factor, inverse, channels_last, order)
    y, routes = worker(backend).ask(request)
    if _routes.listening:
        for route, count in routes.items():
            for _ in range(count):
                _routes.record(route)
    return y


def serve() -> None:
    """Be the worker: answer on the real stdout, and send everything printed to stderr."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints from the frameworks go to stderr
    sys.stdout = sys.stderr
    main(sys.stdin.buffer, answers)
