"""The report header: versions, platform, devices and the references used."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import sys
from typing import Any

from subpixel import _catalog
from subpixel.conformance._references import ReferenceBook
from subpixel.conformance._registry import Implementation

__all__ = ["TOOLS", "distributions", "environment"]

#: Distributions of the package and its tools whose versions the header lists (when installed);
#: each backend's come from its catalog entry (see :func:`distributions`).
TOOLS = ("subpixel", "array-api-compat", "onnx", "onnxruntime", "flax", "keras")


def distributions() -> tuple[str, ...]:
    """Return every distribution whose version the header lists: the tools', then each backend's."""
    backends = (dist for entry in _catalog.entries() for dist in entry.distributions)
    return tuple(dict.fromkeys((*TOOLS, *backends)))


def _versions() -> dict[str, str]:
    found = {}
    for dist in distributions():
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:  # noqa: PERF203 - a dozen look-ups
            continue
    if "subpixel" not in found:
        import subpixel

        found["subpixel"] = subpixel.__version__
    return found


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(
    chosen: list[Implementation],
    device_names: dict[str, str],
    book: ReferenceBook,
    *,
    quick: bool,
    seconds: float,
    case_count: int,
) -> dict[str, Any]:
    """Return the header: versions, Python, platform, devices, references and known deviations."""
    golden = book.golden
    references = {
        "torch": "live torch (CPU)" if book.use_torch else "not installed: golden vectors used instead",
        "golden": f"{len(golden.cases)} cases recorded from torch {golden.torch_version}",
        "onnx": "onnx.reference.ReferenceEvaluator" if book.use_onnx else "onnx not installed: not used",
        "definition": "index formula evaluated by NumPy (always)",
        "cases_per_source": dict(sorted(book.source_counts.items())),
    }
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "subpixel.conformance.run_matrix(...)",
        "quick": quick,
        "cases_per_dtype": case_count,
        "seconds": round(seconds, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else [],
        "devices": device_names,
        "versions": _versions(),
        "implementations": {impl.name: impl.description for impl in chosen},
        "references": references,
        "torch_deviations": dict(sorted(book.deviations.items())),
    }
