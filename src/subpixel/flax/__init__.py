"""Flax layers: :mod:`subpixel.flax.nnx` (exported here too) and :mod:`subpixel.flax.linen`.

``from subpixel.flax import PixelShuffle`` gives the NNX layer. The NNX classes are loaded on
first use, so that ``import subpixel.flax.linen`` loads neither ``flax.nnx`` nor
:mod:`subpixel.flax.nnx`. Without Flax or JAX, importing any of them is a
``ModuleNotFoundError`` that says to ``pip install 'subpixel[flax]'``.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from subpixel._layers import missing_framework


def _import_flax() -> None:
    """Import JAX and Flax (which loads Linen, not NNX); where one is missing, say which extra installs it."""
    try:
        import flax  # noqa: F401
        import jax  # noqa: F401
    except ModuleNotFoundError as error:
        install = "pip install 'subpixel[flax]'"
        if sys.version_info < (3, 11):  # the extra's requirements carry python_version >= '3.11'
            running = ".".join(map(str, sys.version_info[:2]))
            install += f" on Python 3.11 or newer (JAX 0.10 needs it; this is Python {running})"
        raise missing_framework(error, __name__, install) from error


_import_flax()

from subpixel.flax._shared import icnr_init  # noqa: E402

if TYPE_CHECKING:
    from subpixel.flax.nnx import PixelShuffle, PixelUnshuffle, SubPixelConv

__all__ = ["PixelShuffle", "PixelUnshuffle", "SubPixelConv", "icnr_init"]

_NNX = frozenset({"PixelShuffle", "PixelUnshuffle", "SubPixelConv"})


def __getattr__(name: str) -> Any:
    if name in _NNX:
        return getattr(importlib.import_module("subpixel.flax.nnx"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_NNX})
