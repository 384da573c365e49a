"""Images made on the spot (no downloads) for the ESPCN example, and the measures used on them.

Training and held-out test images are procedural: 1/f-noise textures (the power spectrum of
natural images), anti-aliased shapes, lines and text, each from its own seed. One real
photograph that matplotlib ships (``grace_hopper.jpg``) is a second, never-trained-on test.
Low-resolution inputs are made the usual way: bicubic downscaling of the high-resolution
image (with PIL's anti-aliasing), and the baseline is bicubic upscaling of that input.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIZE = 192  # side of a procedural high-resolution image (a multiple of the factor)
SUPERSAMPLE = 4  # shapes are drawn this much larger, then reduced, for smooth edges
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def noise_texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Make a 1/f^a noise image in [0, 1], with ``a`` drawn near 1 as in natural images."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    radius = np.hypot(fy, fx)
    radius[0, 0] = 1.0
    exponent = rng.uniform(1.6, 2.4) / 2
    spectrum = (rng.normal(size=radius.shape) + 1j * rng.normal(size=radius.shape)) / radius**exponent
    spectrum[0, 0] = 0
    image = np.fft.irfft2(spectrum, s=(size, size))
    image -= image.min()
    return image / max(float(image.max()), 1e-12)


def procedural_image(seed: int, size: int = SIZE) -> np.ndarray:
    """Draw a grayscale image in [0, 1] of shape ``(size, size)``: texture, shapes, lines and text."""
    rng = np.random.default_rng(seed)
    big = size * SUPERSAMPLE
    base = noise_texture(rng, size) * rng.uniform(0.3, 0.8) + rng.uniform(0.0, 0.3)
    canvas = Image.fromarray(np.uint8(np.clip(base, 0, 1) * 255)).resize((big, big), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(4, 9)):
        kind = rng.integers(0, 3)
        gray = int(rng.integers(0, 256))
        x0, y0 = (int(v) for v in rng.integers(0, big, size=2))
        w, h = (int(v) for v in rng.integers(big // 12, big // 3, size=2))
        if kind == 0:
            draw.ellipse((x0, y0, x0 + w, y0 + h), fill=gray)
        elif kind == 1:
            points = [
                (int(x0 + rng.integers(-w, w)), int(y0 + rng.integers(-h, h)))
                for _ in range(rng.integers(3, 6))
            ]
            draw.polygon(points, fill=gray)
        else:
            draw.line(
                (x0, y0, x0 + w, y0 + h), fill=gray, width=int(rng.integers(SUPERSAMPLE, 6 * SUPERSAMPLE))
            )
    font = ImageFont.load_default(size=int(rng.integers(10, 28)) * SUPERSAMPLE)
    for _ in range(rng.integers(1, 4)):
        text = "".join(rng.choice(list(LETTERS), size=int(rng.integers(3, 9))))
        position = (int(rng.integers(0, big * 3 // 4)), int(rng.integers(0, big * 7 // 8)))
        draw.text(position, text, fill=int(rng.integers(0, 256)), font=font)
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255


def photo(factor: int) -> np.ndarray:
    """Matplotlib's sample photograph as grayscale in [0, 1], cropped to a multiple of ``factor``."""
    import matplotlib as mpl

    path = Path(mpl.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    image = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255
    h, w = (s - s % factor for s in image.shape)
    return image[:h, :w]


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bicubic resize (PIL, anti-aliased when reducing) of a float image, to ``(rows, cols)``."""
    pil = Image.fromarray(image.astype(np.float32), mode="F")
    return np.asarray(pil.resize((shape[1], shape[0]), Image.Resampling.BICUBIC), dtype=np.float32)


def low_resolution(image: np.ndarray, factor: int) -> np.ndarray:
    """Make the network's input: bicubic downscaling by ``factor``."""
    return resize(image, (image.shape[0] // factor, image.shape[1] // factor))


def bicubic_upscale(low: np.ndarray, factor: int) -> np.ndarray:
    """Compute the baseline: bicubic upscaling of the low-resolution input, clipped to [0, 1]."""
    return np.clip(resize(low, (low.shape[0] * factor, low.shape[1] * factor)), 0, 1)


def psnr(estimate: np.ndarray, truth: np.ndarray, border: int) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1], leaving out ``border`` pixels per side."""
    crop = (slice(border, -border or None),) * 2
    error = np.mean((np.clip(estimate, 0, 1)[crop].astype(np.float64) - truth[crop]) ** 2)
    return float(10 * math.log10(1 / error))


class Patches:
    """Random aligned (low, high) training patches from a list of images, with flips and rotations."""

    def __init__(self, images: list[np.ndarray], factor: int, low_size: int, seed: int):
        self.highs = images
        self.lows = [low_resolution(image, factor) for image in images]
        self.factor = factor
        self.low_size = low_size
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` pairs, channels last: ``(count, s, s, 1)`` and ``(count, s*r, s*r, 1)``."""
        f, s = self.factor, self.low_size
        lows = np.empty((count, s, s, 1), np.float32)
        highs = np.empty((count, s * f, s * f, 1), np.float32)
        for n in range(count):
            i = int(self.rng.integers(len(self.highs)))
            low, high = self.lows[i], self.highs[i]
            y, x = (int(self.rng.integers(0, d - s + 1)) for d in low.shape)
            pair = [low[y : y + s, x : x + s], high[y * f : (y + s) * f, x * f : (x + s) * f]]
            turns = int(self.rng.integers(4))
            flip = bool(self.rng.integers(2))
            for k, patch in enumerate(pair):
                patch = np.rot90(patch, turns)
                pair[k] = patch[:, ::-1] if flip else patch
            lows[n, ..., 0], highs[n, ..., 0] = pair
        return lows, highs
