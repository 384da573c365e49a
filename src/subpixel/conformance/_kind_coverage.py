"""Kind coverage: which kinds of input met which size classes and element sizes on a row.

Route coverage says which routes of a fast path ran; kind coverage says on which inputs. For
each row whose routes are checked, the cases that ran (from its
:class:`~subpixel.conformance._coverage.RouteCoverage`) are sorted into pairs: (kind, size
class) and (kind, element size), see :mod:`subpixel.conformance._kinds`. The rows of the
backends in :data:`KIND_ROWS` must meet every pair their fast path distinguishes: a full run
fails on a pair that no case of such a row met.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from subpixel.conformance._case import Case
from subpixel.conformance._cases_kinds import KIND_BACKENDS
from subpixel.conformance._coverage import RouteCoverage
from subpixel.conformance._kinds import (
    ITEMSIZES,
    KINDS,
    SLOW_BYTES,
    TINY,
    class_bounds,
    kinds_of,
    required_kinds,
    size_classes,
    size_classes_of,
)

__all__ = ["KIND_ROWS", "KindCoverage", "kind_coverage", "required_classes"]

#: Backends whose rows must meet every (kind, size class) and (kind, element size) pair: those
#: whose fast paths change route with the size (the copy engine's), for which the kinds family
#: is built. Other rows are reported.
KIND_ROWS = KIND_BACKENDS


def required_classes(backend: str, profile: str) -> tuple[str, ...]:
    """Return the size classes a row of ``backend`` must meet in ``profile``.

    A class that starts at :data:`~subpixel.conformance._kinds.SLOW_BYTES` or above for every
    element size is the ``slow`` profile's alone.
    """
    return tuple(
        name
        for name in size_classes(backend)
        if profile == "slow"
        or name == TINY
        or any(class_bounds(backend, name, s)[0] < SLOW_BYTES for s in ITEMSIZES)
    )


@dataclass
class KindCoverage:
    """The kinds of input one row met, by size class and by element size.

    ``by_class[kind][size class]`` and ``by_itemsize[kind][element size]`` are ``[ran, passed]``
    case counts. ``exempt`` maps a kind the backend cannot express to the reason; ``classes``
    are the size classes the row must meet (empty for a fast path without thresholds), and
    ``required`` says whether the row must meet its pairs at all (see :data:`KIND_ROWS`).
    """

    implementation: str
    device: str
    backend: str
    classes: tuple[str, ...]
    exempt: dict[str, str]
    required: bool
    by_class: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    by_itemsize: dict[str, dict[int, list[int]]] = field(default_factory=dict)
    enforced: bool = True

    @property
    def kinds(self) -> list[str]:
        """The kinds the row must meet (those its backend can express)."""
        return [kind.id for kind in KINDS if not self.exempt.get(kind.id)]

    @property
    def missing(self) -> list[str]:
        """Each required pair that no case met, in words (empty for a row that need not meet any)."""
        if not self.required:
            return []
        out = [
            f"{kind} at size class {name!r}"
            for kind in self.kinds
            for name in self.classes
            if not self.by_class.get(kind, {}).get(name, [0])[0]
        ]
        out += [
            f"{kind} in {size}-byte elements"
            for kind in self.kinds
            for size in ITEMSIZES
            if not self.by_itemsize.get(kind, {}).get(size, [0])[0]
        ]
        return out

    def add(self, case: Case, itemsize: int, passed: bool) -> None:
        """Count one case that ran in elements of ``itemsize`` bytes."""
        names = size_classes_of(case, self.backend, itemsize) if self.classes else frozenset()
        for kind in kinds_of(case):
            for name in names:
                _count(self.by_class.setdefault(kind, {}).setdefault(name, [0, 0]), passed)
            _count(self.by_itemsize.setdefault(kind, {}).setdefault(itemsize, [0, 0]), passed)


def _count(entry: list[int], passed: bool) -> None:
    entry[0] += 1
    entry[1] += int(passed)


def kind_coverage(routes: RouteCoverage, cases: Mapping[str, Case], profile: str = "default") -> KindCoverage:
    """Return the kind coverage of the row whose route coverage is ``routes``.

    Parameters
    ----------
    routes : RouteCoverage
        The row's route coverage, which lists each case that ran and in which element sizes.
    cases : mapping of str to Case
        Every case by id.
    profile : {"default", "slow"}
        The profile that ran (the ``slow`` one must also meet the classes above
        :data:`~subpixel.conformance._kinds.SLOW_BYTES`).
    """
    backend = routes.prefix.partition(":")[0]
    exempt = {k: why for k, why in required_kinds(backend).items() if why}
    found = KindCoverage(
        routes.implementation,
        routes.device,
        backend,
        required_classes(backend, profile),
        exempt,
        required=backend in KIND_ROWS,
    )
    for case_id, sizes in routes.ran.items():
        case = cases.get(case_id)
        if case is None:
            continue
        for itemsize, passed in sizes.items():
            found.add(case, itemsize, passed)
    return found
