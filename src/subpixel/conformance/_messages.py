"""Length-prefixed pickles over a pipe: how the matrix talks to its worker processes.

A message is eight bytes of little-endian length, then the pickle. Both ends are processes of
this package started by the matrix itself, so the pickles come from a trusted peer.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from typing import IO, Any

__all__ = ["end_worker", "receive", "send", "stdout_for_messages"]


def send(stream: IO[bytes], obj: object) -> None:
    """Write one message and flush."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """Return the next message; raise ``EOFError`` when the stream has ended."""
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


def stdout_for_messages() -> IO[bytes]:
    """Keep the real stdout for messages; send everything printed (by a framework) to stderr."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return answers


def end_worker(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Close a worker's stdin (it stops when that closes), wait up to ``timeout`` s, else kill it."""
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()
