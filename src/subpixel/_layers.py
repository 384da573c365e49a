"""The framework-free half of every shuffle layer: its direction, settings, ``repr`` and eager call.

Each framework's ``PixelShuffle``/``PixelUnshuffle`` pair (:mod:`subpixel.torch`,
:mod:`subpixel.flax.nnx`, :mod:`subpixel.flax.linen`, :mod:`subpixel.keras`) is one framework
base over :class:`ShuffleLayer`; the two classes of a pair differ only in :attr:`~ShuffleLayer.inverse`
and in the name of their factor argument. Every layer has the attributes its ``repr`` shows: the
factor (``upscale_factor`` or ``downscale_factor``), ``order`` and the layout (``channels_last``,
or ``data_format`` in Keras).

:func:`missing_framework` words the error of a layer module whose framework is not installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

from subpixel._api import apply_spec
from subpixel._layer_spec import SubPixelConvSpec, arguments_text
from subpixel._spec import ShuffleSpec
from subpixel._validate import Order

__all__ = ["Factor", "ShuffleLayer", "SubPixelConvLayer", "conv_class", "missing_framework", "reject_input"]

ArrayT = TypeVar("ArrayT")
T = TypeVar("T")

#: A layer's factor: ``r`` for two spatial axes, or one factor per spatial axis.
Factor = int | tuple[int, ...]


class ShuffleLayer:
    """Mixin of both layers of a pair: ``inverse`` is ``True`` for ``PixelUnshuffle``.

    Where a framework keeps the settings as plain attributes (PyTorch, Flax), they are the
    factor (``upscale_factor`` or ``downscale_factor``), ``channels_last`` and ``order``, and the
    layer's validated spec is :meth:`current_spec`.
    """

    inverse: ClassVar[bool] = False
    #: The framework's default for ``channels_last`` (left out of the ``repr`` when unchanged).
    channels_last_default: ClassVar[bool] = False

    @classmethod
    def factor_name(cls) -> str:
        """Return the factor's argument and attribute name: ``upscale_factor`` or ``downscale_factor``."""
        return "downscale_factor" if cls.inverse else "upscale_factor"

    @classmethod
    def new_spec(cls, factor: object, channels_last: object, order: object) -> ShuffleSpec:
        """Validate the layer's arguments; raise ``TypeError``/``ValueError`` naming the bad one."""
        return ShuffleSpec.create(factor, inverse=cls.inverse, channels_last=channels_last, order=order)

    @classmethod
    def spec_of(cls, layer: Any) -> ShuffleSpec:
        """Validate the plain attributes of ``layer``: its factor, ``channels_last`` and ``order``."""
        return cls.new_spec(getattr(layer, cls.factor_name()), layer.channels_last, layer.order)

    @staticmethod
    def arguments(spec: ShuffleSpec) -> dict[str, Any]:
        """Return the layer's settings by attribute name: the factor, ``channels_last``, ``order``."""
        return {spec.factor_name: spec.factor, "channels_last": spec.channels_last, "order": spec.order}

    def keep_settings(self, spec: ShuffleSpec) -> None:
        """Set the plain attributes of :meth:`arguments` and keep ``spec`` as ``_spec``."""
        for name, value in self.arguments(spec).items():
            setattr(self, name, value)
        self._spec = spec

    def current_spec(self) -> ShuffleSpec:
        """Return the spec of the plain attributes: the kept one, or a new one if one was set since.

        The kept spec is current while each attribute is still the object it was set from (a
        cheap test on every call); otherwise the attributes are validated again, so a bad value
        set after construction raises here. The new spec is not kept.
        """
        attributes = vars(self)
        spec: ShuffleSpec | None = attributes.get("_spec")
        if (
            spec is not None
            and attributes.get(spec.factor_name) is spec.factor
            and attributes.get("channels_last") is spec.channels_last
            and attributes.get("order") is spec.order
        ):
            return spec
        return self.spec_of(self)

    def arguments_text(self, spec: ShuffleSpec) -> str:
        """Return the arguments inside the ``repr``, leaving out options at their default.

        With PyTorch's defaults this is ``torch.nn.PixelShuffle``'s text, ``upscale_factor=2``.
        """
        defaults = {"channels_last": self.channels_last_default, "order": "CRD"}
        return arguments_text(self.arguments(spec), defaults)

    def describe(self, spec: ShuffleSpec) -> str:
        """Return the ``repr``, for example ``PixelShuffle(upscale_factor=2)``."""
        return f"{type(self).__name__}({self.arguments_text(spec)})"

    @staticmethod
    def run(spec: ShuffleSpec, x: ArrayT) -> ArrayT:
        """Shuffle ``x`` as :func:`subpixel.pixel_shuffle` (or ``pixel_unshuffle``) with ``spec``."""
        return apply_spec(x, spec)


class SubPixelConvLayer:
    """Mixin of a ``SubPixelConv`` whose settings are read-only attributes of its ``spec``.

    The block's convolution is made for these settings, so they cannot change afterwards;
    each framework adds the channel counts under the names its constructor takes.
    """

    if TYPE_CHECKING:  # each framework sets it; torch.jit.script reads no annotation here
        spec: SubPixelConvSpec

    @property
    def upscale_factor(self) -> Factor:
        """The factor as given: ``r`` or one factor per spatial axis."""
        return self.spec.shuffle.factor

    @property
    def kernel_size(self) -> tuple[int, ...]:
        """The convolution's kernel size, one entry per spatial axis."""
        return self.spec.kernel_size

    @property
    def order(self) -> Order:
        """Channel order of the shuffle: ``"CRD"`` or ``"DCR"``."""
        return self.spec.shuffle.order

    @property
    def icnr(self) -> bool:
        """The convolution was initialised with ICNR."""
        return self.spec.icnr


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


def missing_framework(error: ModuleNotFoundError, module: str, install: str) -> ModuleNotFoundError:
    """Return the error to raise where importing ``module`` found its framework (or a part of it) missing.

    The new error is a ``ModuleNotFoundError``, as the original is, names the missing module and
    says what to install (``install``, for example ``pip install 'subpixel[torch]'``, which
    installs the framework with what it needs); the caller raises it ``from error``.

    Examples
    --------
    >>> error = ModuleNotFoundError("No module named 'jax'", name="jax")
    >>> print(missing_framework(error, "subpixel.flax", "pip install 'subpixel[flax]'"))
    subpixel.flax needs jax, which is not installed (No module named 'jax'): pip install 'subpixel[flax]'
    """
    msg = f"{module} needs {error.name}, which is not installed ({error}): {install}"
    return ModuleNotFoundError(msg, name=error.name)


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
