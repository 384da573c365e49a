"""Draw ``docs/images/orders_1d.png``: a 1-D pixel shuffle (factor 3) in CRD and in DCR order.

As for the 2-D picture, the placement is read off ``subpixel.pixel_shuffle`` applied to an array
that numbers every input element.

Run from the repository root::

    python docs/scripts/draw_orders_1d.py [output.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from subpixel import pixel_shuffle

R = 3  # upscale factor
C = 2  # output channels
T = 4  # input samples
DEPTH = C * R
SAMPLES = "abcd"

#: One colour per input channel (light fill, dark ink); the same hues as the 2-D picture.
COLOURS = [
    ("#fecaca", "#991b1b"),
    ("#fed7aa", "#9a3412"),
    ("#fef08a", "#854d0e"),
    ("#bbf7d0", "#166534"),
    ("#a5f3fc", "#155e75"),
    ("#bfdbfe", "#1e40af"),
]
GRID = "#334155"
TEXT = "#0f172a"
MUTED = "#64748b"


def cell(ax: plt.Axes, x: float, y: float, k: int, t: int) -> None:
    """Draw one sample: channel ``k`` coloured and numbered, its input time step as a letter."""
    fill, ink = COLOURS[k]
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=fill, edgecolor="white", linewidth=1.2))
    ax.text(x + 0.42, y + 0.5, str(k), ha="center", va="center", fontsize=13, fontweight="bold", color=ink)
    ax.text(x + 0.8, y + 0.22, SAMPLES[t], ha="center", va="center", fontsize=8.5, color=ink, style="italic")


def row_label(ax: plt.Axes, x: float, y: float, text: str, **style: object) -> None:
    """Write a right-aligned label in front of a row."""
    options: dict[str, object] = {"ha": "right", "va": "center", "fontsize": 11, "color": MUTED}
    options.update(style)
    ax.text(x, y, text, **options)  # type: ignore[arg-type]


def draw(path: Path) -> None:
    """Draw the input signal and both shuffles of it; save the PNG to ``path``."""
    numbered = np.arange(DEPTH * T).reshape(DEPTH, T)
    fig, ax = plt.subplots(figsize=(10.0, 4.6), dpi=150)

    # Input: DEPTH channels of T samples, one row per channel.
    top = 12.0
    ax.text(-2.6, top + 0.9, "Input: 6 channels of 4 samples", fontsize=14, fontweight="bold", color=TEXT)
    for k in range(DEPTH):
        y = top - 1 - k
        row_label(ax, -0.2, y + 0.5, f"in {k}")
        for t in range(T):
            cell(ax, t, y, k, t)
    ax.add_patch(Rectangle((0, top - DEPTH), T, DEPTH, facecolor="none", edgecolor=GRID, linewidth=1.6))

    # Outputs: for each order, C rows of T * R samples.
    left = T + 3.4
    for n, order in enumerate(("CRD", "DCR")):
        out = pixel_shuffle(numbered, (R,), order=order)
        base = top - 0.2 - n * 3.6
        ax.text(left, base + 0.55, f'order="{order}"', fontsize=13, fontweight="bold", color=TEXT)
        users = 'PyTorch, ONNX mode="CRD"' if order == "CRD" else "TensorFlow, ONNX default"
        ax.text(left + 4.6, base + 0.58, users, fontsize=10.5, color=MUTED)
        for c in range(C):
            y = base - 1 - c
            row_label(ax, left - 0.2, y + 0.5, f"out {c}", color=TEXT, fontweight="bold")
            for s in range(T * R):
                value = int(out[c, s])
                cell(ax, left + s, y, value // T, value % T)
            for b in range(1, T):
                ax.plot([left + b * R] * 2, [y, y + 1], color=GRID, linewidth=1.4)
        ax.add_patch(Rectangle((left, base - C), T * R, C, facecolor="none", edgecolor=GRID, linewidth=1.6))
        ax.add_patch(
            FancyArrowPatch(
                (T + 0.35, top - DEPTH / 2),
                (left - 1.55, base - C / 2),
                arrowstyle="-|>",
                mutation_scale=20,
                linewidth=1.8,
                color=GRID,
            )
        )
    ax.text(
        -2.6,
        top - DEPTH - 0.6,
        "pixel_shuffle(x, (3,), order=...): every input sample (a, b, c, d) becomes 3 output samples "
        "(outlined);\nthe order decides which input channel fills which of the 3.",
        fontsize=10.5,
        color=MUTED,
        va="top",
        linespacing=1.5,
    )
    ax.set_xlim(-2.7, left + T * R + 0.2)
    ax.set_ylim(top - DEPTH - 2.2, top + 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.savefig(
        path, dpi=150, metadata={"Software": None}, facecolor="white", bbox_inches="tight", pad_inches=0.15
    )
    plt.close(fig)


def main(argv: list[str]) -> int:
    """Write the picture to ``argv[0]`` or, by default, to ``docs/images/orders_1d.png``."""
    default = Path(__file__).resolve().parent.parent / "images" / "orders_1d.png"
    path = Path(argv[0]) if argv else default
    draw(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
