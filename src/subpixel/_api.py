"""Public functions: :func:`pixel_shuffle` and :func:`pixel_unshuffle`."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TypeVar

from subpixel._dispatch import Runner, backend_for, runner_for, traced_runner
from subpixel._namespace import check_namespace
from subpixel._spec import ShuffleSpec
from subpixel._validate import Order

__all__ = ["apply_spec", "pixel_shuffle", "pixel_unshuffle"]

ArrayT = TypeVar("ArrayT")

#: Most call signatures whose runner is kept (cleared, not evicted, when full).
RUNNER_CACHE_SIZE = 4096

#: Runner by (array type, shape, factor, inverse, channels_last, order) for calls whose
#: arguments have exactly the types int/tuple of int, bool and str: a hit skips validation,
#: namespace lookup and planning, which dominate calls on tiny arrays.
_runners: dict[tuple[object, ...], Runner] = {}
_modules = sys.modules


def pixel_shuffle(
    x: ArrayT,
    /,
    upscale_factor: int | tuple[int, ...],
    *,
    channels_last: bool = False,
    order: Order = "CRD",
    xp: ModuleType | None = None,
) -> ArrayT:
    """Move channels into space: ``(*, C * F, S1, ..., Sk) -> (*, C, S1 * f1, ..., Sk * fk)``.

    With the defaults this is ``torch.nn.functional.pixel_shuffle`` bit for bit, for any array
    library that follows the Array API standard.

    Parameters
    ----------
    x : array
        NumPy, CuPy, JAX, PyTorch, Dask or other Array-API array. Any number of leading batch
        axes, including none.
    upscale_factor : int or tuple of int
        ``r`` upscales the last two spatial axes by ``r`` each (as PyTorch). A tuple gives one
        factor per spatial axis, for 1-D signals, 3-D volumes and non-square factors.
        ``F`` is the product of the factors. Positional or by keyword, as in
        ``torch.nn.functional.pixel_shuffle(x, upscale_factor=2)``.
    channels_last : bool
        The channel axis is last: ``(*, S1, ..., Sk, C * F) -> (*, S1 * f1, ..., Sk * fk, C)``.
    order : {"CRD", "DCR"}
        ``"CRD"`` (PyTorch, ONNX ``mode="CRD"``): output ``(c, s * f + o)`` reads channel
        ``c * F + ravel(o)``. ``"DCR"`` (TensorFlow ``depth_to_space``, ONNX default): it reads
        ``ravel(o) * C + c``. ``ravel`` is row-major over the offsets ``o``.
    xp : module, optional
        The Array-API namespace of ``x``, for code that already holds it (as SciPy and
        array-api-extra pass ``xp=``): ``x``'s own namespace or its ``array_api_compat``
        wrapper. The result is the same as without it.

    Returns
    -------
    array
        A new array of the same library, dtype and device as ``x``; it never shares memory
        with ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array, ``upscale_factor`` is not an int or tuple of ints, or ``xp``
        is not the namespace of ``x``.
    ValueError
        If a factor is not positive, ``order`` is unknown, ``x`` has too few axes or its
        channel count is not divisible by ``F``.

    See Also
    --------
    pixel_unshuffle : The inverse.
    shuffle_plan : The same rearrangement as three shape tuples.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8).reshape(1, 8, 1, 1)
    >>> pixel_shuffle(x, 2)[0]
    array([[[0, 1],
            [2, 3]],
    <BLANKLINE>
           [[4, 5],
            [6, 7]]])
    >>> pixel_shuffle(x, 2, order="DCR")[0]
    array([[[0, 2],
            [4, 6]],
    <BLANKLINE>
           [[1, 3],
            [5, 7]]])
    >>> audio = np.arange(6).reshape(2, 3)  # 2 samples of 3 channels, channels last
    >>> pixel_shuffle(audio, (3,), channels_last=True)[:, 0]
    array([0, 1, 2, 3, 4, 5])
    """
    if xp is not None:
        _check_xp(x, xp, "pixel_shuffle")
    return _run(x, upscale_factor, False, channels_last, order, "pixel_shuffle")


def pixel_unshuffle(
    x: ArrayT,
    /,
    downscale_factor: int | tuple[int, ...],
    *,
    channels_last: bool = False,
    order: Order = "CRD",
    xp: ModuleType | None = None,
) -> ArrayT:
    """Move space into channels: ``(*, C, S1 * f1, ..., Sk * fk) -> (*, C * F, S1, ..., Sk)``.

    The exact inverse of :func:`pixel_shuffle` with the same arguments; with the defaults it
    is ``torch.nn.functional.pixel_unshuffle`` bit for bit.

    Parameters
    ----------
    x : array
        NumPy, CuPy, JAX, PyTorch, Dask or other Array-API array.
    downscale_factor : int or tuple of int
        ``r`` downscales the last two spatial axes by ``r`` each; a tuple gives one factor per
        spatial axis. Positional or by keyword (``downscale_factor=2``), as in PyTorch.
    channels_last : bool
        The channel axis is last: ``(*, S1 * f1, ..., Sk * fk, C) -> (*, S1, ..., Sk, C * F)``.
    order : {"CRD", "DCR"}
        Channel order of the result, as in :func:`pixel_shuffle`. ``"DCR"`` with
        ``channels_last=True`` is TensorFlow's ``space_to_depth``.
    xp : module, optional
        The Array-API namespace of ``x``, as in :func:`pixel_shuffle`.

    Returns
    -------
    array
        A new array of the same library, dtype and device as ``x``.

    Raises
    ------
    TypeError
        If ``x`` is not an array, ``downscale_factor`` is not an int or tuple of ints, or ``xp``
        is not the namespace of ``x``.
    ValueError
        If a factor is not positive, ``order`` is unknown, ``x`` has too few axes or a spatial
        size is not divisible by its factor.

    See Also
    --------
    pixel_shuffle : The inverse.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.arange(16).reshape(1, 1, 4, 4)
    >>> x = pixel_unshuffle(y, 2)
    >>> x.shape
    (1, 4, 2, 2)
    >>> bool((pixel_shuffle(x, 2) == y).all())
    True
    """
    if xp is not None:
        _check_xp(x, xp, "pixel_unshuffle")
    return _run(x, downscale_factor, True, channels_last, order, "pixel_unshuffle")


def apply_spec(x: ArrayT, spec: ShuffleSpec) -> ArrayT:
    """Apply a validated ``spec`` to ``x``: what every framework's layers call.

    The layers hold one :class:`~subpixel._spec.ShuffleSpec`; this is the public functions'
    path without their argument checks, with the same runner cache.
    """
    torch = _modules.get("torch")
    if torch is not None and (torch.compiler.is_compiling() or torch._C._is_tracing()):
        return traced_runner(x, spec)(x)  # type: ignore[no-any-return]
    key: tuple[object, ...] | None = (type(x), getattr(x, "shape", None), spec)
    try:
        runner = _runners.get(key)  # type: ignore[arg-type]
    except TypeError:  # an unhashable shape
        runner = key = None
    if runner is None:
        runner = _remember(key, runner_for(x, spec))
    return runner(x)  # type: ignore[no-any-return]


def _check_xp(x: object, xp: object, caller: str) -> None:
    backend_for(x, caller)  # a non-array is named as such before its namespace is compared
    check_namespace(x, xp, caller)


def _run(
    x: ArrayT, factor: object, inverse: bool, channels_last: object, order: object, caller: str
) -> ArrayT:
    torch = _modules.get("torch")
    if torch is not None and (torch.compiler.is_compiling() or torch._C._is_tracing()):
        spec = ShuffleSpec.create(
            factor, inverse=inverse, channels_last=channels_last, order=order, caller=caller
        )
        return traced_runner(x, spec)(x)  # type: ignore[no-any-return]
    # Exact type checks keep ``True``/``1`` and ``2.0``/``2`` apart: only arguments that
    # passed validation with exactly these types ever reach the cache.
    key: tuple[object, ...] | None = None
    if (
        (channels_last is False or channels_last is True)
        and type(order) is str
        and (type(factor) is int or (type(factor) is tuple and all(type(f) is int for f in factor)))
    ):
        key = (type(x), getattr(x, "shape", None), factor, inverse, channels_last, order)
        try:
            runner = _runners.get(key)
        except TypeError:  # an unhashable shape
            runner = key = None
        if runner is not None:
            result: ArrayT = runner(x)
            return result
    spec = ShuffleSpec.create(
        factor, inverse=inverse, channels_last=channels_last, order=order, caller=caller
    )
    return _remember(key, runner_for(x, spec))(x)  # type: ignore[no-any-return]


def _remember(key: tuple[object, ...] | None, runner: Runner) -> Runner:
    """Cache ``runner`` under ``key`` (unless ``None``); the cache is emptied when full."""
    if key is not None:
        if len(_runners) >= RUNNER_CACHE_SIZE:
            _runners.clear()
        _runners[key] = runner
    return runner
