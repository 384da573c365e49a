"""Importing subpixel (and calling it on NumPy arrays) loads no array framework."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ["torch", "jax", "jaxlib", "cupy", "dask", "flax", "keras", "tensorflow", "numba"]

PROGRAM = """
import sys
import subpixel
{extra}
loaded = sorted(name for name in {frameworks!r} if name in sys.modules)
print(",".join(loaded))
"""


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "import subpixel.conformance, subpixel.benchmark",
        "import numpy as np; subpixel.pixel_unshuffle(subpixel.pixel_shuffle(np.zeros((1, 4, 2, 2)), 2), 2)",
        "subpixel.shuffle_plan((1, 4, 2, 2), 2)",
    ],
    ids=["import", "subpackages", "numpy-call", "plan"],
)
def test_no_framework_is_imported(extra: str) -> None:
    program = PROGRAM.format(extra=extra, frameworks=FRAMEWORKS)
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"importing subpixel loaded {result.stdout.strip()}"


def test_the_check_can_fail() -> None:
    program = PROGRAM.format(extra="import json", frameworks=["json"])
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "json"
