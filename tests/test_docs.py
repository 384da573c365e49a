"""Every Python example in ``docs/**/*.md`` and ``README.md`` runs, so none can rot.

A fenced block is collected when its language is ``python`` or ``py`` (executed as a script) or
``pycon`` (run as a doctest: its printed output is checked). Each block is its own test, named
``file:line``, and runs in a fresh namespace in a temporary directory. An HTML comment on the line
right above a fence changes that:

``<!-- docs-test: continue -->``
    Run after the block before it on the same page, in its namespace (a story told in steps).
``<!-- docs-test: gpu -->``
    The example needs a GPU: it is collected when ``SUBPIXEL_BACKENDS`` names the GPU backend of
    each framework it imports (``cupy``, ``torch:gpu``, ``jax:gpu``), and not otherwise.

Any other ``docs-test`` comment is an error, so a typo cannot switch an example off. A block
that imports a framework is collected only when ``SUBPIXEL_BACKENDS`` requests that framework (all
of them by default; see tests/backends.py); a requested framework that is missing fails the run.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import DEPLOY_RUNTIMES, Backend, requested_backends, requested_frameworks

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<words>.*?)\s*-->\s*$")
LANGUAGES = {"python": "script", "py": "script", "pycon": "doctest"}
MARKERS = {"continue", "gpu"}

#: Top-level modules an example may import that SUBPIXEL_BACKENDS must request to run it (Keras runs on
#: the library KERAS_BACKEND names; conftest.py sets JAX). The deployment runtimes (docs/deploy.md's
#: recipes) run in ``nox -s deploy`` and ``deploy-slow``, which request them.
FRAMEWORKS = {
    "torch",
    "jax",
    "flax",
    "keras",
    "tensorflow",
    "dask",
    "array_api_strict",
    "cupy",
    *DEPLOY_RUNTIMES,
}

#: For examples marked ``gpu``: the GPU backend that must be requested to run them.
GPU_FRAMEWORKS = {
    "cupy": Backend.CUPY,
    "torch": Backend.TORCH_GPU,
    "jax": Backend.JAX_GPU,
    "flax": Backend.JAX_GPU,
}


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced example."""

    path: Path
    line: int  # 1-based line of the first code line
    kind: str  # "script" or "doctest"
    code: str
    markers: frozenset[str]

    @property
    def where(self) -> str:
        path = self.path.relative_to(ROOT).as_posix() if self.path.is_relative_to(ROOT) else self.path.name
        return f"{path}:{self.line}"


def markdown_files() -> list[Path]:
    files = sorted(p for p in DOCS.rglob("*.md") if "scripts" not in p.relative_to(DOCS).parts)
    readme = ROOT / "README.md"
    return [readme, *files] if readme.exists() else files


def parse(path: Path) -> list[Block]:
    """Return the Python blocks of one Markdown file, with the markers written above them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip().lstrip("{").lstrip(".")
        language = re.split(r"[\s{}]", info, maxsplit=1)[0].lower() if info else ""
        end = i + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence[0] * len(fence)) and not lines[end].strip().strip(fence[0])
        ):
            end += 1
        if end == len(lines):
            msg = f"{path}:{i + 1}: code fence {fence} is never closed"
            raise ValueError(msg)
        if language in LANGUAGES:
            body = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
                for line in lines[i + 1 : end]
            ]
            blocks.append(
                Block(path, i + 2, LANGUAGES[language], "\n".join(body) + "\n", _markers(path, lines, i))
            )
        i = end + 1
    return blocks


def _markers(path: Path, lines: list[str], fence_index: int) -> frozenset[str]:
    above = fence_index - 1
    if above < 0:
        return frozenset()
    found = MARKER.match(lines[above])
    if found is None:
        if "docs-test" in lines[above]:
            msg = f"{path}:{above + 1}: malformed docs-test marker {lines[above]!r}"
            raise ValueError(msg)
        return frozenset()
    words = frozenset(found["words"].replace(",", " ").split())
    unknown = words - MARKERS
    if unknown:
        msg = f"{path}:{above + 1}: unknown docs-test marker(s) {sorted(unknown)}; known: {sorted(MARKERS)}"
        raise ValueError(msg)
    return words


def chains() -> list[list[Block]]:
    """Each block with the blocks it continues, in page order."""
    result: list[list[Block]] = []
    for path in markdown_files():
        previous: list[Block] = []
        for block in parse(path):
            if "continue" in block.markers:
                if not previous:
                    msg = f"{block.where}: 'continue' on the first example of the page"
                    raise ValueError(msg)
                chain = [*previous, block]
            else:
                chain = [block]
            result.append(chain)
            previous = chain
    return result


CHAINS = chains()


def _gpu_backends_requested(chain: list[Block]) -> bool:
    """Whether the run requests the GPU backend of each framework a ``gpu`` chain imports (any one
    GPU backend when it imports none of them)."""
    requested = set(requested_backends())
    roots = set().union(*(imported_roots(block) for block in chain))
    wanted = {GPU_FRAMEWORKS[root] for root in roots if root in GPU_FRAMEWORKS}
    return wanted <= requested if wanted else any(b.on_gpu for b in requested)


def _chain_params() -> list[Any]:
    """The chains as test cases, each marked with the frameworks it imports (so it is collected only
    with them); a ``gpu`` chain is collected only when the run requests its GPU backends."""
    params = []
    for chain in CHAINS:
        roots = set().union(*(imported_roots(block) for block in chain)) & FRAMEWORKS
        if any("gpu" in block.markers for block in chain):
            if not _gpu_backends_requested(chain):
                continue
            roots -= {"cupy"}  # requested as the backend id "cupy" (a GPU backend)
        marks = [pytest.mark.needs(*sorted(roots))] if roots and "cupy" not in roots else []
        params.append(pytest.param(chain, id=chain[-1].where, marks=marks))
    return params


def source_lines(block: Block) -> str:
    """The Python source of a block (the ``>>>``/``...`` lines of a doctest)."""
    if block.kind == "script":
        return block.code
    examples = doctest.DocTestParser().get_examples(block.code)
    return "".join(example.source for example in examples)


def imported_roots(block: Block) -> set[str]:
    tree = ast.parse(source_lines(block), filename=block.where)
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.partition(".")[0])
    return roots


def blank_lines_in_output(code: str) -> str:
    """Mark the blank lines inside printed output as doctest's ``<BLANKLINE>``.

    Pages show output as the interpreter prints it (NumPy separates the planes of a 3-D array
    with an empty line); a blank line followed by more output, not by ``>>>``, is part of it.
    """
    lines = code.split("\n")
    for i in range(1, len(lines) - 1):
        following = lines[i + 1].strip()
        if not lines[i].strip() and following and not following.startswith(">>>"):
            lines[i] = "<BLANKLINE>"
    return "\n".join(lines)


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    filename = str(block.path)
    if block.kind == "script":
        # Pad with newlines so that tracebacks give the line number in the Markdown file.
        code = compile("\n" * (block.line - 1) + block.code, filename, "exec")
        exec(code, namespace)
        return
    source = blank_lines_in_output(block.code)
    test = doctest.DocTestParser().get_doctest(source, namespace, block.where, filename, block.line - 1)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    if runner.failures:
        pytest.fail(f"doctest in {block.where} failed:\n" + "".join(report), pytrace=False)


@pytest.mark.parametrize("chain", _chain_params())
# torch.onnx's dynamo exporter warns from its own modules (a pytree API deprecation) while it runs.
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning")
def test_example_runs(chain: list[Block], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    where = chain[-1].where
    roots = set().union(*(imported_roots(block) for block in chain))
    if any("gpu" in block.markers for block in chain):
        assert _gpu_backends_requested(chain), f"{where} needs a GPU backend the run does not request"
    else:
        if "cupy" in roots:
            pytest.fail(f"{where} imports cupy: mark it <!-- docs-test: gpu -->", pytrace=False)
        missing = sorted(roots & FRAMEWORKS - requested_frameworks())
        assert not missing, f"{where} uses {missing}: its needs mark should have left it out"
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, Any] = {"__name__": "__docs_example__"}
    for block in chain:
        run_block(block, namespace)


def test_every_python_fence_is_collected() -> None:
    """A cross-check on the parser: count the opening fences with a Python language another way."""
    opening = re.compile(r"^\s*(`{3,}|~{3,})\s*\{?\.?(python|py|pycon)\b", re.IGNORECASE)
    for path in markdown_files():
        expected = sum(1 for line in path.read_text(encoding="utf-8").splitlines() if opening.match(line))
        assert len(parse(path)) == expected, path
    assert sum(len(parse(path)) for path in markdown_files()) >= 10


def test_parser_reads_markers_and_indented_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```python\na = 1\n```\n\n<!-- docs-test: continue -->\n```py\nb = a + 1\n```\n\n"
        '=== "Tab"\n\n    ```pycon\n    >>> 1 + 1\n    2\n    ```\n\n```text\nnot python\n```\n'
        "<!-- docs-test: gpu -->\n~~~python\nimport cupy\n~~~\n",
        encoding="utf-8",
    )
    blocks = parse(page)
    assert [(b.line, b.kind, b.markers) for b in blocks] == [
        (4, "script", frozenset()),
        (9, "script", frozenset({"continue"})),
        (15, "doctest", frozenset()),
        (24, "script", frozenset({"gpu"})),
    ]
    assert blocks[2].code == ">>> 1 + 1\n2\n"
    page.write_text("<!-- docs-test: skip -->\n```python\npass\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown docs-test marker"):
        parse(page)


def test_blank_lines_inside_output_are_output() -> None:
    code = ">>> f()\n[[0]\n\n [1]]\n\n>>> g()\n1\n"
    assert blank_lines_in_output(code) == ">>> f()\n[[0]\n<BLANKLINE>\n [1]]\n\n>>> g()\n1\n"


def test_failing_examples_fail(tmp_path: Path) -> None:
    page = tmp_path / "bad.md"
    page.write_text("```pycon\n>>> 1 + 1\n3\n```\n\n```python\nassert 1 == 2\n```\n", encoding="utf-8")
    doc_block, script_block = parse(page)
    with pytest.raises(pytest.fail.Exception, match="Expected:\n    3\nGot:\n    2"):
        run_block(doc_block, {})
    with pytest.raises(AssertionError) as info:
        run_block(script_block, {})
    assert info.traceback[-1].lineno + 1 == 7  # the Markdown line of the assert


#: Matplotlib version (major.minor) that drew the committed pictures: others place text differently (older
#: Pythons get older Matplotlibs).
PICTURES_DRAWN_WITH = "3.11."


@pytest.mark.parametrize("script", sorted((DOCS / "scripts").glob("draw_*.py")), ids=lambda p: p.name)
def test_committed_picture_is_what_its_script_draws(script: Path, tmp_path: Path) -> None:
    """``docs/scripts/draw_NAME.py`` draws ``docs/images/NAME.png`` from the library's own output.

    The fresh drawing must match the committed picture: same size, and fewer than 0.5% of the
    pixels changed by more than a quarter of the range in some channel (anti-aliased text may
    move a little between Matplotlib versions; drawing one order's output in the other order's
    place changes 2.7% of the pixels of ``orders.png``). So a picture cannot go stale, and a
    change in what ``pixel_shuffle`` does shows up here. If Matplotlib itself draws differently,
    rerun the script and commit its picture.
    """
    import matplotlib
    from matplotlib import image

    if not matplotlib.__version__.startswith(PICTURES_DRAWN_WITH):
        pytest.skip(
            f"the pictures were drawn by Matplotlib {PICTURES_DRAWN_WITH}x, not {matplotlib.__version__}"
        )
    committed = DOCS / "images" / f"{script.stem.removeprefix('draw_')}.png"
    fresh = tmp_path / committed.name
    subprocess.run([sys.executable, str(script), str(fresh)], check=True, cwd=ROOT, timeout=120)
    expected, actual = image.imread(committed), image.imread(fresh)
    assert actual.shape == expected.shape, f"{committed.name} is stale: run {script.name} and commit it"
    changed = float((abs(actual - expected).max(axis=-1) > 0.25).mean())
    assert changed < 0.005, f"{changed:.2%} of {committed.name} differs: run {script.name} and commit it"


#: Public modules with user-facing classes, documented on the API page when they exist.
LAYER_MODULES = {
    "subpixel.torch": "torch.py",
    "subpixel.flax": "flax/__init__.py",
    "subpixel.flax.linen": "flax/linen.py",
    "subpixel.keras": "keras.py",
}


def test_api_reference_documents_every_export() -> None:
    """A name added to ``subpixel.__all__`` (or a new layer module) must appear in docs/api.md."""
    import subpixel

    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: (subpixel[\w.]*)\s*$", text, re.MULTILINE))
    exported = {f"subpixel.{name}" for name in subpixel.__all__ if name != "__version__"}
    source = ROOT / "src" / "subpixel"
    modules = {name for name, path in LAYER_MODULES.items() if (source / path).exists()}
    assert not (exported | modules) - documented, sorted((exported | modules) - documented)
