"""Deterministic test inputs whose bytes make a bit-for-bit comparison meaningful."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Float bit patterns that value comparisons get wrong: NaNs with payloads, -0.0, infinities, subnormals.
SPECIAL_BITS = {
    np.dtype(np.float32): np.array(
        [0x7FC00001, 0xFFC12345, 0x7F800001, 0x80000000, 0x7F800000, 0xFF800000, 0x00000001, 0x807FFFFF],
        dtype=np.uint32,
    ).view(np.float32),
    np.dtype(np.float64): np.array(
        [
            *(0x7FF8000000000001, 0xFFF8123456789ABC, 0x7FF0000000000001, 0x8000000000000000),
            *(0x7FF0000000000000, 0xFFF0000000000000, 0x0000000000000001, 0x800FFFFFFFFFFFFF),
        ],
        dtype=np.uint64,
    ).view(np.float64),
}


def special_array(shape: tuple[int, ...], dtype: Any = np.float32, seed: int = 0) -> Any:
    """Return an array of ``shape`` whose every element is distinct where the dtype allows.

    Floating dtypes get random bit patterns with the special values above mixed in, so that a
    wrong permutation or a value-changing copy shows up in the bytes.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    raw = rng.integers(0, 256, size=size * dtype.itemsize, dtype=np.uint8)
    values = raw.view(dtype).reshape(shape).copy()
    special = SPECIAL_BITS.get(dtype)
    if special is not None and size:
        positions = np.linspace(0, size - 1, num=min(size, len(special))).astype(np.intp)
        values.reshape(-1)[positions] = special[: len(positions)]
    return values


def same_bits(actual: Any, expected: Any) -> bool:
    """Shape, dtype and raw bytes all equal (NaN payloads and -0.0 included)."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    return (
        actual.shape == expected.shape
        and actual.dtype == expected.dtype
        and np.ascontiguousarray(actual).view(np.uint8).tobytes()
        == np.ascontiguousarray(expected).view(np.uint8).tobytes()
    )
