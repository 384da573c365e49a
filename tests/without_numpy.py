"""The start of a subprocess script that runs as if NumPy were not installed, with torch imported.

A ``sys.meta_path`` finder refuses every ``numpy`` import (``ModuleNotFoundError``, as for a
package that is not installed); torch is then imported with its warning that it cannot
initialise NumPy silenced. Tests append the body they run: ``PROLOGUE + textwrap.dedent(body)``.
"""

from __future__ import annotations

import textwrap

__all__ = ["PROLOGUE"]

PROLOGUE = textwrap.dedent(
    """
    import importlib.abc, sys, warnings

    class NoNumpy(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "numpy" or name.startswith("numpy."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoNumpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that it cannot initialise NumPy
        import torch
    """
)
