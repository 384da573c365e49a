"""The kind-coverage part of the report: a table of kinds by size class and by element size per row."""

from __future__ import annotations

from typing import Any

from subpixel.conformance._kind_coverage import KindCoverage
from subpixel.conformance._kinds import ITEMSIZES, KINDS

__all__ = ["kind_json", "kind_lines"]


def _text(entry: list[int] | None) -> str:
    """``passed/ran`` of one pair, ``-`` where no case met it."""
    if not entry or not entry[0]:
        return "-"
    return f"{entry[1]}/{entry[0]}"


def kind_json(found: list[KindCoverage]) -> list[dict[str, Any]]:
    """Return each row's kind coverage as JSON data (counts as ``passed/ran``)."""
    return [
        {
            "implementation": k.implementation,
            "device": k.device,
            "required": k.required,
            "enforced": k.enforced,
            "size_classes": list(k.classes),
            "exempt": k.exempt,
            "by_size_class": {
                kind: {name: _text(k.by_class.get(kind, {}).get(name)) for name in k.classes}
                for kind in k.kinds
            }
            if k.classes
            else {},
            "by_element_size": {
                kind: {str(size): _text(k.by_itemsize.get(kind, {}).get(size)) for size in ITEMSIZES}
                for kind in k.kinds
            },
            "missing": k.missing,
        }
        for k in found
    ]


def _mark(text: str, required: bool) -> str:
    return f"**{text}**" if text == "-" and required else text


def kind_lines(found: list[KindCoverage]) -> list[str]:
    """Return the Markdown section: one table per row that must meet its pairs, a line for the others."""
    if not found:
        return []
    enforced = all(k.enforced for k in found)
    lines = [
        "",
        "## Kind coverage",
        "",
        "Cases passed/run of each kind of input, by size class of the row's fast path and by element "
        "size"
        + (
            " (a pair no case met, in bold, fails the run)."
            if enforced
            else " (filtered run: reported, not enforced)."
        ),
    ]
    lines += ["", "Kinds: " + "; ".join(f"{kind.id}: {kind.title}" for kind in KINDS) + "."]
    for k in found:
        if not k.required:
            continue
        sizes = [f"{size} B" for size in ITEMSIZES]
        lines += ["", f"### {k.implementation} ({k.device})", ""]
        lines.append("| kind | " + " | ".join([*k.classes, *sizes]) + " |")
        lines.append("|---" * (1 + len(k.classes) + len(sizes)) + "|")
        for kind in k.kinds:
            cells = [_mark(_text(k.by_class.get(kind, {}).get(name)), True) for name in k.classes]
            cells += [_mark(_text(k.by_itemsize.get(kind, {}).get(size)), True) for size in ITEMSIZES]
            lines.append(f"| {kind} | " + " | ".join(cells) + " |")
        if k.exempt:
            lines.append("")
            lines.append("Not applicable: " + "; ".join(f"{kind}: {why}" for kind, why in k.exempt.items()))
    others = [k for k in found if not k.required]
    if others:
        lines += ["", "Rows whose fast path has no size threshold (reported, not required):", ""]
        for k in others:
            ran = sorted({size for counts in k.by_itemsize.values() for size in counts})
            met = [kind for kind in k.kinds if all(k.by_itemsize.get(kind, {}).get(s) for s in ran)]
            text = (
                f"{len(met)} of {len(k.kinds)} kinds met in every element size it ran "
                f"({', '.join(map(str, ran))} bytes)"
                if ran
                else "no case ran"
            )
            lines.append(f"- {k.implementation} ({k.device}): {text}")
    return lines
