"""Fast path for NumPy arrays: a thin adapter over the copy engine of :mod:`subpixel._copy`.

Small arrays take the three NumPy calls directly (no Array-API wrapper, no ``copy=``
keyword dance), large ones the copy engine, which records its routes as ``numpy:<route>``.
Arrays of other types that live in NumPy (subclasses such as masked arrays) and object arrays
take the Array-API path.

:data:`ROUTES` lists every route (from :mod:`subpixel._limits`) and :func:`unreachable_routes`
says which cannot run here.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

from subpixel import _copy, _routes
from subpixel._copy._blocked import shuffle_large
from subpixel._fast import Runner
from subpixel._limits import NUMPY_SMALL_BYTES, routes
from subpixel._plan import ShufflePlan
from subpixel._shuffle import apply_plan
from subpixel._spec import ShuffleSpec

__all__ = ["ROUTES", "SMALL_BYTES", "prepare", "unreachable_routes"]

#: Below this many bytes the plain reshape/transpose/copy is fastest (no planning overhead).
SMALL_BYTES = NUMPY_SMALL_BYTES

#: Every route of the NumPy path, the copy engine's among them. The torch CPU path runs the same
#: copy engine but records only its own route.
ROUTES = routes("numpy")


def unreachable_routes() -> dict[str, str]:
    """Return the routes this process cannot take now, each with the reason.

    Returns
    -------
    dict of str to str
        The copy engine's routes that cannot run here (see
        :func:`subpixel._copy.unreachable_routes`); the NumPy path's own routes always can.
    """
    return _copy.unreachable_routes("numpy")


def prepare(spec: ShuffleSpec, plan: ShufflePlan) -> Runner:
    """Return a function that applies ``plan`` to one NumPy array."""
    expand, axes, collapse = plan
    ndarray = np.ndarray

    def run(x: Any) -> Any:
        if type(x) is not ndarray or x.dtype.hasobject:
            if _routes.listening:
                _routes.record("numpy:array-api")
            plain = x.view(ndarray) if isinstance(x, np.matrix) else x  # a matrix is 2-D only
            return apply_plan(array_api_compat.array_namespace(plain), plain, plan)
        if x.nbytes < SMALL_BYTES:
            if _routes.listening:
                _routes.record("numpy:small")
            return x.reshape(expand).transpose(axes).copy().reshape(collapse)
        return shuffle_large(x, plan, backend="numpy")

    return run
