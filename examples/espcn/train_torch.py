"""ESPCN (Shi et al. 2016) in PyTorch, built on :class:`subpixel.torch.SubPixelConv`."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from subpixel.torch import SubPixelConv


class ESPCN(nn.Module):
    """Feature extraction (5x5, 64), mapping (3x3, 32), then a 3x3 sub-pixel convolution to one channel."""

    def __init__(self, factor: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 64, 5, padding="same"),
            nn.Tanh(),
            nn.Conv2d(64, 32, 3, padding="same"),
            nn.Tanh(),
            SubPixelConv(32, 1, factor, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``x`` of shape ``(N, 1, H, W)``."""
        # Images are in [0, 1]; the network works on centred values.
        return self.body(x - 0.5) + 0.5


def train(patches, factor: int, steps: int, batch: int, learning_rate: float, seed: int):
    """Train with Adam and a cosine learning-rate decay; return a predict function and a log."""
    torch.manual_seed(seed)
    model = ESPCN(factor)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        low, high = patches.batch(batch)
        # The patches are channels last; PyTorch convolutions want channels first.
        low_t = torch.from_numpy(low).permute(0, 3, 1, 2)
        high_t = torch.from_numpy(high).permute(0, 3, 1, 2)
        loss = nn.functional.mse_loss(model(low_t), high_t)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start

    @torch.no_grad()
    def predict(low: np.ndarray) -> np.ndarray:
        model.eval()
        out = model(torch.from_numpy(np.array(low, np.float32))[None, None])
        return out[0, 0].numpy()

    return predict, {"seconds": seconds, "final_loss": float(np.mean(losses[-50:]))}
