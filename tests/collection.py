"""Which modules and tests a run collects, from the frameworks ``SUBPIXEL_BACKENDS`` requests.

Every test module declares what it needs beyond NumPy and the test tools, at its top::

    NEEDS = ("torch",)

and a single test can say the same with ``@pytest.mark.needs("jax")``. The declaration is read from
the source (the module is never imported to decide), together with what the module imports at its
top: a framework, a ``subpixel`` module that imports one (``subpixel.torch``, ``subpixel._fast.jax``,
the package ``__init__`` of ``subpixel.flax.linen``), or a ``tests`` helper that does. The same
reading decides the doctest-collected source modules, which declare nothing.

- A module or test that needs a framework the run does not request is not collected (the terminal
  summary lists the modules left out, with what they need).
- A test parametrized over the requested backends of some kind, of which the run requests none, is
  not collected either (pytest would otherwise skip it for its empty parameter set).
- A framework the run requests that cannot be found fails the run at once, before any test; a test
  that skips itself for want of one (``pytest.importorskip``) fails.

The root ``conftest.py`` installs these hooks for the whole tree (``tests/`` and ``src/subpixel``).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest

from tests.backends import FRAMEWORKS, requested_frameworks, required_modules

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"

#: Name of the module-level declaration.
DECLARATION = "NEEDS"

#: How pytest's reason for the item of an empty parametrization begins (pytest 8 and 9).
EMPTY_PARAMETER_SET = "got empty parameter set"

_left_out: dict[str, frozenset[str]] = {}


def _module_file(name: str) -> Path | None:
    """The file of a ``subpixel`` or ``tests`` module of this checkout, or None."""
    root = name.partition(".")[0]
    if root == "subpixel":
        base = SOURCE
    elif root == "tests":
        base = ROOT
    else:
        return None
    path = base.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def _module_name(path: Path) -> str | None:
    """The dotted name of a file under ``src/`` or ``tests/``."""
    for base in (SOURCE, ROOT):
        if path.is_relative_to(base):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts and parts[0] in ("subpixel", "tests"):
                if parts[-1] == "__init__":
                    parts.pop()
                return ".".join(parts)
    return None


def declared(tree: ast.Module) -> frozenset[str] | None:
    """The module's ``NEEDS`` tuple, or None when it declares nothing."""
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id == DECLARATION:
            names = ast.literal_eval(value) if value is not None else ()
            unknown = set(names) - FRAMEWORKS
            if unknown:
                msg = f"{DECLARATION} names {sorted(unknown)}; known frameworks: {sorted(FRAMEWORKS)}"
                raise ValueError(msg)
            return frozenset(names)
    return None


def top_level_imports(tree: ast.Module, name: str | None) -> set[str]:
    """Dotted names the module body imports when it runs (not inside functions, ``try`` or ``if``).

    A module-level ``pytest.importorskip("x")`` counts as importing ``x``.
    """
    found: set[str] = set()
    package = (name or "").rpartition(".")[0]
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        else:
            value = getattr(node, "value", None)
            if (
                isinstance(value, ast.Call)
                and ast.unparse(value.func) == "pytest.importorskip"
                and value.args
                and isinstance(value.args[0], ast.Constant)
            ):
                found.add(str(value.args[0].value))
    return found


@functools.cache
def _direct(path: Path) -> tuple[frozenset[str], tuple[Path, ...]]:
    """What the module at ``path`` declares or imports at its top: frameworks, and files of this
    checkout (``subpixel`` and ``tests`` modules, with the packages above them)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError):
        return frozenset(), ()  # let pytest report it
    name = _module_name(path)
    found = set(declared(tree) or ())
    imports = top_level_imports(tree, name)
    if name:  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        parts = name.split(".")
        imports.update(".".join(parts[:i]) for i in range(1, len(parts)))
    files = []
    for imported in imports:
        root = imported.partition(".")[0]
        if root in FRAMEWORKS:
            found.add(root)
        other = _module_file(imported)
        if other is not None and other != path:
            files.append(other)
    return frozenset(found), tuple(sorted(set(files)))


@functools.cache
def needs(path: Path) -> frozenset[str]:
    """Every framework the module at ``path`` needs to import (declared or imported at its top,
    by it or by any module of this checkout it imports, followed through import cycles)."""
    found: set[str] = set()
    seen = {path}
    stack = [path]
    while stack:
        frameworks, files = _direct(stack.pop())
        found |= frameworks
        for other in files:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return frozenset(found)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out the modules that need a framework the run does not request."""
    if collection_path.suffix != ".py" or collection_path.name == "conftest.py":
        return None
    missing = needs(collection_path) - requested_frameworks()
    if missing:
        shown = collection_path.relative_to(ROOT) if collection_path.is_relative_to(ROOT) else collection_path
        _left_out[str(shown)] = missing
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Fail at once when a requested framework is not installed; register the ``needs`` marker."""
    config.addinivalue_line(
        "markers", "needs(*frameworks): collect the test only when the run requests these frameworks"
    )
    missing = []
    for module, why in required_modules().items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(f"{module} (requested as {why})" if why != module else module)
    if missing:
        msg = (
            f"SUBPIXEL_BACKENDS requests frameworks that are not installed: {', '.join(missing)}. "
            "Install them, or request fewer."
        )
        raise pytest.UsageError(msg)


def _empty_parametrization(item: pytest.Item) -> bool:
    """Whether pytest made ``item`` for a parametrization that has no value (and so would skip it)."""
    reasons = (str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skip"))
    return any(reason.startswith(EMPTY_PARAMETER_SET) for reason in reasons)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests marked ``needs`` a framework the run does not request.

    A test parametrized over the requested backends of some kind (``[b for b in
    requested_backends() if ...]``) that the run requests none of is deselected too, not skipped.
    """
    requested = requested_frameworks()
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        wanted = {name for mark in item.iter_markers("needs") for name in mark.args}
        unknown = wanted - FRAMEWORKS
        if unknown:
            msg = f"{item.nodeid}: needs names {sorted(unknown)}; known frameworks: {sorted(FRAMEWORKS)}"
            raise pytest.UsageError(msg)
        (dropped if wanted - requested or _empty_parametrization(item) else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test cannot skip itself for want of a framework the run requests: that is a failure."""
    report = yield
    if report.skipped and call.excinfo is not None:
        found = re.match(r"could not import '([\w.]+)'", str(call.excinfo.value))
        if found and found[1].partition(".")[0] in requested_frameworks():
            report.outcome = "failed"
            report.longrepr = f"{item.nodeid}: SUBPIXEL_BACKENDS requests it, but {call.excinfo.value}"
    return report


def pytest_report_header(config: pytest.Config) -> str:
    """Say which frameworks the run requests."""
    return "frameworks requested (SUBPIXEL_BACKENDS): " + ", ".join(sorted(requested_frameworks()))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """List the modules that were not collected, and why (in a run of the whole suite)."""
    if _left_out and config.args_source is pytest.Config.ArgsSource.TESTPATHS:
        terminalreporter.write_sep("-", "not collected: needs a framework SUBPIXEL_BACKENDS does not request")
        for path, missing in sorted(_left_out.items()):
            terminalreporter.write_line(f"{path}: {', '.join(sorted(missing))}")
