"""NumPy: the copy engine's fast path; ``bfloat16`` through ml_dtypes."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["NumPy"]


class NumPy(Entry):
    """NumPy arrays (and their subclasses, masked arrays included)."""

    name = "numpy"
    title = "NumPy"
    requires = ("numpy",)
    fast_path = "subpixel._fast.numpy"
    routes = "numpy"
    adapter = "subpixel.conformance._backends.numpy"
    extra = "numpy"
    distributions = ("numpy", "ml_dtypes")

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """Return a copy: the result never aliases ``x``."""
        return x.copy()
