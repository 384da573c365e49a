"""Route coverage: which routes of a fast path the cases of a row actually took.

Each fast-path module lists its routes in ``ROUTES`` (name -> description) and says which of
them this machine cannot take in ``unreachable_routes()`` (name -> reason); the library records
the route of every call while :func:`subpixel._routes.counting` listens. A row of the matrix
names the route prefix it must cover (``Implementation.routes``): a full run fails when a route
with that prefix was reached by no case, unless it is not reachable here.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass, field

from subpixel.conformance._cases import assigned

__all__ = ["ROUTE_MODULES", "ROUTE_SOURCES", "RouteCoverage", "known_routes"]

#: The modules that declare the routes of each prefix (besides ``subpixel._dispatch.FAST_PATHS``).
ROUTE_MODULES: dict[str, tuple[str, ...]] = {
    "numpy": ("subpixel._fast.numpy", "subpixel._fast._blocked"),
    "torch": ("subpixel._fast.torch",),
    "jax": ("subpixel._fast.jax", "subpixel._fast.jax_sharding"),
    "dask": ("subpixel._fast.dask",),
    "array_api": ("subpixel._dispatch",),
}

#: Modules whose ``ROUTES`` are read from their source, never imported: importing
#: ``subpixel.keras`` fixes Keras's backend in this process, and the Keras rows run their layers
#: in worker processes. No route of theirs depends on the machine.
ROUTE_SOURCES: dict[str, tuple[str, ...]] = {"keras": ("subpixel.keras",)}


def known_routes(prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """Return ``(routes, unreachable)`` for a prefix: every route and why some cannot run here.

    A backend prefix (``"numpy"``) means every route named ``"numpy:..."``; a full route name
    (``"tensorflow:eager"``) means that route alone, for a row that can take only one. A module
    that cannot be imported contributes nothing (its row is then "not run" anyway).
    """
    from subpixel._dispatch import FAST_PATHS

    prefix, colon, route = prefix.partition(":")

    routes: dict[str, str] = {}
    unreachable: dict[str, str] = {}
    modules = list(ROUTE_MODULES.get(prefix, ()))
    if prefix in FAST_PATHS and FAST_PATHS[prefix] not in modules:  # e.g. a newer fast path
        modules.append(FAST_PATHS[prefix])
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        routes.update(getattr(module, "ROUTES", {}))
        find = getattr(module, "unreachable_routes", None)
        if find is not None:
            unreachable.update(find())
    for name in ROUTE_SOURCES.get(prefix, ()):
        try:
            routes.update(ast.literal_eval(assigned(name, "ROUTES")))
        except ValueError:  # noqa: PERF203 - not installed here, or without routes
            continue
    mine = f"{prefix}:"
    routes = {k: v for k, v in routes.items() if k == f"{mine}{route}" or (not colon and k.startswith(mine))}
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

    def add(self, reached: set[str], itemsize: int) -> None:
        """Count one case that took the routes in ``reached``."""
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
