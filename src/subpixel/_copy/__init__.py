"""The copy engine: moves the bytes of a shuffle for the NumPy and the torch CPU fast paths.

A shuffle on the CPU is a copy of a permuted view into a fresh array. The engine makes that copy
fast without interpreting a byte, so every dtype of an element size copies bit for bit:

* :mod:`subpixel._copy._blocked` (NumPy): ``shuffle_large(x, plan, out, backend=...)`` applies
  a plan to an array, into a new array or into ``out``; ``copy_into(dst, src)`` copies one view.
  It simplifies the views, picks a route from their shapes and strides alone (never by timing)
  and splits large copies over the thread pool of :mod:`subpixel._threads`.
* :mod:`subpixel._copy._compiled`: the compiled join and split kernels (subpixel-kernels, the
  ``speed`` extra), loaded with the first copy that uses one.

The NumPy path calls the engine with ``backend="numpy"``, so it records its routes as
``numpy:<route>``; the torch path passes NumPy views of a tensor's bytes and records its own
``torch:kernel`` instead. The routes are declared in :data:`subpixel._limits.ENGINE_ROUTES`, the
sizes it distinguishes in :mod:`subpixel._limits`.

* :mod:`subpixel._copy._unreachable`: which of the engine's routes this process cannot take.

Importing this package imports no array library and no extension (:func:`unreachable_routes` needs
neither); NumPy loads with :mod:`subpixel._copy._blocked`.
"""

from __future__ import annotations

from subpixel._copy._unreachable import unreachable_routes

__all__ = ["unreachable_routes"]
