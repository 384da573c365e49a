"""Draw ``docs/images/mismatch.png``: an image shuffled back in the wrong order, and fixed.

A sub-pixel convolution trained in TensorFlow produces channels in DCR order. The picture takes a
colour image, folds it into channels with ``pixel_unshuffle(order="DCR")`` (the channels such a
layer has learnt to produce), and unfolds them three ways: in the right order, in PyTorch's CRD
order without conversion (what a naive port computes), and in CRD after
``convert_order(source="DCR", target="CRD")``. Every array is computed by the library.

Run from the repository root::

    python docs/scripts/draw_mismatch.py [output.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from subpixel import convert_order, pixel_shuffle, pixel_unshuffle

R = 4  # the upscale factor
SIZE = 192  # image side in pixels
TEXT = "#0f172a"
MUTED = "#64748b"


def card_image() -> np.ndarray:
    """Render a small colour test card, ``(3, SIZE, SIZE)`` floats in [0, 1]."""
    figure = Figure(figsize=(2, 2), dpi=SIZE / 2)
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_axes((0, 0, 1, 1))
    y, x = np.mgrid[0 : 1 : SIZE * 1j, 0 : 1 : SIZE * 1j]
    sky = np.stack([0.55 + 0.35 * x, 0.75 - 0.25 * y, 0.95 - 0.1 * x], axis=-1)
    ax.imshow(sky, extent=(0, 1, 0, 1))
    ax.add_patch(plt.Circle((0.3, 0.68), 0.16, color="#f59e0b"))
    ax.add_patch(plt.Polygon([(0.0, 0.0), (0.45, 0.55), (0.85, 0.0)], color="#15803d"))
    ax.add_patch(plt.Polygon([(0.4, 0.0), (0.8, 0.42), (1.0, 0.22), (1.0, 0.0)], color="#1e3a8a"))
    ax.text(0.66, 0.8, "r=4", fontsize=22, fontweight="bold", color="#b91c1c", ha="center", va="center")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float64)[:SIZE, :SIZE, :3] / 255.0
    return np.ascontiguousarray(rgba.transpose(2, 0, 1))


def panels() -> list[tuple[str, str, np.ndarray]]:
    """Compute the three results, each with a title and a caption."""
    image = card_image()
    features = pixel_unshuffle(image, R, order="DCR")  # what a TensorFlow-trained layer outputs
    right = pixel_shuffle(features, R, order="DCR")
    wrong = pixel_shuffle(features, R)
    fixed = pixel_shuffle(convert_order(features, R, source="DCR", target="CRD"), R)
    if not (np.array_equal(right, image) and np.array_equal(fixed, image)):
        msg = "the round trip through the shuffles must give the image back"
        raise AssertionError(msg)
    return [
        ("TensorFlow", 'depth_to_space: order="DCR"', right),
        ("Naive port to PyTorch", "same weights, pixel_shuffle in CRD", wrong),
        ("Port with convert_order", 'weights converted "DCR" -> "CRD"', fixed),
    ]


def draw(path: Path) -> None:
    """Draw the three panels side by side and save the PNG to ``path``."""
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 4.1), dpi=150)
    for ax, (title, caption, rgb) in zip(axes, panels(), strict=True):
        ax.imshow(np.clip(rgb.transpose(1, 2, 0), 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=14, fontweight="bold", color=TEXT, pad=24)
        ax.text(
            0.5,
            1.03,
            caption,
            transform=ax.transAxes,
            ha="center",
            va="bottom",
            fontsize=10.5,
            color=MUTED,
            family="monospace",
        )
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color("#cbd5e1")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.84, bottom=0.02, wspace=0.06)
    fig.savefig(path, dpi=150, metadata={"Software": None}, facecolor="white")
    plt.close(fig)


def main(argv: list[str]) -> int:
    """Write the picture to ``argv[0]`` or, by default, to ``docs/images/mismatch.png``."""
    default = Path(__file__).resolve().parent.parent / "images" / "mismatch.png"
    path = Path(argv[0]) if argv else default
    draw(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
