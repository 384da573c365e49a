"""Which of the copy engine's routes this process cannot take, and why (no array library needed)."""

from __future__ import annotations

from subpixel import _threads
from subpixel._copy import _compiled
from subpixel._limits import LANE_BYTES

__all__ = ["unreachable_routes"]


def unreachable_routes(backend: str) -> dict[str, str]:
    """Return the engine's routes that this process cannot take now, each with the reason.

    Parameters
    ----------
    backend : str
        The prefix the caller records the engine's routes under (``"numpy"``).

    Returns
    -------
    dict of str to str
        Route name to reason: the compiled routes when subpixel-kernels is missing or broken, else
        the lanes kernels (the compiled kernels or the slice copies take their copies); the lanes
        kernels on a big-endian machine; the threaded route when
        :func:`subpixel.get_num_threads` is 1.
    """
    missing: dict[str, str] = {}
    reason = _compiled.reason_unavailable()
    if reason is not None:
        for route in ("compiled-join", "compiled-split"):
            missing[f"{backend}:{route}"] = f"not reachable here: {reason}"
    else:
        why = "not reachable here: subpixel-kernels is installed (its kernels or the slice copies take these)"
        for route in ("lanes-split", "lanes-join"):
            missing[f"{backend}:{route}"] = why
    if not LANE_BYTES:
        for route in ("lanes-split", "lanes-join"):
            missing[f"{backend}:{route}"] = "the lanes kernels need a little-endian machine"
    if _threads.get_num_threads() == 1:
        missing[f"{backend}:threaded"] = "one copy thread allowed (subpixel.get_num_threads() == 1)"
    return missing
