"""Test inputs whose bytes make a bit-for-bit comparison meaningful, and the one byte comparison.

Every test draws its special inputs from :func:`special_array` and compares results with
:func:`same_bits` / :func:`assert_same_bits`, which look at the raw bytes (``uint8`` views), so
NaN payloads and the sign of zero count, where ``np.array_equal`` would call them equal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt


def special_bits(dtype: npt.DTypeLike) -> npt.NDArray[Any]:
    """Bit patterns of a float dtype that value comparisons get wrong, as that dtype.

    NaNs with payloads (quiet, negative, signalling), -0.0 and +0.0, +-inf, the smallest and the
    most negative subnormals, the largest finite value.
    """
    dtype = np.dtype(dtype)
    info = np.finfo(dtype)
    bits = dtype.itemsize * 8
    nmant = info.nmant
    sign = 1 << (bits - 1)
    exp_mask = ((1 << info.nexp) - 1) << nmant
    quiet = 1 << (nmant - 1)
    patterns = [
        exp_mask | quiet | 1,  # quiet NaN with a payload
        sign | exp_mask | quiet | 5,  # negative quiet NaN with a payload
        exp_mask | 3,  # signalling NaN
        sign,  # -0.0
        0,  # +0.0
        exp_mask,  # +inf
        sign | exp_mask,  # -inf
        1,  # smallest subnormal
        sign | (quiet * 2 - 1),  # most negative subnormal
        exp_mask - 1,  # largest finite
    ]
    uint = np.dtype(f"u{dtype.itemsize}")
    return np.array(patterns, dtype=uint).view(dtype)


def special_array(
    shape: Sequence[int],
    dtype: npt.DTypeLike = np.float32,
    seed: int | np.random.Generator = 0,
    *,
    base: Literal["bytes", "normal"] = "bytes",
) -> npt.NDArray[Any]:
    """Return a C-contiguous native-endian array of ``shape`` with :func:`special_bits` mixed in.

    ``base="bytes"``: random bytes of ``dtype`` (every element distinct where the dtype allows, so
    a wrong permutation shows); ``base="normal"``: standard normal values (for layers, whose
    convolutions need mostly finite inputs). Float and complex dtypes then get the special
    patterns at random positions (a third of the elements at most). ``seed`` is an int or a
    generator to draw from.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    shape = tuple(shape)
    size = math.prod(shape)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if base == "normal":
        values = rng.standard_normal(size).astype(dtype).reshape(shape)
    else:
        raw = np.frombuffer(rng.bytes(size * dtype.itemsize), dtype=np.uint8)
        values = raw.view(dtype).reshape(shape).copy()
    if dtype.kind in "fc" and size:
        part = np.dtype(f"f{dtype.itemsize // 2}") if dtype.kind == "c" else dtype
        flat = values.reshape(-1).view(part)
        special = special_bits(part)
        count = min(flat.size if base == "bytes" else flat.size // 3, len(special))
        positions = rng.choice(flat.size, size=count, replace=False)
        flat[positions] = special[:count]
    return values


def byte_view(x: Any) -> npt.NDArray[np.uint8]:
    """The bytes of ``x`` in row-major order of its shape, as a flat ``uint8`` NumPy array.

    NumPy arrays and anything ``np.asarray`` reads (JAX, TensorFlow, Dask); torch tensors through
    torch's own ``uint8`` view, so that ``bfloat16`` and tensors needing grad work too.
    """
    if type(x).__module__.startswith("torch"):
        import torch

        viewed: npt.NDArray[np.uint8] = x.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy()
        return viewed
    array = np.ascontiguousarray(np.asarray(x))
    return array.reshape(-1).view(np.uint8)


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(size) for size in x.shape) if hasattr(x, "shape") else np.shape(x)


def _dtype(x: Any) -> str:
    """The dtype's name, the same for NumPy, torch, JAX and TensorFlow (``float32``, ``bfloat16``)."""
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return str(np.asarray(x).dtype.name)
    if type(dtype).__module__.startswith("torch"):
        return str(dtype).removeprefix("torch.")
    name = getattr(dtype, "name", None)
    return str(name if isinstance(name, str) else np.dtype(dtype).name)


def _byte_order(x: Any) -> str:
    dtype = getattr(x, "dtype", None)
    return dtype.byteorder if isinstance(dtype, np.dtype) and dtype.byteorder in "<>" else "="


def differences(actual: Any, expected: Any) -> str:
    """Why ``actual`` and ``expected`` are not the same bits (``""`` when they are).

    Shape, dtype (NumPy's byte order included) and every byte are compared.
    """
    if _shape(actual) != _shape(expected):
        return f"shape {_shape(actual)} != {_shape(expected)}"
    if _dtype(actual) != _dtype(expected):
        return f"dtype {_dtype(actual)} != {_dtype(expected)}"
    if _byte_order(actual) != _byte_order(expected):
        return f"byte order {_byte_order(actual)} != {_byte_order(expected)}"
    got, want = byte_view(actual), byte_view(expected)
    if np.array_equal(got, want):
        return ""
    count = math.prod(_shape(expected))
    item = got.size // count
    differ = (got.reshape(count, item) != want.reshape(count, item)).any(axis=1)
    first = int(np.flatnonzero(differ)[0])
    where = np.unravel_index(first, _shape(expected))
    chunk = slice(first * item, (first + 1) * item)
    return (
        f"{int(differ.sum())} of {count} elements differ; first at {tuple(map(int, where))}: "
        f"bytes {got[chunk].tobytes().hex()}, expected {want[chunk].tobytes().hex()}"
    )


def same_bits(actual: Any, expected: Any) -> bool:
    """Shape, dtype and every byte equal (NaN payloads and the sign of zero included)."""
    return not differences(actual, expected)


def assert_same_bits(actual: Any, expected: Any, context: str = "") -> None:
    """Assert :func:`same_bits`; the message says where the bytes differ."""
    assert actual is not None, f"got None {context}"
    found = differences(actual, expected)
    assert not found, f"{found} {context}".rstrip()
