"""What a reader's copy leaves out: the sheets that speak to the master's user or to a developer.

The values-only export goes to people without the Python side: 说明 (the buttons, installing Python), xlwings.conf,
函数示例 and the _styles palette mean nothing to them (函数示例 is a wall of #NAME? without the add-in). Each is
dropped with its part and the parts only it used; the workbook's print settings are renumbered to the sheets left,
and the copy opens on 预测, the first screen.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Collection

from funnel_xl.labels import LANGUAGES
from funnel_xl.workbook.contract import CONFIG_SHEET, STYLES_SHEET, sheet_name
from funnel_xl.workbook.ooxml import attr, drop_parts, rels_part, resolve_target, xml_unescape
from funnel_xl.workbook.ooxml.parts import PartDrop

WORKBOOK = "xl/workbook.xml"
APP_PROPERTIES = "docProps/app.xml"
_SHEET = re.compile(r"<sheet\b[^>]*/>")
_RELATIONSHIP = re.compile(r"<Relationship\b[^>]*?/>")
_DEFINED_NAME = re.compile(r"<definedName\b([^>]*)>([^<]*)</definedName>")


def reader_dropped_sheets() -> set[str]:
    """The sheet names a reader's copy leaves out, in either language."""
    return {CONFIG_SHEET, STYLES_SHEET, *(sheet_name(k, lang) for k in ("guide", "examples") for lang in LANGUAGES)}


def _sheets(workbook_xml: str) -> list[tuple[str, str]]:
    """(name, relationship id) of each sheet, in tab order."""
    return [(xml_unescape(attr(m.group(0), "name") or ""), attr(m.group(0), "r:id") or "")
            for m in _SHEET.finditer(workbook_xml)]


def drop_reader_sheets(zf: zipfile.ZipFile, replaced: dict[str, bytes], first_screen: set[str],
                       defer: Collection[str] = ()) -> PartDrop:
    """Drop the sheets of ``reader_dropped_sheets`` from the package being exported (``replaced``: parts already
    rewritten) and open it on the first sheet named in ``first_screen``; ``defer`` as ``drop_parts`` takes it."""
    read = lambda n: (replaced[n] if n in replaced else zf.read(n)).decode("utf-8")  # noqa: E731
    workbook = read(WORKBOOK)
    sheets = _sheets(workbook)
    drop_names = reader_dropped_sheets()
    gone = [i for i, (name, _) in enumerate(sheets) if name in drop_names]
    if not gone or len(gone) == len(sheets):
        return PartDrop(dict(replaced), frozenset(), {})
    rels = read(rels_part(WORKBOOK))
    targets = {attr(m.group(0), "Id"): resolve_target(WORKBOOK, attr(m.group(0), "Target") or "")
               for m in _RELATIONSHIP.finditer(rels)}
    parts = {targets[sheets[i][1]] for i in gone if sheets[i][1] in targets}
    # What only those sheets used (their drawings, comments, printer settings) goes with them.
    for part in list(parts):
        if rels_part(part) in zf.namelist():
            parts |= {resolve_target(part, attr(m.group(0), "Target") or "")
                      for m in _RELATIONSHIP.finditer(read(rels_part(part)))
                      if attr(m.group(0), "TargetMode") != "External"}
    drop = drop_parts(zf, parts, replaced, defer)
    kept = [name for i, (name, _) in enumerate(sheets) if i not in gone]
    new_index = {i: kept.index(name) for i, (name, _) in enumerate(sheets) if i not in gone}
    xml = _renumber_names(drop.replaced.get(WORKBOOK, workbook.encode()).decode("utf-8"), new_index,
                          {sheets[i][0] for i in gone})
    active = next((kept.index(n) for n in kept if n in first_screen), 0)
    xml = re.sub(r"<workbookView\b[^>]*?(/?)>", lambda m: _active(m.group(0), active), xml, count=1)
    drop.replaced[WORKBOOK] = xml.encode("utf-8")
    if APP_PROPERTIES in zf.namelist():
        drop.replaced[APP_PROPERTIES] = _app_without(read(APP_PROPERTIES), {sheets[i][0] for i in gone}).encode()
    return drop


def _renumber_names(workbook_xml: str, new_index: dict[int, int], gone: set[str]) -> str:
    """Defined names of a dropped sheet (its print area, a name pointing into it) removed; the others' sheet
    numbers follow the sheets left."""

    def repl(m: re.Match) -> str:
        attrs, formula = m.group(1), xml_unescape(m.group(2))
        local = attr(m.group(0), "localSheetId")
        if local is not None:
            if int(local) not in new_index:
                return ""
            attrs = re.sub(r'localSheetId="\d+"', f'localSheetId="{new_index[int(local)]}"', attrs)
        if any(f"{name}!" in formula or f"'{name}'!" in formula for name in gone):
            return ""
        return f"<definedName{attrs}>{m.group(2)}</definedName>"

    out = _DEFINED_NAME.sub(repl, workbook_xml)
    return re.sub(r"<definedNames>\s*</definedNames>", "", out)


def _active(view: str, index: int) -> str:
    view = re.sub(r'\s(activeTab|firstSheet)="\d+"', "", view)
    return view.replace("<workbookView", f'<workbookView activeTab="{index}"', 1)


def _app_without(app_xml: str, gone: set[str]) -> str:
    """docProps/app.xml without the dropped sheets and their names in its list of parts, its counts to match."""
    counts = {"Worksheets": 0, "Named Ranges": 0}

    def keep(m: re.Match) -> str:
        text = xml_unescape(m.group(1))
        if text in gone:
            counts["Worksheets"] += 1
            return ""
        if any(text.startswith(f"{name}!") for name in gone):
            counts["Named Ranges"] += 1
            return ""
        return m.group(0)

    app_xml = re.sub(r"<TitlesOfParts>.*?</TitlesOfParts>",
                     lambda t: re.sub(r"<vt:lpstr>([^<]*)</vt:lpstr>", keep, t.group(0)), app_xml, flags=re.S)
    for heading, removed in counts.items():
        app_xml = re.sub(rf"(<vt:lpstr>{heading}</vt:lpstr></vt:variant><vt:variant><vt:i4>)(\d+)",
                         lambda m, r=removed: f"{m.group(1)}{int(m.group(2)) - r}", app_xml, count=1)
    return re.sub(r'(<TitlesOfParts><vt:vector size=")(\d+)',
                  lambda m: f"{m.group(1)}{int(m.group(2)) - sum(counts.values())}", app_xml, count=1)
