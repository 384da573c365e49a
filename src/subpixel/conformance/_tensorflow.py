"""TensorFlow and Keras rows of the matrix, and TensorFlow's ops as a reference.

- ``tensorflow``: the library on eager ``tf.Tensor`` inputs.
- ``tensorflow.graph``: inside a plain ``tf.function`` traced for the input's exact shape.
- ``tensorflow.function``: inside ``tf.function(jit_compile=True)`` (XLA) traced with unknown
  batch and spatial sizes, so the sizes are read with ``tf.shape`` when it runs.
- ``subpixel.keras.<backend>``: the Keras layers on each Keras backend (``tensorflow``, ``jax``,
  ``torch``). Keras fixes its backend when it is imported, so each row runs its layers in a
  worker process started with ``KERAS_BACKEND`` set (:mod:`subpixel.conformance._keras_worker`);
  inputs and outputs travel as NumPy arrays, which the layers accept.

``tf.nn.depth_to_space`` / ``space_to_depth`` are an independent reference for channels-last
DCR cases with a 4-D input and a square factor of at least 2 (TensorFlow rejects block size 1).
"""

from __future__ import annotations

import atexit
import functools
import importlib
import importlib.util
import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import IO, Any, ClassVar

import numpy as np

from subpixel.conformance._backends import ADAPTERS, ArrayBackend, HostResult, NumpyBackend
from subpixel.conformance._cases import Case
from subpixel.conformance._inputs import host_dtype

__all__ = [
    "KERAS_BACKENDS",
    "KerasBackend",
    "TensorFlowBackend",
    "implementations",
    "tensorflow_applies",
    "tensorflow_output",
]

#: The Keras backends that get a ``subpixel.keras.<backend>`` row.
KERAS_BACKENDS = ("tensorflow", "jax", "torch")


class TensorFlowBackend(ArrayBackend):
    """Eager ``tf.Tensor`` on the CPU; tensors are immutable and have no strides."""

    name = "tensorflow"
    module = "tensorflow"
    strided = False

    def dtype_object(self, dtype: str) -> Any:
        """``tf.as_dtype`` of the host dtype."""
        return self.load().as_dtype(host_dtype(dtype))

    def from_host(self, x: np.ndarray[Any, Any], dtype: str, device: str) -> Any:
        """``tf.constant`` of a copy (every bit kept)."""
        return self.load().constant(np.array(x, dtype=host_dtype(dtype), copy=True))

    def is_array(self, y: Any) -> bool:
        """Check for a dense ``tf.Tensor``."""
        return isinstance(y, self.load().Tensor)

    def to_host(self, y: Any, dtype: str) -> HostResult:
        """``.numpy()``."""
        return HostResult(np.asarray(y.numpy()), dtype)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """Tensors are immutable; sharing cannot be observed."""
        return False

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.device``."""
        return None if y.device == x.device else f"output on {y.device}, input on {x.device}"


#: NumPy dtypes Keras's torch backend rejects as layer inputs
#: (uint16 and bfloat16 measured; uint32 and uint64 not tried).
_KERAS_TORCH_MISSING = frozenset({"uint16", "uint32", "uint64", "bfloat16"})


class KerasBackend(NumpyBackend):
    """NumPy inputs and outputs of the Keras layers on one Keras backend (run in a worker)."""

    module = "keras"
    keras_backend: ClassVar[str] = ""

    def installed(self) -> bool:
        """Keras and its backend library."""
        found = importlib.util.find_spec
        return found("keras") is not None and found(self.keras_backend) is not None

    def load(self) -> Any:
        """NumPy (the layers run in the worker)."""
        return importlib.import_module("numpy")

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """Keras's torch backend cannot take NumPy inputs of some dtypes."""
        if self.keras_backend == "torch" and dtype in _KERAS_TORCH_MISSING:
            return f"Keras's torch backend does not convert NumPy {dtype} inputs"
        return super().dtype_problem(dtype, device)

    def is_array(self, y: Any) -> bool:
        """Check for a NumPy array (the worker answers with them)."""
        return isinstance(y, np.ndarray)

    def versions(self) -> dict[str, str]:
        """Keras and the backend library, as the worker reports them."""
        return _worker(self.keras_backend).versions


def _keras_adapter(backend: str) -> KerasBackend:
    kind = type(
        f"Keras{backend.title()}Backend",
        (KerasBackend,),
        {"keras_backend": backend, "name": f"keras.{backend}"},
    )
    adapter: KerasBackend = kind()
    return adapter


ADAPTERS.update(
    {"tensorflow": TensorFlowBackend(), **{f"keras.{b}": _keras_adapter(b) for b in KERAS_BACKENDS}}
)


# -- TensorFlow as a reference ----------------------------------------------------------------
def tensorflow_applies(case: Case) -> bool:
    """``depth_to_space`` / ``space_to_depth``: channels-last DCR, 4-D, square factor >= 2."""
    return (
        case.channels_last
        and case.order == "DCR"
        and case.torch_native
        and len(case.shape) == 4
        and case.factors[0] >= 2
    )


def tensorflow_output(case: Case, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Run ``tf.nn.depth_to_space`` (or ``space_to_depth`` for an unshuffle) on ``x``."""
    tf = importlib.import_module("tensorflow")
    op = tf.nn.space_to_depth if case.inverse else tf.nn.depth_to_space
    return np.asarray(op(tf.constant(x), case.factors[0]).numpy())


# -- rows --------------------------------------------------------------------------------------
def _library(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    from subpixel import pixel_shuffle, pixel_unshuffle

    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def _function(
    factor: Any,
    inverse: bool,
    channels_last: bool,
    order: str,
    shape: tuple[int | None, ...],
    dtype: Any,
    xla: bool,
) -> Any:
    tf = importlib.import_module("tensorflow")

    def run(t: Any) -> Any:
        return _library(t, factor, inverse, channels_last, order)

    spec = tf.TensorSpec(shape, dtype)
    return tf.function(run, input_signature=[spec], jit_compile=xla)


def _graph_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run inside a plain ``tf.function`` traced for the exact shape."""
    shape = tuple(int(s) for s in x.shape)
    return _function(factor, inverse, channels_last, order, shape, x.dtype, False)(x)


def _xla_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """``tf.function(jit_compile=True)`` traced with every size but the channel size unknown."""
    k = len(factor) if isinstance(factor, tuple) else 2
    ndim = len(x.shape)
    channel = ndim - 1 if channels_last else ndim - k - 1
    shape = tuple(int(s) if axis == channel else None for axis, s in enumerate(x.shape))
    return _function(factor, inverse, channels_last, order, shape, x.dtype, True)(x)


class _Worker:
    """A process that runs the Keras layers with ``KERAS_BACKEND`` set; one per backend."""

    def __init__(self, backend: str) -> None:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_ENABLE_X64": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
        command = [sys.executable, "-m", "subpixel.conformance._keras_worker"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.lock = threading.Lock()
        atexit.register(self.close)
        self.versions: dict[str, str] = self.ask(("versions",))

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
            status, payload = _receive(stdout)
        if status == "error":
            raise RuntimeError(payload)
        return payload


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        msg = "the Keras worker process ended"
        raise RuntimeError(msg)
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


@functools.cache
def _worker(backend: str) -> _Worker:
    return _Worker(backend)


def _keras_call(backend: str, x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    return _worker(backend).ask(("shuffle", np.ascontiguousarray(x), factor, inverse, channels_last, order))


def implementations() -> list[Any]:
    """Return the TensorFlow and Keras rows (imported lazily by the registry)."""
    from subpixel.conformance._registry import Implementation

    rows = [
        Implementation(
            "tensorflow",
            "tensorflow",
            _library,
            requires=("tensorflow",),
            routes="tensorflow:eager",
            description="subpixel on tf.Tensor (eager)",
        ),
        Implementation(
            "tensorflow.graph",
            "tensorflow",
            _graph_call,
            requires=("tensorflow",),
            routes="tensorflow:graph",
            description="subpixel inside tf.function (sizes known when tracing)",
        ),
        Implementation(
            "tensorflow.function",
            "tensorflow",
            _xla_call,
            requires=("tensorflow",),
            routes="tensorflow:graph-dynamic",
            description="subpixel inside tf.function(jit_compile=True), batch and spatial sizes unknown",
        ),
    ]
    rows.extend(
        Implementation(
            f"subpixel.keras.{backend}",
            f"keras.{backend}",
            functools.partial(_keras_call, backend),
            requires=("keras", backend),
            description=f"subpixel.keras layers on the {backend} backend (a worker process)",
            setup=functools.partial(_worker, backend),
        )
        for backend in KERAS_BACKENDS
    )
    return rows
