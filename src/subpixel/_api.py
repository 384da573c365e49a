"""Public functions: :func:`pixel_shuffle` and :func:`pixel_unshuffle`."""

from __future__ import annotations

import sys
from collections.abc import Callable
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
#: :func:`apply_spec`'s runners by (array type, shape, ``id(spec)``), each with its spec.
_spec_runners: dict[tuple[object, ...], tuple[ShuffleSpec, Runner]] = {}
_modules = sys.modules
_V = TypeVar("_V")

#: Whether PyTorch compiles or exports (``torch.compiler.is_compiling``) and whether
#: ``torch.jit.trace`` traces (``torch._C._is_tracing``): a call asks them first, before any
#: cache, so Dynamo (which folds ``is_compiling()`` to ``True``) never traces a cache lookup.
#: Until PyTorch is imported, the first is :func:`_find_torch`, which puts PyTorch's own two
#: functions here once it finds PyTorch (Dynamo recognises ``is_compiling`` by its identity).
_is_compiling: Callable[[], bool]
_is_tracing: Callable[[], bool]

#: Each public function's last cached eager call: (array type, shape, factor, channels_last,
#: order, runner), its key of ``_runners`` without the direction, and its runner. No array's
#: type is ``None``: the first call finds no last call (and ``id`` is never called).
_last_shuffle: tuple[object, object, object, object, object, Runner] = (None, None, None, None, None, id)
_last_unshuffle = _last_shuffle
#: :func:`apply_spec`'s last cached call: (array type, shape, spec, runner).
_last_spec: tuple[object, object, object, Runner] = (None, None, None, id)


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
    if _is_compiling() or _is_tracing():
        return _run_traced(x, upscale_factor, False, channels_last, order, "pixel_shuffle")
    # The last call's arguments, compared by identity (so also by exact type): a repeated call
    # reads neither the arguments' types nor the cache.
    last = _last_shuffle
    if (
        type(x) is last[0]
        and upscale_factor is last[2]
        and channels_last is last[3]
        and order is last[4]
        and x.shape == last[1]  # type: ignore[attr-defined]  # x's type is an array type
    ):
        result: ArrayT = last[5](x)
        return result
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
    if _is_compiling() or _is_tracing():
        return _run_traced(x, downscale_factor, True, channels_last, order, "pixel_unshuffle")
    # The last call's arguments, compared by identity (so also by exact type): a repeated call
    # reads neither the arguments' types nor the cache.
    last = _last_unshuffle
    if (
        type(x) is last[0]
        and downscale_factor is last[2]
        and channels_last is last[3]
        and order is last[4]
        and x.shape == last[1]  # type: ignore[attr-defined]  # x's type is an array type
    ):
        result: ArrayT = last[5](x)
        return result
    return _run(x, downscale_factor, True, channels_last, order, "pixel_unshuffle")


def apply_spec(x: ArrayT, spec: ShuffleSpec) -> ArrayT:
    """Apply a validated ``spec`` to ``x``: what every framework's layers call.

    The layers hold one :class:`~subpixel._spec.ShuffleSpec`; this is the public functions'
    path without their argument checks, with the same runner cache.
    """
    if _is_compiling() or _is_tracing():
        return traced_runner(x, spec)(x)  # type: ignore[no-any-return]
    last = _last_spec
    if spec is last[2] and type(x) is last[0] and x.shape == last[1]:  # type: ignore[attr-defined]
        result: ArrayT = last[3](x)
        return result
    # Keyed by the spec's identity, not its value: hashing a dataclass costs more than the
    # call on a tiny tensor. The entry holds the spec, so no other spec can take its ``id``.
    key: tuple[object, ...] | None
    entry: tuple[ShuffleSpec, Runner] | None
    try:
        key = (type(x), x.shape, id(spec))  # type: ignore[attr-defined]
        entry = _spec_runners.get(key)
    except (AttributeError, TypeError):  # no shape (not an array), or an unhashable one
        key = entry = None
    if key is None:
        return runner_for(x, spec)(x)  # type: ignore[no-any-return]
    if entry is None or entry[0] is not spec:
        entry = (spec, runner_for(x, spec))
        _keep(_spec_runners, key, entry)
    _remember_last_spec(key, entry)
    return entry[1](x)  # type: ignore[no-any-return]


def _remember_last_spec(key: tuple[object, ...], entry: tuple[ShuffleSpec, Runner]) -> None:
    """Keep the call of ``key`` (a key of ``_spec_runners``) as :func:`apply_spec`'s last call."""
    global _last_spec
    _last_spec = (key[0], key[1], *entry)


def _check_xp(x: object, xp: object, caller: str) -> None:
    backend_for(x, caller)  # a non-array is named as such before its namespace is compared
    check_namespace(x, xp, caller)


def _run(
    x: ArrayT, factor: object, inverse: bool, channels_last: object, order: object, caller: str
) -> ArrayT:
    """Run an eager call that is not the function's last one: from the cache, else planned."""
    # Exact type checks keep ``True``/``1`` and ``2.0``/``2`` apart: only arguments that
    # passed validation with exactly these types ever reach the cache.
    key: tuple[object, ...] | None = None
    if (
        (channels_last is False or channels_last is True)
        and type(order) is str
        and (type(factor) is int or (type(factor) is tuple and all(type(f) is int for f in factor)))
    ):
        try:
            key = (type(x), x.shape, factor, inverse, channels_last, order)  # type: ignore[attr-defined]
            runner = _runners.get(key)
        except (AttributeError, TypeError):  # no shape (not an array), or an unhashable one
            runner = key = None
    else:
        runner = None
    if runner is None:
        spec = ShuffleSpec.create(
            factor, inverse=inverse, channels_last=channels_last, order=order, caller=caller
        )
        runner = runner_for(x, spec)
        if key is not None:
            _keep(_runners, key, runner)
    if key is not None:
        _remember_last(key, runner)
    return runner(x)  # type: ignore[no-any-return]


def _remember_last(key: tuple[object, ...], runner: Runner) -> None:
    """Keep the call of ``key`` (a key of ``_runners``) as its function's last call."""
    global _last_shuffle, _last_unshuffle
    array_type, shape, factor, inverse, channels_last, order = key
    last = (array_type, shape, factor, channels_last, order, runner)
    if inverse:
        _last_unshuffle = last
    else:
        _last_shuffle = last


def _run_traced(
    x: ArrayT, factor: object, inverse: bool, channels_last: object, order: object, caller: str
) -> ArrayT:
    """Validate the arguments and run the traceable route, with no cache."""
    spec = ShuffleSpec.create(
        factor, inverse=inverse, channels_last=channels_last, order=order, caller=caller
    )
    return traced_runner(x, spec)(x)  # type: ignore[no-any-return]


def _find_torch() -> bool:
    """Whether PyTorch traces now; once it is imported, keep its own two tests in its place.

    Until PyTorch is imported, this is :data:`_is_compiling`. While PyTorch traces, nothing is
    kept (Dynamo would trace the assignment too); the next eager call keeps the tests.
    """
    torch = _modules.get("torch")
    if torch is None:
        return False
    if torch.compiler.is_compiling() or torch._C._is_tracing():
        return True
    global _is_compiling, _is_tracing
    _is_tracing = torch._C._is_tracing
    _is_compiling = torch.compiler.is_compiling
    return False


def _not_tracing() -> bool:
    """Whether ``torch.jit.trace`` traces now, before PyTorch is imported: never."""
    return False


def _keep(cache: dict[tuple[object, ...], _V], key: tuple[object, ...], value: _V) -> None:
    """Cache ``value`` under ``key``; the cache is emptied when full."""
    if len(cache) >= RUNNER_CACHE_SIZE:
        cache.clear()
    cache[key] = value


_is_compiling = _find_torch
_is_tracing = _not_tracing
