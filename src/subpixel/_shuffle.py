"""The one Array-API implementation of pixel shuffle and unshuffle."""

from __future__ import annotations

from typing import Any

from subpixel._plan import ShufflePlan

__all__ = ["apply_plan"]


def apply_plan(xp: Any, x: Any, plan: ShufflePlan, /) -> Any:
    """Apply ``plan`` to ``x`` with the array namespace ``xp``: reshape, permute, reshape.

    The last reshape asks for a copy, so the result never shares memory with ``x``, even
    when the plan moves no data (factor 1, or only singleton axes move).
    """
    expanded = xp.reshape(x, plan.expand_shape)
    moved = xp.permute_dims(expanded, plan.axes)
    return xp.reshape(moved, plan.collapse_shape, copy=True)
