"""Tables, JSON and the plot of benchmark results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from subpixel.benchmark._cases import DTYPES, LIMITS

__all__ = ["geometric_mean", "plot", "table", "write_json"]

#: Columns of the printed table, in order: the candidates whose ratios matter.
SHOWN = ("subpixel numpy", "subpixel torch", "subpixel jax", "torch native", "einops numpy", "jax.jit naive")


def _fmt(stats: dict[str, float] | None) -> str:
    if stats is None:
        return "-"
    return f"{stats['median']:.2f} [{stats['min']:.2f}-{stats['max']:.2f}]"


def table(results: list[dict[str, Any]]) -> str:
    """Return a Markdown table: per case, time of the copy and the ratios of each shown candidate.

    Each cell is ``copy ratio / torch ratio`` as ``median [min-max]`` over the repeats:
    ``copy ratio`` = copy time / candidate time (1.0 is copy speed), ``torch ratio`` = torch
    native time / candidate time (above 1 is faster than PyTorch's op).
    """
    shown = [c for c in (*LIMITS, *SHOWN) if any(c in r["candidates"] for r in results)]
    head = ["op", "shape", "dtype", "r", "copy", *shown]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        copy = r["candidates"]["np.copy"]["seconds"]["median"]
        cells = [r["op"], r["name"], r["dtype"], str(r["factor"]), _time(copy)]
        for name in shown:
            c = r["candidates"].get(name)
            if c is None:
                cells.append("-")
                continue
            cell = _fmt(c["copy_ratio"])
            if c.get("torch_ratio") is not None and name != "torch native":
                cell += " / " + _fmt(c["torch_ratio"])
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    return f"{seconds * 1e3:.1f} ms"


def geometric_mean(values: list[float]) -> float:
    """Geometric mean of positive values (NaN for none)."""
    if not values:
        return math.nan
    return math.exp(sum(math.log(v) for v in values) / len(values))


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")


#: Highest copy ratio the plot's axes show; taller bars (copies that stalled) carry their value.
CLIP = 3.0


def plot(path: Path, results: list[dict[str, Any]], title: str) -> None:
    """Bar chart of median copy ratios (interquartile whiskers) per case and candidate.

    One panel per direction and dtype; the dashed line is ``np.copy`` (1.0), the red line over
    each case the best two-thread copy of the same bytes, the dotted line the 0.8 target.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [c for c in SHOWN if any(c in r["candidates"] for r in results)]
    dtypes = [*DTYPES, *sorted({r["dtype"] for r in results} - set(DTYPES))]
    groups = [(op, dtype) for dtype in dtypes for op in ("shuffle", "unshuffle")]
    groups = [g for g in groups if any((r["op"], r["dtype"]) == g for r in results)]
    fig, axes = plt.subplots(len(groups), 1, figsize=(13, 3.4 * len(groups)), squeeze=False)
    width = 0.8 / max(1, len(shown))
    for ax, (op, dtype) in zip(axes[:, 0], groups, strict=True):
        rows = [r for r in results if r["op"] == op and r["dtype"] == dtype]
        labels = [f"{r['name'].replace(' (>1 GB)', chr(10) + '(>1 GB)')}\nr={r['factor']}" for r in rows]
        for i, name in enumerate(shown):
            medians, low, high = [], [], []
            for r in rows:
                c = r["candidates"].get(name)
                s = c["copy_ratio"] if c else {"median": 0.0, "q1": 0.0, "q3": 0.0}
                medians.append(s["median"])
                low.append(max(0.0, s["median"] - s["q1"]))
                high.append(max(0.0, s["q3"] - s["median"]))
            xs = [k + (i - (len(shown) - 1) / 2) * width for k in range(len(rows))]
            ax.bar(xs, medians, width, yerr=[low, high], label=name, capsize=2)
            for x, median in zip(xs, medians, strict=True):
                if median > CLIP:  # a copy that stalled: label the bar instead of squashing the panel
                    ax.text(x, CLIP, f"{median:.1f}", fontsize=6, ha="center", va="bottom", rotation=90)
        for name in LIMITS:  # per case: a short line across the case's bars
            for k, r in enumerate(rows):
                c = r["candidates"].get(name)
                if c is not None:
                    level = min(c["copy_ratio"]["median"], CLIP)
                    label = name if k == 0 else None
                    ax.hlines(level, k - 0.45, k + 0.45, colors="tab:red", linewidth=1.2, label=label)
        ax.set_ylim(0, min(max(ax.get_ylim()[1], 1.1), CLIP))  # the np.copy line always shows
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--", label="np.copy")
        ax.axhline(0.8, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, fontsize=7, rotation=35, ha="right", rotation_mode="anchor")
        ax.set_ylabel("copy time / time")
        ax.set_title(f"{op}, {dtype}", fontsize=10)
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(title, fontsize=11, y=0.995)
    fig.legend(handles, names, fontsize=8, ncol=len(names), loc="upper center", bbox_to_anchor=(0.5, 0.965))
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
