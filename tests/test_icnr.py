"""The framework-free ICNR function, on every requested Array-API backend."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from subpixel._icnr import icnr, icnr_groups
from tests.backends import Backend, to_numpy
from tests.reference import Order
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

LAYOUTS = [
    # (sub-kernel shape, output-channel axis): torch (out, in, *k) and Flax/Keras (*k, in, out).
    ((2, 3, 3, 3), 0),
    ((3, 3, 3, 2), -1),
    ((3, 4, 2), 2),
    ((2,), 0),
    ((2, 1, 1, 1, 1), 0),
]
FACTORS = [(2,), 3, (2, 3), (1, 2, 2)]


@pytest.mark.parametrize(
    ("shape", "axis", "factor", "order"),
    [(s, a, f, o) for (s, a), f, o in itertools.product(LAYOUTS, FACTORS, ("CRD", "DCR"))],
    ids=str,
)
def test_each_group_is_one_sub_kernel(
    backend: Backend, xp: Any, shape: tuple[int, ...], axis: int, factor: int | tuple[int, ...], order: Order
) -> None:
    sub = special_array(shape, base="normal")
    before = sub.tobytes()
    out = to_numpy(icnr(backend.from_numpy(sub), factor, order=order, axis=axis))
    count = math.prod(factor) if isinstance(factor, tuple) else factor * factor
    channels = shape[axis]
    expected_shape = list(shape)
    expected_shape[axis] = channels * count
    assert out.shape == tuple(expected_shape)
    assert out.dtype == sub.dtype
    assert sub.tobytes() == before
    groups = icnr_groups(channels, factor, order=order)
    for c, group in enumerate(groups):
        for member in group:
            assert_same_bits(np.take(out, member, axis=axis), np.take(sub, c, axis=axis))


def test_groups_are_the_shuffle_blocks() -> None:
    assert icnr_groups(3, (2, 2)) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert icnr_groups(3, (2, 2), order="DCR") == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]
    assert sorted(itertools.chain.from_iterable(icnr_groups(4, 3))) == list(range(36))


def test_factor_one_is_a_copy() -> None:
    sub = special_array((2, 3), base="normal")
    out = icnr(sub, (1,))
    assert_same_bits(out, sub)
    assert not np.shares_memory(out, sub)


@pytest.mark.parametrize(
    ("call", "error", "text"),
    [
        (lambda: icnr([1.0, 2.0], 2), TypeError, "kernel must be an array"),
        (lambda: icnr(np.zeros(2), 0), ValueError, "factor"),
        (lambda: icnr(np.zeros(2), 2.0), TypeError, "factor"),  # type: ignore[arg-type]
        (lambda: icnr(np.zeros(2), 2, order="RCD"), ValueError, "order"),  # type: ignore[arg-type]
        (lambda: icnr(np.zeros((2, 3)), 2, axis=2), ValueError, "axis=2"),
        (lambda: icnr(np.zeros((2, 3)), 2, axis=1.0), TypeError, "axis"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments(call: Any, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        call()
