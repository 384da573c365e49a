"""Warning classes of :mod:`subpixel`; importing this module imports no array framework."""

from __future__ import annotations

__all__ = ["ChunkingWarning"]


class ChunkingWarning(UserWarning):
    """A chunked array had to be rechunked before it could be shuffled block by block.

    Raised by :func:`subpixel.pixel_shuffle` and :func:`subpixel.pixel_unshuffle` on a Dask
    array whose chunks split the groups of channels (or of pixels) that one output block
    needs. The result is still exact; the warning names the axis, the old and the new chunks,
    so the data can be stored with chunks that need no extra copy.
    """
