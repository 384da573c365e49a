"""The models the deployment matrix exports: subpixel's layers and the framework's own op.

Each :class:`Plan` is one shuffle (operation, factor, channel order, layout, spatial rank) on
one framework. A plan the framework has an op for (torch's ``PixelShuffle`` for 2-D
channels-first CRD; Keras' ``depth_to_space`` for channels-last DCR) is exported twice: as
subpixel's layer and as that native op, so that the report can set their graphs side by side.
JAX has no pixel-shuffle op: its plans are subpixel's functions on JAX arrays, and for
channels-last DCR ``keras.ops.depth_to_space`` / ``space_to_depth`` on Keras's JAX backend
(the DCR op a JAX program has at hand; see ``docs/deploy.md``).
Every plan is exported at one shape and run at that shape and two others (the batch and the
spatial sizes change; channels never do).

This module imports no framework: :func:`build` imports the one a plan needs when it is called.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["MODELS", "PLANS", "Plan", "build", "model_named"]

SUBPIXEL = "subpixel"
NATIVE = "native"


@dataclass(frozen=True)
class Plan:
    """One shuffle to deploy.

    Parameters
    ----------
    framework : str
        ``"torch"``, ``"keras"`` or ``"jax"``.
    inverse : bool
        Unshuffle (space to depth) when true.
    factor : int
        The factor on every spatial axis.
    order : str
        ``"CRD"`` or ``"DCR"``.
    channels_last : bool
        The layout of the input.
    spatial : int
        Spatial rank: 2 for images, 3 for volumes.
    native : str
        The framework's own op for this plan (``""`` when it has none).
    """

    framework: str
    inverse: bool
    factor: int
    order: str
    channels_last: bool
    spatial: int = 2
    native: str = ""

    @property
    def name(self) -> str:
        """E.g. ``torch shuffle x2 CRD NCHW``."""
        what = "unshuffle" if self.inverse else "shuffle"
        layout = {(2, False): "NCHW", (2, True): "NHWC", (3, False): "NCDHW", (3, True): "NDHWC"}
        return (
            f"{self.framework} {what} x{self.factor} {self.order} {layout[self.spatial, self.channels_last]}"
        )

    @property
    def native_is_spelled(self) -> bool:
        """Whether the native op is itself reshapes and transposes, not one op a path lowers.

        JAX has no pixel-shuffle op: its native op, Keras's on JAX, is written in reshapes and a
        rank-6 transpose, so the rank of its graph is that spelling's, not a converter's choice.
        """
        return self.framework == "jax"

    @property
    def channels(self) -> int:
        """Channels of the input: 2 output channels for a shuffle, 2 input channels for an unshuffle."""
        return 2 * (1 if self.inverse else self.factor**self.spatial)

    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Return the exported input shape, then two others (batch and every spatial size change)."""
        scale = self.factor if self.inverse else 1
        sizes = ((2, (4, 5, 3)), (3, (6, 3, 2)), (1, (2, 7, 4)))
        found = []
        for batch, spatial in sizes:
            space = tuple(scale * s for s in spatial[: self.spatial])
            found.append(
                (batch, *space, self.channels) if self.channels_last else (batch, self.channels, *space)
            )
        return tuple(found)

    @property
    def dynamic_axes(self) -> tuple[int, ...]:
        """Axes whose size changes between runs: batch and spatial."""
        rank = self.spatial + 2
        return tuple(a for a in range(rank) if a != (rank - 1 if self.channels_last else 1))


@dataclass(frozen=True)
class DeployModel:
    """A plan made by subpixel's layer or by the framework's own op."""

    plan: Plan
    maker: str  # SUBPIXEL or NATIVE

    @property
    def name(self) -> str:
        """E.g. ``torch shuffle x2 CRD NCHW [subpixel]``."""
        return f"{self.plan.name} [{self.maker}]"

    @property
    def counterpart(self) -> DeployModel | None:
        """The native op of a subpixel model (None when the framework has none, or for a native model)."""
        if self.maker == SUBPIXEL and self.plan.native:
            return DeployModel(self.plan, NATIVE)
        return None

    @property
    def nearest_native(self) -> DeployModel | None:
        """The native op closest to a subpixel model that has none: the same plan in the other order.

        A plan with no native op (CRD into Keras's DCR ops) is held to converting wherever this
        op converts. None when there is no such op, or for a native model.
        """
        if self.maker != SUBPIXEL or self.plan.native:
            return None
        for plan in PLANS:
            if plan.native and plan == replace(self.plan, order=plan.order, native=plan.native):
                return DeployModel(plan, NATIVE)
        return None


PLANS: tuple[Plan, ...] = (
    Plan("torch", False, 2, "CRD", False, native="torch.nn.PixelShuffle"),
    Plan("torch", False, 3, "CRD", False, native="torch.nn.PixelShuffle"),
    Plan("torch", True, 2, "CRD", False, native="torch.nn.PixelUnshuffle"),
    Plan("torch", False, 2, "CRD", True),
    Plan("torch", False, 2, "DCR", False),
    Plan("torch", True, 2, "DCR", False),
    Plan("torch", False, 2, "CRD", False, spatial=3),
    Plan("keras", False, 2, "DCR", True, native="keras.ops.depth_to_space"),
    Plan("keras", True, 2, "DCR", True, native="keras.ops.space_to_depth"),
    Plan("keras", False, 2, "CRD", True),
    Plan("keras", True, 2, "CRD", True),
    Plan("jax", False, 2, "DCR", True, native="keras.ops.depth_to_space"),
    Plan("jax", True, 2, "DCR", True, native="keras.ops.space_to_depth"),
    Plan("jax", False, 2, "CRD", True),
    Plan("jax", True, 2, "CRD", True),
    Plan("jax", False, 2, "CRD", False),
    Plan("jax", True, 2, "CRD", False),
    Plan("jax", False, 2, "CRD", False, spatial=3),
)

#: Every model: each plan by subpixel's layer, then by the native op where there is one.
MODELS: tuple[DeployModel, ...] = tuple(
    model
    for plan in PLANS
    for model in (DeployModel(plan, SUBPIXEL), *([DeployModel(plan, NATIVE)] if plan.native else []))
)


def model_named(name: str) -> DeployModel:
    """Return the model called ``name`` (``KeyError`` names the known ones)."""
    for model in MODELS:
        if model.name == name:
            return model
    msg = f"no deployment model named {name!r}; known: {[m.name for m in MODELS]}"
    raise KeyError(msg)


def build(model: DeployModel) -> Any:
    """Return the framework object of ``model``: a ``torch.nn.Module``, a Keras layer, or a function.

    The Keras object is a layer (not a model): the path builds the model around it with the
    input signature it exports. A JAX model is a function of one JAX array.
    """
    plan = model.plan
    if plan.framework == "torch":
        return _torch_layer(model)
    if plan.framework == "jax":
        return _jax_function(model)
    return _keras_layer(model)


def _torch_layer(model: DeployModel) -> Any:
    import torch

    import subpixel.torch

    plan = model.plan
    if model.maker == NATIVE:
        return (torch.nn.PixelUnshuffle if plan.inverse else torch.nn.PixelShuffle)(plan.factor).eval()
    kind = subpixel.torch.PixelUnshuffle if plan.inverse else subpixel.torch.PixelShuffle
    factor = plan.factor if plan.spatial == 2 else (plan.factor,) * plan.spatial
    return kind(factor, channels_last=plan.channels_last, order=plan.order).eval()  # type: ignore[arg-type]


def _keras_layer(model: DeployModel) -> Any:
    import keras

    import subpixel.keras

    plan = model.plan
    data_format = "channels_last" if plan.channels_last else "channels_first"
    if model.maker == NATIVE:
        op = keras.ops.space_to_depth if plan.inverse else keras.ops.depth_to_space
        factor = plan.factor
        # As subpixel's layers, no cast of float inputs to the layer's compute dtype (float32).
        return keras.layers.Lambda(lambda t: op(t, factor, data_format=data_format), autocast=False)
    kind = subpixel.keras.PixelUnshuffle if plan.inverse else subpixel.keras.PixelShuffle
    return kind(plan.factor, data_format=data_format, order=plan.order)  # type: ignore[arg-type]


def _jax_function(model: DeployModel) -> Any:
    """Return subpixel's function of the plan on JAX arrays, or Keras's op on its JAX backend.

    Raises
    ------
    RuntimeError
        For the native op where Keras runs on another library than JAX (the deployment matrix
        runs JAX paths in a worker with ``KERAS_BACKEND=jax``).
    """
    import subpixel

    plan = model.plan
    if model.maker == NATIVE:
        import keras

        if keras.backend.backend() != "jax":
            msg = f"{plan.native} on JAX needs KERAS_BACKEND=jax, not {keras.backend.backend()}"
            raise RuntimeError(msg)
        op = keras.ops.space_to_depth if plan.inverse else keras.ops.depth_to_space
        return lambda x: op(x, plan.factor, data_format="channels_last")
    function = subpixel.pixel_unshuffle if plan.inverse else subpixel.pixel_shuffle
    factor = plan.factor if plan.spatial == 2 else (plan.factor,) * plan.spatial
    order = plan.order
    return lambda x: function(x, factor, channels_last=plan.channels_last, order=order)  # type: ignore[arg-type]
