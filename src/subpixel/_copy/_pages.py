"""Ask Linux for transparent huge pages on a fresh, large result buffer.

NumPy does this for its own large arrays (``madvise(MADV_HUGEPAGE)``); PyTorch's CPU allocator
does not, and on a machine whose transparent-huge-page mode is ``madvise`` the first write to
each 4 KiB page of a new tensor then costs a page fault. The advice is given from
:data:`MIN_BYTES` up to, not including, :data:`MAX_BYTES`. Measured here (torch unshuffle of a
float32 tensor into a fresh result, medians of 6 to 9 interleaved calls, load average 11):

* 64 MiB: 0.054 s advised against 0.137 s without;
* 256 MiB: 0.57 s against 0.55 s, the advised calls bimodal (0.17 to 4.0 s);
* 1.2 GB: 5.2 s (3.0 to 7.3 s) against 2.6 s (2.2 to 2.7 s), and PyTorch's op 4.9 s.

With the kernel's ``defrag`` setting at ``madvise``, a fault in an advised region compacts
memory when no free huge page is left, and a large result needs more of them than a busy
machine has free: the stalls grow with the size, which made the largest unshuffles bimodal.
The ceiling was first 256 MiB, which left exactly-256 MiB results unadvised where NumPy advises
its own; a float32 shuffle of ``(1, 64, 1024, 1024)`` by 2 (five processes, medians of 7 to 9
paired calls, load average 3.6 to 3.8) then ran at 0.48 to 0.64 of ``np.copy`` on the torch
path against 0.89 to 0.93 on the NumPy path, and advised at 0.91 to 0.98 in four processes of
five (0.24 in the fifth, where the NumPy path fell to 0.70 too): the ceiling is now 512 MiB.
Elsewhere (other systems, or when the call fails) this does nothing; the advice never changes
the bytes.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable

from subpixel._limits import HUGE_PAGES_MAX_BYTES, HUGE_PAGES_MIN_BYTES

__all__ = ["MAX_BYTES", "MIN_BYTES", "advise_huge_pages"]

#: Smallest buffer worth the system call (NumPy uses the same threshold).
MIN_BYTES = HUGE_PAGES_MIN_BYTES
#: Buffers of this size and more get no advice: finding that many huge pages stalls.
MAX_BYTES = HUGE_PAGES_MAX_BYTES
_HUGE = 2 * 1024 * 1024


def _load() -> Callable[[int, int, int], int] | None:
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if not sys.platform.startswith("linux") or advice is None:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.madvise
    except (OSError, AttributeError):  # pragma: no cover - no libc symbol table
        return None
    function.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    function.restype = ctypes.c_int
    madvise: Callable[[int, int, int], int] = function
    return madvise


_madvise = _load()
_ADVICE = getattr(mmap, "MADV_HUGEPAGE", 0)


def advise_huge_pages(address: int, nbytes: int) -> bool:
    """Advise huge pages for the 2 MiB-aligned part of ``[address, address + nbytes)``.

    Returns whether the advice was given (False below :data:`MIN_BYTES`, from
    :data:`MAX_BYTES`, or where unsupported).
    """
    if _madvise is None or not MIN_BYTES <= nbytes < MAX_BYTES:
        return False
    start = -(-address // _HUGE) * _HUGE
    stop = (address + nbytes) // _HUGE * _HUGE
    if stop <= start:
        return False
    return _madvise(start, stop - start, _ADVICE) == 0
