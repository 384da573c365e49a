"""The worker process of the ``subpixel.keras.<backend>`` rows: ``python -m`` this module.

It is started with ``KERAS_BACKEND`` set, reads length-prefixed pickled requests on stdin and
answers each on stdout: ``("versions",)`` or ``("shuffle", x, factor, inverse, channels_last,
order)``, where ``x`` is a NumPy array; the answer is ``("ok", result)`` or ``("error", text)``.
Anything the frameworks print goes to stderr, so stdout carries only answers.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import IO, Any


def _answer(request: tuple[Any, ...]) -> Any:
    import keras

    if request[0] == "versions":
        backend = keras.backend.backend()
        module = __import__(backend)
        return {"keras": str(keras.__version__), backend: str(getattr(module, "__version__", "unknown"))}
    from subpixel import keras as layers

    _, x, factor, inverse, channels_last, order = request
    kind = layers.PixelUnshuffle if inverse else layers.PixelShuffle
    data_format = "channels_last" if channels_last else "channels_first"
    y = kind(factor, data_format=data_format, order=order)(x)
    return keras.ops.convert_to_numpy(y)


def main(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Answer requests until stdin closes."""
    while True:
        head = stdin.read(8)
        if len(head) < 8:
            return
        (size,) = struct.unpack("<Q", head)
        request = pickle.loads(stdin.read(size))
        try:
            reply: tuple[str, Any] = ("ok", _answer(request))
        except Exception as error:  # reported to the parent as the case's failure
            reply = ("error", f"{type(error).__name__}: {error}")
        data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(struct.pack("<Q", len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints from the frameworks go to stderr
    sys.stdout = sys.stderr
    main(sys.stdin.buffer, answers)
