"""Property tests: round trips, agreement with torch, and the same accept/reject decisions.

Where torch is not installed, the documented index formula and rules (``tests/reference.py``) stand in
for torch's op and its decisions.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import subpixel
from tests.backends import Backend, to_numpy
from tests.reference import judge, reference
from tests.values import same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

#: Whether live torch is the reference here; the index formula and rules stand in without it.
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def torch_op(x: Any, r: int, *, inverse: bool) -> Any:
    """torch's ``pixel_shuffle`` / ``pixel_unshuffle`` of a NumPy array, or the formula's result."""
    if not HAVE_TORCH:
        return reference(x, r, inverse=inverse, channels_last=False, order="CRD")
    import torch

    op = torch.nn.functional.pixel_unshuffle if inverse else torch.nn.functional.pixel_shuffle
    return op(torch.from_numpy(x), r).numpy()


def torch_decision(x: Any, factor: Any, *, inverse: bool) -> str:
    """What torch's op does with these arguments, or what the documented rules say it must."""
    if not HAVE_TORCH:
        name = "downscale_factor" if inverse else "upscale_factor"
        verdict = judge(x.shape, factor, inverse=inverse, channels_last=False, order="CRD", factor_name=name)
        return "accepts" if verdict.valid else "rejects (the rules)"
    import torch

    op = torch.nn.functional.pixel_unshuffle if inverse else torch.nn.functional.pixel_shuffle
    return _decision(lambda: op(torch.from_numpy(x), factor))


DTYPES = ["float32", "float64", "int8", "int64", "uint8", "bool", "complex128"]


@st.composite
def shuffle_cases(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...], bool, str, str]:
    """A valid shuffle: input shape, factors, channels_last, order, dtype."""
    k = draw(st.integers(1, 3))
    factors = tuple(draw(st.lists(st.integers(1, 4), min_size=k, max_size=k)))
    batch = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    channels = draw(st.integers(0, 3)) * int(np.prod(factors))
    spatial = tuple(draw(st.lists(st.integers(0, 4), min_size=k, max_size=k)))
    channels_last = draw(st.booleans())
    shape = (*batch, *spatial, channels) if channels_last else (*batch, channels, *spatial)
    return shape, factors, channels_last, draw(st.sampled_from(["CRD", "DCR"])), draw(st.sampled_from(DTYPES))


@given(case=shuffle_cases())
def test_unshuffle_inverts_shuffle_bit_for_bit(backend: Backend, case: Any) -> None:
    shape, factors, channels_last, order, dtype = case
    x = special_array(shape, dtype)
    options = {"channels_last": channels_last, "order": order}
    y = subpixel.pixel_shuffle(backend.from_numpy(x), factors, **options)
    assert same_bits(to_numpy(subpixel.pixel_unshuffle(y, factors, **options)), x)


@given(
    batch=st.lists(st.integers(0, 3), max_size=3),
    r=st.integers(1, 5),
    channels=st.integers(0, 3),
    height=st.integers(0, 5),
    width=st.integers(0, 5),
)
def test_agrees_with_torch_on_random_2d_cases(
    backend: Backend, batch: list[int], r: int, channels: int, height: int, width: int
) -> None:
    x = special_array((*batch, channels * r * r, height, width), np.float32)
    y = to_numpy(subpixel.pixel_shuffle(backend.from_numpy(x), r))
    expected = torch_op(x, r, inverse=False)
    assert same_bits(y, expected)
    if expected.size:  # torch's CPU unshuffle of a zero-size input returns the wrong shape
        back = to_numpy(subpixel.pixel_unshuffle(backend.from_numpy(expected), r))
        assert same_bits(back, torch_op(expected, r, inverse=True))


def _decision(call: Any) -> str:
    try:
        call()
    except (RuntimeError, ValueError, TypeError) as error:
        return f"rejects ({type(error).__name__})"
    return "accepts"


@given(
    shape=st.lists(st.integers(0, 6), max_size=5).map(tuple),
    factor=st.one_of(st.integers(-2, 4), st.floats(0.5, 3.0), st.booleans()),
    inverse=st.booleans(),
)
def test_accepts_and_rejects_what_torch_does(shape: tuple[int, ...], factor: Any, inverse: bool) -> None:
    x = np.zeros(shape, np.float32)
    ours = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    our_decision = _decision(lambda: ours(x, factor))
    their_decision = torch_decision(x, factor, inverse=inverse)
    assert our_decision.split()[0] == their_decision.split()[0], (our_decision, their_decision)
    assert "RuntimeError" not in our_decision
