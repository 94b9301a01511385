"""A values-only copy of the master for readers without Python: .xlsx, no macros, no ribbon, no formulas.

The copy is made at the zip level, like every write to the master: the VBA project, the ribbon part, macro
buttons and the calculation chain are dropped with their relationships and content types, the workbook's content
type changes from macro-enabled to the plain sheet type, and each formula cell keeps only its cached value. Every
sheet, chart, style, table and print setting is copied unchanged, so the file opens without a macro warning and
reads right in a mail preview or on a phone.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

from funnel_xl.errors import InputError, WorkbookFormatError
from funnel_xl.workbook.zip_patch import lock_file, patch_package

MACRO_WORKBOOK = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
PLAIN_WORKBOOK = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_RELATIONSHIP = re.compile(r'<Relationship\b[^>]*?/>')
_OVERRIDE = re.compile(r'<Override\b[^>]*?/>')
_DEFAULT_BIN = re.compile(r'<Default Extension="bin"[^>]*?/>')
_FORMULA = re.compile(r"<f\b[^>]*/>|<f\b[^>]*>.*?</f>", re.S)
_STR_CELL = re.compile(r'<c\b([^>]*?)\st="str"([^>]*)>(.*?)</c>', re.S)
_VALUE = re.compile(r"<v>(.*?)</v>", re.S)
_SHEET_DATA = re.compile(r"<sheetData>.*?</sheetData>", re.S)
_CALC_COLUMN = re.compile(r"<calculatedColumnFormula\b[^>]*>.*?</calculatedColumnFormula>|<calculatedColumnFormula\b[^>]*/>", re.S)


def _attr(tag: str, name: str) -> str | None:
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return m.group(1) if m else None


def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _target(rels_part: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    owner_folder = posixpath.dirname(posixpath.dirname(rels_part))
    return posixpath.normpath(posixpath.join(owner_folder, target))


def _drop_relationships(xml: str, rels_part: str, dropped: set[str]) -> tuple[str, list[str]]:
    """The .rels XML without relationships to dropped parts; also returns the removed relationship ids."""
    removed: list[str] = []

    def keep(m: re.Match) -> str:
        tag = m.group(0)
        if _attr(tag, "TargetMode") == "External":
            return tag
        if _target(rels_part, _attr(tag, "Target") or "") in dropped:
            removed.append(_attr(tag, "Id") or "")
            return ""
        return tag

    return _RELATIONSHIP.sub(keep, xml), removed


def values_only_sheet(xml: str) -> str:
    """A worksheet part with every formula removed and its cached value kept (formula strings become text)."""
    def in_data(block: re.Match) -> str:
        data = _FORMULA.sub("", block.group(0))

        def to_inline(m: re.Match) -> str:
            value = _VALUE.search(m.group(3))
            text = value.group(1) if value else ""
            attrs = m.group(1) + m.group(2)
            if not text:
                return f"<c{attrs}/>"
            return f'<c{attrs} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'

        return _STR_CELL.sub(to_inline, data)

    return _SHEET_DATA.sub(in_data, xml, count=1)


def export_values_only(master: Path, out: Path) -> Path:
    """Write ``out`` (.xlsx): the master's sheets and charts with values only, no VBA, ribbon or buttons."""
    master, out = Path(master), Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError(f"{out.name}: the export is a workbook without macros and must be named *.xlsx")
    if out.resolve() == master.resolve():
        raise InputError(f"{out.name}: the export must not overwrite the master workbook")
    if lock_file(out) is not None:
        raise InputError(f"{out.name} is open in Excel: close it and export again")
    try:
        zf = zipfile.ZipFile(master)
    except zipfile.BadZipFile as exc:
        raise WorkbookFormatError(f"{master.name} is not an Excel workbook: {exc}") from exc
    with zf:
        names = zf.namelist()
        read = lambda part: zf.read(part).decode("utf-8")  # noqa: E731
        dropped = {n for n in names if n.startswith("customUI") or re.match(r"xl/vbaProject.*\.bin$", n)
                   or n == "xl/calcChain.xml" or n.startswith("xl/_rels/vbaProject")}
        # Legacy drawings that hold only macro buttons (no comments) go too: in an .xlsx they would call nothing.
        for n in names:
            if n.endswith(".vml"):
                vml = zf.read(n)
                if b'ObjectType="Button"' in vml and b'ObjectType="Note"' not in vml:
                    dropped.add(n)
        dropped |= {_rels_part(p) for p in list(dropped) if _rels_part(p) in names}

        replaced: dict[str, bytes] = {}
        for n in names:
            if n in dropped:
                continue
            if n.endswith(".rels"):
                xml, removed = _drop_relationships(read(n), n, dropped)
                if removed:
                    replaced[n] = xml.encode("utf-8")
                    owner = _target(n, posixpath.basename(n)[: -len(".rels")])
                    if owner.startswith("xl/worksheets/") and owner in names:
                        sheet = replaced.get(owner, zf.read(owner)).decode("utf-8")
                        for rid in removed:
                            sheet = re.sub(rf'<legacyDrawing\b[^>]*r:id="{rid}"[^>]*/>', "", sheet)
                        replaced[owner] = sheet.encode("utf-8")
        for n in names:
            if n in dropped:
                continue
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                sheet = replaced.get(n, zf.read(n)).decode("utf-8")
                replaced[n] = values_only_sheet(sheet).encode("utf-8")
            elif n.startswith("xl/tables/") and n.endswith(".xml"):
                replaced[n] = _CALC_COLUMN.sub("", read(n)).encode("utf-8")
        types = read("[Content_Types].xml").replace(MACRO_WORKBOOK, PLAIN_WORKBOOK)
        types = _OVERRIDE.sub(lambda m: "" if (_attr(m.group(0), "PartName") or "").lstrip("/") in dropped
                              else m.group(0), types)
        if not any(n.lower().endswith(".bin") for n in names if n not in dropped):
            types = _DEFAULT_BIN.sub("", types)
        replaced["[Content_Types].xml"] = types.encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        _patch_without(master, tmp, replaced, dropped)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _patch_without(source: Path, target: Path, replaced: dict[str, bytes], dropped: set[str]) -> None:
    """patch_package, leaving the dropped members out."""
    keep = Path(str(target) + ".src")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(keep, "w", zipfile.ZIP_STORED) as mid:
        for info in src.infolist():
            if info.filename not in dropped:
                mid.writestr(info, src.read(info.filename))
    try:
        patch_package(keep, target, replaced)
    finally:
        keep.unlink(missing_ok=True)
