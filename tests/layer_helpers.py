"""Shared helpers of the layer tests: nearest-neighbour upsampling and the ICNR cases."""

from __future__ import annotations

import itertools
import math

import numpy as np


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
