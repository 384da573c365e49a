from __future__ import annotations

import itertools
import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen, nnx

import subpixel
import subpixel.flax.linen as sl
from subpixel._validate import check_factors
from subpixel.flax import PixelShuffle, PixelUnshuffle, SubPixelConv, icnr_init
from tests.layer_helpers import (
    ICNR_CASES,
    first_of_groups,
    icnr_case_ids,
    nearest_upsample,
)
from tests.reference import Order
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("jax", "flax")

SHUFFLE_CASES = [(2, "CRD"), ((3,), "DCR"), ((2, 3), "DCR"), ((1, 2, 2), "CRD")]


def channels_last_input(factor: object, seed: int = 0, batch: int = 2) -> np.ndarray:
    factors = check_factors(factor, "test", "factor")
    return special_array(
        (batch, *(3 + i for i in range(len(factors))), 2 * math.prod(factors)), seed=seed, base="normal"
    )


@pytest.mark.parametrize(("factor", "order"), SHUFFLE_CASES, ids=str)
def test_nnx_layers_are_the_functional_form(factor: object, order: str) -> None:
    x = channels_last_input(factor)
    shuffle = PixelShuffle(factor, order=order)  # type: ignore[arg-type]
    y = shuffle(jnp.asarray(x))
    assert_same_bits(np.asarray(y), subpixel.pixel_shuffle(x, factor, channels_last=True, order=order))  # type: ignore[arg-type]
    back = PixelUnshuffle(factor, order=order)(y)  # type: ignore[arg-type]
    assert_same_bits(np.asarray(back), x)


@pytest.mark.parametrize(("factor", "order"), SHUFFLE_CASES, ids=str)
def test_linen_layers_are_the_functional_form(factor: int | tuple[int, ...], order: Order) -> None:
    x = jnp.asarray(channels_last_input(factor))
    shuffle = sl.PixelShuffle(factor, order=order)
    assert shuffle.init(jax.random.key(0), x) == {}
    y = shuffle.apply({}, x)
    assert_same_bits(
        np.asarray(y), subpixel.pixel_shuffle(np.asarray(x), factor, channels_last=True, order=order)
    )
    assert_same_bits(np.asarray(sl.PixelUnshuffle(factor, order=order).apply({}, y)), np.asarray(x))


def test_channels_first_option() -> None:
    x = special_array((2, 8, 3, 3), base="normal")
    expected = subpixel.pixel_shuffle(x, 2)
    assert_same_bits(np.asarray(PixelShuffle(2, channels_last=False)(jnp.asarray(x))), expected)
    assert_same_bits(np.asarray(sl.PixelShuffle(2, channels_last=False).apply({}, jnp.asarray(x))), expected)


def test_repr_and_bad_arguments() -> None:
    assert repr(PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"
    assert repr(PixelUnshuffle((2, 1), channels_last=False, order="DCR")) == (
        "PixelUnshuffle(downscale_factor=(2, 1), channels_last=False, order='DCR')"
    )
    with pytest.raises(ValueError, match="upscale_factor"):
        PixelShuffle(0)
    with pytest.raises(ValueError, match="order"):
        sl.PixelUnshuffle(2, order="RCD")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="out_channels"):
        SubPixelConv(2, 1.5, 2, rngs=nnx.Rngs(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kernel_size"):
        sl.SubPixelConv(2, 2, kernel_size=(3, 3, 3))


def test_every_layer_has_the_attributes_its_repr_shows() -> None:
    shuffle = PixelShuffle((2, 3), channels_last=False, order="DCR")
    unshuffle = PixelUnshuffle(2)
    assert (shuffle.upscale_factor, shuffle.channels_last, shuffle.order) == ((2, 3), False, "DCR")
    assert (unshuffle.downscale_factor, unshuffle.channels_last, unshuffle.order) == (2, True, "CRD")
    assert not hasattr(shuffle, "downscale_factor")
    assert not hasattr(unshuffle, "upscale_factor")
    block = SubPixelConv(3, 2, (2, 1), 5, order="DCR", use_bias=False, rngs=nnx.Rngs(0))
    settings = {
        "in_features": 3,
        "out_features": 2,
        "upscale_factor": (2, 1),
        "kernel_size": (5, 5),
        "channels_last": True,
        "order": "DCR",
        "use_bias": False,
        "icnr": True,
    }
    assert {name: getattr(block, name) for name in settings} == settings
    text = repr(block)  # Flax's own repr of a module: its attributes and submodules
    for name, value in settings.items():
        assert f"{name}={value!r}" in text
    assert "Spec" not in text
    assert "caller" not in text
    assert "shuffle=PixelShuffle(" in text
    # Linen: the fields, and channels_last as an attribute of the block too.
    linen_shuffle = sl.PixelUnshuffle((2, 1), order="DCR")
    assert (linen_shuffle.downscale_factor, linen_shuffle.channels_last, linen_shuffle.order) == (
        (2, 1),
        True,
        "DCR",
    )
    linen_block = sl.SubPixelConv(2, (2, 1), 5, order="DCR")
    assert (linen_block.features, linen_block.upscale_factor, linen_block.kernel_size) == (2, (2, 1), 5)
    assert (linen_block.channels_last, linen_block.order) == (True, "DCR")
    for layer in (linen_shuffle, linen_block):
        assert "Spec" not in repr(layer)
        assert "order = 'DCR'" in repr(layer)


def test_nnx_options_set_after_construction_take_effect_and_show() -> None:
    layer = PixelShuffle(2)
    layer.upscale_factor, layer.order = 3, "DCR"
    x = special_array((1, 2, 2, 18), base="normal")
    expected = subpixel.pixel_shuffle(x, 3, channels_last=True, order="DCR")
    assert_same_bits(np.asarray(layer(jnp.asarray(x))), expected)
    assert_same_bits(np.asarray(nnx.jit(lambda m, v: m(v))(layer, jnp.asarray(x))), expected)
    assert repr(layer) == "PixelShuffle(upscale_factor=3, order='DCR')"
    layer.upscale_factor = 0
    with pytest.raises(ValueError, match="upscale_factor"):
        layer(jnp.asarray(x))


def test_transformations_of_nnx_layers() -> None:
    x = jnp.asarray(channels_last_input((2, 3), batch=4))
    shuffle = PixelShuffle((2, 3), order="DCR")
    eager = np.asarray(shuffle(x))
    assert_same_bits(np.asarray(jax.jit(lambda m, v: m(v))(shuffle, x)), eager)
    assert_same_bits(np.asarray(nnx.jit(lambda m, v: m(v))(shuffle, x)), eager)
    per_item = jax.vmap(shuffle)(x)
    assert_same_bits(np.asarray(per_item), eager)
    # The gradient of a shuffle is the unshuffle of the cotangent.
    cotangent = jnp.asarray(np.random.default_rng(0).standard_normal(eager.shape, dtype=np.float32))
    grad = jax.grad(lambda v: jnp.sum(shuffle(v) * cotangent))(x)
    assert_same_bits(np.asarray(grad), np.asarray(PixelUnshuffle((2, 3), order="DCR")(cotangent)))


def test_nnx_sub_pixel_conv_trains_under_nnx_jit_and_grad() -> None:
    block = SubPixelConv(3, 2, (2, 1), 3, order="DCR", rngs=nnx.Rngs(0))
    assert block.conv.kernel[...].shape == (3, 3, 3, 4)
    x = jnp.ones((2, 5, 4, 3), jnp.float32)
    y = block(x)
    assert y.shape == (2, 10, 4, 2)
    np.testing.assert_allclose(
        np.asarray(nnx.jit(lambda m, v: m(v))(block, x)), np.asarray(y), rtol=1e-6, atol=1e-6
    )
    grads = nnx.grad(lambda m: jnp.sum(m(x) ** 2))(block)
    assert grads["conv"]["kernel"][...].shape == (3, 3, 3, 4)
    assert float(jnp.abs(grads["conv"]["kernel"][...]).sum()) > 0
    batched = jax.vmap(block)(jnp.ones((3, 2, 5, 4, 3), jnp.float32))
    assert batched.shape == (3, 2, 10, 4, 2)


def test_linen_sub_pixel_conv_under_jit_and_grad() -> None:
    block = sl.SubPixelConv(2, 3, order="DCR")
    x = jnp.ones((2, 4, 4, 5), jnp.float32)
    params = block.init(jax.random.key(0), x)
    assert params["params"]["conv"]["kernel"].shape == (3, 3, 5, 18)
    y = jax.jit(block.apply)(params, x)
    assert y.shape == (2, 12, 12, 2)
    grads = jax.grad(lambda p: jnp.sum(jnp.asarray(block.apply(p, x)) ** 2))(params)
    assert float(jnp.abs(grads["params"]["conv"]["kernel"]).sum()) > 0


def test_icnr_init_wraps_any_initializer() -> None:
    init = icnr_init(nnx.initializers.normal(1.0), (2, 2), order="DCR")
    kernel = np.asarray(init(jax.random.key(0), (3, 3, 4, 8), jnp.float32))
    for c in range(2):
        for s in range(4):
            assert_same_bits(kernel[..., s * 2 + c], kernel[..., c])
    with pytest.raises(ValueError, match="divisible by 4"):
        init(jax.random.key(0), (3, 3, 4, 6), jnp.float32)


ICNR_PARAMS = [(f, k, o) for (f, k), o in itertools.product(ICNR_CASES, ("CRD", "DCR"))]


def _icnr_reference(
    kernel: np.ndarray, bias: np.ndarray, x: np.ndarray, factors: tuple[int, ...], order: str
) -> np.ndarray:
    """Convolve with the first kernel of each ICNR group, then repeat pixels (nearest neighbour)."""
    picks = first_of_groups(2, factors, order)
    sub = nnx.Conv(3, 2, kernel.shape[:-2], padding="SAME", rngs=nnx.Rngs(0))
    assert sub.bias is not None
    sub.kernel[...] = jnp.asarray(kernel[..., picks])
    sub.bias[...] = jnp.asarray(bias[picks])
    return nearest_upsample(np.asarray(sub(jnp.asarray(x))), factors, channels_last=True)


@pytest.mark.parametrize(("factor", "kernel_size", "order"), ICNR_PARAMS, ids=icnr_case_ids())
def test_icnr_property_nnx(factor: object, kernel_size: object, order: str) -> None:
    factors = check_factors(factor, "test", "factor")
    normal = nnx.initializers.normal(1.0)
    block = SubPixelConv(3, 2, factor, kernel_size, order=order, bias_init=normal, rngs=nnx.Rngs(1))  # type: ignore[arg-type]
    x = (
        np.random.default_rng(0)
        .standard_normal((2, *(4 + i for i in range(len(factors))), 3))
        .astype(np.float32)
    )
    got = np.asarray(block(jnp.asarray(x)))
    assert block.conv.bias is not None
    kernel, bias = np.asarray(block.conv.kernel[...]), np.asarray(block.conv.bias[...])
    expected = _icnr_reference(kernel, bias, x, factors, order)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got).max() > 0.1


@pytest.mark.parametrize(("factor", "kernel_size", "order"), ICNR_PARAMS, ids=icnr_case_ids())
def test_icnr_property_linen(factor: object, kernel_size: object, order: str) -> None:
    factors = check_factors(factor, "test", "factor")
    normal = linen.initializers.normal(1.0)
    block = sl.SubPixelConv(2, factor, kernel_size, order=order, bias_init=normal)  # type: ignore[arg-type]
    x = (
        np.random.default_rng(0)
        .standard_normal((2, *(4 + i for i in range(len(factors))), 3))
        .astype(np.float32)
    )
    params = block.init(jax.random.key(2), jnp.asarray(x))
    got = np.asarray(block.apply(params, jnp.asarray(x)))
    conv = params["params"]["conv"]
    expected = _icnr_reference(np.asarray(conv["kernel"]), np.asarray(conv["bias"]), x, factors, order)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got).max() > 0.1


def test_icnr_off_gives_ungrouped_kernel() -> None:
    block = SubPixelConv(3, 1, 2, icnr=False, rngs=nnx.Rngs(0))
    kernel = np.asarray(block.conv.kernel[...])
    assert not np.array_equal(kernel[..., 0], kernel[..., 1])


@pytest.mark.needs("torch")
def test_foreign_arrays_are_a_type_error_and_numpy_is_accepted() -> None:
    import torch

    x = special_array((1, 2, 2, 8), base="normal")
    layers: list[tuple[Callable[[Any], Any], str]] = [
        (lambda v: PixelShuffle(2)(v), "PixelShuffle"),
        (lambda v: PixelUnshuffle(1)(v), "PixelUnshuffle"),
        (lambda v: sl.PixelShuffle(2).apply({}, v), "PixelShuffle"),
        (lambda v: sl.PixelUnshuffle(1).apply({}, v), "PixelUnshuffle"),
    ]
    for run, name in layers:
        with pytest.raises(TypeError, match=rf"^{name}: x must be a JAX or NumPy array, got torch\.Tensor"):
            run(torch.from_numpy(x))
        assert_same_bits(np.asarray(run(x)), np.asarray(run(jnp.asarray(x))))
    with pytest.raises(TypeError, match=r"SubPixelConv: x must be a JAX or NumPy array, got builtins\.list"):
        SubPixelConv(8, 2, 2, rngs=nnx.Rngs(0))(x.tolist())
    block = sl.SubPixelConv(2, 2)
    with pytest.raises(TypeError, match=r"SubPixelConv: x must be a JAX or NumPy array, got torch\.Tensor"):
        block.init(jax.random.key(0), torch.from_numpy(x))


NNX_MODULES = ("flax.nnx", "subpixel.flax.nnx")
LOADED = "import sys; {}; print(sorted(m for m in {!r} if m in sys.modules))"


@pytest.mark.parametrize(
    ("statement", "loaded"),
    [
        ("import subpixel.flax.linen", []),
        ("from subpixel.flax import icnr_init", []),
        ("from subpixel.flax import PixelShuffle", list(NNX_MODULES)),  # the control: the check can fail
        ("import subpixel.flax.nnx", list(NNX_MODULES)),
    ],
)
def test_linen_loads_no_nnx(statement: str, loaded: list[str]) -> None:
    program = LOADED.format(statement, NNX_MODULES)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == repr(loaded), result.stderr


def test_subpixel_flax_exports_the_nnx_layers() -> None:
    import subpixel.flax
    import subpixel.flax.nnx

    assert subpixel.flax.__all__ == ["PixelShuffle", "PixelUnshuffle", "SubPixelConv", "icnr_init"]
    for name in subpixel.flax.__all__:
        assert getattr(subpixel.flax, name) is getattr(subpixel.flax.nnx, name)
        assert name in dir(subpixel.flax)
    with pytest.raises(AttributeError, match="no attribute 'Conv'"):
        subpixel.flax.Conv  # noqa: B018
