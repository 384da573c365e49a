"""``python -m subpixel demo``: every installed backend agrees with torch on the ESPCN example."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import subpixel
from subpixel._cli import ArgumentParser, run_guarded

#: Backend name -> the module that must be importable for it.
_BACKENDS: dict[str, str] = {
    "numpy": "numpy",
    "array_api_strict": "array_api_strict",
    "torch": "torch",
    "jax": "jax",
    "dask": "dask.array",
    "cupy": "cupy",
}


def _converter(name: str) -> Callable[[Any], Any]:
    module = importlib.import_module(_BACKENDS[name])
    if name == "numpy":
        return lambda a: a.copy()
    if name == "torch":
        return lambda a: module.from_numpy(a.copy())
    if name == "jax":
        module.config.update("jax_enable_x64", True)  # keep int64, as torch does
        return lambda a: module.numpy.asarray(a)
    if name == "dask":
        return lambda a: module.from_array(a, chunks=(1, *a.shape[1:]))
    return lambda a: module.asarray(a)


def _to_numpy(array: Any) -> Any:
    import numpy as np

    if hasattr(array, "compute"):  # dask
        array = array.compute()
    if hasattr(array, "detach"):  # torch
        return array.detach().cpu().numpy()
    if hasattr(array, "get"):  # cupy
        return array.get()
    return np.from_dlpack(array)


PROG = "python -m subpixel demo"

#: The golden case the demo checks when torch is absent: a float32 input full of NaN payloads,
#: signed zeros, infinities and subnormals, shuffled with r=2.
GOLDEN_CASE = "factors/r2-2x12x3x2"
GOLDEN_DTYPE = "float32"


def main(argv: list[str] | None = None) -> int:
    """Shuffle ``torch.arange(36).view(1, 4, 3, 3)`` with each backend and compare to torch.

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
    if importlib.util.find_spec("numpy") is None:
        print(f"{PROG}: needs numpy, which is not installed: pip install 'subpixel[numpy]'", file=sys.stderr)
        return 1
    if importlib.util.find_spec("torch") is None:
        return _golden_demo()
    import numpy as np
    import torch

    reference = torch.nn.PixelShuffle(2)(torch.arange(36).view(1, 4, 3, 3)).numpy()
    print("torch.nn.PixelShuffle(2)(torch.arange(36).view(1, 4, 3, 3))[0, 0] =")
    print(reference[0, 0])
    source = np.arange(36).reshape(1, 4, 3, 3)
    failures = _compare_backends(
        source,
        lambda result: (
            result.shape == reference.shape
            and result.dtype == reference.dtype
            and result.tobytes() == reference.tobytes()
        ),
    )
    print("all backends agree with torch" if not failures else f"{failures} backend(s) disagree")
    return 1 if failures else 0


def _compare_backends(source: Any, same: Callable[[Any], bool]) -> int:
    """Shuffle ``source`` on every backend, print one line each; return how many disagree or fail."""
    failures = 0
    for name in _BACKENDS:
        result = _attempt(name, source)
        if isinstance(result, str):
            failures += result.startswith("ERROR")
            print(f"{name:>17}: {result}")
            continue
        agrees = same(result)
        failures += not agrees
        verdict = "identical bytes" if agrees else "DIFFERENT"
        print(f"{name:>17}: {verdict} (shape {result.shape}, {result.dtype})")
    return failures


def _attempt(name: str, source: Any) -> Any:
    """Return the shuffled result as NumPy, or a line saying why there is none."""
    if importlib.util.find_spec(_BACKENDS[name].partition(".")[0]) is None:
        return "not installed"
    try:
        return _to_numpy(subpixel.pixel_shuffle(_converter(name)(source), 2))
    except Exception as error:  # a backend that cannot even run is reported, not hidden
        return f"ERROR {type(error).__name__}: {error}"


def _golden_demo() -> int:
    import hashlib

    import numpy as np

    from subpixel.conformance._cases import cases_by_id
    from subpixel.conformance._golden import load_golden
    from subpixel.conformance._references import ReferenceBook

    golden = load_golden()
    found = golden.lookup(GOLDEN_CASE, GOLDEN_DTYPE)
    case = cases_by_id().get(GOLDEN_CASE)
    if found is None or case is None:
        print(f"{PROG}: torch is not installed and this package has no golden vectors", file=sys.stderr)
        return 1
    shape, digest, _ = found
    source = ReferenceBook(use_torch=False, use_onnx=False, golden=golden).input(case, GOLDEN_DTYPE)
    example = subpixel.pixel_shuffle(np.arange(36).reshape(1, 4, 3, 3), 2)
    print("subpixel.pixel_shuffle(np.arange(36).reshape(1, 4, 3, 3), 2)[0, 0] =")
    print(example[0, 0])
    print(
        f"torch is not installed: comparing with torch {golden.torch_version}'s result recorded in the "
        f"package for {case.describe()} ({GOLDEN_DTYPE}, with NaN payloads, -0.0, inf and subnormals)"
    )
    failures = _compare_backends(
        source,
        lambda result: (
            tuple(result.shape) == shape
            and hashlib.sha256(np.ascontiguousarray(result).tobytes()).hexdigest() == digest
        ),
    )
    print(
        "all backends agree with torch's recorded result"
        if not failures
        else f"{failures} backend(s) disagree"
    )
    return 1 if failures else 0
