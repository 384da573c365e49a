"""PyData Sparse: COO arrays, through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Sparse"]


class Sparse(Entry):
    """``sparse.COO`` arrays."""

    name = "sparse"
    title = "PyData Sparse"
    extra = "sparse"

    def to_numpy(self, y: Any) -> Any:
        """``todense()``."""
        return y.todense()
