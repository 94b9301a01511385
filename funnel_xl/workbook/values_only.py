"""A values-only copy of the master for readers without Python: .xlsx, no macros, no ribbon, no formulas.

The copy is made at the zip level, like every write to the master: the VBA project, the ribbon part, macro
buttons and the calculation chain are dropped with their relationships and content types, the workbook's content
type changes from macro-enabled to the plain sheet type, each formula cell keeps only its cached value, and the
tool's hidden names (the form key that seals the reps' forms among them) stay in the master. The sheets that speak
to the master's user or a developer (说明, xlwings.conf, 函数示例, _styles) are left out (``reader_sheets``) and the
copy opens on 预测. Every other sheet, chart, style, table and print setting is copied unchanged, so the file opens
without a macro warning and reads right in a mail preview or on a phone.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from funnel_xl.errors import InputError, WorkbookFormatError
from funnel_xl.workbook.contract import TOOL_NAME_PREFIX
from funnel_xl.workbook.ooxml import (
    CALC_CHAIN, CONTENT_TYPES, drop_calculated_columns, drop_defined_names, drop_parts, drop_references, set_override,
    values_only_rows,
)
from funnel_xl.labels import LANGUAGES
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.lock import excel_lock
from funnel_xl.workbook.reader_sheets import drop_reader_sheets
from funnel_xl.workbook.zip_patch import LARGE_PART, Part, patch_package

PLAIN_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_VBA_PART = re.compile(r"xl/vbaProject.*\.bin$")


def _macro_parts(zf: zipfile.ZipFile) -> set[str]:
    """The parts an .xlsx leaves out: the VBA project, the ribbon, the calculation chain, and legacy drawings
    that hold only macro buttons (no comments), which would call nothing in an .xlsx."""
    names = zf.namelist()
    parts = {n for n in names if n.startswith("customUI") or _VBA_PART.match(n) or n == CALC_CHAIN}
    for n in names:
        if n.endswith(".vml"):
            vml = zf.read(n)
            if b'ObjectType="Button"' in vml and b'ObjectType="Note"' not in vml:
                parts.add(n)
    return parts


def export_values_only(master: Path, out: Path) -> Path:
    """Write ``out`` (.xlsx): the master's sheets and charts with values only, no VBA, ribbon or buttons."""
    master, out = Path(master), Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out.name}: the export is a workbook without macros and must be named *.xlsx")
    if out.resolve() == master.resolve():
        raise InputError(f"{out.name}: the export must not overwrite the master workbook")
    if excel_lock(out) is not None:
        raise InputError(f"{out.name} is open in Excel: close it and export again")
    try:
        zf = zipfile.ZipFile(master)
    except zipfile.BadZipFile as exc:
        raise WorkbookFormatError(f"{master.name} is not an Excel workbook: {exc}") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zf:
        worksheets = {n for n in zf.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")}
        types = set_override(zf.read(CONTENT_TYPES).decode("utf-8"), "xl/workbook.xml", PLAIN_WORKBOOK)
        workbook = drop_defined_names(zf.read("xl/workbook.xml").decode("utf-8"),
                                      lambda n: n.name.startswith(TOOL_NAME_PREFIX))
        # The worksheets are rewritten below, each read once: the references to what went are dropped there.
        drop = drop_parts(zf, _macro_parts(zf), {CONTENT_TYPES: types.encode("utf-8"),
                                                  "xl/workbook.xml": workbook.encode("utf-8")}, defer=worksheets)
        sheets = drop_reader_sheets(zf, drop.replaced, {sheet_name("forecast", lang) for lang in LANGUAGES},
                                    defer=worksheets)
        dropped = drop.dropped | sheets.dropped
        replaced: dict[str, Part] = {n: data for n, data in sheets.replaced.items() if n not in dropped}
        for n in zf.namelist():
            if n in dropped:
                continue
            if n in worksheets:
                ids = [*drop.removed.get(n, ()), *sheets.removed.get(n, ())]
                part = _ValuesOnlySheet(zf, n, ids)
                replaced[n] = part if zf.getinfo(n).file_size > LARGE_PART else b"".join(part)
            elif n.startswith("xl/tables/") and n.endswith(".xml"):
                replaced[n] = drop_calculated_columns(zf.read(n).decode("utf-8")).encode("utf-8")
        try:
            patch_package(master, tmp, replaced, dropped)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
    return out


_STRETCH = 4 << 20
_ROW_END = b"</row>"


@dataclass(frozen=True)
class _ValuesOnlySheet:
    """A worksheet part with values only (``values_only``) and without its references to the relationships ``ids``
    (gone with the parts they named), read, changed and written a stretch of whole rows at a time: a 100,000-row
    sheet (400 MB of XML) is never held whole, nor decoded."""

    zf: zipfile.ZipFile
    name: str
    ids: list[str]

    def __iter__(self) -> Iterator[bytes]:
        where = ["head"]
        with self.zf.open(self.name) as fh:
            rest = b""
            while True:
                chunk = fh.read(_STRETCH)
                data = rest + chunk
                if chunk:
                    cut = data.rfind(_ROW_END)
                    if cut < 0:
                        rest = data
                        continue
                    cut += len(_ROW_END)
                    data, rest = data[:cut], data[cut:]
                yield self._stretch(data, where)
                if not chunk:
                    return

    def _stretch(self, data: bytes, where: list[str]) -> bytes:
        """A stretch of the part, cut after a row, changed: the cells inside <sheetData> (``where[0]`` is "head"
        before it, "rows" in it, "tail" after it), the references outside it."""
        out = []
        if where[0] == "head":
            at = data.find(b"<sheetData")
            if at < 0:
                return self._outside(data)
            tag_end = data.index(b">", at) + 1
            out.append(self._outside(data[:tag_end]))
            where[0] = "tail" if data[tag_end - 2:tag_end] == b"/>" else "rows"
            data = data[tag_end:]
        if where[0] == "rows":
            at = data.find(b"</sheetData>")
            out.append(values_only_rows(data if at < 0 else data[:at]))
            if at < 0:
                return b"".join(out)
            data, where[0] = data[at:], "tail"
        out.append(self._outside(data))
        return b"".join(out)

    def _outside(self, data: bytes) -> bytes:
        return drop_references(data.decode("utf-8"), self.ids).encode("utf-8") if self.ids and data else data

    def size_bound(self) -> int:
        """At most the part's own size: removing formulas never lengthens it."""
        return self.zf.getinfo(self.name).file_size
