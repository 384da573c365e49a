"""The three-call shuffle written with tensor methods, for code that PyTorch traces.

:mod:`subpixel._api` calls this while ``torch.compile`` or ``torch.export`` traces a
function (and :mod:`subpixel._fast.torch` for inputs its CPU kernel does not take), so it
must stay plain Python on tensor methods: no caches, imports or NumPy. It does not import
torch; the caller passes the module in.
"""

from __future__ import annotations

from typing import Any

from subpixel._plan import ShufflePlan

__all__ = ["apply_plain", "keeps_channels_last"]


def keeps_channels_last(torch: Any, x: Any, plan: ShufflePlan) -> bool:
    """Whether ``x`` is a 4-d channels-last tensor whose 4-d result should stay channels-last.

    PyTorch's own ``pixel_shuffle`` gives its result the input's memory format.
    """
    return bool(
        x.dim() == 4
        and len(plan.collapse_shape) == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    )


def apply_plain(torch: Any, x: Any, plan: ShufflePlan, /) -> Any:
    """Reshape, permute and copy ``x`` with tensor methods; the result never aliases ``x``.

    Differentiable, traceable by ``torch.compile``/``torch.export``/``torch.jit.trace`` and
    correct on every device. A 4-d channels-last input gives a channels-last result.

    Raises
    ------
    TypeError
        If ``x`` is not a dense (strided) tensor: sparse layouts cannot be reshaped.
    """
    if x.layout is not torch.strided:
        msg = f"pixel shuffling needs a dense (strided) tensor x, got one with layout={x.layout}"
        raise TypeError(msg)
    moved = x.reshape(plan.expand_shape).permute(plan.axes)
    fmt = torch.channels_last if keeps_channels_last(torch, x, plan) else torch.contiguous_format
    if fmt is torch.contiguous_format:
        return moved.clone(memory_format=torch.contiguous_format).view(plan.collapse_shape)
    flat = moved.clone(memory_format=torch.contiguous_format).view(plan.collapse_shape)
    return flat.contiguous(memory_format=fmt)
