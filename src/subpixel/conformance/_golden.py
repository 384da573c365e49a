"""Golden vectors: torch's results recorded as shape and SHA-256, for machines without torch.

Only hashes are stored: the inputs are rebuilt by the deterministic generator in
:mod:`subpixel.conformance._inputs`. ``conformance/regenerate_golden.py`` rebuilds the file from
live torch (:func:`subpixel.conformance.compute_golden`); a test checks that the stored vectors
still match it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = ["GOLDEN_FORMAT", "GoldenVectors", "load_golden"]

#: Bump when the generator or the case ids change meaning.
GOLDEN_FORMAT = 1
GENERATOR = "splitmix64-v1"


@dataclass
class GoldenVectors:
    """Torch's recorded results: ``cases[case_id] = {"shape", "sha256": {dtype: hex}, ...}``."""

    torch_version: str = "none"
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lookup(self, case_id: str, dtype: str) -> tuple[tuple[int, ...], str, tuple[int, ...] | None] | None:
        """Return ``(documented shape, sha256, shape torch returned if different)`` or None."""
        entry = self.cases.get(case_id)
        if entry is None or dtype not in entry["sha256"]:
            return None
        torch_shape = entry.get("torch_shape")
        return (
            tuple(entry["shape"]),
            entry["sha256"][dtype],
            None if torch_shape is None else tuple(torch_shape),
        )

    def to_json(self) -> str:
        """Serialise deterministically (sorted keys, one case per line)."""
        lines = [
            "{",
            f'  "format": {GOLDEN_FORMAT},',
            f'  "generator": "{GENERATOR}",',
            f'  "torch_version": {json.dumps(self.torch_version)},',
            '  "cases": {',
        ]
        items = sorted(self.cases.items())
        for i, (case_id, entry) in enumerate(items):
            comma = "," if i < len(items) - 1 else ""
            lines.append(f"    {json.dumps(case_id)}: {json.dumps(entry, sort_keys=True)}{comma}")
        lines += ["  }", "}", ""]
        return "\n".join(lines)


def load_golden(text: str | None = None) -> GoldenVectors:
    """Load the vectors shipped with the package (or parse ``text``)."""
    if text is None:
        path = resources.files("subpixel.conformance").joinpath("golden.json")
        if not path.is_file():
            return GoldenVectors()
        text = path.read_text(encoding="utf-8")
    raw = json.loads(text)
    if raw.get("format") != GOLDEN_FORMAT or raw.get("generator") != GENERATOR:
        found = f"{raw.get('format')} / {raw.get('generator')}"
        msg = f"golden vectors have format {found}; expected {GOLDEN_FORMAT} / {GENERATOR}"
        raise ValueError(msg)
    return GoldenVectors(raw["torch_version"], raw["cases"])
