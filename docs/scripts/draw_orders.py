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
    "CRD": ("CRD", 'PyTorch, ONNX mode="CRD", Paddle, MONAI'),
    "DCR": ("DCR", "TensorFlow depth_to_space, ONNX default, dm-pix"),
}


def source_of_each_output(order: str) -> np.ndarray:
    """For every output element, the flat index ``k * H * W + h * W + w`` of the input it copies."""
    numbered = np.arange(DEPTH * H * W).reshape(1, DEPTH, H, W)
    out: np.ndarray = pixel_shuffle(numbered, R, order=order)[0]
    return out


def cell(ax: plt.Axes, x: float, y: float, k: int, pixel: int, size: float = 1.0) -> None:
    """One element: channel ``k`` coloured, its number large and its input pixel letter small."""
    fill, ink = COLOURS[k]
    ax.add_patch(Rectangle((x, y), size, size, facecolor=fill, edgecolor="white", linewidth=1.2))
    ax.text(
        x + size / 2,
        y + size * 0.56,
        str(k),
        ha="center",
        va="center",
        fontsize=13,
        fontweight="bold",
        color=ink,
    )
    ax.text(
        x + size * 0.84,
        y + size * 0.2,
        LETTERS[pixel],
        ha="center",
        va="center",
        fontsize=8,
        color=ink,
        style="italic",
    )


def frame(ax: plt.Axes, x: float, y: float, width: float, height: float, colour: str = GRID) -> None:
    """Outline one channel plane."""
    ax.add_patch(Rectangle((x, y), width, height, facecolor="none", edgecolor=colour, linewidth=1.6))


def panel(ax: plt.Axes, order: str, top: float) -> None:
    """Draw one order: the input stack on the left, the two output planes on the right."""
    out = source_of_each_output(order)
    gap = 0.45
    in_left = 0.0
    in_bottom = top - 3.0
    # Where each input channel goes: (output channel, sub-pixel offset i, j).
    goes_to = {}
    for c in range(C):
        for y in range(H * R):
            for x in range(W * R):
                k = int(out[c, y, x]) // (H * W)
                goes_to[k] = (c, y % R, x % R)

    name, users = ORDER_TITLES[order]
    ax.text(in_left, top + 0.95, name, fontsize=20, fontweight="bold", color=TEXT, va="bottom")
    ax.text(in_left + 1.8, top + 1.02, users, fontsize=11, color=MUTED, va="bottom")

    # Input: DEPTH planes of H x W, in channel order.
    for k in range(DEPTH):
        x0 = in_left + k * (W + gap)
        ax.text(
            x0 + W / 2, in_bottom + H + 0.25, f"in {k}", ha="center", va="bottom", fontsize=9, color=MUTED
        )
        for h in range(H):
            for w in range(W):
                cell(ax, x0 + w, in_bottom + (H - 1 - h), k, h * W + w)
        frame(ax, x0, in_bottom, W, H)
        c, i, j = goes_to[k]
        ax.text(
            x0 + W / 2,
            in_bottom - 0.3,
            f"out {c}",
            ha="center",
            va="top",
            fontsize=9,
            color=COLOURS[k][1],
            fontweight="bold",
        )
        ax.text(
            x0 + W / 2,
            in_bottom - 0.78,
            f"({i}, {j})",
            ha="center",
            va="top",
            fontsize=9,
            color=COLOURS[k][1],
        )
    in_right = in_left + DEPTH * (W + gap) - gap

    # Arrow.
    out_left = in_right + 2.2
    arrow = FancyArrowPatch(
        (in_right + 0.35, in_bottom + H / 2),
        (out_left - 0.45, in_bottom + H / 2),
        arrowstyle="-|>",
        mutation_scale=22,
        linewidth=2.0,
        color=GRID,
    )
    ax.add_patch(arrow)
    ax.text(
        (in_right + out_left) / 2 - 0.05,
        in_bottom + H / 2 + 0.3,
        "shuffle",
        ha="center",
        va="bottom",
        fontsize=9,
        color=MUTED,
    )

    # Output: C planes of (H*R) x (W*R).
    out_bottom = top - 4.0 - 0.0
    for c in range(C):
        x0 = out_left + c * (W * R + 0.8)
        ax.text(
            x0 + W * R / 2,
            out_bottom + H * R + 0.25,
            f"out {c}",
            ha="center",
            va="bottom",
            fontsize=10,
            color=TEXT,
            fontweight="bold",
        )
        for y in range(H * R):
            for x in range(W * R):
                source = int(out[c, y, x])
                cell(ax, x0 + x, out_bottom + (H * R - 1 - y), source // (H * W), source % (H * W))
        # Thin lines between the R x R blocks that come from one input pixel.
        for b in range(1, H):
            ax.plot([x0, x0 + W * R], [out_bottom + b * R] * 2, color=GRID, linewidth=1.3, alpha=0.8)
        for b in range(1, W):
            ax.plot([x0 + b * R] * 2, [out_bottom, out_bottom + H * R], color=GRID, linewidth=1.3, alpha=0.8)
        frame(ax, x0, out_bottom, W * R, H * R)


def draw(path: Path) -> None:
    """Draw both orders, one above the other, and save the PNG to ``path``."""
    fig, ax = plt.subplots(figsize=(14.0, 7.0), dpi=150)
    panel(ax, "CRD", top=9.6)
    panel(ax, "DCR", top=3.0)
    ax.text(
        0.0,
        -2.55,
        "Input: 8 channels of 2x2 pixels (a, b, c, d). pixel_shuffle with factor 2 makes 2 channels of "
        "4x4: each input pixel becomes a 2x2 block.\nUnder each input channel: the output channel it "
        "fills and its offset (i, j) inside every block. Same input, same shapes, different pixels.",
        fontsize=9.5,
        color=MUTED,
        va="top",
        linespacing=1.5,
    )
    ax.set_xlim(-0.3, 30.6)
    ax.set_ylim(-3.4, 11.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
    fig.savefig(path, dpi=150, metadata={"Software": None}, facecolor="white")
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
