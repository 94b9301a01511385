"""Upgrade a workbook (funnel-xl upgrade, 升级工作簿): build it anew from today's sources and carry the user's data.

The new workbook is built as ``build-workbook`` builds one (this funnel_xl's sheets, formulas, VBA and ribbon), with
the methodology the old workbook's 阶段设置 holds (as the user edited it) or one given, and then takes over what is
the user's: every row of 商机 and 销售人员, the answers of criteria both methodologies have (a criterion added gets an
empty column; one removed has its answers kept, by opportunity, in a sheet of their own), the columns the user added
to a table (kept in that sheet too), the interpreter settings of xlwings.conf, the collection log, the user's own
sheets and names, and the weekly history. The 商机 formulas are the new methodology's, so they follow its required
flags. What could not be carried is listed in the report; nothing is dropped silently.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import CHECKLIST_PREFIX, OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.forms.collect import audit_sheet, existing_audit_rows
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.reports.activity_log import activity_log_sheet, existing_activity
from funnel_xl.workbook import carry, contract, fingerprint
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.ooxml import Write, patch_cells, sheet_data_xml, splice_sheet_data, xml_unescape
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.reader import read_inputs
from funnel_xl.workbook.saving import commit, copy_file, prepare_write
from funnel_xl.workbook.zip_patch import new_zip
from funnel_xl.workbook.sheets.config import SETTINGS

KEPT_SHEET = "upgrade_kept"  # label key of the sheet holding what has no column in the new tables


@dataclass
class UpgradeReport:
    """What an upgrade carried, and what it could not."""

    output: Path
    methodology: str
    opportunities: int = 0
    reps: int = 0
    snapshots: int = 0
    log_lines: int = 0
    added_criteria: list[str] = field(default_factory=list)
    removed_criteria: list[str] = field(default_factory=list)
    kept_columns: list[str] = field(default_factory=list)
    user_sheets: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    backup: Path | None = None

    def summary(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}

    def describe(self, lang: str = "zh-CN") -> str:
        lines = [label("upgrade.done", lang).format(output=self.output, opportunities=self.opportunities,
                                                     reps=self.reps, snapshots=self.snapshots, log=self.log_lines)]
        for key, items in (("added", self.added_criteria), ("removed", self.removed_criteria),
                           ("kept_columns", self.kept_columns), ("sheets", self.user_sheets), ("names", self.names),
                           ("settings", self.settings)):
            if items:
                lines.append(f"{label(f'upgrade.{key}', lang)}: {', '.join(items)}")
        if self.not_carried:
            lines.append(label("upgrade.not_carried", lang))
            lines += [f"  - {item}" for item in self.not_carried]
        return "\n".join(lines)


def _tool_sheet_names() -> set[str]:
    names = {contract.sheet_name(key, lang) for key in contract.SHEET_KEYS for lang in LANGUAGES}
    names |= {label(f"sheet.{KEPT_SHEET}", lang) for lang in LANGUAGES}
    return names | {contract.CONFIG_SHEET, contract.STYLES_SHEET}


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows holding anything (a table's blank rows are no data), still indexed by their sheet rows."""
    filled = frame.map(lambda v: v is not None and v is not pd.NA and not (isinstance(v, float) and v != v)).any(axis=1)
    return frame[filled]


def upgrade_workbook(old: str | Path, output: str | Path | None = None, *,
                     methodology: Methodology | None = None) -> UpgradeReport:
    """Build ``output`` (default: over ``old``, keeping ``<name>.bak.xlsm``) from today's sources with ``old``'s data.
    ``methodology`` replaces the one ``old``'s 阶段设置 holds."""
    old = Path(old)
    output = Path(output) if output else old
    output.parent.mkdir(parents=True, exist_ok=True)
    locks = prepare_write(output, old)  # refused before any work if it cannot be saved; locked until it is
    try:
        return _upgrade(old, output, methodology)
    finally:
        for held in locks:
            held.release()


def _upgrade(old: Path, output: Path, methodology: Methodology | None) -> UpgradeReport:
    with FileWorkbook(old, read_only=True, quiet=True) as book:
        inputs = read_inputs(book, old.name)
        lang = inputs.language
        opps = _rows(book.read_rows(contract.TABLE_OPPORTUNITIES))
        reps = _rows(book.read_rows(contract.TABLE_REPS))
        raw_opps = book.read_table(contract.TABLE_OPPORTUNITIES).frame
        audit_name = contract.sheet_name("audit", lang)
        log = existing_audit_rows(book.read_sheet(audit_name)) if audit_name in book.sheet_names() else []
        activity_name = contract.sheet_name("activity", lang)
        activity = existing_activity(book.read_sheet(activity_name)) if activity_name in book.sheet_names() else None
        conf = book.read_sheet(contract.CONFIG_SHEET) if contract.CONFIG_SHEET in book.sheet_names() else []
    new_m = methodology or inputs.methodology
    report = UpgradeReport(output, new_m.key, opportunities=len(opps), reps=len(reps), log_lines=len(log))

    old_checks = [c for c in opps.columns if c.startswith(CHECKLIST_PREFIX)]
    new_checks = [checklist_column(c.key) for c in new_m.criteria()]
    report.added_criteria = [c.removeprefix(CHECKLIST_PREFIX) for c in new_checks if c not in old_checks]
    report.removed_criteria = [c.removeprefix(CHECKLIST_PREFIX) for c in old_checks if c not in new_checks]
    frame = pd.DataFrame({c: opps[c] if c in opps.columns else None for c in [*OPPORTUNITY_COLUMNS, *new_checks]},
                         index=opps.index).reset_index(drop=True)
    for c in new_checks:
        if c not in opps.columns:
            frame[c] = pd.array([pd.NA] * len(frame), "boolean")
    rep_frame = pd.DataFrame({c: reps[c] if c in reps.columns else None for c in REP_COLUMNS},
                             index=reps.index).reset_index(drop=True)
    stages = set(new_m.stage_keys)
    lost_stages = sorted({str(s) for s in frame["stage"].dropna() if str(s) not in stages})
    if lost_stages:
        report.not_carried.append(label("upgrade.lost_stages", lang).format(stages=", ".join(lost_stages)))

    known = {contract.opportunity_header(k, lg) for k in (*OPPORTUNITY_COLUMNS, *contract.DERIVED_OPPORTUNITY_COLUMNS)
             for lg in LANGUAGES}
    known |= {h for h in raw_opps.columns if h in inputs.opportunity_labels.values()}
    extra = [h for h in raw_opps.columns if h not in known and h]
    report.kept_columns = extra
    kept = _kept_sheet(opps, raw_opps, [checklist_column(k) for k in report.removed_criteria], extra, lang)

    with tempfile.TemporaryDirectory(prefix="funnel_xl_upgrade_") as tmp:
        built = write_workbook(Path(tmp) / f"new{output.suffix}", lang=lang, methodology=new_m,
                               opportunities=frame, reps=rep_frame, vba=output.suffix.lower() == ".xlsm",
                               settings=inputs.settings)
        with FileWorkbook(built, quiet=True) as fresh:
            carried = {audit_name: audit_sheet(log, [], lang)} if log else {}
            if activity is not None and len(activity):  # the reps' reported weeks (工作记录) go with the log
                carried[activity_name] = activity_log_sheet(activity, lang)
            if carried:
                fresh.write_sheets(carried)
                fresh.save()
        with zipfile.ZipFile(old) as zf_old, zipfile.ZipFile(built) as zf_new:
            parts = {i.filename: zf_new.read(i.filename) for i in zf_new.infolist()}
            _carry_package(zf_old, parts, kept, conf, lang, report)
        report.backup = commit(output, lambda target: _write_package(target, parts))
    report.snapshots = _carry_history(old, output)
    return report


def _write_package(target: Path, parts: dict[str, bytes]) -> None:
    with new_zip(target) as zf:
        for name, data in parts.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compresslevel=6)


def _kept_sheet(opps: pd.DataFrame, raw: pd.DataFrame, removed: list[str], extra: list[str],
                lang: str) -> OutputSheet | None:
    """By opportunity id: the answers of removed criteria and the values of the user's own table columns."""
    if not removed and not extra:
        return None
    sheet = OutputSheet("upgrade_kept")
    sheet.put(1, 1, label("upgrade.kept_title", lang), "title")
    headers = [contract.opportunity_header("id", lang), *[c.removeprefix(CHECKLIST_PREFIX) for c in removed], *extra]
    sheet.put_row(3, 1, headers, "header")
    for i, row in enumerate(opps.index):  # the sheet row of each opportunity, in both frames
        values = [opps.at[row, "id"], *[_answer(opps.at[row, c], lang) for c in removed]]
        values += [raw.at[row, h] if row in raw.index else None for h in extra]
        sheet.put_row(4 + i, 1, values, "text")
    sheet.widths.update({c: 16 for c in range(1, len(headers) + 1)})
    return sheet


def _answer(value, lang: str):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return label("out.yes" if value else "out.no", lang)
    return value


def _carry_package(zf_old: zipfile.ZipFile, parts: dict[str, bytes], kept: OutputSheet | None, conf: list[list],
                   lang: str, report: UpgradeReport) -> None:
    """The user's sheets, names and settings from the old package into the new one's members."""
    sheets = carry.user_sheets(zf_old, _tool_sheet_names())
    styles, xf_map = carry.append_styles(parts["xl/styles.xml"].decode("utf-8"), carry.read_styles(zf_old))
    parts["xl/styles.xml"] = styles.encode("utf-8")
    new_sheets = []
    for sheet in sheets:
        new_sheets.append((sheet.name, sheet.state, carry.restyle(sheet.xml, xf_map)))
        report.user_sheets.append(sheet.name)
        for tag in sheet.left_out:
            report.not_carried.append(label("upgrade.left_out", lang).format(sheet=sheet.name, what=tag))
    if kept is not None:
        name = label(f"sheet.{KEPT_SHEET}", lang)
        cells = ((r, c, cell.value, 0) for (r, c), cell in kept.cells.items())
        blank = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
                 '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
        new_sheets.append((name, "visible", splice_sheet_data(blank, sheet_data_xml(cells, {}),
                                                              dimension=f"A1:A{kept.max_row}")))
    new_names = {(n.name, n.sheet) for n in carry.defined_names(_index_zip(parts))}
    carried_sheets = {name for name, _, _ in new_sheets}
    in_new = set(_sheet_order(parts)) | carried_sheets
    names = []
    for n in carry.defined_names(zf_old):
        if (n.name, n.sheet) in new_names or n.name.startswith("_xlnm.") and n.sheet not in carried_sheets:
            continue
        if n.name == fingerprint.NAME:  # what the tool wrote on the old output sheets says nothing of the new ones
            continue
        if n.sheet is not None and n.sheet not in in_new:
            report.not_carried.append(label("upgrade.lost_name", lang).format(name=n.name, sheet=n.sheet))
            continue
        names.append(n)
        report.names.append(n.name)
    carry.add_sheets_and_names(parts, new_sheets, names)
    _carry_settings(parts, conf, report)


def _index_zip(parts: dict[str, bytes]) -> zipfile.ZipFile:
    """The new package's workbook part and its relationships as a zip, for the readers of the package map."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            zf.writestr(name, parts[name])
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


def _sheet_order(parts: dict[str, bytes]) -> list[str]:
    return [xml_unescape(m) for m in re.findall(r'<sheet\b[^>]*?name="([^"]*)"', parts["xl/workbook.xml"].decode())]


def _carry_settings(parts: dict[str, bytes], conf: list[list], report: UpgradeReport) -> None:
    """The xlwings.conf values a user fills in (the interpreter, PYTHONPATH, conda), where the new build leaves
    them blank; the tool's own settings (UDF modules, the UDF server) are the new version's."""
    user_keys = {key: row for row, (key, value) in enumerate(SETTINGS, start=1) if value is None}
    values = {}
    for row in conf:
        if len(row) >= 2 and isinstance(row[0], str) and row[0] in user_keys and row[1] not in (None, ""):
            values[user_keys[row[0]]] = row[1]
            report.settings.append(row[0])
    if not values:
        return
    part = PackageIndex.read(_index_zip(parts)).sheet(contract.CONFIG_SHEET).part
    xml = parts[part].decode("utf-8")
    parts[part] = patch_cells(xml, {(row, 2): Write(value) for row, value in values.items()}).encode("utf-8")


def _carry_history(old: Path, output: Path) -> int:
    """The weekly history beside ``old`` copied beside ``output``; returns how many snapshots ``output`` has."""
    from funnel_xl.history import SnapshotStore, history_path

    source, target = history_path(old), history_path(output)
    if not source.exists():
        return 0
    if source != target:
        copy_file(source, target)
    with SnapshotStore(target) as store:
        return len(store.dates())


