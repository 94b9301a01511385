"""Write canonical values into a workbook file's input tables (商机, 销售人员): update cells, append rows.

The file adapter stages a use case's edits here (``FileWorkbook.update_cells`` / ``append_rows``) and writes the
parts this module patches in the same atomic save as the output sheets. Values are canonical; this module shows
them the way the builder does (stage names in the workbook's language, status labels, 是/否, real dates), grows
the table with the styles and formulas of its last row, and stores in every derived formula cell it writes the
value the domain computes, so the file reads right before any spreadsheet recalculates. Cell-level splicing
(``ooxml``) keeps every other cell, style, validation and the VBA project as they were.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
from defusedxml import ElementTree as ET

from funnel_xl.domain.columns import AMOUNT, DATE, OPPORTUNITIES, REPS, ColumnKeys
from funnel_xl.domain.parsing import is_blank
from funnel_xl.errors import WorkbookFormatError
from funnel_xl.workbook import contract
from funnel_xl.workbook.cell_values import canonical_frame, display_value, plain as _plain
from funnel_xl.workbook.formula_cache import derived_cell_values, number_or_blank
from funnel_xl.workbook.ooxml import (
    Write, excel_serial, grow_dimension, grow_print_area, grow_sheet_ranges, grow_table, has_row, insert_rows,
    move_formula, patch_cells, row_formulas, row_xml, split_ref,
)
from funnel_xl.workbook.package import NS_MAIN
from funnel_xl.workbook.reader import Inputs, read_inputs

if TYPE_CHECKING:
    from funnel_xl.workbook.file_adapter import FileWorkbook

# Columns whose new cells take the workbook's date or money style (live views of the column registry).
DATE_COLUMNS = ColumnKeys(OPPORTUNITIES, REPS, kinds=(DATE,))
NUMBER_COLUMNS = ColumnKeys(OPPORTUNITIES, REPS, kinds=(AMOUNT,))

_SUBTOTAL = re.compile(r"^SUBTOTAL\(109,(\w+)\[\[#Data\],\[(.+)\]\]\)$")
_COUNT_POSITIVE = re.compile(r'^COUNTIF\((\w+)\[\[#Data\],\[(.+)\]\],">0"\)$')


def _excel_value(value: object) -> object:
    """What goes into the XML: dates as serial numbers, everything else as it is."""
    if isinstance(value, (dt.date, dt.datetime)):
        return excel_serial(value)
    return value


# --- the table in the package ----------------------------------------------------------------------------

@dataclass
class _Table:
    """One input table: where it sits, its columns (canonical key -> sheet column number), and the edits."""

    name: str
    sheet: str
    sheet_part: str
    table_part: str
    ref: str
    keys: dict[str, int]                 # canonical column -> 1-based sheet column
    headers: dict[str, str]              # header text -> canonical column (derived columns included)
    existing: pd.DataFrame               # canonical values, index = sheet rows
    updates: dict[tuple[int, str], Any] = field(default_factory=dict)
    appends: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return split_ref(self.ref)[0] + 1

    @property
    def last_row(self) -> int:
        return split_ref(self.ref)[2]

    def blank_rows_at_end(self) -> list[int]:
        return blank_rows_at_end(self.existing)


def blank_rows_at_end(rows: pd.DataFrame) -> list[int]:
    """Trailing table rows with no value in any canonical column: the first places appended rows go (both
    adapters fill them before growing the table)."""
    blank = rows.map(is_blank).all(axis=1) if len(rows.columns) else pd.Series(True, index=rows.index)
    out: list[int] = []
    for row in reversed(rows.index.tolist()):
        if not blank[row]:
            break
        out.append(row)
    return out[::-1]


def _table_columns(table_xml: bytes) -> list[str]:
    root = ET.fromstring(table_xml)
    return [c.get("name") for c in root.iter(f"{{{NS_MAIN}}}tableColumn")]


class TableWriter:
    """Collect cell updates and new rows for tblOpportunities and tblReps of one workbook file, then give the
    patched parts for the file adapter's save.

    Values are canonical (stage keys, status keys, booleans, Timestamps, floats); ``None`` blanks a cell.
    """

    TABLES = (contract.TABLE_OPPORTUNITIES, contract.TABLE_REPS)

    def __init__(self, book: FileWorkbook, *, inputs: Inputs | None = None):
        self.book = book
        self.inputs = inputs or read_inputs(book, book.name)
        self.methodology = self.inputs.methodology
        self.language = self.inputs.language
        self._tables: dict[str, _Table] = {}

    # -- what the workbook holds --------------------------------------------------------------------------
    def table(self, name: str) -> _Table:
        if name not in self.TABLES:
            raise WorkbookFormatError(f"the table writer writes {', '.join(self.TABLES)}, not {name!r}")
        if name not in self._tables:
            self._tables[name] = self._load(name)
        return self._tables[name]

    def _load(self, name: str) -> _Table:
        info = self.book.index.tables.get(name)
        if info is None:
            raise WorkbookFormatError(f"{self.book.name}: the table {name!r} is missing")
        with zipfile.ZipFile(self.book.path) as zf:
            header_texts = _table_columns(zf.read(info.part))
        if name == contract.TABLE_OPPORTUNITIES:
            labels, raw = self.inputs.opportunity_labels, self.inputs.opportunities
            derived = {contract.opportunity_header(c, lang): c for c in contract.DERIVED_OPPORTUNITY_COLUMNS
                       for lang in ("zh-CN", "en")}
        else:
            labels, raw, derived = self.inputs.rep_labels, self.inputs.reps, {}
        header_to_key = {h.strip(): k for k, h in labels.items()} | derived
        first_col = split_ref(info.ref)[1]
        keys = {header_to_key[h.strip()]: first_col + i for i, h in enumerate(header_texts)
                if h.strip() in header_to_key}
        sheet = self.book.index.sheet(info.sheet)
        r1, _, r2, _ = split_ref(info.ref)
        # A fast reader stops at the last cell holding a value; the table's empty rows below still belong to it.
        raw = raw.reindex(pd.RangeIndex(r1 + 1, r2 + 1))
        return _Table(name, info.sheet, sheet.part, info.part, info.ref, keys,
                      {h.strip(): header_to_key[h.strip()] for h in header_texts if h.strip() in header_to_key},
                      canonical_frame(raw, self.methodology))

    def existing(self, name: str) -> pd.DataFrame:
        """The table's rows in canonical form, index = sheet rows (what an import merges into)."""
        return self.table(name).existing

    # -- edits ----------------------------------------------------------------------------------------------
    def update(self, name: str, row: int, column: str, value: object) -> None:
        """Set one cell of an existing table row (``row`` is the sheet row number)."""
        t = self.table(name)
        if column not in t.keys:
            raise WorkbookFormatError(f"{self.book.name}: table {name} on sheet {t.sheet} has no column for "
                                      f"{column!r}")
        if row not in t.existing.index:
            raise WorkbookFormatError(f"{self.book.name}: sheet {t.sheet}, row {row} is not a row of {name} "
                                      f"({t.ref})")
        t.updates[(row, column)] = value

    def append(self, name: str, values: dict[str, object]) -> None:
        """Add a row at the end of the table; columns the table lacks are an error, not silently dropped."""
        t = self.table(name)
        unknown = [c for c, v in values.items() if c not in t.keys and not is_blank(v)]
        if unknown:
            raise WorkbookFormatError(f"{self.book.name}: table {name} on sheet {t.sheet} has no column for "
                                      f"{', '.join(map(repr, unknown))}")
        t.appends.append({c: v for c, v in values.items() if c in t.keys})

    # -- writing ------------------------------------------------------------------------------------------
    def parts(self, zf: zipfile.ZipFile, styles: dict[str, int]) -> dict[str, bytes]:
        """The package parts every staged edit changes (sheets, table parts, the print area in workbook.xml),
        patched from ``zf``; the caller writes them in one atomic save."""
        replaced: dict[str, bytes] = {}
        workbook_xml = zf.read("xl/workbook.xml").decode("utf-8")
        for t in self._tables.values():
            if not (t.updates or t.appends):
                continue
            sheet_xml = zf.read(t.sheet_part).decode("utf-8")
            table_xml = zf.read(t.table_part).decode("utf-8")
            sheet_xml = _ensure_styled_row(sheet_xml, t, styles)
            sheet_xml, table_xml, new_last = self._write_table(t, sheet_xml, table_xml)
            replaced[t.sheet_part] = sheet_xml.encode("utf-8")
            if new_last != t.last_row:
                replaced[t.table_part] = table_xml.encode("utf-8")
                workbook_xml = grow_print_area(workbook_xml, t.sheet, t.last_row, new_last)
        if workbook_xml != zf.read("xl/workbook.xml").decode("utf-8"):
            replaced["xl/workbook.xml"] = workbook_xml.encode("utf-8")
        return replaced

    def _write_table(self, t: _Table, sheet_xml: str, table_xml: str) -> tuple[str, str, int]:
        old_last = t.last_row
        slots = t.blank_rows_at_end()
        rows_of_appends = slots[: len(t.appends)]
        beyond = len(t.appends) - len(rows_of_appends)
        rows_of_appends += list(range(old_last + 1, old_last + 1 + beyond))
        new_last = max(old_last, rows_of_appends[-1]) if rows_of_appends else old_last

        # The table after the edits, canonical: what the derived figures are computed from.
        after = t.existing.copy()
        for (row, column), value in t.updates.items():
            if column not in after.columns:
                after[column] = pd.Series(None, index=after.index, dtype=object)
            after.at[row, column] = value
        if t.appends:
            new = pd.DataFrame(t.appends, index=rows_of_appends, dtype=object)
            after = after.astype(object)
            for column in new.columns:
                if column not in after.columns:
                    after[column] = pd.Series(None, index=after.index, dtype=object)
            after = pd.concat([after.drop(index=[r for r in rows_of_appends if r in after.index]), new])
            after = after.sort_index()

        writes: dict[tuple[int, int], Write] = {}
        for (row, column), value in t.updates.items():
            writes[(row, t.keys[column])] = Write(_excel_value(display_value(column, value, self.methodology,
                                                                             self.language)))
        for row, values in zip(rows_of_appends, t.appends):
            for column, col in t.keys.items():
                if column in contract.DERIVED_OPPORTUNITY_COLUMNS:
                    continue
                value = values.get(column)
                writes[(row, col)] = Write(_excel_value(display_value(column, value, self.methodology,
                                                                      self.language)))
        touched = sorted({r for r, _ in t.updates} | set(rows_of_appends))
        if t.name == contract.TABLE_OPPORTUNITIES:
            writes.update(self._derived_writes(t, sheet_xml, after, touched, old_last))
        sheet_xml = patch_cells(sheet_xml, writes, template_row=old_last)
        if new_last != old_last:
            first_col, last_col = split_ref(t.ref)[1], split_ref(t.ref)[3]
            sheet_xml = grow_sheet_ranges(sheet_xml, t.first_row, old_last, new_last, first_col, last_col)
            sheet_xml = grow_dimension(sheet_xml, new_last)
            table_xml = grow_table(table_xml, new_last)
        return sheet_xml, table_xml, new_last

    def _derived_writes(self, t: _Table, sheet_xml: str, after: pd.DataFrame, touched: list[int],
                        template_row: int) -> dict[tuple[int, int], Write]:
        """Formula cells of the derived columns, for every touched row, with the domain's values cached; and the
        totals row above the header, recomputed over the whole table."""
        derived = {c: t.keys[c] for c in contract.DERIVED_OPPORTUNITY_COLUMNS if c in t.keys}
        if not derived:
            return {}
        values = self.derived_values(after)
        formulas = row_formulas(sheet_xml, set(touched) | {template_row}, set(derived.values()))
        template = formulas.get(template_row, {})
        moved: dict[tuple[int, int], str | None] = {}
        writes: dict[tuple[int, int], Write] = {}
        for row in touched:
            own = formulas.get(row, {})
            for column, col in derived.items():
                formula = own.get(col)
                if formula is None and col in template:
                    formula = _moved(moved, template[col], template_row, row, col)
                writes[(row, col)] = Write(_plain(values.at[row, column]), formula)
        writes.update(self._total_writes(t, sheet_xml, after, values))
        return writes

    def derived_values(self, table: pd.DataFrame) -> pd.DataFrame:
        """The cached value of each derived formula cell, as the formula shows it ("" where it shows blank)."""
        return derived_cell_values(table, self.methodology, self.language, self.inputs.settings.basis)

    def _total_writes(self, t: _Table, sheet_xml: str, after: pd.DataFrame,
                      values: pd.DataFrame) -> dict[tuple[int, int], Write]:
        """SUBTOTAL(109, column) and COUNTIF(column, ">0") cells above the header, with their values recomputed."""
        header_row = t.first_row - 1
        total_row = header_row - 1
        if total_row < 1:
            return {}
        out = {}
        for col, formula in row_formulas(sheet_xml, {total_row}).get(total_row, {}).items():
            for pattern, kind in ((_SUBTOTAL, "sum"), (_COUNT_POSITIVE, "count")):
                m = pattern.match(formula)
                if not m or m.group(1) != t.name:
                    continue
                key = t.headers.get(_unescape_header(m.group(2)).strip())
                if key is None:
                    continue
                column = values[key] if key in values.columns else after.get(key, pd.Series(dtype=object))
                numbers = [float(v) for v in column.tolist()
                           if isinstance(_plain(v), (int, float)) and not isinstance(_plain(v), bool)
                           and not math.isnan(float(v))]
                result = sum(numbers) if kind == "sum" else sum(1 for v in numbers if v > 0)
                out[(total_row, col)] = Write(_plain(result), formula)
        return out


def _ensure_styled_row(sheet_xml: str, t: _Table, palette: dict[str, int]) -> str:
    """Give a table whose last row has no cells in the XML (an empty reps table) a styled blank row to copy, so
    new dates show as dates and amounts with separators: the styles come from the workbook's own palette."""
    if has_row(sheet_xml, t.last_row):
        return sheet_xml
    cells = []
    for column, col in t.keys.items():
        style = palette.get("date") if column in DATE_COLUMNS else palette.get("money") if column in NUMBER_COLUMNS \
            else None
        cells.append((col, None, style or 0))
    return insert_rows(sheet_xml, [(t.last_row, row_xml(t.last_row, cells))])


def _unescape_header(text: str) -> str:
    return re.sub(r"'(.)", r"\1", text)


def _moved(cache: dict, formula: str, from_row: int, to_row: int, col: int) -> str:
    """``move_formula`` once per column when the formula does not depend on its row (structured references
    to [#This Row] do not), so 8,800 new rows do not each pay for the tokenizer."""
    key = (col, formula)
    if key not in cache:
        probe = move_formula(formula, from_row, from_row + 1, col)
        cache[key] = formula if probe == formula else None
    if cache[key] is not None:
        return cache[key]
    return move_formula(formula, from_row, to_row, col)
