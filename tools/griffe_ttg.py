"""A Griffe extension for the API reference (mkdocs.yml loads it for mkdocstrings-python).

Two things the docstrings say in plain text that the site should show as structure:

- Doctest examples (``>>>`` lines, their ``...`` continuations and their output) are fenced as
  ``pycon`` code blocks. Left as text, Markdown reads ``>>>`` as three nested blockquotes and
  runs the lines together. The docstrings themselves stay plain doctests, so ``help()`` and
  ``doctest`` read them as before.
- A msgspec ``Struct`` (every model) gets an ``Attributes`` section listing each field with its
  type, in declaration order: a field the docstring's own ``Attributes:`` section describes
  keeps that description, and any other field is still listed. The fields are then hidden as
  separate members, so each shows once, in the table.

Members whose names start with ``_`` (dunders included) are marked private, so the reference
shows only what a user calls.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import griffe

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]*):\s*$")
_ENTRY = re.compile(r"^    (?P<name>\w+)(?: \([^)]*\))?:")


def fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (up to the next blank line) in a ``pycon`` fence."""
    out: list[str] = []
    in_fence = False
    in_example = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_example:
            if not stripped:
                out.append("```")
                in_example = False
            out.append(line)
            continue
        if not in_fence and stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}```pycon")
            in_example = True
        out.append(line)
    if in_example:
        out.append("```")
    return "\n".join(out)


def _struct_fields(cls: griffe.Class) -> tuple[str, ...]:
    """The runtime ``__struct_fields__`` of the class, or ``()`` when it is no msgspec Struct."""
    try:
        module = importlib.import_module(cls.module.path)
        obj = module
        for part in cls.path[len(cls.module.path) + 1 :].split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return ()
    fields = getattr(obj, "__struct_fields__", ())
    return tuple(fields) if isinstance(fields, tuple) else ()


def _annotation_of(cls: griffe.Class, name: str) -> str | None:
    try:
        member = cls[name]
    except (KeyError, ValueError, griffe.AliasResolutionError):
        return None
    annotation = getattr(member, "annotation", None)
    return None if annotation is None else str(annotation)


def with_attributes_section(text: str, cls: griffe.Class, fields: tuple[str, ...]) -> str:
    """Add (or complete) the docstring's ``Attributes:`` section so it lists every field.

    Each entry is written as ``name (type): description``, with the type taken from the
    field's annotation, so the table shows it even though the field's own member is hidden.
    """
    lines = text.split("\n")
    start = next(
        (i for i, line in enumerate(lines) if line == "Attributes:"),
        None,
    )
    described: dict[str, list[str]] = {}
    order: list[str] = []
    if start is not None:
        end = start + 1
        current: str | None = None
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith("    ")):
            if not lines[end].strip():
                # A blank line ends the section unless the next line is still indented.
                if end + 1 < len(lines) and lines[end + 1].startswith("    "):
                    end += 1
                    continue
                break
            entry = _ENTRY.match(lines[end])
            if entry:
                current = entry.group("name")
                described[current] = [lines[end].split(":", 1)[1].strip()]
                order.append(current)
            elif current is not None:
                described[current].append(lines[end].strip())
            end += 1
        before, after = lines[:start], lines[end:]
    else:
        first_example = next(
            (i for i, line in enumerate(lines) if line.lstrip().startswith(">>>")), len(lines)
        )
        before, after = lines[:first_example], lines[first_example:]
        while before and not before[-1].strip():
            before.pop()
    names = [*fields, *[n for n in order if n not in fields]]
    section = ["Attributes:"]
    for name in names:
        annotation = _annotation_of(cls, name)
        kind = f" ({annotation})" if annotation else ""
        description = " ".join(described.get(name, [])).strip() or "&nbsp;"
        section.append(f"    {name}{kind}: {description}")
    return "\n".join([*before, "", *section, "", *after]).strip("\n")


class TTGReference(griffe.Extension):
    """Fence doctests, list struct fields, hide private members (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path == "ttg_async":
            self._visit(pkg)

    def _visit(self, obj: griffe.Object) -> None:
        fields: tuple[str, ...] = ()
        if isinstance(obj, griffe.Class):
            fields = _struct_fields(obj)
            if fields:
                text = obj.docstring.value if obj.docstring else ""
                value = with_attributes_section(text, obj, fields)
                if obj.docstring:
                    obj.docstring.value = value
                else:
                    obj.docstring = griffe.Docstring(value, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
        for name, member in list(obj.members.items()):
            if member.is_alias:
                continue
            if name.startswith("_") or name in fields:
                member.public = False
            self._visit(member)
