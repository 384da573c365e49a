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


def _apply(spec: ShuffleSpec, given: object, owner: str) -> torch.Tensor:
    if not isinstance(given, torch.Tensor):
        kind = type(given)
        name = f"{kind.__module__}.{kind.__qualname__}"
        msg = f"{owner}.forward: argument 'input' must be a torch.Tensor, got {name}"
        raise TypeError(msg)
    x = given
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


class _Shuffle(nn.Module):
    """What the two shuffle layers share: plain attributes, as torch's layers have, and one spec.

    The factor, ``channels_last`` and ``order`` are plain attributes (so ``torch.jit.script``
    can read them, and setting one after construction takes effect, as in torch); the validated
    :class:`~subpixel._layer_spec.ShuffleSpec` is rebuilt from them when one changed.
    """

    _inverse = False

    def __init__(self, factor: int | tuple[int, ...], channels_last: bool, order: Order):
        super().__init__()
        spec = ShuffleSpec.create(factor, inverse=self._inverse, channels_last=channels_last, order=order)
        self.channels_last = spec.channels_last
        self.order = spec.order
        self._spec = spec

    @property
    def spec(self) -> ShuffleSpec:
        """The validated settings (rebuilt if an attribute was set after construction)."""
        return _spec_of(self)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Shuffle ``input`` (a tensor; anything else is a ``TypeError``, as in torch)."""
        return self._shuffle(input)  # type: ignore[no-any-return]

    # A scripted layer calls this eager method back in Python: the same code runs, and the
    # scripted module cannot be saved with ``torch.jit.save``.
    @torch.jit.ignore  # type: ignore[untyped-decorator]
    def _shuffle(self, input: torch.Tensor) -> torch.Tensor:
        spec = _spec_of(self)
        return _apply(spec, input, "PixelUnshuffle" if spec.inverse else "PixelShuffle")

    def extra_repr(self) -> str:
        """Return the arguments, as torch's layer writes them (``upscale_factor=2``)."""
        return _spec_of(self).extra_repr()


# ``torch.jit.script`` reads no property and no non-scriptable attribute of a layer.
_Shuffle.__jit_unused_properties__ = ["spec"]  # type: ignore[attr-defined]


def _spec_of(layer: Any) -> ShuffleSpec:
    """Return the layer's spec, rebuilt when its attributes changed since it was made.

    ``layer`` may be a scripted module calling back into Python: it has the plain attributes
    but not the spec, which is then rebuilt on every call.
    """
    spec: ShuffleSpec | None = layer.__dict__.get("_spec")
    inverse = hasattr(layer, "downscale_factor")
    factor = layer.downscale_factor if inverse else layer.upscale_factor
    if spec is not None and (spec.factor, spec.channels_last, spec.order) == (
        factor,
        layer.channels_last,
        layer.order,
    ):
        return spec
    spec = ShuffleSpec.create(factor, inverse=inverse, channels_last=layer.channels_last, order=layer.order)
    if isinstance(layer, _Shuffle):
        layer._spec = spec
    return spec


class PixelShuffle(_Shuffle):
    """Rearrange ``(*, C * F, S1, ..., Sk)`` to ``(*, C, S1 * f1, ..., Sk * fk)``.

    A drop-in ``torch.nn.PixelShuffle``: the same ``upscale_factor`` attribute, ``repr``, empty
    ``state_dict``, ``TypeError`` for an input that is not a tensor, and ``torch.jit.script``
    compiles it (the scripted layer runs this Python code, so ``torch.jit.save`` cannot save
    it; ``torch.export`` can).

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes (as ``torch.nn.PixelShuffle``), or one factor per axis.
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).

    Attributes
    ----------
    upscale_factor : int or tuple of int
        The factor, as given (``torch.nn.PixelShuffle`` has the same attribute).
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order.

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
        super().__init__(upscale_factor, channels_last, order)
        self.upscale_factor = self._spec.factor


class PixelUnshuffle(_Shuffle):
    """Rearrange ``(*, C, S1 * f1, ..., Sk * fk)`` to ``(*, C * F, S1, ..., Sk)``.

    A drop-in ``torch.nn.PixelUnshuffle``, as :class:`PixelShuffle` is for ``torch.nn.PixelShuffle``.

    Parameters
    ----------
    downscale_factor : int or tuple of int
        ``r`` for two spatial axes (as ``torch.nn.PixelUnshuffle``), or one factor per axis.
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order of the result (see :func:`subpixel.pixel_unshuffle`).

    Attributes
    ----------
    downscale_factor : int or tuple of int
        The factor, as given (``torch.nn.PixelUnshuffle`` has the same attribute).
    channels_last : bool
        The channel axis is the last one.
    order : {"CRD", "DCR"}
        Channel order of the result.

    Examples
    --------
    >>> PixelUnshuffle(2)
    PixelUnshuffle(downscale_factor=2)
    """

    _inverse = True

    def __init__(
        self, downscale_factor: int | tuple[int, ...], *, channels_last: bool = False, order: Order = "CRD"
    ):
        super().__init__(downscale_factor, channels_last, order)
        self.downscale_factor = self._spec.factor


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
