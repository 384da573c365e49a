"""Sub-pixel shuffling (pixel shuffle / unshuffle) for every Array-API framework, bit for bit.

Importing this package imports no array framework: a backend is loaded only when one of its
arrays is passed in.
"""

from __future__ import annotations

from subpixel._api import pixel_shuffle, pixel_unshuffle
from subpixel._plan import ORDERS, Order, ShufflePlan, shuffle_plan

__all__ = [
    "ORDERS",
    "Order",
    "ShufflePlan",
    "__version__",
    "pixel_shuffle",
    "pixel_unshuffle",
    "shuffle_plan",
]

__version__ = "0.1.0"
