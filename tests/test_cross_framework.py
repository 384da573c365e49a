"""The same weights in the PyTorch, Flax (NNX and Linen) and Keras layers give the same outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest
import torch
from flax import nnx

import subpixel.flax as snnx
import subpixel.flax.linen as slinen
import subpixel.keras as skeras
import subpixel.torch as storch
from subpixel._validate import check_factors
from tests.reference import Order
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch", "jax", "flax", "keras")

CASES = [(2, 3, "CRD"), ((3,), 3, "DCR"), ((2, 3), (3, 1), "DCR"), ((2, 1, 2), 3, "CRD")]


def to_last(x: np.ndarray) -> np.ndarray:
    """Channels first to channels last."""
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def numpy(x: object) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(keras.ops.convert_to_numpy(x)) if not isinstance(x, jax.Array) else np.asarray(x)


@pytest.mark.parametrize(("factor", "kernel_size", "order"), CASES, ids=str)
def test_sub_pixel_conv_agrees_across_frameworks(
    factor: int | tuple[int, ...], kernel_size: Any, order: Order
) -> None:
    torch.manual_seed(0)
    k = len(check_factors(factor, "test", "factor"))
    block = storch.SubPixelConv(3, 2, factor, kernel_size, order=order, icnr=False)
    # Random (not ICNR) weights, so that a permuted channel order cannot pass unnoticed.
    weight = block.conv.weight.detach().numpy()
    bias = np.random.default_rng(1).standard_normal(int(weight.shape[0])).astype(np.float32)
    assert block.conv.bias is not None
    with torch.no_grad():
        block.conv.bias.copy_(torch.from_numpy(bias))
    kernel = np.ascontiguousarray(np.moveaxis(weight, (0, 1), (-1, -2)))  # (out, in, *k) -> (*k, in, out)
    x = np.random.default_rng(2).standard_normal((2, 3, *(4 + i for i in range(k)))).astype(np.float32)
    with torch.no_grad():
        expected = to_last(block(torch.from_numpy(x)).numpy())

    flax_block = snnx.SubPixelConv(3, 2, factor, kernel_size, order=order, rngs=nnx.Rngs(0))
    assert flax_block.conv.bias is not None
    flax_block.conv.kernel[...] = jnp.asarray(kernel)
    flax_block.conv.bias[...] = jnp.asarray(bias)

    linen_block = slinen.SubPixelConv(2, factor, kernel_size, order=order)
    linen_params = {"params": {"conv": {"kernel": jnp.asarray(kernel), "bias": jnp.asarray(bias)}}}

    keras_block = skeras.SubPixelConv(2, factor, kernel_size, data_format="channels_last", order=order)
    keras_block.build((None, *to_last(x).shape[1:]))
    keras_block.conv.set_weights([kernel, bias])

    inputs = to_last(x)
    outputs = {
        "flax.nnx": np.asarray(flax_block(jnp.asarray(inputs))),
        "flax.linen": np.asarray(linen_block.apply(linen_params, jnp.asarray(inputs))),
        f"keras[{keras.backend.backend()}]": numpy(keras_block(inputs)),
    }
    for name, out in outputs.items():
        assert out.shape == expected.shape, name
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5, err_msg=name)


@pytest.mark.parametrize(("factor", "kernel_size", "order"), CASES, ids=str)
def test_shuffle_part_is_bit_for_bit_across_frameworks(
    factor: int | tuple[int, ...], kernel_size: Any, order: Order
) -> None:
    del kernel_size
    factors = check_factors(factor, "test", "factor")
    count = int(np.prod(factors))
    first = special_array((2, 2 * count, *(3 + i for i in range(len(factors)))), base="normal")
    last = to_last(first)
    expected = storch.PixelShuffle(factor, order=order)(torch.from_numpy(first)).numpy()
    channels_first = {
        "flax.nnx": snnx.PixelShuffle(factor, channels_last=False, order=order)(jnp.asarray(first)),
        "flax.linen": slinen.PixelShuffle(factor, channels_last=False, order=order).apply(
            {}, jnp.asarray(first)
        ),
        "keras": skeras.PixelShuffle(factor, data_format="channels_first", order=order)(first),
    }
    for out in channels_first.values():
        assert_same_bits(numpy(out), expected)
    channels_last = {
        "torch": storch.PixelShuffle(factor, channels_last=True, order=order)(torch.from_numpy(last)),
        "flax.nnx": snnx.PixelShuffle(factor, order=order)(jnp.asarray(last)),
        "flax.linen": slinen.PixelShuffle(factor, order=order).apply({}, jnp.asarray(last)),
        "keras": skeras.PixelShuffle(factor, data_format="channels_last", order=order)(last),
    }
    for out in channels_last.values():
        assert_same_bits(numpy(out), to_last(expected))
    # And back: every unshuffle restores the input's bytes.
    assert_same_bits(numpy(snnx.PixelUnshuffle(factor, order=order)(jnp.asarray(to_last(expected)))), last)
    restored = skeras.PixelUnshuffle(factor, data_format="channels_first", order=order)(expected)
    assert_same_bits(numpy(restored), first)


def test_espcn_example_smoke_run(tmp_path: Path) -> None:
    """The example trains a few steps in both frameworks and writes its results and picture."""
    script = Path(__file__).resolve().parent.parent / "examples" / "espcn" / "run.py"
    command = [sys.executable, str(script), "--steps", "2", "--batch", "2", "--train-images", "2"]
    command += ["--test-images", "1", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert set(results["psnr_db"]) == {"bicubic", "espcn_torch", "espcn_flax"}
    for scores in results["psnr_db"].values():
        assert all(np.isfinite(value) for value in scores.values())
    assert (tmp_path / "espcn.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
