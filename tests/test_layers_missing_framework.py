"""Each layer module without its framework: an error that names the extra to install.

A subprocess refuses the framework's import (a ``sys.meta_path`` finder raising
``ModuleNotFoundError``, as for a package that is not installed), imports the layer module and
reports the error it raised. The frameworks need not be installed for this test.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import importlib, importlib.abc, json, sys

    statement, blocked = sys.argv[1], sys.argv[2].split(",")

    class Missing(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Missing())
    try:
        exec(statement)
    except ImportError as error:
        cause = error.__cause__
        print(json.dumps({
            "kind": type(error).__name__,
            "message": str(error),
            "name": error.name,
            "cause": None if cause is None else [type(cause).__name__, getattr(cause, "name", None)],
        }))
    else:
        print(json.dumps(None))
    """
)

#: What the Flax layers add on Python 3.10, where the flax extra installs nothing.
PYTHON_310_ADVICE = " on Python 3.11 or newer (JAX 0.10 needs it; this is Python 3.10)"

#: (statement, modules refused, the module that says so, the module it names, the extra).
CASES = [
    ("import subpixel.torch", "torch", "subpixel.torch", "torch", "torch"),
    ("from subpixel.torch import PixelShuffle", "torch", "subpixel.torch", "torch", "torch"),
    ("import subpixel.flax", "flax", "subpixel.flax", "flax", "flax"),
    ("import subpixel.flax.linen", "flax", "subpixel.flax", "flax", "flax"),
    ("from subpixel.flax.nnx import SubPixelConv", "flax", "subpixel.flax", "flax", "flax"),
    ("import subpixel.flax", "jax,jaxlib", "subpixel.flax", "jax", "flax"),
    ("import subpixel.keras", "keras", "subpixel.keras", "keras", "keras"),
]


def run(statement: str, blocked: str) -> dict[str, object] | None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, statement, blocked],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, object] | None = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize(
    ("statement", "blocked", "module", "missing", "extra"), CASES, ids=[c[0] for c in CASES]
)
def test_a_missing_framework_names_the_extra(
    statement: str, blocked: str, module: str, missing: str, extra: str
) -> None:
    if module == "subpixel.flax" and importlib.util.find_spec("flax") is None:
        missing = "flax"  # refused or not, Flax itself is the first thing missing
    report = run(statement, blocked)
    assert report is not None, f"{statement!r} worked with {blocked} refused"
    assert report["kind"] == "ModuleNotFoundError"  # an ImportError, as before, now with advice
    advice = f"pip install 'subpixel[{extra}]'"
    if extra == "flax" and sys.version_info < (3, 11):
        advice += PYTHON_310_ADVICE
    assert report["message"] == (
        f"{module} needs {missing}, which is not installed (No module named {missing!r}): {advice}"
    )
    assert report["name"] == missing
    assert report["cause"] == ["ModuleNotFoundError", missing]  # chained from the original error


def test_flax_on_python_310_says_which_python_the_extra_needs() -> None:
    # The flax and jax extras install nothing on Python 3.10 (JAX 0.10 needs 3.11): the error says so.
    report = run("sys.version_info = (3, 10, 13, 'final', 0)\nimport subpixel.flax", "flax")
    assert report is not None
    assert str(report["message"]).endswith("pip install 'subpixel[flax]'" + PYTHON_310_ADVICE)
