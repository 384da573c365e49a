"""ESPCN (Shi et al. 2016) in Flax NNX, built on :class:`subpixel.flax.SubPixelConv`."""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from subpixel.flax import SubPixelConv


class ESPCN(nnx.Module):
    """Feature extraction (5x5, 64), mapping (3x3, 32), then a 3x3 sub-pixel convolution to one channel."""

    def __init__(self, factor: int, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 64, (5, 5), rngs=rngs)
        self.conv2 = nnx.Conv(64, 32, (3, 3), rngs=rngs)
        self.up = SubPixelConv(32, 1, factor, 3, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """Upscale ``x`` of shape ``(N, H, W, 1)``."""
        # Images are in [0, 1]; the network works on centred values.
        return self.up(jnp.tanh(self.conv2(jnp.tanh(self.conv1(x - 0.5))))) + 0.5


def train(patches, factor: int, steps: int, batch: int, learning_rate: float, seed: int):
    """Train with Adam and a cosine learning-rate decay; return a predict function and a log."""
    model = ESPCN(factor, rngs=nnx.Rngs(seed))
    schedule = optax.cosine_decay_schedule(learning_rate, steps)
    optimizer = nnx.Optimizer(model, optax.adam(schedule), wrt=nnx.Param)

    @nnx.jit
    def step(model, optimizer, low, high):
        def loss_fn(model):
            return jnp.mean((model(low) - high) ** 2)

        loss, grads = nnx.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        low, high = patches.batch(batch)
        losses.append(float(step(model, optimizer, jnp.asarray(low), jnp.asarray(high))))
    seconds = time.perf_counter() - start

    apply = nnx.jit(lambda model, x: model(x))

    def predict(low: np.ndarray) -> np.ndarray:
        return np.asarray(apply(model, jnp.asarray(low)[None, :, :, None]))[0, :, :, 0]

    return predict, {"seconds": seconds, "final_loss": float(np.mean(losses[-50:]))}
