"""Check an .xlsx/.xlsm package the way Excel does before it offers a repair: parts, types, links, names, macros.

``validate_package`` returns a list of problems (empty when the package is sound): every part has a content
type, every relationship target exists, no part is unreachable, defined names and print areas name existing
sheets, and every macro a button or the ribbon calls exists in the VBA project.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.etree import ElementTree

from funnel_xl.workbook.ooxml.parts import extension, rels_part, resolve_target

NS_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
NS_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
VBA_PART = "xl/vbaProject.bin"

_SUB = re.compile(r"^\s*(?:Public\s+|Private\s+)?(?:Sub|Function)\s+([A-Za-z_]\w*)", re.IGNORECASE | re.MULTILINE)
_ON_ACTION = re.compile(rb'onAction="([^"]+)"')
_FMLA_MACRO = re.compile(rb"<x:FmlaMacro>\[?0?\]?!?([^<]+)</x:FmlaMacro>")
_SHEET_REF = re.compile(r"(?:'((?:[^']|'')+)'|([^\s'!(),=+\-*/&^<>]+))!")


def validate_package(path: Path, *, macros: Iterable[str] | None = None, check_macros: bool = True) -> list[str]:
    """Every problem found in the package at ``path`` (empty list = sound).

    ``macros`` are the macro names the VBA project defines; when None they are read from the package's
    ``vbaProject.bin`` with oletools. ``check_macros=False`` skips the button/ribbon check.
    """
    problems: list[str] = []
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        problems += _check_content_types(zf, names)
        reachable, rel_problems = _walk_relationships(zf, names)
        problems += rel_problems
        for part in sorted(names):
            if part == "[Content_Types].xml" or part.endswith(".rels") or part.endswith("/"):
                continue
            if part not in reachable:
                problems.append(f"{part}: no relationship points at this part (an orphan Excel would drop)")
        problems += _check_defined_names(zf)
        if check_macros:
            problems += _check_macros(zf, names, macros)
    return problems


def _check_content_types(zf: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "[Content_Types].xml" not in names:
        return ["[Content_Types].xml is missing"]
    root = ElementTree.fromstring(zf.read("[Content_Types].xml"))
    defaults = {d.get("Extension").lower() for d in root.iter(f"{NS_CT}Default")}
    overrides = {o.get("PartName").lstrip("/") for o in root.iter(f"{NS_CT}Override")}
    problems = [f"[Content_Types].xml: override for {p} but the package has no such part"
                for p in sorted(overrides - names)]
    for part in sorted(names):
        if part == "[Content_Types].xml" or part.endswith("/"):
            continue
        ext = extension(part)
        if part not in overrides and ext not in defaults:
            problems.append(f"{part}: no content type (neither an Override nor a Default for .{ext})")
    return problems


def _walk_relationships(zf: zipfile.ZipFile, names: set[str]) -> tuple[set[str], list[str]]:
    """Parts reachable from the package root, and every relationship whose target is missing."""
    problems: list[str] = []
    reachable: set[str] = set()
    queue = [""]  # "" is the package itself, whose relationships are _rels/.rels
    while queue:
        source = queue.pop()
        rels = rels_part(source)
        if rels not in names:
            continue
        root = ElementTree.fromstring(zf.read(rels))
        for rel in root.iter(f"{NS_REL}Relationship"):
            if rel.get("TargetMode") == "External":
                continue
            part = resolve_target(source, rel.get("Target"))
            if part not in names:
                problems.append(f"{rels}: relationship {rel.get('Id')} points at {part}, which is not in the package")
                continue
            if part not in reachable:
                reachable.add(part)
                queue.append(part)
    return reachable, problems


def sheet_names(zf: zipfile.ZipFile) -> list[str]:
    root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    return [s.get("name") for s in root.iter(f"{NS_MAIN}sheet")]


def _check_defined_names(zf: zipfile.ZipFile) -> list[str]:
    """Defined names (print areas, print titles, lists) must refer to sheets that exist."""
    root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    sheets = sheet_names(zf)
    problems = []
    for dn in root.iter(f"{NS_MAIN}definedName"):
        name, text = dn.get("name"), dn.text or ""
        local = dn.get("localSheetId")
        if local is not None and not 0 <= int(local) < len(sheets):
            problems.append(f"defined name {name}: localSheetId {local} but the workbook has {len(sheets)} sheets")
        for quoted, plain in _SHEET_REF.findall(text):
            sheet = quoted.replace("''", "'") if quoted else plain
            if sheet not in sheets:
                problems.append(f"defined name {name} ({text}): sheet {sheet!r} does not exist")
        if "#REF!" in text:
            problems.append(f"defined name {name} ({text}) refers to a deleted range (#REF!)")
    return problems


def macros_in_vba_project(data: bytes) -> set[str]:
    """Names of the Subs and Functions of every module of a vbaProject.bin (read with oletools)."""
    from oletools.olevba import VBA_Parser  # test/optional dependency: imported only when checking macros

    parser = VBA_Parser("vbaProject.bin", data=data)
    try:
        found: set[str] = set()
        for _, _, _, source in parser.extract_macros():
            found.update(_SUB.findall(source or ""))
        return found
    finally:
        parser.close()


def _check_macros(zf: zipfile.ZipFile, names: set[str], macros: Iterable[str] | None) -> list[str]:
    """Every button (VML FmlaMacro) and ribbon onAction names a macro of the VBA project."""
    called: list[tuple[str, str]] = []
    for part in sorted(names):
        if part.endswith(".vml"):
            called += [(part, m.decode("utf-8").strip()) for m in _FMLA_MACRO.findall(zf.read(part))]
        elif part.startswith("customUI/") and part.endswith(".xml"):
            called += [(part, m.decode("utf-8")) for m in _ON_ACTION.findall(zf.read(part))]
    if not called:
        return []
    if macros is None:
        if VBA_PART not in names:
            return [f"{part}: calls macro {macro} but the package has no VBA project" for part, macro in called]
        macros = macros_in_vba_project(zf.read(VBA_PART))
    known = {m.lower() for m in macros}
    return [f"{part}: calls macro {macro!r}, which the VBA project does not define"
            for part, macro in called if macro.split("!")[-1].split(".")[-1].lower() not in known]
