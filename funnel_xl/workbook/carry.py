"""Carry what is the user's from one workbook package into a freshly built one (the upgrade's package work).

The user's own sheets come over with their cells, merged ranges, column widths and views: their shared strings
become inline strings and their cell styles are appended to the new styles.xml (fonts, fills, borders, number
formats and cell formats, renumbered), so a cell looks as it did. What hangs off a sheet through relationships
(drawings, comments, tables, pivot tables, external links) is not copied and is named in the report instead.
Workbook-level names the new workbook does not define are added, with their sheet scope renumbered. Parsing
reads with defusedxml; writing goes through ``ooxml``.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree as ET

from funnel_xl.workbook.ooxml import (
    CONTENT_TYPES, add_relationship, set_override, xml_attr, xml_text, xml_unescape,
)
from funnel_xl.workbook.package import NS_MAIN, NS_REL, PackageIndex

WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
WORKSHEET_REL = f"{NS_REL}/worksheet"
_STYLE_LISTS = ("numFmts", "fonts", "fills", "borders", "cellXfs")
_CELL = re.compile(r'<c\b([^>]*?)(/>|>(.*?)</c>)', re.S)
_T_SHARED = re.compile(r'\st="s"')
_V = re.compile(r"<v>(\d+)</v>")
# Elements of a worksheet that point at other parts: they are dropped, and reported, when a sheet is carried.
_REL_ELEMENTS = ("drawing", "legacyDrawing", "legacyDrawingHF", "picture", "oleObjects", "controls", "tableParts",
                 "hyperlinks")


@dataclass
class UserSheet:
    """A sheet of the old package that the tool does not own, ready to be added to another package."""

    name: str
    state: str
    xml: str                      # cells with inline strings; style indexes still the old package's
    left_out: list[str] = field(default_factory=list)


@dataclass
class StylesOf:
    """The old styles.xml's lists, as XML fragments, for appending to another styles.xml."""

    num_fmts: dict[int, str]      # numFmtId -> format code
    fonts: list[str]
    fills: list[str]
    borders: list[str]
    xfs: list[str]


def _children(xml: str, list_tag: str, item_tag: str) -> list[str]:
    found = re.search(rf"<{list_tag}\b[^>]*?(?:/>|>(.*?)</{list_tag}>)", xml, re.S)
    if not found or not found.group(1):
        return []
    return re.findall(rf"<{item_tag}\b[^>]*?(?:/>|>.*?</{item_tag}>)", found.group(1), re.S)


def read_styles(zf: zipfile.ZipFile) -> StylesOf:
    xml = zf.read("xl/styles.xml").decode("utf-8")
    num_fmts = {int(m.group(1)): xml_unescape(m.group(2)) for m in
                re.finditer(r'<numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"', xml)}
    return StylesOf(num_fmts, _children(xml, "fonts", "font"), _children(xml, "fills", "fill"),
                    _children(xml, "borders", "border"), _children(xml, "cellXfs", "xf"))


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """Each shared string's inner XML (a CT_Rst: plain <t> or rich-text runs), as an inline string takes it."""
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    xml = zf.read("xl/sharedStrings.xml").decode("utf-8")
    return [m.group(1) or "" for m in re.finditer(r"<si\b[^>]*?(?:/>|>(.*?)</si>)", xml, re.S)]


def user_sheets(zf: zipfile.ZipFile, tool_sheets: set[str]) -> list[UserSheet]:
    """Every sheet of the package whose name is not one of ``tool_sheets``, shared strings made inline."""
    index = PackageIndex.read(zf)
    strings = _shared_strings(zf)
    out = []
    for info in index.sheets:
        if info.name in tool_sheets:
            continue
        xml = zf.read(info.part).decode("utf-8")
        left_out = [tag for tag in _REL_ELEMENTS if re.search(rf"<{tag}\b", xml)]
        for tag in left_out:
            xml = re.sub(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", "", xml, flags=re.S)

        def inline(m: re.Match) -> str:
            attrs, body = m.group(1), m.group(3) or ""
            if not _T_SHARED.search(attrs):
                return m.group(0)
            v = _V.search(body)
            text = strings[int(v.group(1))] if v and int(v.group(1)) < len(strings) else ""
            return "<c" + _T_SHARED.sub(' t="inlineStr"', attrs) + f"><is>{text}</is></c>"

        xml = _CELL.sub(inline, xml)
        out.append(UserSheet(info.name, info.state, xml, left_out))
    return out


def append_styles(new_styles_xml: str, old: StylesOf) -> tuple[str, dict[int, int]]:
    """``new_styles_xml`` with the old package's fonts, fills, borders, number formats and cell formats appended;
    returns it and old cellXfs index -> new index."""
    counts = {tag: len(_children(new_styles_xml, tag, item)) for tag, item in
              (("fonts", "font"), ("fills", "fill"), ("borders", "border"), ("cellXfs", "xf"))}
    taken = {int(i) for i in re.findall(r'<numFmt\b[^>]*?numFmtId="(\d+)"', new_styles_xml)}
    fmt_ids: dict[int, int] = {}
    added_fmts = []
    next_id = max([163, *taken]) + 1
    for fid, code in sorted(old.num_fmts.items()):
        fmt_ids[fid] = next_id
        added_fmts.append(f'<numFmt numFmtId="{next_id}" formatCode="{xml_attr(code)}"/>')
        next_id += 1

    def shift(xf: str) -> str:
        def attr(name: str, offset: int | dict[int, int]) -> None:
            nonlocal xf
            m = re.search(rf'\s{name}="(\d+)"', xf)
            if m is None:
                return
            value = int(m.group(1))
            new = offset.get(value, value) if isinstance(offset, dict) else value + offset
            xf = xf[:m.start()] + f' {name}="{new}"' + xf[m.end():]

        attr("fontId", counts["fonts"])
        attr("fillId", counts["fills"])
        attr("borderId", counts["borders"])
        attr("numFmtId", fmt_ids)
        return re.sub(r'\sxfId="\d+"', ' xfId="0"', xf)

    xml = new_styles_xml
    for tag, item, extra in (("fonts", "font", old.fonts), ("fills", "fill", old.fills),
                             ("borders", "border", old.borders), ("cellXfs", "xf", [shift(x) for x in old.xfs]),
                             ("numFmts", "numFmt", added_fmts)):
        if not extra:
            continue
        if re.search(rf"<{tag}\b", xml) is None:  # only numFmts may be missing; it comes first in styleSheet
            xml = xml.replace("<fonts", '<numFmts count="0"></numFmts><fonts', 1)
        xml = re.sub(rf"<{tag}\b([^>]*?)/>", rf"<{tag}\1></{tag}>", xml, count=1)
        xml = xml.replace(f"</{tag}>", "".join(extra) + f"</{tag}>", 1)
        total = len(_children(xml, tag, item))
        xml = re.sub(rf'(<{tag}\b[^>]*?\bcount=")\d+(")', rf"\g<1>{total}\2", xml, count=1)
    return xml, {i: counts["cellXfs"] + i for i in range(len(old.xfs))}


def restyle(sheet_xml: str, xf_map: dict[int, int]) -> str:
    """Cell, row and column style indexes of a carried sheet renumbered to the new styles.xml."""
    def renumber(m: re.Match) -> str:
        return f"{m.group(1)}{xf_map.get(int(m.group(2)), 0)}{m.group(3)}"

    xml = re.sub(r'(<(?:c|row)\b[^>]*?\ss=")(\d+)(")', renumber, sheet_xml)
    return re.sub(r'(<col\b[^>]*?\sstyle=")(\d+)(")', renumber, xml)


@dataclass
class Name:
    name: str
    refers_to: str
    sheet: str | None          # the sheet a local name belongs to
    hidden: bool = False


def defined_names(zf: zipfile.ZipFile) -> list[Name]:
    root = ET.fromstring(zf.read("xl/workbook.xml"))
    sheets = [el.get("name") for el in root.iter(f"{{{NS_MAIN}}}sheet")]
    out = []
    for el in root.iter(f"{{{NS_MAIN}}}definedName"):
        local = el.get("localSheetId")
        out.append(Name(el.get("name"), el.text or "", sheets[int(local)] if local is not None else None,
                        el.get("hidden") in ("1", "true")))
    return out


def add_sheets_and_names(parts: dict[str, bytes], sheets: list[tuple[str, str, str]], names: list[Name]) -> None:
    """Add worksheets (name, state, part XML) at the end of the workbook and defined names to ``parts`` (the new
    package's members, changed in place)."""
    wb = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    types = parts[CONTENT_TYPES].decode("utf-8")
    n = 1 + max([0, *(int(m) for m in re.findall(r"xl/worksheets/sheet(\d+)\.xml", " ".join(parts)))])
    sheet_id = 1 + max(int(m) for m in re.findall(r'<sheet\b[^>]*?sheetId="(\d+)"', wb))
    rid = 1 + max([0, *(int(m) for m in re.findall(r'Id="rId(\d+)"', rels))])
    added = ""
    for name, state, xml in sheets:
        part = f"xl/worksheets/sheet{n}.xml"
        parts[part] = xml.encode("utf-8")
        types = set_override(types, part, WORKSHEET_TYPE)
        rels = add_relationship(rels, f"rId{rid}", WORKSHEET_REL, f"worksheets/sheet{n}.xml")
        hidden = "" if state == "visible" else f' state="{state}"'
        added += f'<sheet name="{xml_attr(name)}" sheetId="{sheet_id}"{hidden} r:id="rId{rid}"/>'
        n, sheet_id, rid = n + 1, sheet_id + 1, rid + 1
    wb = wb.replace("</sheets>", added + "</sheets>", 1)
    order = [xml_unescape(m) for m in re.findall(r'<sheet\b[^>]*?name="([^"]*)"', wb)]
    if names:
        entries = "".join(
            f'<definedName name="{xml_attr(nm.name)}"'
            + (f' localSheetId="{order.index(nm.sheet)}"' if nm.sheet is not None else "")
            + (' hidden="1"' if nm.hidden else "") + f">{xml_text(nm.refers_to)}</definedName>"
            for nm in names)
        if "</definedNames>" in wb:
            wb = wb.replace("</definedNames>", entries + "</definedNames>", 1)
        else:
            wb = re.sub(r"(</sheets>)", r"\1<definedNames>" + entries.replace("\\", "\\\\") + "</definedNames>", wb,
                        count=1)
    parts["xl/workbook.xml"] = wb.encode("utf-8")
    parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    parts[CONTENT_TYPES] = types.encode("utf-8")
