"""Deterministic test inputs: every dtype, with the float values that expose a wrong copy.

The generator is SplitMix64 over a counter, written here in NumPy integer arithmetic, so the
same case gives the same bytes on every platform and NumPy version (NumPy's own random
streams carry no such promise). Golden vectors depend on that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DTYPES", "DTYPE_NAMES", "DtypeInfo", "host_dtype", "make_input", "seed_for"]


@dataclass(frozen=True)
class DtypeInfo:
    """One dtype of the matrix: its name, kind (``b i u f c``) and size in bytes."""

    name: str
    kind: str
    itemsize: int

    @property
    def wide(self) -> bool:
        """64-bit dtypes, which JAX only has with ``jax_enable_x64``."""
        return self.name in ("int64", "uint64", "float64", "complex128")


DTYPES: tuple[DtypeInfo, ...] = (
    DtypeInfo("bool", "b", 1),
    DtypeInfo("int8", "i", 1),
    DtypeInfo("int16", "i", 2),
    DtypeInfo("int32", "i", 4),
    DtypeInfo("int64", "i", 8),
    DtypeInfo("uint8", "u", 1),
    DtypeInfo("uint16", "u", 2),
    DtypeInfo("uint32", "u", 4),
    DtypeInfo("uint64", "u", 8),
    DtypeInfo("float16", "f", 2),
    DtypeInfo("bfloat16", "f", 2),
    DtypeInfo("float32", "f", 4),
    DtypeInfo("float64", "f", 8),
    DtypeInfo("complex64", "c", 8),
    DtypeInfo("complex128", "c", 16),
)
DTYPE_NAMES: tuple[str, ...] = tuple(d.name for d in DTYPES)
_INFO = {d.name: d for d in DTYPES}

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)

# Bit patterns every float input carries: signed zeros, infinities, quiet and signalling NaNs
# with distinct payloads and both signs, subnormals, the largest finite and the smallest
# normal value. A copy that goes through arithmetic or a wider dtype changes some of them.
_SPECIALS: dict[int | str, tuple[int, ...]] = {
    16: (
        0x0000,
        0x8000,
        0x7C00,
        0xFC00,
        0x7E01,
        0x7E2A,
        0x7C01,
        0x7D55,
        0xFE03,
        0xFC07,
        0x0001,
        0x03FF,
        0x8001,
        0x7BFF,
        0x0400,
    ),
    "bfloat16": (
        0x0000,
        0x8000,
        0x7F80,
        0xFF80,
        0x7FC1,
        0x7FD5,
        0x7F81,
        0x7FA5,
        0xFFC3,
        0xFF83,
        0x0001,
        0x007F,
        0x8001,
        0x7F7F,
        0x0080,
    ),
    32: (
        0x00000000,
        0x80000000,
        0x7F800000,
        0xFF800000,
        0x7FC00001,
        0x7FC12345,
        0x7F800001,
        0x7FA00ABC,
        0xFFC00321,
        0xFF800777,
        0x00000001,
        0x007FFFFF,
        0x80000001,
        0x7F7FFFFF,
        0x00800000,
    ),
    64: (
        0x0000000000000000,
        0x8000000000000000,
        0x7FF0000000000000,
        0xFFF0000000000000,
        0x7FF8000000000001,
        0x7FF80000DEADBEEF,
        0x7FF0000000000001,
        0x7FF4000000000ABC,
        0xFFF8000000000321,
        0xFFF0000000000777,
        0x0000000000000001,
        0x000FFFFFFFFFFFFF,
        0x8000000000000001,
        0x7FEFFFFFFFFFFFFF,
        0x0010000000000000,
    ),
}


def seed_for(text: str) -> int:
    """Return a stable 63-bit seed for a case id and dtype name (``hash()`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


def _words(count: int, seed: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
    """SplitMix64: ``count`` pseudo-random 64-bit words from ``seed``; overflow wraps."""
    z = np.arange(1, count + 1, dtype=np.uint64)
    z *= np.uint64(0x9E3779B97F4A7C15)
    z += np.full(count, seed, dtype=np.uint64)
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    words: np.ndarray[Any, np.dtype[np.uint64]] = z & _MASK64
    return words


def host_dtype(name: str) -> np.dtype[Any]:
    """Return the NumPy dtype that holds ``name`` on the host.

    ``bfloat16`` is ``ml_dtypes.bfloat16`` when ml_dtypes is installed (it comes with JAX),
    otherwise ``uint16`` holding the same bits.
    """
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            return np.dtype(np.uint16)
        bfloat16: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
        return bfloat16
    return np.dtype(name)


def _float_bits(count: int, seed: int, specials: tuple[int, ...], width: int) -> np.ndarray[Any, Any]:
    unsigned = np.dtype(f"uint{width}")
    bits: np.ndarray[Any, Any] = (_words(count, seed) >> np.uint64(64 - width)).astype(unsigned)
    # Every third element is a special value, cycling through the list; the rest are random bit
    # patterns, so neighbouring elements differ and a misplaced element shows.
    positions = np.arange(1, count, 3)
    if positions.size:
        table = np.array(specials, dtype=unsigned)
        bits[positions] = table[np.arange(positions.size) % table.size]
    return bits


def make_input(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray[Any, Any]:
    """Return the deterministic input of ``shape`` and ``dtype`` for ``seed``, C-contiguous.

    Parameters
    ----------
    shape : tuple of int
        Shape of the input.
    dtype : str
        One of :data:`DTYPE_NAMES`.
    seed : int
        Non-negative seed, usually :func:`seed_for` of the case id.

    Returns
    -------
    numpy.ndarray
        An array of :func:`host_dtype` ``(dtype)``. Float and complex inputs hold NaNs with
        distinct payloads (quiet and signalling, both signs), ``-0.0``, ``+-inf``, subnormals
        and extreme values among random bit patterns.
    """
    info = _INFO.get(dtype)
    if info is None:
        msg = f"dtype must be one of {DTYPE_NAMES}, got {dtype!r}"
        raise ValueError(msg)
    count = 1
    for size in shape:
        count *= size
    if info.kind == "b":
        flat = ((_words(count, seed) >> np.uint64(40)) & np.uint64(1)).astype(np.uint8).view(np.bool_)
    elif info.kind in "iu":
        width = 8 * info.itemsize
        flat = (_words(count, seed) >> np.uint64(64 - width)).astype(f"uint{width}").view(dtype)
    elif info.kind == "f":
        width = 8 * info.itemsize
        key: int | str = "bfloat16" if dtype == "bfloat16" else width
        flat = _float_bits(count, seed, _SPECIALS[key], width).view(host_dtype(dtype))
    else:
        width = 4 * info.itemsize  # each of the two parts
        parts = _float_bits(2 * count, seed, _SPECIALS[width], width)
        # Offset the imaginary parts' specials so that they differ from the real parts'.
        parts = parts.reshape(count, 2)
        parts[:, 1] = np.roll(parts[:, 1], 1)
        flat = np.ascontiguousarray(parts).view(dtype).reshape(count)
    result: np.ndarray[Any, Any] = np.ascontiguousarray(flat.reshape(shape))
    return result
