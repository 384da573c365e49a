"""Read commands and examples out of README.md, so that CI runs exactly what the README says.

``python3 .ci/readme.py command N``     the Nth bash block of "Set up and run" (there must be two)
``python3 .ci/readme.py setup N``       that block without its last ``&&`` step (the set-up; may be empty)
``python3 .ci/readme.py example FW``    the example under "Examples" that imports FW and no other framework
"""

from __future__ import annotations

import ast
import re
import shlex
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FRAMEWORKS = {"numpy", "torch", "jax", "flax", "keras", "tensorflow", "dask", "cupy", "array_api_strict"}


def section(title: str) -> str:
    """Return the text of the README section under ``## title``."""
    text = README.read_text(encoding="utf-8")
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def command(number: int) -> str:
    """Return the ``number``-th bash command of "Set up and run"."""
    blocks = re.findall(r"```bash\n(.*?)```", section("Set up and run"), re.S)
    if len(blocks) != 2:
        sys.exit(f"README's 'Set up and run' must hold exactly two bash commands, found {len(blocks)}")
    return str(blocks[number - 1]).strip()


def setup(number: int) -> str:
    """Return the ``number``-th command without its last ``&&`` step: the set-up before the run."""
    return " && ".join(command(number).split(" && ")[:-1])


def run(number: int) -> tuple[dict[str, str], list[str]]:
    """Return the last ``&&`` step of the ``number``-th command as (environment, arguments).

    The README runs ``.venv/bin/python``; the arguments name plain ``python`` instead, so that a
    session runs the same step in whichever environment it has (``nox -s conformance``, ``nox -s tests``).
    """
    words = shlex.split(command(number).split(" && ")[-1])
    env: dict[str, str] = {}
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if words and words[0].endswith("/bin/python"):
        words[0] = "python"
    return env, words


def frameworks(code: str) -> set[str]:
    """Return the frameworks an example imports (``subpixel.torch`` counts as torch)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.partition(".")[0])
            if node.module == "subpixel":  # from subpixel import torch
                roots.update(alias.name for alias in node.names)
    roots |= {name.split(".")[1] for name in re.findall(r"\bsubpixel\.\w+", code) if "." in name}
    return roots & FRAMEWORKS


def example(framework: str) -> str:
    """Return the first example that uses ``framework`` and no other framework."""
    blocks = re.findall(r"```python\n(.*?)```", section("Examples"), re.S)
    found = [block for block in blocks if frameworks(block) == {framework}]
    if not found:
        sys.exit(f"README's 'Examples' has no example that uses {framework} alone")
    return str(found[0])


if __name__ == "__main__":
    kind, value = sys.argv[1:3]
    if kind == "command":
        print(command(int(value)))
    elif kind == "setup":
        print(setup(int(value)))
    else:
        print(example(value))
