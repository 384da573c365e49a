"""Route coverage: which routes of a fast path the cases of a row actually took.

Every route of every fast path is declared in :data:`subpixel._limits.ROUTES` (name ->
description), read here without importing a framework; each fast-path module says which of its
routes this machine cannot take in ``unreachable_routes()`` (name -> reason). The library
records the route of every call while :func:`subpixel._routes.counting` listens. A row of the
matrix names the route prefix it must cover (``Implementation.routes``): a full run fails when a
route with that prefix was reached by no case, unless it is not reachable here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from subpixel import _limits

__all__ = ["UNREACHABLE_MODULES", "RouteCoverage", "known_routes"]

#: Modules that say which routes of a prefix cannot run here, besides the prefix's fast path in
#: ``subpixel._dispatch.FAST_PATHS``. The Keras layers' routes depend on no machine: their
#: module is never imported here (importing ``subpixel.keras`` fixes Keras's backend in this
#: process, and the Keras rows run their layers in worker processes).
UNREACHABLE_MODULES: dict[str, tuple[str, ...]] = {"array_api": ("subpixel._dispatch",)}


def known_routes(prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return ``(routes, unreachable)`` for a prefix: every route and why some cannot run here.

    A backend prefix (``"numpy"``) means every route named ``"numpy:..."``; a full route name
    (``"tensorflow:eager"``) means that route alone, for a row that can take only one. A fast
    path that cannot be imported names no unreachable route (its row is then "not run" anyway).
    """
    from subpixel._dispatch import FAST_PATHS

    backend, colon, _ = prefix.partition(":")
    routes = {name: text for name, text in _limits.routes(backend).items() if not colon or name == prefix}
    modules = list(UNREACHABLE_MODULES.get(backend, ()))
    if backend in FAST_PATHS:
        modules.append(FAST_PATHS[backend])
    unreachable: dict[str, str] = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        find = getattr(module, "unreachable_routes", None)
        if find is not None:
            unreachable.update(find())
    return routes, {k: v for k, v in unreachable.items() if k in routes}


@dataclass
class RouteCoverage:
    """The routes one implementation reached on one device.

    ``cases[route]`` counts the cases that took the route at least once; ``itemsizes[route]``
    lists the element sizes that took it; ``unreachable`` maps a route this machine cannot take
    to the reason. ``missing`` lists the routes no case reached and that are reachable here;
    ``contradicted`` the routes said to be not reachable here that a case took all the same.
    """

    implementation: str
    device: str
    prefix: str
    routes: dict[str, str] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    itemsizes: dict[str, list[int]] = field(default_factory=dict)
    enforced: bool = True
    #: Each case that ran (passed or failed): element size -> whether it passed (kind coverage).
    ran: dict[str, dict[int, bool]] = field(default_factory=dict)

    def add(self, reached: set[str], itemsize: int, case_id: str = "", passed: bool = True) -> None:
        """Count one case that ran (``case_id``, whether it ``passed``) and took the routes in ``reached``."""
        if case_id:
            ran = self.ran.setdefault(case_id, {})
            ran[itemsize] = passed and ran.get(itemsize, True)
        for route in reached:
            self.cases[route] = self.cases.get(route, 0) + 1
            sizes = self.itemsizes.setdefault(route, [])
            if itemsize not in sizes:
                sizes.append(itemsize)
                sizes.sort()

    @property
    def missing(self) -> list[str]:
        """Reachable routes of this prefix that no case took."""
        return [r for r in self.routes if not self.cases.get(r) and r not in self.unreachable]

    @property
    def contradicted(self) -> list[str]:
        """Routes said to be not reachable here that some case took nonetheless."""
        return [r for r in self.unreachable if self.cases.get(r)]

    def text(self, route: str) -> str:
        """One route's status in words."""
        count = self.cases.get(route, 0)
        if count and route in self.unreachable:
            return f"TAKEN BY {count} CASES, though said to be not reachable here: {self.unreachable[route]}"
        if count:
            sizes = ", ".join(str(s) for s in self.itemsizes.get(route, []))
            return f"{count} cases (element sizes {sizes} bytes)"
        if route in self.unreachable:
            return f"not reachable here: {self.unreachable[route].removeprefix('not reachable here: ')}"
        return "NOT REACHED" if self.enforced else "not reached (filtered run: not enforced)"
