"""The package's plumbing: relationships, content types, and dropping a part with everything that names it.

A part Excel finds named but missing (or present but unnamed) is a "repair" prompt, so a dropped part takes its
relationships, the references to those relationships in the owning part, its own ``.rels``, its content-type
override and a Default only it used along with it (``drop_parts``).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from funnel_xl.workbook.ooxml.text import xml_attr, xml_unescape

CONTENT_TYPES = "[Content_Types].xml"
CALC_CHAIN = "xl/calcChain.xml"

_RELATIONSHIP = re.compile(r"<Relationship\b[^>]*?/>")
_OVERRIDE = re.compile(r"<Override\b[^>]*?/>")
_DEFAULT = re.compile(r"<Default\b[^>]*?/>")


def attr(tag: str, name: str) -> str | None:
    """The (unescaped) value of attribute ``name`` in one start tag, or None."""
    m = re.search(rf'\s{re.escape(name)}="([^"]*)"', tag)
    return xml_unescape(m.group(1)) if m else None


# --- relationships ------------------------------------------------------------------------------------------------

def rels_part(part: str) -> str:
    """The relationships part of ``part`` ("" is the package itself: ``_rels/.rels``)."""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def owner_part(rels: str) -> str:
    """The part whose relationships ``rels`` holds ("" for the package's own ``_rels/.rels``)."""
    folder, name = posixpath.split(rels)
    return posixpath.join(posixpath.dirname(folder), name[: -len(".rels")])


def resolve_target(source: str, target: str) -> str:
    """A relationship's target as a part name: absolute targets from the root, others beside ``source``."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def add_relationship(rels_xml: str, rid: str, rel_type: str, target: str) -> str:
    """``rels_xml`` with a relationship ``rid`` to ``target``; unchanged when one of that type already points there,
    and a relationship of the same id is replaced."""
    for m in _RELATIONSHIP.finditer(rels_xml):
        if attr(m.group(0), "Type") == rel_type and attr(m.group(0), "Target") == target:
            return rels_xml
    rels_xml = _RELATIONSHIP.sub(lambda m: "" if attr(m.group(0), "Id") == rid else m.group(0), rels_xml)
    entry = f'<Relationship Id="{xml_attr(rid)}" Type="{xml_attr(rel_type)}" Target="{xml_attr(target)}"/>'
    return rels_xml.replace("</Relationships>", entry + "</Relationships>", 1)


def drop_relationships(rels_xml: str, rels: str, dropped: set[str]) -> tuple[str, list[str]]:
    """``rels_xml`` (the part ``rels``) without its relationships to ``dropped`` parts, and the ids removed."""
    source = owner_part(rels)
    removed: list[str] = []

    def keep(m: re.Match) -> str:
        tag = m.group(0)
        if attr(tag, "TargetMode") == "External":
            return tag
        if resolve_target(source, attr(tag, "Target") or "") in dropped:
            removed.append(attr(tag, "Id") or "")
            return ""
        return tag

    return _RELATIONSHIP.sub(keep, rels_xml), removed


def drop_references(part_xml: str, rids: Iterable[str]) -> str:
    """A part without the empty elements that name one of ``rids`` (``<drawing r:id=.../>``, ``<legacyDrawing
    .../>``, ``<tablePart .../>``): a reference to a relationship that is gone is a broken part."""
    for rid in rids:
        name = f':id="{rid}"'
        if name not in part_xml:  # a 400 MB sheet is searched once, not tag by tag
            continue
        pattern = re.compile(rf'<[\w:]+\b[^<>]*\s[\w]+:id="{re.escape(rid)}"[^<>]*/>')
        out, pos = [], 0
        at = part_xml.find(name)
        while at >= 0:
            start = part_xml.rfind("<", 0, at)
            m = pattern.match(part_xml, start)
            if m and m.end() > at and start >= pos:
                out.append(part_xml[pos:start])
                pos = m.end()
            at = part_xml.find(name, at + len(name))
        part_xml = "".join(out) + part_xml[pos:]
    return part_xml


# --- content types ------------------------------------------------------------------------------------------------

def set_override(types_xml: str, part: str, content_type: str) -> str:
    """``[Content_Types].xml`` with ``part``'s override set to ``content_type`` (added when missing)."""
    entry = f'<Override PartName="/{xml_attr(part)}" ContentType="{xml_attr(content_type)}"/>'
    found = False

    def repl(m: re.Match) -> str:
        nonlocal found
        if (attr(m.group(0), "PartName") or "").lstrip("/") != part:
            return m.group(0)
        found = True
        return entry

    out = _OVERRIDE.sub(repl, types_xml)
    return out if found else out.replace("</Types>", entry + "</Types>", 1)


def drop_overrides(types_xml: str, parts: set[str]) -> str:
    """``[Content_Types].xml`` without the overrides of ``parts``."""
    return _OVERRIDE.sub(lambda m: "" if (attr(m.group(0), "PartName") or "").lstrip("/") in parts else m.group(0),
                         types_xml)


def drop_defaults(types_xml: str, extensions: set[str]) -> str:
    """``[Content_Types].xml`` without the Defaults for ``extensions`` (lower case)."""
    return _DEFAULT.sub(lambda m: "" if (attr(m.group(0), "Extension") or "").lower() in extensions else m.group(0),
                        types_xml)


def extension(part: str) -> str:
    """A part name's extension in lower case ("" without one), as content-type Defaults match it."""
    name = posixpath.basename(part)
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


# --- dropping parts -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartDrop:
    """What dropping parts changes: parts rewritten (with those given), members to leave out, and per owning part
    the relationship ids that went."""

    replaced: dict[str, bytes]
    dropped: frozenset[str]
    removed: dict[str, list[str]]


def drop_parts(zf: zipfile.ZipFile, parts: Iterable[str], replaced: dict[str, bytes] | None = None,
               defer: Collection[str] = ()) -> PartDrop:
    """Leave ``parts`` (those present) out of the package with their own relationships, every relationship that
    points at them (and the owning part's references to it), their content-type overrides, and a Default no
    remaining part uses. ``replaced`` holds parts already rewritten; the result's ``replaced`` includes them.
    Owning parts in ``defer`` are left as they are: the caller, which rewrites them anyway, drops the references
    the result's ``removed`` lists (a 400 MB sheet is then read once)."""
    out = dict(replaced or {})
    names = zf.namelist()
    dropped = {p for p in parts if p in names}
    if not dropped:
        return PartDrop(out, frozenset(), {})
    dropped |= {rels_part(p) for p in list(dropped) if rels_part(p) in names}
    read = lambda n: (out[n] if n in out else zf.read(n)).decode("utf-8")  # noqa: E731
    removed: dict[str, list[str]] = {}
    for name in names:
        if name.endswith(".rels") and name not in dropped:
            xml, ids = drop_relationships(read(name), name, dropped)
            if ids:
                out[name] = xml.encode("utf-8")
                removed[owner_part(name)] = ids
    for owner, ids in removed.items():
        if owner in names and owner not in dropped and owner not in defer and owner.endswith(".xml"):
            xml = drop_references(read(owner), ids)
            if xml != read(owner):
                out[owner] = xml.encode("utf-8")
    if CONTENT_TYPES in names:
        types = drop_overrides(read(CONTENT_TYPES), dropped)
        remaining = {extension(n) for n in names if n not in dropped}
        types = drop_defaults(types, {extension(p) for p in dropped} - remaining)
        out[CONTENT_TYPES] = types.encode("utf-8")
    for part in dropped:
        out.pop(part, None)
    return PartDrop(out, frozenset(dropped), removed)
