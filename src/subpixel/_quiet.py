"""Keep frameworks' native start-up logs out of a command's output.

TensorFlow (and XLA) log from C++ while they load: oneDNN notes, CPU feature notes and CUDA
probes, on file descriptor 2, in this process and in every worker process a command starts.
``TF_CPP_MIN_LOG_LEVEL`` silences what TensorFlow logs once its logging is set up, but not the
lines written before (``WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR`` and the informational lines after it). :func:`native_logs_quieted` does both.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

__all__ = ["NATIVE_LOG", "native_logs_quieted"]

#: Lines dropped from file descriptor 2: absl's note that logging is not set up yet, and the
#: informational and warning lines of glog/absl's format (``I0000 00:00:1796560120.559955  20978
#: port.cc:153] ...``). Errors (``E``) and fatal lines (``F``) always pass.
NATIVE_LOG = re.compile(
    rb"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] .*)$"
)

#: What a dropped line can start with: a partial line that may become one waits for its end.
_MAY_BECOME = re.compile(rb"^(?:W(?:A(?:R(?:N(?:I(?:N(?:G(?::.*)?)?)?)?)?)?)?|[IW]\d{0,4}(?: .*)?)$")

#: ``TF_CPP_MIN_LOG_LEVEL`` while quieted, unless the user set it: errors and below are not logged.
LEVEL = "3"


@contextlib.contextmanager
def native_logs_quieted() -> Iterator[None]:
    """Drop native start-up logs from file descriptor 2 and set ``TF_CPP_MIN_LOG_LEVEL`` meanwhile.

    Worker processes started inside inherit both. Every other byte written to descriptor 2
    passes through in order (a partial line at once, unless it may become a dropped line). A
    user who set ``TF_CPP_MIN_LOG_LEVEL`` keeps it, and every line (``TF_CPP_MIN_LOG_LEVEL=0``
    shows them all); where the descriptor cannot be redirected, only the variable is set.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ:  # the user's choice: every line passes
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = LEVEL
    try:
        with _filtered_fd2():
            yield
    finally:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)


@contextlib.contextmanager
def _filtered_fd2() -> Iterator[None]:
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    forward = threading.Thread(target=_forward, args=(read, original), name="native-log-filter", daemon=True)
    forward.start()
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        os.dup2(original, 2)  # closes this process's write end of the pipe: the reader sees its end
        forward.join(timeout=10)
        os.close(original)


def _forward(read: int, out: int) -> None:
    """Copy ``read`` to ``out`` until the pipe ends, dropping :data:`NATIVE_LOG` lines."""
    pending = b""
    with os.fdopen(read, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            kept = b"".join(line + b"\n" for line in lines if not NATIVE_LOG.match(line))
            if pending and not _MAY_BECOME.match(pending):
                kept, pending = kept + pending, b""
            _write_all(out, kept)
    if pending and not NATIVE_LOG.match(pending):
        _write_all(out, pending)


def _write_all(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]
