"""Keras 3 layers: ``PixelShuffle``, ``PixelUnshuffle``, ``SubPixelConv`` and the ``ICNR`` initialiser.

The layers apply a :class:`~subpixel.ShufflePlan` with ``keras.ops`` (reshape, transpose,
reshape), so they give the same answer on every Keras backend; ``keras.ops.depth_to_space``
does not (its ``channels_first`` order differs between backends). They follow Keras
conventions: ``data_format=None`` means ``keras.config.image_data_format()``, and every class is
registered for serialisation under the package name ``"subpixel"``.

Registration happens when this module is imported, and Keras imports only its own packages
while loading a model: a process that loads a saved ``.keras`` file holding these layers must
``import subpixel.keras`` before ``keras.saving.load_model`` (otherwise Keras reports that the
layer "could not be deserialized properly")::

    import keras
    import subpixel.keras  # noqa: F401  (registers the layers with Keras)

    model = keras.saving.load_model("model.keras")
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from typing import Any

from subpixel import _routes
from subpixel._catalog import keras_backends
from subpixel._icnr import IcnrSteps, icnr_draw
from subpixel._layer_spec import SubPixelConvSpec, arguments_text
from subpixel._layers import (
    Factor,
    ShuffleLayer,
    SubPixelConvLayer,
    conv_class,
    missing_framework,
    reject_input,
)
from subpixel._limits import routes
from subpixel._plan import Order, ShufflePlan, block_moves, has_run_time_sizes, resolve_sizes
from subpixel._spec import ShuffleSpec

_KERAS_BACKENDS = keras_backends()


def _import_error_text(error: ImportError) -> str:
    """Explain an ``import keras`` whose backend failed: which backends are installed, how to choose."""
    chosen = os.environ.get("KERAS_BACKEND", "tensorflow (the default when KERAS_BACKEND is unset)")
    installed = [name for name in _KERAS_BACKENDS if importlib.util.find_spec(name) is not None]
    if installed:
        advice = (
            f"installed here: {', '.join(installed)}; choose one with the environment variable "
            f"KERAS_BACKEND (for example KERAS_BACKEND={installed[0]}), set before Keras is imported"
        )
    else:
        advice = (
            "none of them is installed; install one (pip install 'subpixel[tensorflow]', "
            "'subpixel[jax]' or 'subpixel[torch]') and choose it with the environment variable "
            "KERAS_BACKEND, set before Keras is imported"
        )
    return (
        f"subpixel.keras: Keras could not load its backend {chosen} ({error}). Keras runs on "
        f"tensorflow, jax or torch: {advice}"
    )


def _import_keras() -> None:
    """Import Keras and its backend, turning a missing backend into advice."""
    try:
        importlib.import_module("keras")
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and (error.name or "").partition(".")[0] == "keras":
            raise missing_framework(error, __name__, "pip install 'subpixel[keras]'") from error
        raise ImportError(_import_error_text(error)) from error


_import_keras()

import keras  # noqa: E402
from keras import ops  # noqa: E402

__all__ = ["ICNR", "PixelShuffle", "PixelUnshuffle", "SubPixelConv"]

_DATA_FORMATS = ("channels_last", "channels_first")

#: The routes of the layers (see :mod:`subpixel._routes`), recorded when a layer is called.
ROUTES = routes("keras")


def _data_format(data_format: object) -> str:
    """Resolve ``None`` to Keras's image data format and check the value."""
    value = keras.config.image_data_format() if data_format is None else data_format
    if value not in _DATA_FORMATS:
        msg = f"data_format must be 'channels_last', 'channels_first' or None, got {data_format!r}"
        raise ValueError(msg)
    return str(value)


def _check_input(inputs: object, owner: str) -> None:
    """Reject another framework's tensor (NumPy arrays and this backend's tensors pass)."""
    if not hasattr(inputs, "shape") or not hasattr(inputs, "dtype"):
        return  # nested structures and Python scalars: Keras's own conversion judges them
    if isinstance(inputs, (keras.KerasTensor, keras.Variable)) or ops.is_tensor(inputs):
        return
    if type(inputs).__module__.partition(".")[0] == "numpy":
        return
    wanted = f"a NumPy array or a tensor of the Keras backend ({keras.backend.backend()})"
    reject_input(inputs, f"{owner}: inputs", wanted, "; convert it first (for example with np.asarray)")


#: Whether Keras runs on its default backend, TensorFlow, whose graphs TFLite (LiteRT) converts
#: op by op: there ``keras.ops.depth_to_space`` / ``space_to_depth`` are TensorFlow's ops (DCR,
#: channels last), one builtin op each. Elsewhere they are a reshape and transpose like the
#: plan's, so the channel gather CRD order needs would only add a copy.
_BUILTIN_OPS = keras.backend.backend() == _KERAS_BACKENDS[0]

#: The dtypes whose ``DEPTH_TO_SPACE`` (index 0) and ``SPACE_TO_DEPTH`` (index 1) TFLite's
#: converter (TensorFlow 2.21) makes builtin ops. Other dtypes keep the reshape and transpose,
#: which convert for more of them (``bool``; ``uint8`` and ``int8`` for the unshuffle); neither
#: converts for ``float16``, ``float64`` or ``int16`` without TF Select.
_BUILTIN_DTYPES = (
    frozenset({"float32", "int32", "int64", "uint8", "int8"}),
    frozenset({"float32", "int32", "int64"}),
)


def _builtin_shuffle(inputs: Any, spec: ShuffleSpec, factor: int) -> Any:
    """Shuffle a channels-last rank-4 input by ``(factor, factor)`` with Keras's DCR ops.

    The ops are ``keras.ops.depth_to_space`` and ``space_to_depth``. CRD order takes one channel
    gather with a constant index: before the shuffle (CRD channel ``c * F + o`` to DCR position
    ``o * C + c``) or after the unshuffle (back).
    """
    depth = factor * factor
    if spec.inverse:
        moved = ops.space_to_depth(inputs, factor)
        if spec.order == "DCR":
            return moved
        channels = inputs.shape[-1]
        return ops.take(
            moved, [(p % depth) * channels + p // depth for p in range(channels * depth)], axis=-1
        )
    if spec.order == "CRD":
        total = inputs.shape[-1]
        out = total // depth
        inputs = ops.take(inputs, [(q % out) * depth + q // out for q in range(total)], axis=-1)
    return ops.depth_to_space(inputs, factor)


def _rank_four(inputs: Any, sizes: list[Any], axes: tuple[int, ...], collapse: Any) -> Any:
    """Apply the permutation ``axes`` of the ``sizes`` view as rank-4 transposes (TensorFlow).

    One transpose ``(0, 2, 1, 3)`` of merged axis groups per :func:`~subpixel._plan.block_moves`
    step: TFLite (LiteRT) converts them to builtin ops for every dtype it has ``TRANSPOSE`` for,
    where the plan's one transpose has rank 6 or more. Run-time sizes multiply as scalars.
    """
    moved = inputs
    for start, source, count in block_moves(axes):
        groups = (sizes[:start], sizes[start:source], sizes[source : source + count], sizes[source + count :])
        moved = ops.transpose(ops.reshape(moved, [math.prod(group) for group in groups]), (0, 2, 1, 3))
        sizes[start : source + count] = sizes[source : source + count] + sizes[start:source]
    return ops.reshape(moved, collapse)


def _moves_nothing(plan: ShufflePlan) -> bool:
    """Tell whether the permutation only moves axes of size one (so no element moves)."""
    moving = [axis for axis in plan.axes if plan.expand_shape[axis] != 1]
    return moving == sorted(moving)


def _layer_repr(layer: keras.layers.Layer, arguments: dict[str, Any]) -> str:
    """Return Keras's ``repr`` of ``layer`` with its arguments: ``<Name name=..., built=..., ...>``."""
    return f"<{type(layer).__name__} name={layer.name}, built={layer.built}, {arguments_text(arguments, {})}>"


def _layout(spec: Any) -> str:
    """Return the ``data_format`` of a spec's layout."""
    return "channels_last" if spec.channels_last else "channels_first"


class _Shuffle(ShuffleLayer, keras.layers.Layer):  # type: ignore[misc]
    """Both shuffle layers: a spec, the plan applied with ``keras.ops``, shapes and config.

    The settings are read-only attributes, as the config holds them: the factor
    (``upscale_factor`` or ``downscale_factor``), ``data_format`` and ``order``.
    """

    def __init__(self, factor: Factor, data_format: str | None, order: Order, **kwargs: Any):
        # A shuffle moves values and must keep every bit: no cast of float inputs to the
        # layer's compute dtype (Keras's default for layers with weights).
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.spec = self.new_spec(factor, _data_format(data_format) == "channels_last", order)

    @property
    def data_format(self) -> str:
        """Where the channel axis is: ``"channels_last"`` or ``"channels_first"``."""
        return _layout(self.spec)

    @property
    def order(self) -> Order:
        """Channel order: ``"CRD"`` or ``"DCR"``."""
        return self.spec.order

    def settings(self) -> dict[str, Any]:
        """Return the factor, ``data_format`` and ``order``, as the attributes hold them."""
        return {self.spec.factor_name: self.spec.factor, "data_format": self.data_format, "order": self.order}

    def __repr__(self) -> str:
        """Return Keras's ``repr`` with the settings: ``<PixelShuffle name=..., upscale_factor=2, ...>``."""
        return _layer_repr(self, self.settings())

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Check that ``inputs`` is not another framework's tensor, then call the layer."""
        _check_input(inputs, type(self).__name__)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: Any) -> Any:
        """Reshape, transpose, reshape by the plan of the input's shape.

        Sizes unknown until run time (``None`` on the TensorFlow backend inside ``tf.function``,
        ``predict`` or ``tf.data``) are read with ``keras.ops.shape``; the channel size must be
        known. On TensorFlow, a channels-last input of rank 4 shuffled by ``(r, r)`` takes
        ``keras.ops.depth_to_space`` / ``space_to_depth`` instead, behind or after one channel
        gather for CRD order: one builtin op each in TFLite (LiteRT), where its dtype has one.
        """
        # torch.compile (jit_compile on the torch backend) follows plain Python, not the cache.
        torch = sys.modules.get("torch")
        cached = torch is None or not torch.compiler.is_compiling()
        plan = self.spec.plan(tuple(inputs.shape), cached=cached)
        expand, collapse = plan.expand_shape, plan.collapse_shape
        dynamic = has_run_time_sizes(plan)
        if _routes.listening:
            _routes.record("keras:ops-dynamic" if dynamic else "keras:ops")
        if self._takes_builtin(inputs, len(expand)):
            return _builtin_shuffle(inputs, self.spec, self.spec.factors[0])
        if dynamic:
            sizes = ops.shape(inputs)
            expand, collapse = resolve_sizes(expand, sizes), resolve_sizes(collapse, sizes)
        if _BUILTIN_OPS and len(expand) > 4:
            result = _rank_four(inputs, list(expand), plan.axes, collapse)
        else:
            result = ops.reshape(ops.transpose(ops.reshape(inputs, expand), plan.axes), collapse)
        if _moves_nothing(plan):
            # The reshapes would be views of the input (PyTorch backend): never alias it.
            result = ops.copy(result)
        return result

    def _takes_builtin(self, inputs: Any, expanded_rank: int) -> bool:
        """Whether ``inputs`` takes :func:`_builtin_shuffle`: see :data:`_BUILTIN_DTYPES`."""
        spec = self.spec
        factor = spec.square_factor
        if not _BUILTIN_OPS or factor is None or factor < 2 or not spec.channels_last or expanded_rank != 6:
            return False
        return keras.backend.standardize_dtype(inputs.dtype) in _BUILTIN_DTYPES[spec.inverse]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return the output shape; unknown (``None``) sizes stay unknown.

        An input the layer cannot take is a ``ValueError`` that shows its shape as given, with
        ``None`` for each unknown size; the channel size must be known.
        """
        shape = tuple(input_shape)
        self.spec.plan(shape)  # checks the known sizes, naming the shape as given
        return self.spec.output_shape(shape)

    def get_config(self) -> dict[str, Any]:
        """Return the layer's config: the base layer's, the factor, ``data_format`` and ``order``."""
        config: dict[str, Any] = super().get_config()
        config.update(self.settings())
        config[self.spec.factor_name] = self.spec.config()[self.spec.factor_name]  # a list, as JSON has
        return config


@keras.saving.register_keras_serializable(package="subpixel")
class PixelShuffle(_Shuffle):
    """Move channels into space: ``(N, *S, C * F) -> (N, *(S * f), C)`` (channels last).

    Parameters
    ----------
    upscale_factor : int or tuple of int
        ``r`` for two spatial axes, or one factor per spatial axis.
    data_format : {"channels_last", "channels_first"} or None
        Where the channel axis is; ``None`` means ``keras.config.image_data_format()``.
    order : {"CRD", "DCR"}
        Channel order (see :func:`subpixel.pixel_shuffle`).
    **kwargs
        Base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    The arguments are read-only attributes of the same names (``data_format`` resolved); the
    config holds them.

    Notes
    -----
    A process that loads a saved model holding this layer must ``import subpixel.keras`` before
    ``keras.saving.load_model``: Keras imports only its own packages while loading, and this
    import registers the layer.
    """

    def __init__(
        self, upscale_factor: Factor, *, data_format: str | None = None, order: Order = "CRD", **kwargs: Any
    ):
        super().__init__(upscale_factor, data_format, order, **kwargs)

    @property
    def upscale_factor(self) -> Factor:
        """The factor as given: ``r`` or one factor per spatial axis."""
        return self.spec.factor


@keras.saving.register_keras_serializable(package="subpixel")
class PixelUnshuffle(_Shuffle):
    """Move space into channels: ``(N, *(S * f), C) -> (N, *S, C * F)``.

    The inverse of :class:`PixelShuffle`, with the same arguments and attributes
    (``downscale_factor`` for its factor); ``order`` is the channel order of the result. As for
    :class:`PixelShuffle`, a process that loads a saved model holding it must
    ``import subpixel.keras`` first.
    """

    inverse = True

    def __init__(
        self, downscale_factor: Factor, *, data_format: str | None = None, order: Order = "CRD", **kwargs: Any
    ):
        super().__init__(downscale_factor, data_format, order, **kwargs)

    @property
    def downscale_factor(self) -> Factor:
        """The factor as given: ``r`` or one factor per spatial axis."""
        return self.spec.factor


@keras.saving.register_keras_serializable(package="subpixel")
class ICNR(keras.initializers.Initializer):  # type: ignore[misc]
    """Kernel initialiser for a convolution followed by a shuffle: ICNR (Aitken et al. 2017).

    It draws a sub-kernel of ``filters`` output channels with ``initializer`` and repeats it
    across each group of channels that the shuffle places in one output block, so that the
    block starts as nearest-neighbour upsampling. Works for kernels ``(*k, in, filters * F)``
    and biases ``(filters * F,)``.

    Parameters
    ----------
    initializer : str, dict or keras.initializers.Initializer
        Initialiser of the sub-kernel (called with the sub-kernel's shape).
    upscale_factor : int or tuple of int
        Factors of the shuffle.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.

    Notes
    -----
    Registered with Keras when ``subpixel.keras`` is imported: import it before loading a saved
    model that uses it.
    """

    def __init__(
        self,
        initializer: Any = "glorot_uniform",
        upscale_factor: Factor = 2,
        order: Order = "CRD",
    ):
        self.initializer = keras.initializers.get(initializer)
        self.spec = ShuffleSpec.create(upscale_factor, inverse=False, channels_last=True, order=order)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        """Draw the sub-kernel and expand it along the last axis."""
        return icnr_draw(
            lambda sub_shape: self.initializer(sub_shape, dtype=dtype),
            shape,
            self.spec.factor,
            order=self.spec.order,
            axis=-1,
            caller="ICNR",
            expand=_expand,
        )

    def get_config(self) -> dict[str, Any]:
        """Return the initialiser's config."""
        return {
            "initializer": keras.initializers.serialize(self.initializer),
            "upscale_factor": self.spec.config()["upscale_factor"],
            "order": self.spec.order,
        }


def _expand(sub: Any, steps: IcnrSteps) -> Any:
    """Expand an ICNR sub-kernel with ``keras.ops`` (TensorFlow's tensors have no Array-API namespace)."""
    spread = ops.broadcast_to(ops.expand_dims(sub, steps.new_axis), steps.spread_shape)
    # A copy: on torch the reshape of a broadcast may be a view whose elements share memory.
    return ops.copy(ops.reshape(spread, steps.merged_shape))


@keras.saving.register_keras_serializable(package="subpixel")
class SubPixelConv(SubPixelConvLayer, keras.layers.Layer):  # type: ignore[misc]
    """Sub-pixel convolution (ESPCN): a "same" convolution to ``filters * F`` channels, then a shuffle.

    Parameters
    ----------
    filters : int
        Channels after the block.
    upscale_factor : int or tuple of int
        ``r`` for a 2-D block, or one factor per spatial axis (``Conv1D``/``Conv2D``/``Conv3D``
        by the number of entries).
    kernel_size : int or tuple of int
        Size of the convolution kernel.
    data_format : {"channels_last", "channels_first"} or None
        ``None`` means ``keras.config.image_data_format()``.
    order : {"CRD", "DCR"}
        Channel order of the shuffle.
    use_bias : bool
        The convolution has a bias.
    icnr : bool
        Wrap the initialisers in :class:`ICNR`, so that the block starts as a convolution
        followed by nearest-neighbour upsampling.
    kernel_initializer, bias_initializer
        Keras initialisers (of the sub-kernel when ``icnr``).
    **kwargs
        Base ``keras.layers.Layer`` arguments.

    The arguments are attributes of the same names, as in ``Conv2D`` (``kernel_size`` a tuple,
    ``data_format`` resolved); all but the initialisers are read-only. The config holds them.

    Notes
    -----
    A process that loads a saved model holding this layer must ``import subpixel.keras`` before
    ``keras.saving.load_model``: Keras imports only its own packages while loading, and this
    import registers the layer.
    """

    def __init__(
        self,
        filters: int,
        upscale_factor: Factor,
        kernel_size: Factor = 3,
        *,
        data_format: str | None = None,
        order: Order = "CRD",
        use_bias: bool = True,
        icnr: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        layout = _data_format(data_format)
        self.spec = SubPixelConvSpec.create(
            None,
            filters,
            upscale_factor,
            kernel_size,
            channels_last=layout == "channels_last",
            order=order,
            bias=use_bias,
            icnr=icnr,
        )
        convs = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
        conv_type = conv_class(self.spec, convs, "Keras")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        kernel_init, bias_init = self.kernel_initializer, self.bias_initializer
        if icnr:
            kernel_init = ICNR(kernel_init, upscale_factor, order)
            bias_init = ICNR(bias_init, upscale_factor, order)
        self.conv = conv_type(
            self.spec.conv_channels,
            self.spec.kernel_size,
            padding="same",
            data_format=self.data_format,
            use_bias=use_bias,
            kernel_initializer=kernel_init,
            bias_initializer=bias_init,
            dtype=self.dtype_policy,
            name="conv",
        )
        self.shuffle = PixelShuffle(
            upscale_factor, data_format=self.data_format, order=order, dtype=self.dtype_policy, name="shuffle"
        )

    @property
    def filters(self) -> int:
        """Channels after the block."""
        return self.spec.out_channels

    @property
    def data_format(self) -> str:
        """Where the channel axis is: ``"channels_last"`` or ``"channels_first"``."""
        return _layout(self.spec)

    @property
    def use_bias(self) -> bool:
        """The convolution has a bias."""
        return self.spec.bias

    def __repr__(self) -> str:
        """Return Keras's ``repr`` with the block's settings."""
        kernel: Any = self.kernel_size[0] if len(set(self.kernel_size)) == 1 else self.kernel_size
        settings = {
            "filters": self.filters,
            "upscale_factor": self.upscale_factor,
            "kernel_size": kernel,
            "data_format": self.data_format,
            "order": self.order,
        }
        return _layer_repr(self, settings)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the convolution's weights."""
        self.conv.build(input_shape)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Check that ``inputs`` is not another framework's tensor, then call the layer."""
        _check_input(inputs, type(self).__name__)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: Any) -> Any:
        """Convolve, then shuffle."""
        return self.shuffle(self.conv(inputs))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return the output shape; unknown (``None``) sizes stay unknown."""
        return self.shuffle.compute_output_shape(self.conv.compute_output_shape(input_shape))

    def get_config(self) -> dict[str, Any]:
        """Return the layer's config."""
        config: dict[str, Any] = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "upscale_factor": self.spec.shuffle.config()["upscale_factor"],
                "kernel_size": list(self.kernel_size),
                "data_format": self.data_format,
                "order": self.order,
                "use_bias": self.use_bias,
                "icnr": self.icnr,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
