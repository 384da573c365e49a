"""Compiled join and split kernels for subpixel's copy engine (``pip install 'subpixel[speed]'``).

subpixel finds this package by itself: with it installed, the NumPy and torch CPU paths copy
channels-first shuffles with these kernels instead of NumPy's loops. It has no API of its own
for users; subpixel calls ``join_L`` and ``split_L`` (one per lane count ``L`` in
:data:`LANES`) with two C-contiguous buffers of one element size (:data:`ITEM_SIZES`), a
geometry of 15 unsigned 64-bit integers and a range of rows, and every call checks that the
walk stays inside both buffers. :data:`ABI` numbers the calling convention subpixel expects.
"""

from __future__ import annotations

from subpixel_kernels._interleave import (
    ABI,
    ITEM_SIZES,
    LANES,
    join_2,
    join_3,
    join_4,
    join_5,
    join_6,
    join_7,
    join_8,
    split_2,
    split_3,
    split_4,
    split_5,
    split_6,
    split_7,
    split_8,
)
from subpixel_kernels._version import __version__

__all__ = [
    "ABI",
    "ITEM_SIZES",
    "LANES",
    "__version__",
    "join_2",
    "join_3",
    "join_4",
    "join_5",
    "join_6",
    "join_7",
    "join_8",
    "split_2",
    "split_3",
    "split_4",
    "split_5",
    "split_6",
    "split_7",
    "split_8",
]
