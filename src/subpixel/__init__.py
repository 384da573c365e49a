"""Sub-pixel shuffling (pixel shuffle / unshuffle) for every Array-API framework, bit for bit.

Importing this package imports no array framework: a backend is loaded only when one of its
arrays is passed in. The layers live in :mod:`subpixel.torch`, :mod:`subpixel.flax` and
:mod:`subpixel.keras`, each importing its framework.
"""

from subpixel._api import pixel_shuffle, pixel_unshuffle
from subpixel._order import convert_order
from subpixel._plan import ORDERS, Order, ShufflePlan, shuffle_plan
from subpixel._threads import get_num_threads, set_num_threads
from subpixel._warnings import ChunkingWarning

__all__ = [
    "ORDERS",
    "ChunkingWarning",
    "Order",
    "ShufflePlan",
    "__version__",
    "convert_order",
    "get_num_threads",
    "pixel_shuffle",
    "pixel_unshuffle",
    "set_num_threads",
    "shuffle_plan",
]

__version__ = "0.1.0"
