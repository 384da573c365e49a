"""Convert trained weights between the CRD and DCR channel orders.

A convolution followed by a pixel shuffle only works in the order it was trained for. Moving a
model between frameworks that use different orders (PyTorch and ONNX ``mode="CRD"`` against
TensorFlow ``depth_to_space`` and ONNX's default ``mode="DCR"``) means permuting the
convolution's output channels. :func:`convert_order` does that with the same reshape -> permute
-> reshape as the shuffle itself, so it works on any Array-API array.
"""

from __future__ import annotations

from typing import TypeVar

import array_api_compat

from subpixel._plan import ShufflePlan
from subpixel._shuffle import apply_plan
from subpixel._validate import Order, check_axis, check_factors, check_order, factor_text

__all__ = ["convert_order"]

_CALLER = "convert_order"

ArrayT = TypeVar("ArrayT")


def convert_order(
    weight: ArrayT,
    factor: int | tuple[int, ...],
    /,
    *,
    source: Order,
    target: Order,
    axis: int = 0,
) -> ArrayT:
    """Permute the channel axis of ``weight`` from one sub-pixel channel order to the other.

    For a convolution with weight ``w`` and bias ``b`` that feeds a pixel shuffle in order
    ``source``, the convolution with ``convert_order(w, ...)`` and ``convert_order(b, ...)``
    feeding a pixel shuffle in order ``target`` gives the same result, value for value::

        pixel_shuffle(conv(x, w, b), factor, order=source)
        == pixel_shuffle(conv(x, convert_order(w, factor, source=source, target=target),
                                 convert_order(b, factor, source=source, target=target)),
                         factor, order=target)

    The same permutation converts the *input* channels of a convolution that reads the output
    of :func:`pixel_unshuffle` (``space_to_depth``): pass the weight's input-channel axis.

    Parameters
    ----------
    weight : array
        A convolution weight or bias of any Array-API library (NumPy, PyTorch, JAX, CuPy, Dask,
        ...). Its size along ``axis`` is ``C * F``, where ``C`` is the number of channels after
        the shuffle and ``F`` the product of the factors.
    factor : int or tuple of int
        The shuffle's factor, as passed to :func:`pixel_shuffle`: ``r`` means ``r`` on each of
        two spatial axes (``F = r * r``); a tuple gives one factor per spatial axis.
    source : str
        ``"CRD"`` or ``"DCR"``: the order the weight was trained for. Required, as is
        ``target``, so that every call states its direction.
    target : str
        ``"CRD"`` or ``"DCR"``: the order of the pixel shuffle the converted weight will feed.
    axis : int
        The channel axis of ``weight``: ``0`` for PyTorch's ``(out, in, *kernel)`` weights and
        for biases, ``-1`` for the output channels of TensorFlow, Keras and Flax kernels
        ``(*kernel, in, out)``, ``1`` for PyTorch's input channels.

    Returns
    -------
    array
        A new array of the same library, dtype, shape and device as ``weight``; element
        ``target_index(c, o)`` along ``axis`` holds element ``source_index(c, o)`` of ``weight``,
        where ``CRD`` puts output channel ``c`` and sub-pixel offset ``o`` at ``c * F + o`` and
        ``DCR`` puts it at ``o * C + c``. It never shares memory with ``weight``.

    Raises
    ------
    TypeError
        If ``weight`` is not an array, ``axis`` is not an int, or ``factor`` is not an int or a
        tuple of ints.
    ValueError
        If ``source`` or ``target`` is not ``"CRD"`` or ``"DCR"``, a factor is not positive,
        ``axis`` is out of range, or the size along ``axis`` is not divisible by ``F``.

    See Also
    --------
    pixel_shuffle : Uses the order.

    Examples
    --------
    Four channels that a factor-2 shuffle spreads over one 2x2 block, for ``C = 2`` outputs:

    >>> import numpy as np
    >>> bias = np.array([10, 11, 12, 13, 20, 21, 22, 23])  # CRD: c * 4 + offset
    >>> convert_order(bias, 2, source="CRD", target="DCR")
    array([10, 20, 11, 21, 12, 22, 13, 23])
    >>> kernel = np.zeros((3, 3, 16, 8))  # TensorFlow: (kh, kw, in, out), DCR
    >>> convert_order(kernel, 2, source="DCR", target="CRD", axis=-1).shape
    (3, 3, 16, 8)
    """
    source_order = check_order(source, _CALLER, "source")
    target_order = check_order(target, _CALLER, "target")
    factors = check_factors(factor, _CALLER, "factor")
    try:
        xp = array_api_compat.array_namespace(weight)
    except TypeError:
        kind = type(weight).__name__
        msg = (
            "convert_order: weight must be an array (NumPy, CuPy, JAX, PyTorch, Dask or Array API), "
            f"got {kind}"
        )
        raise TypeError(msg) from None
    shape = tuple(int(size) for size in weight.shape)  # type: ignore[attr-defined]
    position = check_axis(axis, len(shape), _CALLER, "weight")
    plan = _order_plan(shape, position, factors, source_order, target_order)
    result: ArrayT = apply_plan(xp, weight, plan)
    return result


def _order_plan(
    shape: tuple[int, ...],
    axis: int,
    factors: tuple[int, ...],
    source: Order,
    target: Order,
) -> ShufflePlan:
    """Split ``shape[axis]`` into its two factors in ``source`` order and lay them out in ``target`` order.

    CRD numbers channel ``c`` at offset ``o`` as ``c * F + o`` (axes ``(C, F)``); DCR as
    ``o * C + c`` (axes ``(F, C)``). Converting between them swaps the two split axes; a
    conversion to the same order is the identity (still a copy).
    """
    product = 1
    for f in factors:
        product *= f
    size = shape[axis]
    if size % product:
        given = factor_text(factors)  # an int factor reads as the square it is
        why = f" (factor={given} squared)" if given.isdigit() else f", the product of factor={given}"
        msg = (
            f"convert_order: weight.shape[{axis}]={size} of shape {shape} is not divisible by {product}{why}"
        )
        raise ValueError(msg)
    channels = size // product
    split = (channels, product) if source == "CRD" else (product, channels)
    expand_shape = (*shape[:axis], *split, *shape[axis + 1 :])
    axes = list(range(len(expand_shape)))
    if source != target:
        axes[axis], axes[axis + 1] = axes[axis + 1], axes[axis]
    return ShufflePlan(expand_shape, tuple(axes), shape)
