"""ICNR: the initialisation of a sub-pixel convolution that starts as nearest-neighbour upsampling.

Aitken et al. (2017), "Checkerboard artifact free sub-pixel convolution". A convolution that
feeds a pixel shuffle with factors ``f1, ..., fk`` has ``C * F`` output channels
(``F = f1 * ... * fk``). The ``F`` channels that the shuffle places in one ``f1 x ... x fk``
output block come from one output channel ``c``; if they share one sub-kernel (and one bias),
every pixel of the block gets the same value, so the layer is a convolution followed by
nearest-neighbour upsampling. Which channels form a group depends on the order: ``c * F + s``
in ``"CRD"`` and ``s * C + c`` in ``"DCR"`` (``s`` the row-major offset inside the block).

Written once against the Array API: :func:`icnr_draw` is every framework's initialiser (it draws
the sub-kernel with the framework's usual initialiser and expands it), called with the
framework's kernel layout (``axis=0`` for PyTorch's ``(out, in, *k)``, ``axis=-1`` for Flax and
Keras ``(*k, in, out)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import array_api_compat

from subpixel._validate import Order, check_axis, check_factors, check_order

__all__ = ["IcnrSteps", "icnr", "icnr_draw", "icnr_groups", "icnr_steps"]

ArrayT = TypeVar("ArrayT")


class IcnrSteps(NamedTuple):
    """The three array calls of :func:`icnr`, as pure shape arithmetic.

    ``reshape(broadcast_to(expand_dims(kernel, new_axis), spread_shape), merged_shape)``.
    """

    new_axis: int
    spread_shape: tuple[int, ...]
    merged_shape: tuple[int, ...]


def icnr(kernel: ArrayT, factor: int | tuple[int, ...], /, *, order: Order = "CRD", axis: int = 0) -> ArrayT:
    """Expand a sub-kernel of ``C`` output channels to the ICNR kernel of ``C * F`` channels.

    Parameters
    ----------
    kernel : array
        The sub-kernel (or a bias vector), drawn by the framework's usual initialiser, with ``C``
        entries along ``axis``.
    factor : int or tuple of int
        The upscale factor(s) of the shuffle that follows; ``F`` is their product.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.
    axis : int
        The output-channel axis of ``kernel``.

    Returns
    -------
    array
        A new array of the same library and dtype, with ``C * F`` entries along ``axis``:
        entry ``c * F + s`` (CRD) or ``s * C + c`` (DCR) is ``kernel``'s entry ``c``.

    Raises
    ------
    TypeError
        If ``kernel`` is not an array or ``factor`` is not an int or tuple of ints.
    ValueError
        If a factor is not positive, ``order`` is unknown or ``axis`` is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> icnr(np.array([10, 20]), (3,))
    array([10, 10, 10, 20, 20, 20])
    >>> icnr(np.array([10, 20]), (3,), order="DCR")
    array([10, 20, 10, 20, 10, 20])
    """
    xp = _namespace(kernel)
    steps = icnr_steps(tuple(kernel.shape), factor, order=order, axis=axis)  # type: ignore[attr-defined]
    return _spread(xp, kernel, steps)


def _namespace(kernel: object) -> Any:
    try:
        return array_api_compat.array_namespace(kernel)
    except TypeError:
        msg = f"icnr: kernel must be an array, got {type(kernel).__name__}"
        raise TypeError(msg) from None


def _spread(xp: Any, kernel: ArrayT, steps: IcnrSteps) -> ArrayT:
    """Apply ``steps`` to ``kernel`` with the namespace ``xp``; the result never aliases ``kernel``."""
    spread = xp.broadcast_to(xp.expand_dims(kernel, axis=steps.new_axis), steps.spread_shape)
    result: ArrayT = xp.reshape(spread, steps.merged_shape, copy=True)
    return result


def _expand(kernel: ArrayT, steps: IcnrSteps) -> ArrayT:
    return _spread(_namespace(kernel), kernel, steps)


def icnr_draw(
    draw: Callable[[tuple[int, ...]], ArrayT],
    shape: Sequence[int],
    factor: int | tuple[int, ...],
    /,
    *,
    order: Order = "CRD",
    axis: int = 0,
    caller: str = "icnr",
    expand: Callable[[ArrayT, IcnrSteps], ArrayT] = _expand,
) -> ArrayT:
    """Draw the sub-kernel of an ICNR kernel of ``shape`` with ``draw``, then expand it to ``shape``.

    Every framework's ICNR initialiser is this call. ``draw(sub_shape)`` is the framework's usual
    initialiser, called with ``shape`` whose size along ``axis`` is divided by ``F``;
    ``expand(sub_kernel, steps)`` applies :class:`IcnrSteps` (the default uses the Array API;
    Keras passes ``keras.ops`` calls, as TensorFlow's tensors have no Array-API namespace).
    ``caller`` names the initialiser in the ``ValueError`` raised when that size is not
    divisible by ``F``.

    Examples
    --------
    >>> import numpy as np
    >>> icnr_draw(lambda s: np.arange(np.prod(s)).reshape(s), (2, 4), 2, axis=-1)
    array([[0, 0, 0, 0],
           [1, 1, 1, 1]])
    """
    dims = tuple(int(size) for size in shape)
    position = check_axis(axis, len(dims), caller, "kernel")
    count = math.prod(check_factors(factor, caller, "factor"))
    if dims[position] % count:
        where = "the last axis" if position == len(dims) - 1 else f"axis {position}"
        msg = f"{caller}: {where} of shape {dims} must be divisible by {count}"
        raise ValueError(msg)
    sub_shape = (*dims[:position], dims[position] // count, *dims[position + 1 :])
    return expand(draw(sub_shape), icnr_steps(sub_shape, factor, order=order, axis=position))


def icnr_steps(
    shape: tuple[int, ...], factor: int | tuple[int, ...], /, *, order: Order = "CRD", axis: int = 0
) -> IcnrSteps:
    """Plan :func:`icnr` for a sub-kernel of ``shape``.

    Raises
    ------
    TypeError
        If ``factor`` or ``axis`` is not an int (or ``factor`` a tuple of ints).
    ValueError
        If a factor is not positive, ``order`` is unknown or ``axis`` is out of range.

    Examples
    --------
    >>> icnr_steps((3, 3, 4, 2), 2, order="DCR", axis=-1)
    IcnrSteps(new_axis=3, spread_shape=(3, 3, 4, 4, 2), merged_shape=(3, 3, 4, 8))
    """
    count = math.prod(check_factors(factor, "icnr", "factor"))
    checked = check_order(order, "icnr")
    position = check_axis(axis, len(shape), "icnr", "kernel")
    # Insert the block axis behind (CRD) or in front of (DCR) the channel axis, then merge them.
    new_axis = position + 1 if checked == "CRD" else position
    target = (*shape[:new_axis], count, *shape[new_axis:])
    merged = (*shape[:position], shape[position] * count, *shape[position + 1 :])
    return IcnrSteps(new_axis, target, merged)


def icnr_groups(channels: int, factor: int | tuple[int, ...], /, *, order: Order = "CRD") -> list[list[int]]:
    """List the convolution channels that ICNR ties together, one group per output channel.

    Examples
    --------
    >>> icnr_groups(2, (2,))
    [[0, 1], [2, 3]]
    >>> icnr_groups(2, (2,), order="DCR")
    [[0, 2], [1, 3]]
    """
    count = math.prod(check_factors(factor, "icnr", "factor"))
    if check_order(order, "icnr") == "CRD":
        return [[c * count + s for s in range(count)] for c in range(channels)]
    return [[s * channels + c for s in range(count)] for c in range(channels)]
