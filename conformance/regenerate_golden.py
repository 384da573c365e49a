"""Rebuild the golden vectors (``src/subpixel/conformance/golden.json``) from live torch.

Run after a change to the case list or the input generator, or to record a new torch:

    python conformance/regenerate_golden.py          # rewrite the file
    python conformance/regenerate_golden.py --check  # exit 1 if the stored file differs

The file stores, for every case that torch defines (square 2-D factors) and every dtype, the
documented output shape and the SHA-256 of torch's output bytes; where torch returns another
shape (CPU ``pixel_unshuffle`` of a zero-size input) that shape is kept as ``torch_shape``.
Inputs are not stored: the deterministic generator rebuilds them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from subpixel.conformance import compute_golden

GOLDEN = Path(__file__).resolve().parents[1] / "src" / "subpixel" / "conformance" / "golden.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when the file is stale")
    parser.add_argument("--out", type=Path, default=GOLDEN, help=f"where to write (default: {GOLDEN})")
    args = parser.parse_args(argv)
    vectors = compute_golden()
    text = vectors.to_json()
    count = sum(len(entry["sha256"]) for entry in vectors.cases.values())
    torch_text = f"torch {vectors.torch_version}"
    if args.check:
        stored = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if stored != text:
            print(f"{args.out} differs from {torch_text}: run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.out} matches {torch_text} ({len(vectors.cases)} cases, {count} vectors)")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}: {len(vectors.cases)} cases, {count} vectors from torch {vectors.torch_version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
