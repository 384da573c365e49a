"""PyTorch layers: drop-in ``PixelShuffle``/``PixelUnshuffle`` and the ``SubPixelConv`` block.

Importing this module imports torch (without it, a ``ModuleNotFoundError`` says to
``pip install 'subpixel[torch]'``). With their defaults the shuffle layers are
``torch.nn.PixelShuffle``/``PixelUnshuffle`` bit for bit, ``repr`` included; they also take
per-axis factors (1-D, 3-D, non-square), ``channels_last`` and ``order="DCR"``.

The layers run :func:`subpixel.pixel_shuffle`'s path with their validated settings. While
``torch.compile``, ``torch.export``, ``torch.onnx.export`` or ``torch.jit.trace`` traces them,
that path applies the permutation with ``unflatten``/``permute``/``flatten``, which need no
sizes, so graphs have no breaks, symbolic batch and spatial sizes pass through, and exported
models are reshapes and one transpose.
"""

import math
from typing import TYPE_CHECKING, Any, cast

from subpixel._layers import (
    Factor,
    ShuffleLayer,
    SubPixelConvLayer,
    conv_class,
    missing_framework,
    reject_input,
)


def _import_torch() -> None:
    """Import PyTorch; where it is not installed, say which extra installs it."""
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError as error:
        raise missing_framework(error, __name__, "pip install 'subpixel[torch]'") from error


_import_torch()

import torch  # noqa: E402
from torch import nn  # noqa: E402

from subpixel._icnr import icnr_draw  # noqa: E402
from subpixel._layer_spec import SubPixelConvSpec  # noqa: E402
from subpixel._plan import Order  # noqa: E402
from subpixel._spec import ShuffleSpec  # noqa: E402

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"]


class _Shuffle(ShuffleLayer, nn.Module):
    """Both shuffle layers: plain attributes, as torch's layers have, and one spec.

    The factor (``upscale_factor`` or ``downscale_factor``), ``channels_last`` and ``order``
    are plain attributes (so ``torch.jit.script`` can read them, and setting one after
    construction takes effect, as in torch); the validated
    :class:`~subpixel._spec.ShuffleSpec` is rebuilt from them when one changed.
    """

    if TYPE_CHECKING:  # set by ``keep_settings``; torch.jit.script reads no annotation here
        channels_last: bool
        order: Order

    def __init__(self, factor: Factor, channels_last: bool, order: Order):
        super().__init__()
        self.keep_settings(self.new_spec(factor, channels_last, order))

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
        given: object = input  # what the caller passed, whatever its annotation says
        if not isinstance(given, torch.Tensor):
            name = "PixelUnshuffle" if spec.inverse else "PixelShuffle"
            reject_input(given, f"{name}.forward: argument 'input'", "a torch.Tensor")
        return ShuffleLayer.run(spec, given)

    def extra_repr(self) -> str:
        """Return the arguments, as torch's layer writes them (``upscale_factor=2``)."""
        return self.arguments_text(_spec_of(self))


# ``torch.jit.script`` reads no property and no non-scriptable attribute of a layer.
_Shuffle.__jit_unused_properties__ = ["spec"]  # type: ignore[attr-defined]


def _spec_of(layer: Any) -> ShuffleSpec:
    """Return the layer's spec, rebuilt (and kept) when its attributes changed since it was made.

    ``layer`` may be a scripted module calling back into Python: it has the plain attributes
    but not the spec (nor the class's ``inverse``), and the spec is rebuilt on every call.
    """
    if isinstance(layer, _Shuffle):
        spec = layer.current_spec()
        if spec is not layer._spec:
            layer._spec = spec
        return spec
    kind = PixelUnshuffle if hasattr(layer, "downscale_factor") else PixelShuffle
    return kind.spec_of(layer)


class PixelShuffle(_Shuffle):
    """Rearrange ``(*, C * F, S1, ..., Sk)`` to ``(*, C, S1 * f1, ..., Sk * fk)``.

    A drop-in ``torch.nn.PixelShuffle``: the same ``upscale_factor`` attribute, ``repr``, empty
    ``state_dict``, ``TypeError`` for an input that is not a tensor, and ``torch.jit.script``
    compiles it (the scripted layer runs this Python code, so ``torch.jit.save`` cannot save
    it; ``torch.export`` can).

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes (as ``torch.nn.PixelShuffle``), or one factor per axis; also
        the attribute of that name. Setting it (or ``channels_last``, ``order``) later takes
        effect.
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

    if TYPE_CHECKING:  # set by ``keep_settings``; torch.jit.script reads no annotation here
        upscale_factor: Factor

    def __init__(self, upscale_factor: Factor, *, channels_last: bool = False, order: Order = "CRD"):
        super().__init__(upscale_factor, channels_last, order)


class PixelUnshuffle(_Shuffle):
    """Rearrange ``(*, C, S1 * f1, ..., Sk * fk)`` to ``(*, C * F, S1, ..., Sk)``.

    The inverse of :class:`PixelShuffle`, with the same arguments and attributes
    (``downscale_factor`` for its factor; ``order`` is the channel order of the result): a drop-in
    ``torch.nn.PixelUnshuffle``, as :class:`PixelShuffle` is for ``torch.nn.PixelShuffle``.

    Examples
    --------
    >>> PixelUnshuffle(2)
    PixelUnshuffle(downscale_factor=2)
    """

    inverse = True

    if TYPE_CHECKING:
        downscale_factor: Factor

    def __init__(self, downscale_factor: Factor, *, channels_last: bool = False, order: Order = "CRD"):
        super().__init__(downscale_factor, channels_last, order)


class SubPixelConv(SubPixelConvLayer, nn.Module):
    """Sub-pixel convolution (ESPCN): a "same" convolution to ``out_channels * F`` channels, then a shuffle.

    Its arguments ``in_channels``, ``out_channels``, ``upscale_factor``, ``kernel_size`` (a tuple,
    as in ``Conv2d``), ``order`` and ``icnr`` are read-only attributes, with ``channels_last``
    (``False``: channels come first).

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
        upscale_factor: Factor,
        kernel_size: Factor = 3,
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
        conv_type = conv_class(self.spec, (nn.Conv1d, nn.Conv2d, nn.Conv3d), "PyTorch")
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
        weight, bias = self.conv.weight, self.conv.bias

        def kernel(shape: tuple[int, ...]) -> torch.Tensor:
            # The sub-kernel has the same fan-in as the full kernel, so this is the default's scale.
            return nn.init.kaiming_uniform_(weight.new_empty(shape), a=math.sqrt(5))

        def offsets(shape: tuple[int, ...]) -> torch.Tensor:
            bound = 1 / math.sqrt(math.prod(weight.shape[1:]))
            return nn.init.uniform_(weight.new_empty(shape), -bound, bound)

        spec = self.spec.shuffle
        weight.copy_(icnr_draw(kernel, weight.shape, spec.factor, order=spec.order, caller="SubPixelConv"))
        if bias is not None:
            bias.copy_(icnr_draw(offsets, bias.shape, spec.factor, order=spec.order, caller="SubPixelConv"))

    @property
    def in_channels(self) -> int:
        """Channels before the block."""
        return cast(int, self.spec.in_channels)

    @property
    def out_channels(self) -> int:
        """Channels after the block."""
        return self.spec.out_channels

    @property
    def channels_last(self) -> bool:
        """``False``: the channel axis comes before the spatial axes, as in ``Conv2d``."""
        return self.spec.channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve, then shuffle."""
        out: torch.Tensor = self.shuffle(self.conv(x))
        return out

    def extra_repr(self) -> str:
        """Return the block's arguments."""
        return self.spec.extra_repr()


SubPixelConv.__jit_unused_properties__ = [  # type: ignore[attr-defined]
    "in_channels",
    "out_channels",
    "upscale_factor",
    "kernel_size",
    "channels_last",
    "order",
    "icnr",
]
