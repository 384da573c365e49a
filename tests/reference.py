"""A naive reference for pixel shuffle and unshuffle, written from the index formula alone.

It shares no code with :mod:`subpixel._plan`: it never reshapes or permutes. For every output
position it computes, with integer arithmetic on index arrays, the input position the
definition says it reads, and gathers with NumPy fancy indexing. A plan bug (a wrong axis, a
swapped order, a batch axis in the wrong place) therefore shows up as a difference.

The definition, with ``k`` spatial axes, factors ``f = (f1, ..., fk)``, ``F = f1 * ... * fk``
and ``C`` output channels (shuffle) or input channels (unshuffle):

* shuffle: output ``(*b, c, p1, ..., pk)`` with ``pi = si * fi + oi`` reads input
  ``(*b, ch, s1, ..., sk)`` where ``ch = c * F + ravel(o)`` (CRD) or ``ravel(o) * C + c`` (DCR);
* unshuffle: output ``(*b, q, s1, ..., sk)`` reads input ``(*b, c, s1 * f1 + o1, ...)`` where
  ``c, ravel(o) = divmod(q, F)`` (CRD) or ``ravel(o), c = divmod(q, C)`` (DCR);
* ``ravel`` is row-major over the offsets; with ``channels_last`` the channel axis is the last
  axis instead of the one before the spatial axes.

The module also states which arguments are valid (:func:`judge`), from the documented rules,
so that the fuzz tests can tell a call that must succeed from one that must fail.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from tests.values import special_array

#: A channel order, as the library's ``order`` arguments take it.
Order = Literal["CRD", "DCR"]
#: Both orders.
ORDERS: tuple[Order, Order] = ("CRD", "DCR")


def as_order(order: str) -> Order:
    """``order`` as the library's ``Order`` type (for values drawn from :data:`ORDERS`)."""
    if order == "CRD":
        return "CRD"
    if order == "DCR":
        return "DCR"
    msg = f"order must be 'CRD' or 'DCR', got {order!r}"
    raise ValueError(msg)


#: Largest "extent" (product of the nonzero sizes) a zero-size result may have, unless the
#: input already had a larger one: the most elements of 16-byte items (complex128) a 64-bit
#: framework can describe. Past it NumPy, JAX and torch fail, or abort, creating the shape.
MAX_ZERO_SIZE_EXTENT = (2**63 - 1) // 16


def factor_tuple(factor: Any) -> tuple[int, ...]:
    """Factors of a *valid* ``factor`` argument: ``r`` means ``(r, r)``."""
    if isinstance(factor, (tuple, list)):
        return tuple(operator.index(f) for f in factor)
    r = operator.index(factor)
    return (r, r)


def _ravel(offsets: Sequence[Any], factors: Sequence[int]) -> Any:
    flat: Any = 0
    for o, f in zip(offsets, factors, strict=True):
        flat = flat * f + o
    return flat


def _unravel(flat: Any, factors: Sequence[int]) -> list[Any]:
    offsets: list[Any] = []
    for f in reversed(factors):
        offsets.append(flat % f)
        flat = flat // f
    return offsets[::-1]


def output_shape(
    shape: Sequence[int], factors: Sequence[int], *, inverse: bool, channels_last: bool
) -> tuple[int, ...]:
    """Shape of the result for a valid call."""
    k = len(factors)
    big_f = int(np.prod(factors, dtype=object))
    shape = tuple(shape)
    if channels_last:
        batch, spatial, channels = shape[: -k - 1], shape[-k - 1 : -1], shape[-1]
    else:
        batch, channels, spatial = shape[: -k - 1], shape[-k - 1], shape[-k:]
    if inverse:
        new_spatial = tuple(s // f for s, f in zip(spatial, factors, strict=True))
        new_channels = channels * big_f
    else:
        new_spatial = tuple(s * f for s, f in zip(spatial, factors, strict=True))
        new_channels = channels // big_f
    if channels_last:
        return (*batch, *new_spatial, new_channels)
    return (*batch, new_channels, *new_spatial)


def source_index(
    out_index: Sequence[Any],
    in_shape: Sequence[int],
    factors: Sequence[int],
    *,
    inverse: bool,
    channels_last: bool,
    order: str,
) -> tuple[Any, ...]:
    """Input index read by each output index (index arrays or ints, one per axis)."""
    k = len(factors)
    big_f = int(np.prod(factors, dtype=object))
    n = len(in_shape)
    channel_axis = n - 1 if channels_last else n - k - 1
    spatial_axes = list(range(n - k - 1, n - 1)) if channels_last else list(range(n - k, n))
    src = list(out_index)
    if inverse:
        small_c = in_shape[channel_axis]
        q = out_index[channel_axis]
        if order == "CRD":
            c, flat = q // big_f, q % big_f
        else:
            flat, c = q // small_c, q % small_c
        offsets = _unravel(flat, factors)
        src[channel_axis] = c
        for axis, f, o in zip(spatial_axes, factors, offsets, strict=True):
            src[axis] = out_index[axis] * f + o
        return tuple(src)
    small_c = in_shape[channel_axis] // big_f
    c = out_index[channel_axis]
    offsets = [out_index[axis] % f for axis, f in zip(spatial_axes, factors, strict=True)]
    flat = _ravel(offsets, factors)
    src[channel_axis] = c * big_f + flat if order == "CRD" else flat * small_c + c
    for axis, f in zip(spatial_axes, factors, strict=True):
        src[axis] = out_index[axis] // f
    return tuple(src)


def reference(x: np.ndarray, factor: Any, *, inverse: bool, channels_last: bool, order: str) -> np.ndarray:
    """The shuffle (``inverse=False``) or unshuffle of a valid NumPy ``x``, by gathering."""
    factors = factor_tuple(factor)
    out_shape = output_shape(x.shape, factors, inverse=inverse, channels_last=channels_last)
    if 0 in out_shape:  # nothing to gather (and an index range per axis could be huge)
        return np.empty(out_shape, dtype=x.dtype)
    grid = np.indices(out_shape, dtype=np.int64, sparse=True)
    src = source_index(
        tuple(grid), x.shape, factors, inverse=inverse, channels_last=channels_last, order=order
    )
    out: np.ndarray = np.asarray(x)[tuple(np.broadcast_arrays(*src))]
    if out.shape != out_shape:
        msg = f"reference gathered shape {out.shape}, expected {out_shape}"
        raise AssertionError(msg)
    return out


def expected(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> np.ndarray:
    """:func:`reference` of ``np.asarray(x)``, with the options positional (the fast-path tests)."""
    return reference(np.asarray(x), factor, inverse=inverse, channels_last=channels_last, order=order)


def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """``subpixel.pixel_shuffle`` (or ``pixel_unshuffle``) of ``x``, with the options positional."""
    import subpixel

    function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    return function(x, factor, channels_last=channels_last, order=as_order(order))


# --- validity, from the documented rules -------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What a call must do.

    ``valid``: succeed with :func:`reference`'s result. Otherwise ``bad`` names the arguments at
    fault (the error message must name one of them); ``either`` marks arguments a library may
    reasonably accept or reject (a correct result or a clean error are both fine). ``reason`` is
    ``"zero-size extent"`` for a zero-size input whose result shape no framework can form.
    """

    valid: bool
    bad: frozenset[str] = frozenset()
    either: bool = False
    factors: tuple[int, ...] = ()
    reason: str = ""


def names(message: str, argument: str) -> bool:
    """Whether an error message names ``argument``."""
    if argument == "x":
        return re.search(r"\bx\b", message) is not None
    return argument in message


def _is_int(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, np.integer))


def _is_ambiguous_int(value: object) -> bool:
    """Integer-like objects a library may accept or reject (0-d integer arrays)."""
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iu"


def judge_factor(factor: object) -> tuple[str, tuple[int, ...]]:
    """``("ok", factors)``, ``("either", factors)`` or ``("bad", ())`` for a factor argument."""
    items: Sequence[object]
    if isinstance(factor, (tuple, list)):
        if not factor:
            return "bad", ()
        items = factor
    else:
        items = (factor, factor)
    verdict = "ok"
    values: list[int] = []
    for item in items:
        if _is_int(item):
            values.append(operator.index(item))
        elif _is_ambiguous_int(item):
            verdict = "either"
            values.append(operator.index(item))
        else:
            return "bad", ()
    if any(v <= 0 for v in values):
        return "bad", ()
    return verdict, tuple(values)


def _extent(sizes: Sequence[int]) -> int:
    product = 1
    for size in sizes:
        if size:
            product *= size
    return product


def judge(
    shape: Sequence[int] | None,
    factor: object,
    *,
    inverse: bool,
    channels_last: object,
    order: object,
    factor_name: str,
) -> Verdict:
    """Decide, from the rules alone, whether a call with these arguments must succeed.

    ``shape`` is ``None`` when ``x`` is not an array.
    """
    bad: set[str] = set()
    either = False
    if shape is None:
        bad.add("x")
    factor_verdict, factors = judge_factor(factor)
    if factor_verdict == "bad":
        bad.add(factor_name)
    either |= factor_verdict == "either"
    if isinstance(channels_last, np.bool_):
        either = True
    elif not isinstance(channels_last, bool):
        bad.add("channels_last")
    if not (isinstance(order, str) and order in ("CRD", "DCR")):
        bad.add("order")
    if bad or shape is None:
        return Verdict(False, frozenset(bad), either)
    k = len(factors)
    n = len(shape)
    shape_fault = frozenset({"x", factor_name})
    if n < k + 1:
        return Verdict(False, shape_fault, either)
    big_f = int(np.prod(factors, dtype=object))
    if channels_last:
        batch, spatial, channels = shape[: n - k - 1], shape[n - k - 1 : n - 1], shape[-1]
    else:
        batch, channels, spatial = shape[: n - k - 1], shape[n - k - 1], shape[n - k :]
    if inverse:
        if any(s % f for s, f in zip(spatial, factors, strict=True)):
            return Verdict(False, shape_fault, either)
        split = (*batch, channels, *factors, *(s // f for s, f in zip(spatial, factors, strict=True)))
    else:
        if channels % big_f:
            return Verdict(False, shape_fault, either)
        split = (*batch, channels // big_f, *factors, *spatial)
    if 0 in shape and _extent(split) > max(_extent(shape), MAX_ZERO_SIZE_EXTENT):
        return Verdict(False, frozenset({factor_name}), either, reason="zero-size extent")
    return Verdict(True, frozenset(), either, factors)


# --- memory layouts ----------------------------------------------------------------------

#: Ways to lay out the same values in memory, for NumPy inputs.
NUMPY_LAYOUTS = (
    "C",
    "F",
    "transposed",
    "strided",
    "negative",
    "broadcast",
    "readonly",
    "big-endian",
    "unaligned",
)
#: Ways to lay out the same values in memory, for torch inputs.
TORCH_LAYOUTS = ("contiguous", "transposed", "strided", "broadcast", "channels-last", "offset")


@dataclasses.dataclass
class Laid:
    """An input in some layout: what is passed, its values as NumPy, the buffers behind it."""

    array: Any
    values: np.ndarray
    owners: list[Any]


def _axis(base: np.ndarray, rng: np.random.Generator) -> int | None:
    return int(rng.integers(base.ndim)) if base.ndim else None


def numpy_layout(base: np.ndarray, layout: str, rng: np.random.Generator) -> Laid:
    """``base``'s values in ``layout`` (one of :data:`NUMPY_LAYOUTS`)."""
    axis = _axis(base, rng)
    if layout == "C":
        a = base.copy()
        return Laid(a, a, [a])
    if layout == "F":
        a = np.asfortranarray(base)
        return Laid(a, a, [a])
    if layout == "transposed":
        perm = rng.permutation(base.ndim)
        a = np.ascontiguousarray(base.transpose(perm)).transpose(np.argsort(perm))
        return Laid(a, a, [a.base])
    if layout == "strided" and axis is not None:
        big_shape = list(base.shape)
        big_shape[axis] = 2 * big_shape[axis] + 1
        big = special_array(big_shape, base.dtype, rng)
        index = (slice(None),) * axis + (slice(1, None, 2),)
        big[index] = base
        return Laid(big[index], big[index], [big])
    if layout == "negative" and axis is not None:
        flipped = np.flip(base, axis).copy()
        a = np.flip(flipped, axis)
        return Laid(a, a, [flipped])
    if layout == "broadcast" and axis is not None:
        small = base.take([0], axis=axis) if base.shape[axis] else base.copy()
        a = np.broadcast_to(small, base.shape)
        return Laid(a, a, [small])
    if layout == "readonly":
        a = base.copy()
        a.flags.writeable = False
        return Laid(a, a, [a])
    if layout == "big-endian":
        a = base.astype(base.dtype.newbyteorder(">"))
        return Laid(a, a, [a])
    if layout == "unaligned":
        raw = np.zeros(base.nbytes + 1, dtype=np.uint8)
        a = raw[1:].view(base.dtype).reshape(base.shape)
        a[...] = base
        return Laid(a, a, [raw])
    return numpy_layout(base, "C", rng)  # a 0-d array has no axis to play with


def torch_layout(base: np.ndarray, layout: str, rng: np.random.Generator) -> Laid:
    """``base``'s values as a torch tensor in ``layout`` (one of :data:`TORCH_LAYOUTS`)."""
    import torch

    axis = _axis(base, rng)
    if layout == "transposed":
        perm = rng.permutation(base.ndim)
        owner = torch.from_numpy(np.ascontiguousarray(base.transpose(perm)))
        return Laid(owner.permute(*np.argsort(perm).tolist()), base, [owner])
    if layout == "strided" and axis is not None:
        big_shape = list(base.shape)
        big_shape[axis] = 2 * big_shape[axis] + 1
        big = special_array(big_shape, base.dtype, rng)
        index = (slice(None),) * axis + (slice(1, None, 2),)
        big[index] = base
        owner = torch.from_numpy(big)
        return Laid(owner[index], base, [owner])
    if layout == "broadcast" and axis is not None:
        small = base.take([0], axis=axis) if base.shape[axis] else base.copy()
        owner = torch.from_numpy(small)
        return Laid(owner.expand(*base.shape), np.broadcast_to(small, base.shape), [owner])
    if layout == "channels-last" and base.ndim in (4, 5):
        tensor = torch.from_numpy(base.copy())
        fmt = torch.channels_last if base.ndim == 4 else torch.channels_last_3d
        a = tensor.contiguous(memory_format=fmt)
        return Laid(a, base, [a])
    if layout == "offset":
        flat = np.concatenate([special_array((1,), base.dtype, rng), base.reshape(-1)])
        owner = torch.from_numpy(flat)
        return Laid(owner[1:].view(*base.shape), base, [owner])
    a = torch.from_numpy(base.copy())
    return Laid(a, base, [a])


def owner_bytes(owners: Sequence[Any]) -> list[bytes]:
    """The bytes of every buffer behind an input, to show it was not modified."""
    out = []
    for owner in owners:
        if type(owner).__module__.startswith("torch"):
            owner = owner.detach().numpy()
        out.append(np.ascontiguousarray(owner).tobytes())
    return out
