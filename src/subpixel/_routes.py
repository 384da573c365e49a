"""Which route each shuffle took: counted only while a listener is open.

Every fast path calls :func:`record` with a route name such as ``"numpy:blocked"`` at the
point where the route is decided. Recording costs one attribute test while nobody listens
(the tiny-call path stays as fast as before); the conformance matrix opens a listener around
each case with :func:`counting` and reads back what actually ran. Records from every thread
(a copy pool, Dask's scheduler threads) reach every open listener.

Route names are ``"<backend>:<route>"``. Each fast-path module lists the routes it can take
in a ``ROUTES`` mapping (name -> one-line description); a module with routes that not every
machine can take says which of them this one cannot reach with
``unreachable_routes() -> dict[str, str]`` (name -> reason).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["counting", "listening", "record"]

#: True while at least one listener is open; fast paths test it before calling :func:`record`.
listening = False

_lock = threading.Lock()
_listeners: list[collections.Counter[str]] = []


def record(route: str) -> None:
    """Count one call of ``route`` in every open listener (a no-op when none is open)."""
    if not listening:
        return
    with _lock:
        for counter in _listeners:
            counter[route] += 1


@contextmanager
def counting() -> Iterator[collections.Counter[str]]:
    """Open a listener; the yielded counter holds the routes taken until the block ends."""
    global listening
    counter: collections.Counter[str] = collections.Counter()
    with _lock:
        _listeners.append(counter)
        listening = True
    try:
        yield counter
    finally:
        with _lock:
            # By identity: two listeners with equal counts compare equal.
            _listeners[:] = [other for other in _listeners if other is not counter]
            listening = bool(_listeners)
