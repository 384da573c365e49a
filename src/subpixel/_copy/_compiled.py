"""Compiled interleave kernels for the copy engine, from ``subpixel-kernels`` when it is installed.

Two copies make up almost every shuffle once the copy engine has merged and sorted the axes
(see :mod:`subpixel._copy._blocked`):

* **join** (shuffles, channels-last unshuffles): each destination row holds ``width`` groups of
  ``L`` adjacent elements; lane ``k`` of the groups is one contiguous source row.
  ``dst[w * L + k] = src_k[w]``.
* **split** (unshuffles, channels-last shuffles): the reverse; each contiguous source row of
  ``width * L`` elements is dealt out to ``L`` contiguous destination rows.
  ``dst_k[w] = src[w * L + k]``.

The lanes are the innermost factor's offsets, ``lane`` elements apart; in channels-last copies
they are the offsets along the last two spatial axes, in runs ``lane`` apart whose starts are
``outer`` apart (calling convention 2).

NumPy's loops copy these one element at a time (its inner loop runs along an axis of length
``L``); a compiled loop whose lane count ``L`` is a compile-time constant lets the C compiler
turn the groups into vector shuffles. The ``subpixel-kernels`` distribution (the ``speed``
extra, a small C extension) has one kernel per direction, lane count (:data:`LANES`) and
element size (as an unsigned integer of 1, 2, 4 or 8 bytes, so every dtype of that size copies
bit for bit). Each call checks that its walk stays inside both buffers.

The kernels never start threads of their own: they release the GIL, and the copy engine splits
their rows over its own pool (:mod:`subpixel._threads`), so :func:`subpixel.set_num_threads`,
the main-thread-only rule and the fork handling apply unchanged.

Importing this module imports neither NumPy nor the extension: it loads with the first copy
that uses a kernel.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections.abc import Callable

from subpixel._limits import COMPILED_ITEM_SIZES, COMPILED_LANES

__all__ = ["AVAILABLE", "LANES", "kernel", "reason_unavailable"]

#: Lane counts (the innermost factor) with a kernel of their own.
LANES = COMPILED_LANES

#: Element sizes (bytes) the kernels move, as unsigned integers of that size.
ITEM_SIZES = COMPILED_ITEM_SIZES


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a broken entry
        return False


#: The calling convention (geometry layout and argument order) this engine speaks.
ABI = 2

#: Whether subpixel-kernels is installed (decided once, without importing it).
AVAILABLE = _installed("subpixel_kernels")

_lock = threading.Lock()
_kernels: dict[tuple[str, int], Callable[..., None]] = {}
_broken: str | None = None


def reason_unavailable() -> str | None:
    """Return why the compiled kernels cannot run in this process, or None when they can."""
    if not AVAILABLE:
        return "subpixel-kernels is not installed (pip install 'subpixel[speed]')"
    return _broken


def _load(direction: str, lanes: int) -> Callable[..., None]:
    """Import the extension and return its kernel for one direction and lane count.

    Raises ImportError when the installed extension speaks another calling convention or lacks
    a lane count or element size this engine sends it.
    """
    module = importlib.import_module("subpixel_kernels")
    covers = set(LANES) <= set(module.LANES) and set(ITEM_SIZES) <= set(module.ITEM_SIZES)
    if module.ABI != ABI or not covers:
        version = getattr(module, "__version__", "?")
        msg = f"subpixel-kernels {version} has calling convention {module.ABI} (lanes {module.LANES}); "
        msg += f"this subpixel needs {ABI} (lanes {LANES})"
        raise ImportError(msg)
    found: Callable[..., None] = getattr(module, f"{direction}_{lanes}")
    return found


def kernel(direction: str, lanes: int) -> Callable[..., None] | None:
    """Return the compiled kernel for ``direction`` (``"join"``/``"split"``) and ``lanes``, or None.

    None when subpixel-kernels is not installed, when ``lanes`` has no kernel, or when the
    extension failed to load (the reason is then kept for :func:`reason_unavailable`, and the
    NumPy engine copies).
    """
    global _broken
    if not AVAILABLE or _broken is not None or lanes not in LANES:
        return None
    key = (direction, lanes)
    found = _kernels.get(key)
    if found is not None:
        return found
    with _lock:
        found = _kernels.get(key)
        if found is None:
            try:
                found = _kernels[key] = _load(direction, lanes)
            except Exception as error:  # a broken install must not break copies
                _broken = f"subpixel-kernels failed to load: {type(error).__name__}: {error}"
                return None
    return found
