"""Griffe extension for the API reference: turn reStructuredText roles in docstrings into links.

The docstrings are numpydoc and say ``:func:`pixel_shuffle``` as Python's ``help()`` readers
expect. On the site such a role becomes an autorefs link when it names something the package
exports (so a stale name fails the strict build), and plain code otherwise. A paragraph that
ends in ``::`` (a reStructuredText literal block) ends in ``:`` instead; the indented block
under it is already a Markdown code block.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

SEE_ALSO_ENTRY = re.compile(r"^(?P<names>[\w.]+(?:\s*,\s*[\w.]+)*)\s*(?::\s*(?P<text>.*))?$")
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|attr|mod|data|obj|exc|const):`~?(?P<name>[\w.]+)`")
LITERAL = re.compile(r"(?<=\S)::$", re.MULTILINE)


class RstRoles(griffe.Extension):
    """Rewrite docstrings once the whole package is loaded, when its exports are known."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite every docstring of the loaded package."""
        exported = {str(name) for name in (pkg.exports or ())}
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = _rewrite(obj.docstring.value, pkg.name, exported)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found += _walk(member)  # type: ignore[arg-type]
    return found


def _rewrite(text: str, package: str, exported: set[str]) -> str:
    def link(match: re.Match[str]) -> str:
        name = match["name"]
        short = name.removeprefix(f"{package}.")
        if short in exported:
            return f"[`{short}`][{package}.{short}]"
        return f"`{name}`"

    def name_link(name: str) -> str:
        return link(ROLE.match(f":obj:`{name}`"))  # type: ignore[arg-type]

    return _see_also(LITERAL.sub(":", ROLE.sub(link, text)), name_link)


def _see_also(text: str, link: Any) -> str:
    """Turn the entries ``name : text`` of a numpydoc "See Also" section into a linked list."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].strip() == "See Also" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}:
            out.append(lines[i + 1])
            i += 2
            while i < len(lines) and not _is_header(lines, i):
                entry = SEE_ALSO_ENTRY.match(lines[i])
                if entry is not None and not lines[i].startswith(" "):
                    names = ", ".join(link(n.strip()) for n in entry["names"].split(","))
                    out.append(f"- {names}" + (f": {entry['text']}" if entry["text"] else ""))
                else:
                    out.append(lines[i])
                i += 1
            continue
        i += 1
    return "\n".join(out)


def _is_header(lines: list[str], i: int) -> bool:
    return bool(lines[i].strip()) and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
