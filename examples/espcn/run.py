"""Train a small ESPCN with subpixel.torch and subpixel.flax; compare PSNR with bicubic upscaling.

Usage (from the repository root)::

    python examples/espcn/run.py                 # the run whose results are committed
    python examples/espcn/run.py --steps 3 --out /tmp/espcn   # a smoke run

Writes ``results.json`` and ``espcn.png`` (a side-by-side picture) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402


def evaluate(predict, images: list[np.ndarray], factor: int) -> list[float]:
    """PSNR of ``predict`` on each image (border of ``factor`` pixels left out)."""
    return [data.psnr(predict(data.low_resolution(image, factor)), image, factor) for image in images]


def picture(path: Path, image: np.ndarray, factor: int, predictions: dict[str, np.ndarray], box) -> None:
    """Save crops of: the input (nearest), bicubic, each network, and the original, with PSNR titles."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    low = data.low_resolution(image, factor)
    panels = {"input (nearest)": np.kron(low, np.ones((factor, factor), np.float32))}
    panels["bicubic"] = data.bicubic_upscale(low, factor)
    panels.update(predictions)
    panels["original"] = image
    y0, x0, size = box
    figure, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.8))
    for axis, (name, panel) in zip(axes, panels.items(), strict=True):
        title = name
        if name not in ("original", "input (nearest)"):
            title += f"\n{data.psnr(panel, image, factor):.2f} dB (whole image)"
        axis.imshow(np.clip(panel[y0 : y0 + size, x0 : x0 + size], 0, 1), cmap="gray", vmin=0, vmax=1)
        axis.set_title(title, fontsize=10)
        axis.axis("off")
    figure.suptitle(f"x{factor} super-resolution, held-out image (crop {size}x{size})")
    figure.tight_layout(rect=(0, 0, 1, 0.93))
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    """Train, evaluate, write ``results.json`` and ``espcn.png``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--train-images", type=int, default=64)
    parser.add_argument("--test-images", type=int, default=8)
    parser.add_argument("--frameworks", default="torch,flax")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    factor = args.factor

    train_images = [data.procedural_image(seed) for seed in range(args.train_images)]
    test_images = [data.procedural_image(100_000 + seed) for seed in range(args.test_images)]
    photo = data.photo(factor)
    results: dict[str, object] = {
        "factor": factor,
        "steps": args.steps,
        "batch": args.batch,
        "low_resolution_patch": 17,
        "train_images": args.train_images,
        "test_images": args.test_images,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "psnr_db": {},
        "training": {},
    }
    bicubic = lambda low: data.bicubic_upscale(low, factor)  # noqa: E731
    psnr: dict[str, dict[str, float]] = {}
    psnr["bicubic"] = {
        "procedural_mean": float(np.mean(evaluate(bicubic, test_images, factor))),
        "photo": evaluate(bicubic, [photo], factor)[0],
    }
    predictions: dict[str, np.ndarray] = {}
    for name in args.frameworks.split(","):
        if name == "torch":
            import torch

            torch.set_num_threads(1)  # measured faster than 2 on a busy 2-core machine
            import train_torch as trainer
        elif name == "flax":
            import train_flax as trainer  # type: ignore[no-redef]
        else:
            parser.error(f"unknown framework {name!r}")
        patches = data.Patches(train_images, factor, 17, seed=args.seed)
        start = time.perf_counter()
        predict, log = trainer.train(patches, factor, args.steps, args.batch, args.learning_rate, args.seed)
        log["wall_seconds"] = time.perf_counter() - start
        psnr[f"espcn_{name}"] = {
            "procedural_mean": float(np.mean(evaluate(predict, test_images, factor))),
            "photo": evaluate(predict, [photo], factor)[0],
        }
        results["training"][name] = log  # type: ignore[index]
        predictions[f"ESPCN ({name})"] = predict(data.low_resolution(photo, factor))
        print(name, log, psnr[f"espcn_{name}"], flush=True)
    results["psnr_db"] = psnr
    results["gain_over_bicubic_db"] = {
        key: {k: v - psnr["bicubic"][k] for k, v in value.items()}
        for key, value in psnr.items()
        if key != "bicubic"
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    picture(args.out / "espcn.png", photo, factor, predictions, box=(60, 150, 240))
    print(json.dumps(results["psnr_db"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
