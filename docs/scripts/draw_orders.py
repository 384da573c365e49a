"""Draw ``docs/images/orders.png``: where each input channel lands after a pixel shuffle, in CRD and DCR.

The placement is not drawn by hand: it is read off ``subpixel.pixel_shuffle`` applied to an array
that numbers every input element, so the picture shows what the library does.

Run from the repository root::

    python docs/scripts/draw_orders.py [output.png]
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

R = 2  # upscale factor
C = 2  # output channels
H = W = 2  # input height and width
DEPTH = C * R * R

#: One colour per input channel (light fill, dark text), chosen to be told apart in print.
COLOURS = [
    ("#fecaca", "#991b1b"),
    ("#fed7aa", "#9a3412"),
    ("#fef08a", "#854d0e"),
    ("#bbf7d0", "#166534"),
    ("#a5f3fc", "#155e75"),
    ("#bfdbfe", "#1e40af"),
    ("#e9d5ff", "#6b21a8"),
    ("#e5e7eb", "#374151"),
]
LETTERS = "abcd"  # the input pixel (h, w), row-major
GRID = "#334155"
TEXT = "#0f172a"
MUTED = "#64748b"

ORDER_TITLES = {
    "CRD": ('PyTorch, ONNX mode="CRD"', "in channel = c * 4 + 2 * i + j"),
    "DCR": ("TensorFlow, ONNX default", "in channel = (2 * i + j) * 2 + c"),
}


def source_of_each_output(order: str) -> np.ndarray:
    """For every output element, the flat index ``k * H * W + h * W + w`` of the input it copies."""
    numbered = np.arange(DEPTH * H * W).reshape(1, DEPTH, H, W)
    out: np.ndarray = pixel_shuffle(numbered, R, order=order)[0]
    return out


def cell(ax: plt.Axes, x: float, y: float, k: int, pixel: int) -> None:
    """Draw one element: channel ``k`` coloured, its number large and its input pixel letter small."""
    fill, ink = COLOURS[k]
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=fill, edgecolor="white", linewidth=1.2))
    ax.text(x + 0.45, y + 0.55, str(k), ha="center", va="center", fontsize=15, fontweight="bold", color=ink)
    ax.text(
        x + 0.82, y + 0.2, LETTERS[pixel], ha="center", va="center", fontsize=9, color=ink, style="italic"
    )


def frame(ax: plt.Axes, x: float, y: float, width: float, height: float) -> None:
    """Outline one channel plane."""
    ax.add_patch(Rectangle((x, y), width, height, facecolor="none", edgecolor=GRID, linewidth=1.8))


def label(ax: plt.Axes, x: float, y: float, text: str, **style: object) -> None:
    """Write centred text in the figure's colours."""
    options: dict[str, object] = {"ha": "center", "va": "bottom", "fontsize": 12, "color": MUTED}
    options.update(style)
    ax.text(x, y, text, **options)  # type: ignore[arg-type]


def draw_input(ax: plt.Axes, bottom: float, gap: float) -> None:
    """Draw the input: DEPTH planes of H x W in channel order, in one row."""
    label(
        ax,
        0.0,
        bottom + H + 0.95,
        "Input: 8 channels of 2 x 2 pixels",
        ha="left",
        fontsize=15,
        color=TEXT,
        fontweight="bold",
    )
    for k in range(DEPTH):
        x0 = k * (W + gap)
        label(ax, x0 + W / 2, bottom + H + 0.15, f"in {k}")
        for h in range(H):
            for w in range(W):
                cell(ax, x0 + w, bottom + (H - 1 - h), k, h * W + w)
        frame(ax, x0, bottom, W, H)


def draw_output(ax: plt.Axes, order: str, left: float, top: float) -> None:
    """Draw one order's output: C planes of (H * R) x (W * R), under a title and the formula."""
    out = source_of_each_output(order)
    users, formula = ORDER_TITLES[order]
    width = C * W * R + (C - 1) * 0.6
    label(ax, left + width / 2, top + 1.35, f'order="{order}"', fontsize=17, color=TEXT, fontweight="bold")
    label(ax, left + width / 2, top + 0.85, users, fontsize=12)
    label(ax, left + width / 2, top + 0.2, formula, fontsize=11.5, family="monospace", color=TEXT)
    bottom = top - 0.55 - H * R
    for c in range(C):
        x0 = left + c * (W * R + 0.6)
        label(ax, x0 + W * R / 2, bottom + H * R + 0.12, f"out {c}", fontweight="bold", color=TEXT)
        for y in range(H * R):
            for x in range(W * R):
                source = int(out[c, y, x])
                cell(ax, x0 + x, bottom + (H * R - 1 - y), source // (H * W), source % (H * W))
        # Lines between the R x R blocks that each come from one input pixel.
        for b in range(1, H):
            ax.plot([x0, x0 + W * R], [bottom + b * R] * 2, color=GRID, linewidth=1.4)
        for b in range(1, W):
            ax.plot([x0 + b * R] * 2, [bottom, bottom + H * R], color=GRID, linewidth=1.4)
        frame(ax, x0, bottom, W * R, H * R)


def arrow(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Draw an arrow from the input down to one output."""
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=24,
            linewidth=2.0,
            color=GRID,
            connectionstyle="arc3,rad=0.0",
        )
    )


def draw(path: Path) -> None:
    """Draw the input once and its shuffle in both orders below it; save the PNG to ``path``."""
    gap = 0.5
    total = DEPTH * W + (DEPTH - 1) * gap
    panel = C * W * R + (C - 1) * 0.6
    fig, ax = plt.subplots(figsize=(10.0, 7.6), dpi=150)
    input_bottom = 9.2
    draw_input(ax, input_bottom, gap)
    output_top = 5.0
    draw_output(ax, "CRD", 0.0, output_top)
    draw_output(ax, "DCR", total - panel, output_top)
    middle = total / 2
    arrow(ax, (middle - 3.2, input_bottom - 0.25), (panel / 2, output_top + 2.05))
    arrow(ax, (middle + 3.2, input_bottom - 0.25), (total - panel / 2, output_top + 2.05))
    label(
        ax,
        middle,
        input_bottom - 1.15,
        "pixel_shuffle(x, 2, order=...)",
        family="monospace",
        color=TEXT,
        fontsize=11.5,
    )
    ax.text(
        0.0,
        -0.35,
        "Each colour is one input channel, the small letter the input pixel it came from. Every input pixel\n"
        "becomes a 2 x 2 block (outlined); the order decides which channel fills position (i, j) of the\n"
        "block in output channel c.",
        fontsize=11,
        color=MUTED,
        va="top",
        linespacing=1.5,
    )
    ax.set_xlim(-0.25, total + 0.25)
    ax.set_ylim(-1.6, input_bottom + H + 1.7)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    fig.savefig(
        path, dpi=150, metadata={"Software": None}, facecolor="white", bbox_inches="tight", pad_inches=0.15
    )
    plt.close(fig)


def main(argv: list[str]) -> int:
    """Write the picture to ``argv[0]`` or, by default, to ``docs/images/orders.png``."""
    default = Path(__file__).resolve().parent.parent / "images" / "orders.png"
    path = Path(argv[0]) if argv else default
    draw(path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
