"""``python -m subpixel demo``: every installed backend agrees with torch on the ESPCN example."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

import subpixel

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
        return lambda a: module.from_array(a, chunks=(1, 4, 3, 3))
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


def main(argv: list[str]) -> int:
    """Shuffle ``torch.arange(36).view(1, 4, 3, 3)`` with each backend and compare to torch."""
    if argv:
        print("usage: python -m subpixel demo", file=sys.stderr)
        return 2
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("numpy") is None:
        print("the demo needs torch and numpy: pip install 'subpixel[torch,numpy]'", file=sys.stderr)
        return 1
    import numpy as np
    import torch

    reference = torch.nn.PixelShuffle(2)(torch.arange(36).view(1, 4, 3, 3)).numpy()
    print("torch.nn.PixelShuffle(2)(torch.arange(36).view(1, 4, 3, 3))[0, 0] =")
    print(reference[0, 0])
    source = np.arange(36).reshape(1, 4, 3, 3)
    failures = 0
    for name in _BACKENDS:
        if importlib.util.find_spec(_BACKENDS[name].partition(".")[0]) is None:
            print(f"{name:>17}: not installed")
            continue
        try:
            result = _to_numpy(subpixel.pixel_shuffle(_converter(name)(source), 2))
        except Exception as error:  # a backend that cannot even run is reported, not hidden
            failures += 1
            print(f"{name:>17}: ERROR {type(error).__name__}: {error}")
            continue
        same = (
            result.shape == reference.shape
            and result.dtype == reference.dtype
            and result.tobytes() == reference.tobytes()
        )
        failures += not same
        print(
            f"{name:>17}: {'identical bytes' if same else 'DIFFERENT'} (shape {result.shape}, {result.dtype})"
        )
    print("all backends agree with torch" if not failures else f"{failures} backend(s) disagree")
    return 1 if failures else 0
