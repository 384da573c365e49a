"""Dask arrays of NumPy chunks: each chunk takes NumPy's fast path, without a global copy."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Dask"]


class Dask(Entry):
    """Dask arrays (chunked, lazy)."""

    name = "dask"
    title = "Dask"
    namespace = "dask.array"
    fast_path = "subpixel._fast.dask"
    routes = "dask"
    adapter = "subpixel.conformance._backends.dask"
    extra = "dask"

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """One chunk (the conformance adapter and ``tests/test_dask.py`` try the chunkings)."""
        return self.load().from_array(x.copy(), chunks=-1)

    def to_numpy(self, y: Any) -> Any:
        """``compute()``."""
        import numpy as np

        return np.asarray(y.compute())
