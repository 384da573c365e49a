"""The table and the plot of a named case set (``bench --set users``/``cubes``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from subpixel._cli import load_text

__all__ = ["HEADER", "plot", "table"]

#: What every ratio means, printed above the table.
HEADER = (
    "Every ratio is reference time / subpixel time: higher is better, 1.00 is as fast as the "
    "reference. Cells: median [min-max] over the runs, each run the median of paired ratios. "
    "copy: np.copy of the same bytes into a fresh array; copyto: np.copyto into a buffer written "
    "before timing; torch op: PyTorch's pixel_shuffle/pixel_unshuffle on the same bytes."
)

_SHORT = {"subpixel numpy": "numpy", "subpixel torch": "torch"}


def _cell(stats: dict[str, float] | None) -> str:
    if stats is None:
        return "-"
    return f"{stats['median']:.2f} [{stats['min']:.2f}-{stats['max']:.2f}]"


def _time(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} us" if seconds < 1e-3 else f"{seconds * 1e3:.1f} ms"


def table(summary: dict[str, Any], runs: int) -> str:
    """Return the Markdown table of one set: per case, the ratios of each path to each reference."""
    rows = summary["rows"]
    paths = [p for p in _SHORT if any(p in row["ratios"] for row in rows)]
    keys = ["copy", "copyto", "torch op"]
    columns = [f"{_SHORT[p]} vs {k}" for p in paths for k in keys]
    head = ["case", "op", "input shape", "dtype", "r", "layout", "MiB", "np.copy", *columns]
    lines = [
        f"{HEADER} {runs} run(s); load average at each run's start, then at the end: "
        + "; ".join(load_text(load) for load in summary["loads"]),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in rows:
        cells = [
            row["label"],
            row["op"],
            "x".join(map(str, row["shape"])),
            row["dtype"],
            str(row["factor"]),
            row["layout"],
            f"{row['bytes'] / 2**20:.0f}",
            _time(row["copy_seconds"]["median"]),
        ]
        cells += [_cell(row["ratios"].get(p, {}).get(k)) for p in paths for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    for label, field in (("geometric mean", "geomean"), ("lowest", "lowest")):
        cells = [f"**{label}**", "", "", "", "", "", "", ""]
        cells += [_cell(summary["means"].get(p, {}).get(k, {}).get(field)) for p in paths for k in keys]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(path: Path, summary: dict[str, Any], title: str) -> None:
    """Bars of the median copy ratio per case and path, whiskers from the lowest to the highest run.

    Two panels: against ``np.copy`` of the same bytes and against PyTorch's op (log scale).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["rows"]
    paths = [p for p in _SHORT if any(p in row["ratios"] for row in rows)]
    fig, axes = plt.subplots(2, 1, figsize=(max(8.0, 0.9 * len(rows) + 3), 8), squeeze=False)
    width = 0.8 / max(1, len(paths))
    labels = [f"{row['label']}\n{row['dtype']} r={row['factor']}" for row in rows]
    for ax, key, ylabel in (
        (axes[0, 0], "copy", "np.copy time / time"),
        (axes[1, 0], "torch op", "torch op time / time"),
    ):
        for i, name in enumerate(paths):
            stats = [row["ratios"].get(name, {}).get(key) for row in rows]
            medians = [s["median"] if s else 0.0 for s in stats]
            low = [s["median"] - s["min"] if s else 0.0 for s in stats]
            high = [s["max"] - s["median"] if s else 0.0 for s in stats]
            xs = [k + (i - (len(paths) - 1) / 2) * width for k in range(len(rows))]
            ax.bar(xs, medians, width, yerr=[low, high], label=name, capsize=2)
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
        if key == "torch op":
            ax.set_yscale("log")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=7, rotation=35, ha="right", rotation_mode="anchor")
        ax.set_ylabel(f"{ylabel} (higher is better)", fontsize=8)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
