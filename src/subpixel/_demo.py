"""``python -m subpixel demo``: every installed backend agrees with torch on the ESPCN example.

The backends are the entries of :mod:`subpixel._catalog`, plus the Keras layers on the backend
Keras runs on. Inputs are made from raw bytes by each entry's ``from_bytes`` and results read
back with its ``to_bytes``, so the demo needs no NumPy when torch is installed.
"""

from __future__ import annotations

import array
import functools
import hashlib
import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import subpixel
from subpixel import _catalog
from subpixel._cli import ArgumentParser, run_guarded
from subpixel._quiet import native_logs_quieted

PROG = "python -m subpixel demo"

#: The golden case the demo checks when torch is absent: a float32 input full of NaN payloads,
#: signed zeros, infinities and subnormals, shuffled with r=2.
GOLDEN_CASE = "factors/r2-2x12x3x2"
GOLDEN_DTYPE = "float32"

#: The example: ``arange(36)`` as int32 (every backend has it, JAX without x64 included).
EXAMPLE_SHAPE = (1, 4, 3, 3)
EXAMPLE_DTYPE = "int32"


class Source(NamedTuple):
    """An input as raw bytes, and what a backend's result must be."""

    data: bytes
    shape: tuple[int, ...]
    dtype: str
    #: ``(shape, sha256 of the bytes)`` of the expected result.
    expected: tuple[tuple[int, ...], str]


def main(argv: list[str] | None = None) -> int:
    """Shuffle ``arange(36).reshape(1, 4, 3, 3)`` with each backend and compare with torch.

    Without torch, every backend is compared with torch's result recorded in the package (the
    golden vectors of the conformance suite).
    """
    return run_guarded(PROG, lambda: _main([] if argv is None else argv))


def _main(argv: list[str]) -> int:
    ArgumentParser(
        prog=PROG,
        description="Show every installed backend giving torch.nn.PixelShuffle's bytes. Without torch, "
        "the comparison uses torch's results recorded in the package.",
        epilog="Exit status: 0 when every installed backend agrees, 1 otherwise, 2 for bad arguments.",
    ).parse_args(argv)
    torch = _catalog.entry("torch")
    if torch.installed():
        source = _torch_source(torch)
        agreed = "all backends agree with torch"
    elif _findable("numpy"):
        found = _golden_source()
        if found is None:
            print(f"{PROG}: torch is not installed and this package has no golden vectors", file=sys.stderr)
            return 1
        source = found
        agreed = "all backends agree with torch's recorded result"
    else:
        print(
            f"{PROG}: needs torch or numpy, and neither is installed: pip install 'subpixel[torch]'",
            file=sys.stderr,
        )
        return 1
    with native_logs_quieted():  # TensorFlow's C++ start-up lines
        failures = _compare_backends(source)
    print(agreed if not failures else f"{failures} backend(s) disagree")
    return 1 if failures else 0


def _findable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _torch_source(torch_entry: _catalog.Entry) -> Source:
    """Return the example, with torch's own ``PixelShuffle`` result as the reference."""
    torch = torch_entry.load()
    data = array.array("i", range(36)).tobytes()
    x = torch_entry.from_bytes(data, EXAMPLE_SHAPE, EXAMPLE_DTYPE)
    reference = torch.nn.PixelShuffle(2)(x)
    print("torch.nn.PixelShuffle(2)(torch.arange(36, dtype=torch.int32).view(1, 4, 3, 3))[0, 0] =")
    for line in reference[0, 0].tolist():
        print(" ", line)
    expected = (tuple(reference.shape), _sha(torch_entry.to_bytes(reference)))
    return Source(data, EXAMPLE_SHAPE, EXAMPLE_DTYPE, expected)


def _golden_source() -> Source | None:
    """Return the golden case's input, with torch's recorded result as the reference (needs NumPy)."""
    from subpixel.conformance._cases import cases_by_id
    from subpixel.conformance._golden import load_golden
    from subpixel.conformance._references import ReferenceBook

    golden = load_golden()
    found = golden.lookup(GOLDEN_CASE, GOLDEN_DTYPE)
    case = cases_by_id().get(GOLDEN_CASE)
    if found is None or case is None:
        return None
    shape, digest, _ = found
    x = ReferenceBook(use_torch=False, use_onnx=False, golden=golden).input(case, GOLDEN_DTYPE)
    print(
        f"torch is not installed: comparing with torch {golden.torch_version}'s result recorded in the "
        f"package for {case.describe()} ({GOLDEN_DTYPE}, with NaN payloads, -0.0, inf and subnormals)"
    )
    return Source(x.tobytes(), tuple(x.shape), GOLDEN_DTYPE, (shape, digest))


def _compare_backends(source: Source) -> int:
    """Shuffle ``source`` on every backend, print one line each; return how many disagree or fail."""
    failures = 0
    for label, attempt in _attempts(source):
        try:
            result = attempt()
        except Exception as error:  # a backend that cannot even run is reported, not hidden
            result = f"ERROR {type(error).__name__}: {error}"
        if isinstance(result, str):
            failures += result.startswith("ERROR")
            print(f"{label:>17}: {result}")
            continue
        shape, digest, dtype = result
        agrees = (shape, digest) == source.expected
        failures += not agrees
        verdict = "identical bytes" if agrees else "DIFFERENT"
        print(f"{label:>17}: {verdict} (shape {shape}, {dtype})")
    return failures


#: What an attempt returns: ``(shape, sha256, dtype name)`` of the result, or a line saying why none.
Outcome = tuple[tuple[int, ...], str, str] | str


def _attempts(source: Source) -> list[tuple[str, Callable[[], Outcome]]]:
    """Each backend of the catalog, then the Keras layers: a label and the call that tries it."""
    attempts: list[tuple[str, Callable[[], Outcome]]] = [
        (entry.name, functools.partial(_library, entry, source)) for entry in _catalog.entries()
    ]
    chosen = os.environ.get("KERAS_BACKEND") or _catalog.keras_backends()[0]
    return [*attempts, (f"keras ({chosen})", functools.partial(_keras, chosen, source))]


def _outcome(entry: _catalog.Entry, result: Any) -> Outcome:
    return tuple(int(s) for s in result.shape), _sha(entry.to_bytes(result)), entry.dtype_name(result)


def _library(entry: _catalog.Entry, source: Source) -> Outcome:
    """Shuffle ``source`` as an array of ``entry`` with :func:`subpixel.pixel_shuffle`."""
    if not entry.installed():
        return "not installed"
    device = entry.devices[0]
    problem = entry.device_problem(device)
    if problem is not None:
        return f"not run: {problem}"
    x = entry.from_bytes(source.data, source.shape, source.dtype)
    return _outcome(entry, subpixel.pixel_shuffle(x, 2))


def _keras(chosen: str, source: Source) -> Outcome:
    """Shuffle ``source`` with the Keras layer on ``chosen``, the backend Keras runs on."""
    if not (_findable("keras") and _findable("numpy")):  # Keras needs NumPy
        return "not installed"
    backend = next((e for e in _catalog.entries() if e.keras_backend and e.name == chosen), None)
    if backend is None or not backend.installed():
        return f"not run: Keras's backend {chosen!r} is not installed"
    import subpixel.keras

    layer = subpixel.keras.PixelShuffle(2, data_format="channels_first")
    x = backend.from_bytes(source.data, source.shape, source.dtype)
    return _outcome(backend, layer(x))
