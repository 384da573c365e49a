"""Shared helpers of the layer tests: inputs that expose any bit change, and byte comparison."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

#: float32 bit patterns that a value-changing path would alter: NaNs with payloads and signs,
#: signed zeros, infinities, subnormals, the extremes.
SPECIAL_BITS = np.array(
    [
        0x7FC00001,  # quiet NaN with a payload
        0xFFC12345,  # negative quiet NaN with a payload
        0x7F800001,  # signalling NaN
        0x80000000,  # -0.0
        0x00000000,  # +0.0
        0x7F800000,  # +inf
        0xFF800000,  # -inf
        0x00000001,  # smallest subnormal
        0x807FFFFF,  # largest negative subnormal
        0x7F7FFFFF,  # largest finite
    ],
    dtype=np.uint32,
)


def special_floats(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """A float32 array of ``shape``: distinct random values with the special patterns mixed in."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(math.prod(shape)).astype(np.float32)
    bits = values.view(np.uint32)
    slots = rng.permutation(bits.size)[: min(bits.size // 3, SPECIAL_BITS.size)]
    bits[slots] = SPECIAL_BITS[: slots.size]
    return bits.view(np.float32).reshape(shape)


def assert_same_bits(actual: Any, expected: Any) -> None:
    """Shape, dtype and every byte equal (NaN payloads and the sign of zero included)."""
    a = np.ascontiguousarray(actual)
    e = np.ascontiguousarray(expected)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    assert a.dtype == e.dtype, f"dtype {a.dtype} != {e.dtype}"
    assert a.tobytes() == e.tobytes(), "bytes differ"


def nearest_upsample(x: np.ndarray, factors: tuple[int, ...], *, channels_last: bool) -> np.ndarray:
    """Repeat every pixel ``f`` times along each spatial axis (the last ``k`` or the ones before channels)."""
    k = len(factors)
    first = x.ndim - k - 1 if channels_last else x.ndim - k
    for i, f in enumerate(factors):
        x = np.repeat(x, f, axis=first + i)
    return x


def first_of_groups(channels: int, factors: tuple[int, ...], order: str) -> list[int]:
    """The first convolution channel of each ICNR group: ``c * F`` (CRD) or ``c`` (DCR)."""
    count = math.prod(factors)
    return [c * count if order == "CRD" else c for c in range(channels)]


#: (factors, kernel size) cases of the ICNR property: 1-D, 2-D square and not, 3-D.
ICNR_CASES = [
    ((3,), 3),
    ((2,), 5),
    (2, 3),
    ((2, 3), 3),
    ((3, 1), (1, 3)),
    ((2, 2, 2), 3),
    ((1, 2, 3), 1),
]


def icnr_case_ids() -> list[str]:
    """Readable ids for the ICNR cases times the two orders."""
    return [f"{f}-k{k}-{o}" for (f, k), o in itertools.product(ICNR_CASES, ("CRD", "DCR"))]
