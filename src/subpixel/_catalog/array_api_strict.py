"""array-api-strict: the Array API standard and nothing more, through the Array-API route."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["ArrayApiStrict"]


class ArrayApiStrict(Entry):
    """array-api-strict arrays (no float16, no bfloat16)."""

    name = "array_api_strict"
    title = "array-api-strict"
    extra = "strict"
    distributions = ("array-api-strict",)

    def to_numpy(self, y: Any) -> Any:
        """Through DLPack, which the standard defines."""
        import numpy as np

        return np.from_dlpack(y)
