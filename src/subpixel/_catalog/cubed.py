"""Cubed: chunked arrays computed with bounded memory, through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Cubed"]


class Cubed(Entry):
    """Cubed arrays (lazy, like Dask's; computed on the single-threaded executor)."""

    name = "cubed"
    title = "Cubed"
    extra = "cubed"
    compiles_per_shape = True

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """``cubed.from_array`` of a copy (one chunk per batch item)."""
        return self.load().from_array(x.copy(), chunks=(1, *x.shape[1:]) if x.ndim else ())

    def to_numpy(self, y: Any) -> Any:
        """``compute()``."""
        import numpy as np

        return np.asarray(y.compute())
