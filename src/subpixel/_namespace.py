"""The ``xp=`` keyword: an Array-API namespace a caller already holds, checked against the array's."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import array_api_compat

__all__ = ["check_namespace"]

#: array-api-compat's tests of "this namespace belongs to library L" (plain or wrapped).
_LIBRARY_TESTS: tuple[Callable[[Any], bool], ...] = tuple(
    test
    for name in dir(array_api_compat)
    if name.startswith("is_") and name.endswith("_namespace")
    for test in (getattr(array_api_compat, name),)
    if callable(test)
)


def check_namespace(x: object, xp: object, caller: str) -> None:
    """Raise ``TypeError`` unless ``xp`` is ``x``'s own namespace or its array-api-compat wrapper.

    ``xp`` is accepted for code that already holds the namespace (SciPy, array-api-extra); the
    shuffle still takes the route of ``x``'s type, so any other namespace is a mistake.

    Examples
    --------
    >>> import numpy as np
    >>> check_namespace(np.zeros(2), np, "pixel_shuffle")
    >>> check_namespace(np.zeros(2), array_api_compat.array_namespace(np.zeros(2)), "pixel_shuffle")
    """
    try:
        own: Any = array_api_compat.array_namespace(x)
    except TypeError:  # a library array-api-compat does not know (TensorFlow)
        own = None
    if xp is own or _same_library(x, xp, own):
        return
    library = type(x).__module__.partition(".")[0]
    expected = _name(own).removeprefix("array_api_compat.") if own is not None else f"a module of {library}"
    msg = (
        f"{caller}: xp must be the namespace of x ({expected}) or None, got {_name(xp)}; "
        "the shuffle always runs in the library of x"
    )
    raise TypeError(msg)


def _same_library(x: object, xp: object, own: object) -> bool:
    declared = getattr(x, "__array_namespace__", None)
    if callable(declared) and xp is declared():
        return True
    if not isinstance(xp, ModuleType):
        return False
    if own is not None:
        return any(test(xp) and test(own) for test in _LIBRARY_TESTS)
    # A library array-api-compat does not know: its own top-level module or a submodule of it.
    return xp.__name__.partition(".")[0] == type(x).__module__.partition(".")[0]


def _name(xp: object) -> str:
    return xp.__name__ if isinstance(xp, ModuleType) else repr(xp)
