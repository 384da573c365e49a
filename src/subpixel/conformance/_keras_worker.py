"""The Keras rows' worker process, and the client that talks to it.

Keras fixes its backend when it is imported, so each ``subpixel.keras.<backend>`` row runs its
layers in a process of its own (:func:`serve`), started with ``KERAS_BACKEND`` set. The two
sides exchange length-prefixed pickles: requests ``("backend",)`` (answered with the backend
Keras runs on), ``("shuffle", x, factor, inverse, channels_last, order)`` with ``x`` a NumPy
array, or ``("gradient", x, factor, inverse, channels_last, order, g)`` for the gradient at ``x``
of the cotangent ``g``; answers ``("ok", payload)`` or ``("error", text)``. A shuffle's payload
is the output (or the gradient) as a NumPy array and the routes of the library that the call
took (counted in the worker by :func:`subpixel._routes.counting`), which the client records
again in its own process, so a Keras row reports its routes like any other row. Anything the
frameworks print goes to stderr, so stdout carries only answers.
"""

from __future__ import annotations

import atexit
import functools
import os
import subprocess
import sys
import threading
from typing import IO, Any

import numpy as np

from subpixel import _routes
from subpixel._catalog import entry
from subpixel.conformance._messages import end_worker, receive, send, stdout_for_messages

__all__ = ["Worker", "keras_call", "keras_gradient", "main", "serve", "worker"]


# -- the worker's side ---------------------------------------------------------------------------
def _answer(request: tuple[Any, ...]) -> Any:
    import keras

    if request[0] == "backend":
        return str(keras.backend.backend())
    from subpixel import keras as layers

    kind, x, factor, inverse, channels_last, order, *cotangent = request
    layer = (layers.PixelUnshuffle if inverse else layers.PixelShuffle)(
        factor, data_format="channels_last" if channels_last else "channels_first", order=order
    )
    with _routes.counting() as seen:
        if kind == "gradient":
            return _gradient(str(keras.backend.backend()), layer, x, cotangent[0]), dict(seen)
        y = layer(x)
    return keras.ops.convert_to_numpy(y), dict(seen)


def _gradient(backend: str, layer: Any, x: np.ndarray[Any, Any], g: np.ndarray[Any, Any]) -> Any:
    """Return the gradient of ``layer`` at ``x`` for the cotangent ``g``, by the backend's autodiff."""
    return entry(backend).gradient(layer, x, g)


def main(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer requests until stdin closes."""
    while True:
        try:
            request = receive(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", _answer(request))
        except ValueError as error:  # a rejected input: raised again as a ValueError in the parent
            reply = ("value-error", str(error))
        except Exception as error:  # reported to the parent as the case's failure
            reply = ("error", f"{type(error).__name__}: {error}")
        send(stdout, reply)


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
        end_worker(self.process, timeout=30)

    def ask(self, request: tuple[Any, ...]) -> Any:
        """Send one request and return the answer; a worker error is raised here.

        A ``ValueError`` in the worker (an input the layer rejects) is a ``ValueError`` here with
        its message; any other error is a ``RuntimeError`` naming its type.
        """
        with self.lock:
            stdin, stdout = self.process.stdin, self.process.stdout
            assert stdin is not None
            assert stdout is not None
            send(stdin, request)
            try:
                status, payload = receive(stdout)
            except EOFError:
                msg = "the Keras worker process ended"
                raise RuntimeError(msg) from None
        if status == "value-error":
            raise ValueError(payload)
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
    return _ask_recording(backend, request)


def keras_gradient(
    backend: str, x: Any, g: Any, factor: Any, inverse: bool, channels_last: bool, order: str
) -> Any:
    """Return the gradient of the Keras layer at ``x`` for the cotangent ``g``, from the worker.

    The worker differentiates with its backend's own autodiff (``jax.vjp``,
    ``tf.GradientTape``, ``torch.autograd.grad``).
    """
    request = (
        "gradient",
        np.ascontiguousarray(x),
        factor,
        inverse,
        channels_last,
        order,
        np.ascontiguousarray(g),
    )
    return _ask_recording(backend, request)


def _ask_recording(backend: str, request: tuple[Any, ...]) -> Any:
    result, routes = worker(backend).ask(request)
    if _routes.listening:
        for route, count in routes.items():
            for _ in range(count):
                _routes.record(route)
    return result


def serve() -> None:
    """Be the worker: answer on the real stdout, and send everything printed to stderr."""
    with stdout_for_messages() as answers:  # closed when stdin ends: no unclosed file at exit
        main(sys.stdin.buffer, answers)
