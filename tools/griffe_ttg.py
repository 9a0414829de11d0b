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

import builtins
import importlib
import inspect
import re
from typing import Any

import griffe

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


def _runtime(cls: griffe.Class) -> Any:
    try:
        obj: Any = importlib.import_module(cls.module.path)
        for part in cls.path[len(cls.module.path) + 1 :].split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


def _struct_fields(cls: griffe.Class) -> tuple[str, ...]:
    """The runtime ``__struct_fields__`` of the class, or ``()`` when it is no msgspec Struct."""
    fields = getattr(_runtime(cls), "__struct_fields__", ())
    return tuple(fields) if isinstance(fields, tuple) else ()


_KINDS = {
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
}


def struct_init(cls: griffe.Class) -> griffe.Function | None:
    """An ``__init__`` for a msgspec Struct, so the reference shows how to build one.

    The order and kinds (positional or keyword-only) come from the runtime signature; the
    types and defaults from the source, so they read as written and link to their classes.
    """
    try:
        signature = inspect.signature(_runtime(cls))
    except (TypeError, ValueError):
        return None
    parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
    for name, param in signature.parameters.items():
        member = cls.all_members.get(name)
        parameters.append(
            griffe.Parameter(
                name,
                annotation=getattr(member, "annotation", None),
                kind=_KINDS.get(param.kind, griffe.ParameterKind.keyword_only),
                default=None
                if param.default is inspect.Parameter.empty
                else (getattr(member, "value", None) or repr(param.default)),
            )
        )
    init = griffe.Function("__init__", parameters=griffe.Parameters(*parameters))
    init.public = False
    return init


def _annotation_of(cls: griffe.Class, name: str) -> str | None:
    try:
        member = cls[name]
    except (KeyError, ValueError, griffe.AliasResolutionError):
        return None
    annotation = getattr(member, "annotation", None)
    return None if annotation is None else str(annotation)


def _section_span(lines: list[str]) -> tuple[int, int] | None:
    """``(start, end)`` of the ``Attributes:`` section: its title line up to the first line
    after it that is not indented (blank lines inside the section are part of it)."""
    if "Attributes:" not in lines:
        return None
    start = lines.index("Attributes:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def _attributes_of(text: str) -> dict[str, list[str]]:
    """The entries of a docstring's ``Attributes:`` section: name to description lines."""
    lines = text.split("\n")
    span = _section_span(lines)
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in [] if span is None else lines[span[0] + 1 : span[1]]:
        entry = _ENTRY.match(line)
        if entry:
            current = entry.group("name")
            found[current] = [line.split(":", 1)[1].strip()]
        elif current is not None and line.strip():
            found[current].append(line.strip())
    return found


def _inherited_descriptions(cls: griffe.Class) -> dict[str, list[str]]:
    """Field descriptions from the ``Attributes:`` sections of the class's bases."""
    found: dict[str, list[str]] = {}
    for base in reversed(getattr(_runtime(cls), "__mro__", ())[1:]):
        found.update(_attributes_of(inspect.getdoc(base) or ""))
    return found


def with_attributes_section(text: str, cls: griffe.Class, fields: tuple[str, ...]) -> str:
    """Add (or complete) the docstring's ``Attributes:`` section so it lists every field.

    Each entry is written as ``name (type): description``, with the type taken from the
    field's annotation, so the table shows it even though the field's own member is hidden.
    A field the docstring does not describe takes its base class's description, if any.
    The section goes where the docstring has one, else before the first example.
    """
    lines = text.split("\n")
    described = {**_inherited_descriptions(cls), **_attributes_of(text)}
    span = _section_span(lines)
    if span is None:
        at = next(
            (i for i, line in enumerate(lines) if line.lstrip().startswith(">>>")), len(lines)
        )
        span = (at, at)
    before, after = lines[: span[0]], lines[span[1] :]
    while before and not before[-1].strip():
        before.pop()
    extra = [name for name in _attributes_of(text) if name not in fields]
    section = ["Attributes:"]
    for name in [*fields, *extra]:
        annotation = _annotation_of(cls, name)
        kind = f" ({annotation})" if annotation else ""
        description = " ".join(described.get(name, [])).strip() or "&nbsp;"
        section.append(f"    {name}{kind}: {description}")
    return "\n".join([*before, "", *section, "", *after]).strip("\n")


def _public_names() -> set[str]:
    names: set[str] = set()
    for module in ("ttg_async", "ttg_async.buyback", "ttg_async.sandbox"):
        names.update(getattr(importlib.import_module(module), "__all__", ()))
    return names


def drop_private_bases(cls: griffe.Class, public: set[str]) -> None:
    """Show only bases a reader can look up: public names and builtins (``ValueError``).

    ``Bases: _Resource`` or ``Bases: ClientBase`` says nothing to a user, and without the
    private base the class no longer inherits an ``__init__(_call)`` to show as its signature.
    """
    kept = []
    for base in cls.bases:
        name = str(base).split("[", 1)[0].rsplit(".", 1)[-1]
        if name in public or (hasattr(builtins, name) and name[:1].isupper()):
            kept.append(base)
    cls.bases = kept
    init = cls.members.get("__init__")
    if isinstance(init, griffe.Function):
        params = [p.name for p in init.parameters if p.name not in ("self", "cls")]
        if params and all(name.startswith("_") for name in params):
            del cls.members["__init__"]


class TTGReference(griffe.Extension):
    """Fence doctests, list struct fields, hide private members (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path == "ttg_async":
            self._public = _public_names()
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
                init = struct_init(obj)
                if init is not None and "__init__" not in obj.members:
                    obj.set_member("__init__", init)
            drop_private_bases(obj, self._public)
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
        for name, member in list(obj.members.items()):
            if member.is_alias:
                continue
            if name.startswith("_") or name in fields:
                member.public = False
            self._visit(member)
