"""Fast path for jax arrays (none yet: the Array-API path in :mod:`subpixel._shuffle` runs)."""

from __future__ import annotations

from typing import Any

from subpixel._dispatch import Executor


def make_executor(xp: Any) -> Executor | None:
    """Return a faster executor for this backend, or None to use the Array-API path."""
    return None
