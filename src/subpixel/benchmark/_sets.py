"""The named case sets of ``bench --set``: the shapes users run and the 32 MiB cubes.

Each case is timed against three REFERENCES on the same input bytes, every ratio read as
*higher is better* (reference time / subpixel time):

* ``copy``: ``np.copy`` of the input, into a fresh array, as every shuffle result is;
* ``copyto``: ``np.copyto`` into a buffer allocated and written once before timing, so that a
  gain from page-fault handling of fresh memory is not read as a gain in moving bytes;
* ``torch op``: ``torch.nn.functional.pixel_shuffle``/``pixel_unshuffle`` on a tensor of the
  same bytes (uint16 through its int16 view, which PyTorch's op implements; channels-last data
  as a ``channels_last`` memory-format tensor).

The NumPy path (``subpixel numpy``) gets the NumPy array, the torch path (``subpixel torch``)
a tensor sharing its bytes. A case whose layout is torch's ``channels_last`` memory format
gives the NumPy path the same bytes as an NHWC array with ``channels_last=True``: the same
shuffle of the same memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

import subpixel
from subpixel.benchmark._cases import installed

__all__ = ["CUBES", "REFERENCES", "SETS", "USERS", "SetCase", "candidates", "make_input"]

MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class SetCase:
    """One case of a named set.

    ``shape`` is the array's shape as stored: NHWC when ``channels_last`` (subpixel's argument)
    or ``memory_format`` (a torch ``channels_last`` tensor of logical shape NCHW) is set.
    """

    label: str
    op: str  # "shuffle" | "unshuffle"
    shape: tuple[int, ...]
    dtype: str
    factor: int
    channels_last: bool = False
    memory_format: bool = False

    @property
    def nbytes(self) -> int:
        """Bytes of the input (and of the output)."""
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @property
    def layout(self) -> str:
        """``NCHW``, ``NHWC (channels_last=True)`` or ``torch channels_last``, as printed."""
        if self.memory_format:
            return "torch channels_last"
        return "NHWC (channels_last=True)" if self.channels_last else "channels first"


#: The shapes users run (shape, dtype, factor; CRD; channels first unless said).
USERS: tuple[SetCase, ...] = (
    SetCase("RAW pack", "unshuffle", (1, 1, 3000, 4000), "uint16", 2),
    SetCase("RAW unpack", "shuffle", (1, 4, 1500, 2000), "uint16", 2),
    SetCase("1080p space-to-depth", "unshuffle", (8, 3, 1080, 1920), "uint8", 2),
    SetCase("1080p depth-to-space", "shuffle", (8, 12, 540, 960), "uint8", 2),
    SetCase("4K by 4", "shuffle", (1, 48, 540, 960), "float16", 4),
    SetCase("small images", "unshuffle", (64, 3, 64, 64), "float32", 2),
    SetCase("small uint8 by 4", "unshuffle", (4, 4, 360, 360), "uint8", 4),
    SetCase("NHWC uint8", "shuffle", (8, 540, 960, 12), "uint8", 2, channels_last=True),
    SetCase("NHWC float32", "unshuffle", (4, 512, 512, 16), "float32", 2, channels_last=True),
    SetCase("torch channels_last", "shuffle", (8, 540, 960, 12), "float32", 2, memory_format=True),
    SetCase("256 MiB", "shuffle", (1, 64, 1024, 1024), "float32", 2),
    SetCase("factor 3", "shuffle", (2, 27, 700, 700), "float32", 3),
)


def _cube(dtype: str, op: str, factor: int) -> SetCase:
    """Return a 32 MiB channels-first case of one batch, spatial 256 x 256 before the shuffle."""
    side = 256
    channels = max(1, round(32 * MIB // np.dtype(dtype).itemsize / (factor * factor * side * side)))
    if op == "shuffle":
        shape = (1, channels * factor * factor, side, side)
    else:
        shape = (1, channels, side * factor, side * factor)
    return SetCase(f"32 MiB {dtype} r={factor}", op, shape, dtype, factor)


#: {float32, uint8, uint16} x {shuffle, unshuffle} x r in {2, 3, 4}, 32 MiB each.
CUBES: tuple[SetCase, ...] = tuple(
    _cube(dtype, op, factor)
    for dtype in ("float32", "uint8", "uint16")
    for op in ("shuffle", "unshuffle")
    for factor in (2, 3, 4)
)

#: The sets by the name ``--set`` takes.
SETS: dict[str, tuple[SetCase, ...]] = {"users": USERS, "cubes": CUBES}

#: The REFERENCES every ratio compares with, by the key used in the results.
REFERENCES = {"copy": "np.copy", "copyto": "np.copyto (pre-touched)", "torch op": "torch native"}


def make_input(case: SetCase) -> np.ndarray[Any, Any]:
    """Return the input of ``case``: seeded random bytes (bit patterns of every kind for floats)."""
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 256, size=case.nbytes, dtype=np.uint8)
    return bits.view(case.dtype).reshape(case.shape)


def _native(torch: Any, case: SetCase) -> Callable[[Any, int], Any]:
    op = torch.nn.functional.pixel_unshuffle if case.op == "unshuffle" else torch.nn.functional.pixel_shuffle
    if case.dtype != "uint16":
        return op  # type: ignore[no-any-return]
    return lambda t, r: op(t.view(torch.int16), r).view(torch.uint16)


def candidates(case: SetCase, x: np.ndarray[Any, Any]) -> dict[str, Callable[[], Any]]:
    """Return the functions timed on ``x`` (the input of ``case``), by name."""
    r = case.factor
    function = subpixel.pixel_unshuffle if case.op == "unshuffle" else subpixel.pixel_shuffle
    nhwc = case.channels_last or case.memory_format
    touched = np.empty_like(x)
    touched.fill(0)
    found: dict[str, Callable[[], Any]] = {
        "np.copy": lambda: np.copy(x),
        "np.copyto (pre-touched)": lambda: np.copyto(touched, x),
        "subpixel numpy": lambda: function(x, r, channels_last=nhwc),
    }
    if installed("torch"):
        import torch

        t = torch.from_numpy(x)
        native = _native(torch, case)
        # PyTorch's op on the same bytes: an NHWC array is a channels_last tensor to it.
        as_nchw = t.permute(0, 3, 1, 2) if nhwc else t
        found["tensor.clone"] = t.clone
        found["torch native"] = lambda: native(as_nchw, r)
        if case.memory_format:
            found["subpixel torch"] = lambda: function(as_nchw, r)
        else:
            found["subpixel torch"] = lambda: function(t, r, channels_last=case.channels_last)
    return found
