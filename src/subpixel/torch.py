"""PyTorch layers: drop-in ``PixelShuffle``/``PixelUnshuffle`` and the ``SubPixelConv`` block.

Importing this module imports torch. With their defaults the shuffle layers are
``torch.nn.PixelShuffle``/``PixelUnshuffle`` bit for bit, ``repr`` included; they also take
per-axis factors (1-D, 3-D, non-square), ``channels_last`` and ``order="DCR"``.

In eager mode the layers call :func:`subpixel.pixel_shuffle`. While ``torch.compile``,
``torch.export``, ``torch.onnx.export`` or ``torch.jit.trace`` traces them, they apply the same
permutation with ``unflatten``/``permute``/``flatten``, which need no sizes, so graphs have no
breaks, symbolic batch and spatial sizes pass through, and exported models are reshapes and
one transpose.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from subpixel._api import pixel_shuffle, pixel_unshuffle
from subpixel._icnr import icnr
from subpixel._layer_spec import ShuffleSpec, SubPixelConvSpec
from subpixel._plan import Order

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"]


def _tracing() -> bool:
    """Tell whether dynamo (compile, export) or the TorchScript tracer (legacy ONNX) is tracing."""
    tracing = torch.jit.is_tracing()  # type: ignore[attr-defined,no-untyped-call]
    return bool(torch.compiler.is_compiling() or tracing)


def _apply(spec: ShuffleSpec, x: torch.Tensor) -> torch.Tensor:
    if _tracing():
        # Sizes may be symbolic here: split with -1, permute, merge; no size arithmetic.
        steps = spec.traced_steps(tuple(x.shape))
        for axis, sizes in steps.splits:
            x = x.unflatten(axis, sizes)  # type: ignore[no-untyped-call]
        x = x.permute(steps.axes)
        for first, last in steps.merges:
            x = x.flatten(first, last)
        return x.clone()
    run = pixel_unshuffle if spec.inverse else pixel_shuffle
    return run(x, spec.factor, channels_last=spec.channels_last, order=spec.order)


class PixelShuffle(nn.Module):
    """Rearrange ``(*, C * F, S1, ..., Sk)`` to ``(*, C, S1 * f1, ..., Sk * fk)``.

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes (as ``torch.nn.PixelShuffle``), or one factor per axis.
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).

    Examples
    --------
    >>> PixelShuffle(3)
    PixelShuffle(upscale_factor=3)
    >>> PixelShuffle((2, 1), order="DCR")(torch.zeros(1, 4, 5, 5)).shape
    torch.Size([1, 2, 10, 5])
    """

    def __init__(
        self, upscale_factor: int | tuple[int, ...], *, channels_last: bool = False, order: Order = "CRD"
    ):
        super().__init__()
        self.spec = ShuffleSpec.create(
            upscale_factor, inverse=False, channels_last=channels_last, order=order
        )

    @property
    def upscale_factor(self) -> int | tuple[int, ...]:
        """The factor, as given (``torch.nn.PixelShuffle`` has the same attribute)."""
        return self.spec.factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Shuffle ``x``."""
        return _apply(self.spec, x)

    def extra_repr(self) -> str:
        """Return the arguments, as ``torch.nn.PixelShuffle`` writes them."""
        return self.spec.extra_repr()


class PixelUnshuffle(nn.Module):
    """Rearrange ``(*, C, S1 * f1, ..., Sk * fk)`` to ``(*, C * F, S1, ..., Sk)``.

    Parameters
    ----------
    downscale_factor : int or tuple of int
        ``r`` for two spatial axes (as ``torch.nn.PixelUnshuffle``), or one factor per axis.
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order of the result (see :func:`subpixel.pixel_unshuffle`).

    Examples
    --------
    >>> PixelUnshuffle(2)
    PixelUnshuffle(downscale_factor=2)
    """

    def __init__(
        self, downscale_factor: int | tuple[int, ...], *, channels_last: bool = False, order: Order = "CRD"
    ):
        super().__init__()
        self.spec = ShuffleSpec.create(
            downscale_factor, inverse=True, channels_last=channels_last, order=order
        )

    @property
    def downscale_factor(self) -> int | tuple[int, ...]:
        """The factor, as given (``torch.nn.PixelUnshuffle`` has the same attribute)."""
        return self.spec.factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Unshuffle ``x``."""
        return _apply(self.spec, x)

    def extra_repr(self) -> str:
        """Return the arguments, as ``torch.nn.PixelUnshuffle`` writes them."""
        return self.spec.extra_repr()


_CONVS: dict[int, type[nn.Conv1d | nn.Conv2d | nn.Conv3d]] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


class SubPixelConv(nn.Module):
    """Sub-pixel convolution (ESPCN): a "same" convolution to ``out_channels * F`` channels, then a shuffle.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels before and after the block.
    upscale_factor : int or tuple of int
        ``r`` for a 2-D block, or one factor per spatial axis: ``(r,)`` makes a ``Conv1d``
        block, ``(a, b, c)`` a ``Conv3d`` block.
    kernel_size : int or tuple of int
        Size of the convolution kernel.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.
    bias : bool
        The convolution has a bias.
    icnr : bool
        Initialise with ICNR for this order: the block starts as a convolution followed by
        nearest-neighbour upsampling. Otherwise PyTorch's default initialisation.
    device, dtype
        Passed to the convolution.

    Examples
    --------
    >>> block = SubPixelConv(3, 1, 3)
    >>> block(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 1, 24, 24])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        upscale_factor: int | tuple[int, ...],
        kernel_size: int | tuple[int, ...] = 3,
        *,
        order: Order = "CRD",
        bias: bool = True,
        icnr: bool = True,
        device: Any = None,
        dtype: Any = None,
    ):
        super().__init__()
        self.spec = SubPixelConvSpec.create(
            in_channels,
            out_channels,
            upscale_factor,
            kernel_size,
            channels_last=False,
            order=order,
            bias=bias,
            icnr=icnr,
        )
        conv_type = _CONVS.get(self.spec.spatial_dims)
        if conv_type is None:
            msg = (
                f"SubPixelConv: upscale_factor must have 1, 2 or 3 entries in PyTorch, got {upscale_factor!r}"
            )
            raise ValueError(msg)
        self.conv = conv_type(
            in_channels,
            self.spec.conv_channels,
            cast(Any, self.spec.kernel_size),
            padding="same",
            bias=bias,
            device=device,
            dtype=dtype,
        )
        self.shuffle = PixelShuffle(self.spec.shuffle.factor, order=order)
        if icnr:
            self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Draw fresh weights: ICNR (if enabled) from PyTorch's default convolution initialiser."""
        self.conv.reset_parameters()
        if not self.spec.icnr:
            return
        factors, order = self.spec.factors, self.spec.shuffle.order
        weight = self.conv.weight
        sub = torch.empty(
            (self.spec.out_channels, *weight.shape[1:]), dtype=weight.dtype, device=weight.device
        )
        # The sub-kernel has the same fan-in as the full kernel, so this is the default's scale.
        nn.init.kaiming_uniform_(sub, a=math.sqrt(5))
        weight.copy_(icnr(sub, factors, order=order, axis=0))
        if self.conv.bias is not None:
            bound = 1 / math.sqrt(math.prod(weight.shape[1:]))
            sub_bias = torch.empty(self.spec.out_channels, dtype=weight.dtype, device=weight.device)
            nn.init.uniform_(sub_bias, -bound, bound)
            self.conv.bias.copy_(icnr(sub_bias, factors, order=order, axis=0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve, then shuffle."""
        out: torch.Tensor = self.shuffle(self.conv(x))
        return out

    def extra_repr(self) -> str:
        """Return the block's arguments."""
        return self.spec.extra_repr()
