"""Read the map of an .xlsx/.xlsm package: sheets, their parts, tables and charts, without loading cell data.

The file adapter reads cells with a fast reader and writes back only the parts the tool owns; this index tells
it which zip members those are. Parsing goes through defusedxml, since workbooks travel by e-mail.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree as ET

from funnel_xl.workbook.ooxml.names import DefinedName, defined_names
from funnel_xl.workbook.ooxml.parts import rels_part, resolve_target

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
REL_TABLE = f"{NS_REL}/table"
REL_DRAWING = f"{NS_REL}/drawing"
REL_CHART = f"{NS_REL}/chart"


@dataclass(frozen=True)
class TableInfo:
    name: str
    sheet: str
    ref: str          # e.g. "A4:AZ66"
    part: str


@dataclass(frozen=True)
class SheetInfo:
    name: str
    part: str         # e.g. "xl/worksheets/sheet3.xml"
    state: str        # visible | hidden | veryHidden
    charts: tuple[str, ...] = ()
    position: int = 0  # its place in the workbook's sheet list (what a sheet's defined name calls localSheetId)


@dataclass
class PackageIndex:
    sheets: list[SheetInfo] = field(default_factory=list)
    tables: dict[str, TableInfo] = field(default_factory=dict)
    names: list[DefinedName] = field(default_factory=list)

    def name(self, name: str, local_sheet: int | None = None) -> DefinedName | None:
        """A defined name of the whole workbook (or of the sheet at ``local_sheet``), if present."""
        return next((n for n in self.names if n.name == name and n.local_sheet == local_sheet), None)

    def sheet(self, name: str) -> SheetInfo | None:
        for s in self.sheets:
            if s.name == name:
                return s
        return None

    @classmethod
    def read(cls, zf: zipfile.ZipFile) -> "PackageIndex":
        names = set(zf.namelist())
        workbook_xml = zf.read("xl/workbook.xml")
        workbook = ET.fromstring(workbook_xml)
        wb_rels = _rels(zf, "xl/workbook.xml", names)
        index = cls(names=defined_names(workbook_xml.decode("utf-8")))
        for position, el in enumerate(workbook.iter(f"{{{NS_MAIN}}}sheet")):
            rid = el.get(f"{{{NS_REL}}}id")
            part = wb_rels.get(rid, (None, None))[1]
            if part is None:
                continue
            sheet_rels = _rels(zf, part, names)
            charts: list[str] = []
            for rtype, target in sheet_rels.values():
                if rtype == REL_TABLE and target in names:
                    t = ET.fromstring(zf.read(target))
                    name = t.get("displayName") or t.get("name")
                    index.tables[name] = TableInfo(name, el.get("name"), t.get("ref"), target)
                elif rtype == REL_DRAWING and target in names:
                    charts += [tg for rt, tg in _rels(zf, target, names).values() if rt == REL_CHART]
            index.sheets.append(SheetInfo(el.get("name"), part, el.get("state", "visible"), tuple(sorted(charts)),
                                          position))
        return index


def _rels(zf: zipfile.ZipFile, part: str, names: set[str]) -> dict[str, tuple[str, str]]:
    """Relationships of a part: id -> (type, absolute target part)."""
    rels = rels_part(part)
    if rels not in names:
        return {}
    out = {}
    for rel in ET.fromstring(zf.read(rels)).iter(f"{{{NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        out[rel.get("Id")] = (rel.get("Type"), resolve_target(part, rel.get("Target")))
    return out
