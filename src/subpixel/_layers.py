"""The framework-free half of every shuffle layer: its direction, settings, ``repr`` and eager call.

Each framework's ``PixelShuffle``/``PixelUnshuffle`` pair (:mod:`subpixel.torch`,
:mod:`subpixel.flax.nnx`, :mod:`subpixel.flax.linen`, :mod:`subpixel.keras`) is one framework
base over :class:`ShuffleLayer`; the two classes of a pair differ only in :attr:`~ShuffleLayer.inverse`
and in the name of their factor argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

from subpixel._api import apply_spec
from subpixel._layer_spec import SubPixelConvSpec
from subpixel._spec import ShuffleSpec

__all__ = ["Factor", "ShuffleLayer", "conv_class", "reject_input"]

ArrayT = TypeVar("ArrayT")
T = TypeVar("T")

#: A layer's factor: ``r`` for two spatial axes, or one factor per spatial axis.
Factor = int | tuple[int, ...]


class ShuffleLayer:
    """Mixin of both layers of a pair: ``inverse`` is ``True`` for ``PixelUnshuffle``."""

    inverse: ClassVar[bool] = False
    #: The framework's default for ``channels_last`` (left out of the ``repr`` when unchanged).
    channels_last_default: ClassVar[bool] = False

    @classmethod
    def new_spec(cls, factor: object, channels_last: object, order: object) -> ShuffleSpec:
        """Validate the layer's arguments; raise ``TypeError``/``ValueError`` naming the bad one."""
        return ShuffleSpec.create(factor, inverse=cls.inverse, channels_last=channels_last, order=order)

    @classmethod
    def spec_of(cls, layer: Any) -> ShuffleSpec:
        """Validate the plain attributes of ``layer``: its factor, ``channels_last`` and ``order``."""
        factor = layer.downscale_factor if cls.inverse else layer.upscale_factor
        return cls.new_spec(factor, layer.channels_last, layer.order)

    def describe(self, spec: ShuffleSpec) -> str:
        """Return the ``repr``, for example ``PixelShuffle(upscale_factor=2)``."""
        arguments = spec.extra_repr(channels_last_default=self.channels_last_default)
        return f"{type(self).__name__}({arguments})"

    @staticmethod
    def run(spec: ShuffleSpec, x: ArrayT) -> ArrayT:
        """Shuffle ``x`` as :func:`subpixel.pixel_shuffle` (or ``pixel_unshuffle``) with ``spec``."""
        return apply_spec(x, spec)


def reject_input(value: object, argument: str, wanted: str, advice: str = "") -> NoReturn:
    """Raise the ``TypeError`` of a layer given an input of the wrong kind.

    Examples
    --------
    >>> reject_input([1], "PixelShuffle: x", "a JAX or NumPy array")
    Traceback (most recent call last):
    TypeError: PixelShuffle: x must be a JAX or NumPy array, got builtins.list
    """
    kind = type(value)
    msg = f"{argument} must be {wanted}, got {kind.__module__}.{kind.__qualname__}{advice}"
    raise TypeError(msg)


def conv_class(spec: SubPixelConvSpec, convs: Sequence[T], framework: str) -> T:
    """Return the 1-D, 2-D or 3-D convolution of ``convs`` for the spatial axes of ``spec``.

    Examples
    --------
    >>> options = {"channels_last": False, "order": "CRD", "bias": True, "icnr": True}
    >>> spec = SubPixelConvSpec.create(1, 1, (2, 2, 2, 2), 3, **options)
    >>> conv_class(spec, ["Conv1d", "Conv2d", "Conv3d"], "PyTorch")
    Traceback (most recent call last):
    ValueError: SubPixelConv: upscale_factor must have 1, 2 or 3 entries in PyTorch, got (2, 2, 2, 2)
    """
    if not 1 <= spec.spatial_dims <= len(convs):
        factor = spec.shuffle.factor
        msg = f"SubPixelConv: upscale_factor must have 1, 2 or 3 entries in {framework}, got {factor!r}"
        raise ValueError(msg)
    return convs[spec.spatial_dims - 1]
