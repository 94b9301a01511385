"""Read the map of an .xlsx/.xlsm package: sheets, their parts, tables and charts, without loading cell data.

The file adapter reads cells with a fast reader and writes back only the parts the tool owns; this index tells
it which zip members those are. Parsing goes through defusedxml, since workbooks travel by e-mail.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field

from defusedxml import ElementTree as ET

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


@dataclass
class PackageIndex:
    sheets: list[SheetInfo] = field(default_factory=list)
    tables: dict[str, TableInfo] = field(default_factory=dict)

    def sheet(self, name: str) -> SheetInfo | None:
        for s in self.sheets:
            if s.name == name:
                return s
        return None

    @classmethod
    def read(cls, zf: zipfile.ZipFile) -> "PackageIndex":
        names = set(zf.namelist())
        workbook = ET.fromstring(zf.read("xl/workbook.xml"))
        wb_rels = _rels(zf, "xl/workbook.xml", names)
        index = cls()
        for el in workbook.iter(f"{{{NS_MAIN}}}sheet"):
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
            index.sheets.append(SheetInfo(el.get("name"), part, el.get("state", "visible"), tuple(sorted(charts))))
        return index


def _rels(zf: zipfile.ZipFile, part: str, names: set[str]) -> dict[str, tuple[str, str]]:
    """Relationships of a part: id -> (type, absolute target part)."""
    folder, base = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", base + ".rels")
    if rels_part not in names:
        return {}
    out = {}
    for rel in ET.fromstring(zf.read(rels_part)).iter(f"{{{NS_PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id")] = (rel.get("Type"), target)
    return out


_CELL_RE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def split_ref(ref: str) -> tuple[int, int, int, int]:
    """'B4:H20' -> (first_row, first_col, last_row, last_col), 1-based."""
    a, _, b = ref.partition(":")
    r1, c1 = cell_to_rowcol(a)
    r2, c2 = cell_to_rowcol(b or a)
    return r1, c1, r2, c2


def cell_to_rowcol(cell: str) -> tuple[int, int]:
    m = _CELL_RE.match(cell.strip())
    if not m:
        raise ValueError(f"not a cell reference: {cell!r}")
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def col_letter(col: int) -> str:
    """1 -> 'A', 27 -> 'AA'."""
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out
