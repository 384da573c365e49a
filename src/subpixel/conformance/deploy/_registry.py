"""The deployment paths, discovered from the runtime modules of this package.

Every module of :mod:`subpixel.conformance.deploy` whose name is not one of the matrix's own
(:data:`ENGINE_MODULES`) is a runtime module: it exports ``PATHS``, a tuple of
:class:`~subpixel.conformance.deploy._path.DeployPath`. The modules are imported when the
paths are first asked for, never when this package is imported; importing a runtime module
imports no runtime (each imports its runtime inside ``convert`` and ``run``). A helper module
that several runtime modules share exports ``PATHS = ()``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from pathlib import Path

from subpixel.conformance.deploy._path import DeployPath

__all__ = ["ENGINE_MODULES", "installed", "missing", "paths", "runtime_modules"]

#: The modules of the matrix itself: every other module of the package declares paths.
ENGINE_MODULES = frozenset(
    {"_path", "_registry", "_models", "_engine", "_report", "_worker", "_torch_onnx", "_artefact", "cli"}
)


def runtime_modules() -> list[str]:
    """Return the names of the runtime modules (``subpixel.conformance.deploy._onnxruntime``, ...), sorted."""
    folder = Path(__file__).resolve().parent
    return sorted(
        f"{__package__}.{info.name}"
        for info in pkgutil.iter_modules([str(folder)])
        if info.name not in ENGINE_MODULES and info.name.startswith("_")
    )


@functools.cache
def paths() -> dict[str, DeployPath]:
    """Every path by name: the fast ones first, then the others, each in module order.

    Raises
    ------
    TypeError
        If a runtime module exports no ``PATHS`` tuple of ``DeployPath``.
    ValueError
        If two paths share a name.
    """
    found: list[DeployPath] = []
    for name in runtime_modules():
        module = importlib.import_module(name)
        declared = getattr(module, "PATHS", None)
        if not isinstance(declared, tuple) or not all(isinstance(p, DeployPath) for p in declared):
            msg = f"deployment runtime module {name} must export PATHS, a tuple of DeployPath"
            raise TypeError(msg)
        found.extend(declared)
    by_name: dict[str, DeployPath] = {}
    for path in sorted(found, key=lambda p: not p.fast):
        if path.name in by_name:
            msg = f"two deployment paths are named {path.name!r}"
            raise ValueError(msg)
        by_name[path.name] = path
    return by_name


def missing(path: DeployPath) -> list[str]:
    """Return the modules ``path`` requires that are not installed (found without importing them)."""
    return [module for module in path.requires if not installed(module)]


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here, without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
