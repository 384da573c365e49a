"""Per-backend fast paths, each a module with ``prepare(spec, plan) -> Runner``.

See :mod:`subpixel._dispatch` for how a module is found for an array.
"""

from collections.abc import Callable
from typing import Any

__all__ = ["Runner"]

#: Applies one prepared plan to one array of the backend it was prepared for.
Runner = Callable[[Any], Any]
