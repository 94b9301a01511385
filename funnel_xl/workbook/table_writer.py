"""Write canonical values into a workbook file's input tables (商机, 销售人员): update cells, append rows.

The file adapter stages a use case's edits here (``FileWorkbook.update_cells`` / ``append_rows``) and writes the
parts this module patches in the same atomic save as the output sheets. Values are canonical; this module shows
them the way the builder does (stage names in the workbook's language, status labels, 是/否, real dates), grows
the table with the styles and formulas of its last row, and stores in every derived formula cell it writes the
value the domain computes, so the file reads right before any spreadsheet recalculates.

Rows the sheet already has (an update, or a blank table row an append fills) are patched cell by cell
(``ooxml.patch_cells``), which keeps every other cell as it was. New rows are written column-wise
(``ooxml.row_block``): each column's distinct values shown once, the formula columns from one template each, the
rows joined while the sheet is zipped. Either way a cell is written by the one rule of ``ooxml.cells``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from defusedxml import ElementTree as ET

from funnel_xl.domain.columns import AMOUNT, DATE, OPPORTUNITIES, REPS, ColumnKeys
from funnel_xl.domain.distinct import distinct
from funnel_xl.errors import WorkbookFormatError
from funnel_xl.workbook import contract
from funnel_xl.workbook.cell_values import canonical_frame, display_value, plain as _plain
from funnel_xl.workbook.formula_cache import derived_cell_values
from funnel_xl.workbook.ooxml import (
    QuotePrefixStyles, RowBlock, RowTemplate, SheetPart, StreamedXml, Write, cell_body, column_cells,
    constant_column, excel_serial, formulas_in_row, grow_dimension, grow_print_area, grow_sheet_ranges, grow_table,
    move_formula, patch_row, row_xml, split_ref, template_of, writes_by_row,
)
from funnel_xl.workbook.ooxml.row_block import ROW_MARK
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
    appends: list[pd.DataFrame] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return split_ref(self.ref)[0] + 1

    @property
    def last_row(self) -> int:
        return split_ref(self.ref)[2]

    def blank_rows_at_end(self) -> list[int]:
        return blank_rows_at_end(self.existing)

    def appended(self) -> pd.DataFrame:
        """Every appended row, in order (canonical columns; a column no row gave is absent)."""
        if len(self.appends) == 1:
            return self.appends[0].reset_index(drop=True)
        return pd.concat(self.appends, ignore_index=True) if self.appends else pd.DataFrame()


def blank_rows_at_end(rows: pd.DataFrame) -> list[int]:
    """Trailing table rows with no value in any canonical column: the first places appended rows go (both
    adapters fill them before growing the table). Only the end of the table is looked at, more of it while every
    row looked at is blank."""
    size = 16
    while True:
        tail = rows.iloc[-size:]
        blank = blank_cells(tail).all(axis=1).to_numpy() if len(rows.columns) else np.ones(len(tail), dtype=bool)
        filled = np.flatnonzero(~blank)
        trailing = len(tail) - (filled[-1] + 1 if len(filled) else 0)
        if trailing < len(tail) or len(tail) == len(rows):
            return tail.index[len(tail) - trailing:].tolist()
        size *= 8


def blank_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``is_blank`` of every cell, column by column: missing values, and text of white space only."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        blank = values.isna().to_numpy()
        if values.dtype == object:
            text = values.map(lambda v: isinstance(v, str) and not v.strip(), na_action="ignore")
            blank = blank | text.fillna(False).to_numpy(dtype=bool)
        out[column] = blank
    return pd.DataFrame(out, index=frame.index)


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

    def append(self, name: str, rows: pd.DataFrame | Sequence[dict[str, object]]) -> None:
        """Add rows at the end of the table (a frame of canonical columns, or one dict per row); columns the table
        lacks are an error when they hold a value, not silently dropped."""
        t = self.table(name)
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), dtype=object)
        if frame.empty and not len(frame):
            return
        unknown = [c for c in frame.columns if c not in t.keys and not blank_cells(frame[[c]]).all(axis=None)]
        if unknown:
            raise WorkbookFormatError(f"{self.book.name}: table {name} on sheet {t.sheet} has no column for "
                                      f"{', '.join(map(repr, unknown))}")
        t.appends.append(frame[[c for c in frame.columns if c in t.keys]])

    # -- writing ------------------------------------------------------------------------------------------
    def parts(self, zf: zipfile.ZipFile, styles: dict[str, int],
              quote: QuotePrefixStyles) -> dict[str, bytes | StreamedXml]:
        """The package parts every staged edit changes (sheets, table parts, the print area in workbook.xml),
        patched from ``zf``; the caller writes them in one atomic save. A sheet comes as a ``StreamedXml``: its
        untouched rows copied as they were read, new rows joined as it is written; text that starts like a formula
        takes ``quote``'s twin styles."""
        replaced: dict[str, bytes | StreamedXml] = {}
        workbook_xml = zf.read("xl/workbook.xml").decode("utf-8")
        for t in self._tables.values():
            if not (t.updates or t.appends):
                continue
            sheet = SheetPart(zf.read(t.sheet_part))
            table_xml = zf.read(t.table_part).decode("utf-8")
            replaced[t.sheet_part], table_xml, new_last = self._write_table(t, sheet, table_xml, styles, quote)
            if new_last != t.last_row:
                replaced[t.table_part] = table_xml.encode("utf-8")
                workbook_xml = grow_print_area(workbook_xml, t.sheet, t.last_row, new_last)
        if workbook_xml != zf.read("xl/workbook.xml").decode("utf-8"):
            replaced["xl/workbook.xml"] = workbook_xml.encode("utf-8")
        return replaced

    def _write_table(self, t: _Table, sheet: SheetPart, table_xml: str, palette: dict[str, int],
                     quote: QuotePrefixStyles) -> tuple[StreamedXml, str, int]:
        old_last = t.last_row
        new = t.appended()
        slots = t.blank_rows_at_end()[: len(new)]
        rows_of_appends = np.array(slots + list(range(old_last + 1, old_last + 1 + len(new) - len(slots))),
                                   dtype=np.int64)
        new_last = max(old_last, int(rows_of_appends[-1])) if len(new) else old_last
        after = self._after(t, new, rows_of_appends)
        derived = self.derived_values(after) if t.name == contract.TABLE_OPPORTUNITIES and any(
            c in t.keys for c in contract.DERIVED_OPPORTUNITY_COLUMNS) else None

        # The rows this write puts into the sheet, as text. A table whose last row has no cells in the XML (an empty
        # reps table) gets a styled blank one first, which new rows copy.
        rows: dict[int, str] = {}
        template_xml = sheet.row(old_last)
        if template_xml is None:
            template_xml = rows[old_last] = _styled_row(t, palette)

        def current(row: int) -> str | None:
            return rows.get(row) or sheet.row(row)

        # Appended rows the sheet already has (blank table rows, rows below the table) are patched cell by cell.
        in_sheet = np.array([r in sheet or r in rows for r in rows_of_appends.tolist()], dtype=bool)
        writes: dict[tuple[int, int], Write] = {}
        for (row, column), value in t.updates.items():
            writes[(row, t.keys[column])] = Write(_excel_value(display_value(column, value, self.methodology,
                                                                             self.language)))
        data_columns = {c: col for c, col in t.keys.items() if c not in contract.DERIVED_OPPORTUNITY_COLUMNS}
        for at in np.flatnonzero(in_sheet):
            row, values = int(rows_of_appends[at]), new.iloc[at]
            for column, col in data_columns.items():
                value = values.get(column)
                writes[(row, col)] = Write(_excel_value(display_value(column, value, self.methodology,
                                                                      self.language)))
        touched = sorted({r for r, _ in t.updates} | set(rows_of_appends[in_sheet].tolist()))
        if derived is not None:
            writes.update(self._derived_writes(t, current, derived, touched, old_last))
            writes.update(self._total_writes(t, current, after, derived))
        for row, cols in writes_by_row(writes).items():
            rows[row] = patch_row(current(row), row, cols, template_xml)
        if new_last != old_last:
            first_col, last_col = split_ref(t.ref)[1], split_ref(t.ref)[3]
            sheet.tail = grow_sheet_ranges(sheet.tail, t.first_row, old_last, new_last, first_col, last_col)
            sheet.head = grow_dimension(sheet.head, new_last)
            table_xml = grow_table(table_xml, new_last)
        fresh = ~in_sheet
        block = self._row_block(t, template_of(template_xml, ROW_MARK), new[fresh], derived,
                                rows_of_appends[fresh], quote) if fresh.any() else None
        return sheet.written(rows, block), table_xml, new_last

    def _after(self, t: _Table, new: pd.DataFrame, rows_of_appends: np.ndarray) -> pd.DataFrame:
        """The table after the edits, canonical, index = sheet rows: what the derived figures are computed from."""
        after = t.existing.copy()
        for (row, column), value in t.updates.items():
            if column not in after.columns:
                after[column] = pd.Series(None, index=after.index, dtype=object)
            after.at[row, column] = value
        if not len(new):
            return after
        placed = new.set_axis(pd.Index(rows_of_appends))
        kept = after.drop(index=[r for r in rows_of_appends[: len(t.blank_rows_at_end())].tolist()
                                 if r in after.index])
        if kept.empty:
            return placed.reindex(columns=list(dict.fromkeys([*after.columns, *placed.columns])))
        return pd.concat([kept.astype(object), placed.astype(object)]).sort_index()

    def _row_block(self, t: _Table, template: RowTemplate | None, new: pd.DataFrame, derived: pd.DataFrame | None,
                   rows: np.ndarray, quote: QuotePrefixStyles) -> RowBlock:
        """The new rows, column by column: each column's distinct values shown and rendered once, in the template
        row's styles (its other styled cells carried along empty); a formula column from the template's formula."""
        styles = template.styles if template else {}
        n = len(rows)
        columns = {col: constant_column(col, cell_body(None, style), n) for col, style in styles.items()}
        for column, col in t.keys.items():
            style = styles.get(col, 0)
            if column in contract.DERIVED_OPPORTUNITY_COLUMNS:
                if derived is None:
                    continue
                values = derived[column].loc[rows]
                columns[col] = self._formula_column(col, values, template, t.last_row, rows, style)
                continue
            values = new[column] if column in new.columns else pd.Series(None, index=new.index, dtype=object)

            def render(value: object, column: str = column, style: int = style) -> str:
                shown = _excel_value(display_value(column, value, self.methodology, self.language))
                return cell_body(shown, quote.style_for(shown, style))

            columns[col] = column_cells(col, values, render)
        open_tag = template.open_tag if template else f'<row r="{ROW_MARK}">'
        return RowBlock(rows, open_tag, tuple(columns[c] for c in sorted(columns)))

    @staticmethod
    def _formula_column(col: int, values: pd.Series, template: RowTemplate | None, template_row: int,
                        rows: np.ndarray, style: int):
        """A derived column of new rows: the template row's formula (one text when it does not depend on the row,
        as structured references do not) caching each row's value; a plain value where the template has none."""
        formula = template.formulas.get(col) if template else None
        if formula is None:
            return column_cells(col, values.map(_plain), lambda v: cell_body(_plain(v), style))
        moved = _moved({}, formula, template_row, int(rows[0]), col)
        if _moved({}, formula, template_row, int(rows[0]) + 1, col) == moved:
            return column_cells(col, values, lambda v: cell_body(_plain(v), style, moved))
        pairs = [(move_formula(formula, template_row, r, col), v) for r, v in zip(rows.tolist(), values.tolist())]
        return column_cells(col, pd.Series(pairs, dtype=object), lambda p: cell_body(None, style) if p is None
                            else cell_body(_plain(p[1]), style, p[0]))

    def _derived_writes(self, t: _Table, row_xml, values: pd.DataFrame, touched: list[int],
                        template_row: int) -> dict[tuple[int, int], Write]:
        """Formula cells of the derived columns, for every touched row the sheet has, with the domain's values
        cached (``row_xml``: a row's current XML by number)."""
        derived = {c: t.keys[c] for c in contract.DERIVED_OPPORTUNITY_COLUMNS if c in t.keys}
        if not derived or not touched:
            return {}
        columns = set(derived.values())
        template = formulas_in_row(row_xml(template_row) or "", columns)
        moved: dict[tuple[int, str], str | None] = {}
        writes: dict[tuple[int, int], Write] = {}
        cached = values.loc[touched, list(derived)].to_dict("index")
        for row in touched:
            own = formulas_in_row(row_xml(row) or "", columns)
            for column, col in derived.items():
                formula = own.get(col)
                if formula is None and col in template:
                    formula = _moved(moved, template[col], template_row, row, col)
                writes[(row, col)] = Write(_plain(cached[row][column]), formula)
        return writes

    def derived_values(self, table: pd.DataFrame) -> pd.DataFrame:
        """The cached value of each derived formula cell, as the formula shows it ("" where it shows blank)."""
        return derived_cell_values(table, self.methodology, self.language, self.inputs.settings.basis)

    def _total_writes(self, t: _Table, row_xml, after: pd.DataFrame,
                      values: pd.DataFrame) -> dict[tuple[int, int], Write]:
        """SUBTOTAL(109, column) and COUNTIF(column, ">0") cells above the header, with their values recomputed."""
        header_row = t.first_row - 1
        total_row = header_row - 1
        if total_row < 1:
            return {}
        out = {}
        for col, formula in formulas_in_row(row_xml(total_row) or "").items():
            for pattern, kind in ((_SUBTOTAL, "sum"), (_COUNT_POSITIVE, "count")):
                m = pattern.match(formula)
                if not m or m.group(1) != t.name:
                    continue
                key = t.headers.get(_unescape_header(m.group(2)).strip())
                if key is None:
                    continue
                column = values[key] if key in values.columns else after.get(key, pd.Series(dtype=object))
                numbers = _numbers(column)
                result = sum(numbers) if kind == "sum" else sum(1 for v in numbers if v > 0)
                out[(total_row, col)] = Write(_plain(result), formula)
        return out


def _numbers(column: pd.Series) -> list[float]:
    """The numbers of a column as SUBTOTAL and COUNTIF see them, in row order: text, booleans and blanks left out."""
    if column.dtype.kind in "fiu":
        values = column.to_numpy(dtype="float64")
    else:
        uniques, codes = distinct(column)
        numbers = np.array([_number(v) for v in uniques] + [np.nan], dtype="float64")
        values = numbers[codes]
    return values[~np.isnan(values)].tolist()


def _number(value: object) -> float:
    value = _plain(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def _styled_row(t: _Table, palette: dict[str, int]) -> str:
    """A styled blank last row for a table whose last row has no cells in the XML (an empty reps table), for new
    rows to copy, so dates show as dates and amounts with separators: the styles come from the workbook's own
    palette."""
    cells = []
    for column, col in t.keys.items():
        style = palette.get("date") if column in DATE_COLUMNS else palette.get("money") if column in NUMBER_COLUMNS \
            else None
        cells.append((col, None, style or 0))
    return row_xml(t.last_row, cells)


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
