"""marray: masked arrays over NumPy (data and mask), through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["MArray"]


class MArray(Entry):
    """marray arrays over NumPy: the shuffle moves the mask with the data.

    The conversions carry the data only (no element masked); the conformance adapter masks
    part of every input and checks that the output's mask follows its data.
    """

    name = "marray"
    title = "marray"
    adapter = "subpixel.conformance._backends.marray"
    extra = "marray"

    def load(self) -> Any:
        """Return marray's namespace over NumPy (made by ``marray.masked_namespace``)."""
        import marray
        import numpy

        return marray.masked_namespace(numpy)

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """Return data ``x`` with nothing masked."""
        return self.load().asarray(x.copy(), mask=False)

    def to_numpy(self, y: Any) -> Any:
        """Return the data (where the mask is set, the data still holds its bits)."""
        import numpy as np

        return np.asarray(y.data)
