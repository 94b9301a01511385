"""xlwings' remote engine as the tests' Excel: open a workbook file as the book a client would send, and apply the
actions the live door queued on it to the file, as Excel applies them, so a press can be compared cell for cell.

The remote engine (xlwings.pro under the noncommercial key, tests only) is the real xlwings ``Book``/``Range``
code; it records what a door asks of Excel as a list of actions (``book.json()["actions"]``) and does not change
its own cells. ``ExcelReplay`` carries those actions out on an openpyxl copy of the workbook the JSON was made
from, with the meaning Excel gives each (Office.js: ``setValues`` parses dates, ``rangeClear`` clears contents and
formats, ``copyRange`` fills the destination with the source cell, ``setChartSourceData`` with series in columns
takes the first row as the series names). Charts are not loaded by openpyxl, so the replay keeps each chart's series
references itself, read from the package.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import MergedCell
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter, range_boundaries

from funnel_xl.workbook.ooxml import parse_sheet_ref, resolve_target, rels_part


def remote_xlwings():
    """xlwings with its remote engine registered, even if xlwings was imported before the key was set."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw

    if "remote" not in [e.name for e in xw.engines]:
        from xlwings.pro import _xlremote

        xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
    return xw


# -- the book as a client sends it ----------------------------------------------------------------------------------

def _json_cell(value):
    """A cell as the Office Scripts client sends it: "" for blank, dates as ISO text with Z."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000Z"
    return value


def book_json(path, name: str | None = None) -> dict:
    """The request body xlwings' client (js/xlwings.ts) builds for a workbook: book, names, sheets with their
    used-range values from A1, their tables' addresses and their charts (in drawing order, as Excel numbers them).
    ``name`` is the book's full name (a saved book's path); default: the file's bare name, as an unsaved book."""
    xw = remote_xlwings()
    path = Path(path)
    wb = openpyxl.load_workbook(path, data_only=True)
    charts = chart_series(path)
    sheets = []
    for ws in wb.worksheets:
        values = [[_json_cell(c) for c in row] for row in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
        tables = []
        for table_name, ref in ws.tables.items():
            first, last = ref.split(":")
            header_last = "".join(ch for ch in last if ch.isalpha()) + "".join(ch for ch in first if ch.isdigit())
            body_first_row = int("".join(ch for ch in first if ch.isdigit())) + 1
            body_first = "".join(ch for ch in first if ch.isalpha()) + str(body_first_row)
            tables.append({
                "name": table_name, "range_address": ref, "header_row_range_address": f"{first}:{header_last}",
                "data_body_range_address": f"{body_first}:{last}", "total_row_range_address": None,
                "show_headers": True, "show_totals": False, "table_style": "TableStyleLight1",
                "show_autofilter": True,
            })
        sheets.append({"name": ws.title, "values": values or [[]], "pictures": [], "tables": tables,
                       "charts": [{"name": f"Chart {i}"} for i in range(1, len(charts.get(ws.title, [])) + 1)]})
    return {"client": "Microsoft Office Scripts", "version": xw.__version__,
            "book": {"name": name or path.name, "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets}


def as_json_value(value):
    """What the remote engine sends to Excel for a Python value (its ``prepare_xl_data_element``)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# -- charts of a package --------------------------------------------------------------------------------------------

@dataclass
class Series:
    """One chart series: its name (literal text, or a reference) and its category and value references."""

    name: str | None
    name_ref: str | None
    cat: str | None
    val: str | None


_CHART_REL = re.compile(r'<c:chart\b[^>]*\br:id="([^"]+)"')
_REL = re.compile(r'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"[^>]*/>')
_REL2 = re.compile(r'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"[^>]*/>')
_SER = re.compile(r"<c:ser>(.*?)</c:ser>", re.S)
_TX_REF = re.compile(r"<c:tx>\s*<c:strRef>\s*<c:f>([^<]*)</c:f>", re.S)
_TX_V = re.compile(r"<c:tx>\s*<c:v>([^<]*)</c:v>", re.S)
_ROLE_F = {role: re.compile(rf"<c:{role}>\s*<c:(?:strRef|numRef)>\s*<c:f>([^<]*)</c:f>", re.S)
           for role in ("cat", "val")}


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    name = rels_part(part)
    if name not in zf.namelist():
        return {}
    xml = zf.read(name).decode("utf-8")
    found = {rid: target for rid, target in _REL.findall(xml)}
    found.update({rid: target for target, rid in _REL2.findall(xml)})
    return {rid: resolve_target(part, target) for rid, target in found.items()}


def chart_series(path) -> dict[str, list[list[Series]]]:
    """Sheet name -> its charts in drawing order (Excel's ChartObjects order) -> their series."""
    from xml.sax.saxutils import unescape

    out: dict[str, list[list[Series]]] = {}
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml").decode("utf-8")
        wb_rels = _rels(zf, "xl/workbook.xml")
        for name, rid in re.findall(r'<sheet\b[^>]*?\bname="([^"]+)"[^>]*?\br:id="([^"]+)"', workbook):
            name = unescape(name, {"&quot;": '"', "&apos;": "'"})
            sheet_part = wb_rels.get(rid)
            charts: list[list[Series]] = []
            for drawing in (t for t in _rels(zf, sheet_part).values() if "/drawings/" in t and t.endswith(".xml")):
                drawing_rels = _rels(zf, drawing)
                for chart_rid in _CHART_REL.findall(zf.read(drawing).decode("utf-8")):
                    xml = zf.read(drawing_rels[chart_rid]).decode("utf-8")
                    series = []
                    for ser in _SER.findall(xml):
                        tx_ref, tx_v = _TX_REF.search(ser), _TX_V.search(ser)
                        cat, val = (_ROLE_F[r].search(ser) for r in ("cat", "val"))
                        series.append(Series(unescape(tx_v.group(1)) if tx_v else None,
                                             unescape(tx_ref.group(1)) if tx_ref else None,
                                             unescape(cat.group(1)) if cat else None,
                                             unescape(val.group(1)) if val else None))
                    charts.append(series)
            out[name] = charts
    return out


# -- Excel carrying out the actions ---------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
_NUMBER = re.compile(r"^\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?([eE][-+]?\d+)?\s*$")


def typed(value):
    """A value set into a cell as Excel reads it, as if typed: "" is blank, a leading apostrophe keeps the rest as
    text, and otherwise a string that reads as a date, a number, TRUE/FALSE or a formula becomes one."""
    if not isinstance(value, str):
        return value
    if value == "":
        return None
    if value.startswith("'"):
        return value[1:]
    if _ISO_DATE.match(value):
        return dt.datetime.fromisoformat(value)
    if _NUMBER.match(value):
        return float(value.replace(",", ""))
    if value.strip().upper() in ("TRUE", "FALSE"):
        return value.strip().upper() == "TRUE"
    if value.startswith("="):
        return value  # openpyxl keeps a formula as its text; a door never means to write one
    return value
_DEFAULT_STYLE = StyleArray()


@dataclass
class ExcelReplay:
    """An openpyxl copy of a workbook that the recorded actions are applied to, and its charts' series."""

    path: Path
    wb: Any = None
    charts: dict[str, list[list[Series]]] = field(default_factory=dict)
    saved: int = 0
    alerts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.wb = openpyxl.load_workbook(self.path)
        self.charts = chart_series(self.path)

    def apply(self, actions: list[dict]) -> ExcelReplay:
        for action in actions:
            getattr(self, f"_{action['func']}")(action)
        return self

    # the action's range
    def _sheet(self, action):
        return self.wb.worksheets[action["sheet_position"]]

    @staticmethod
    def _cells(action):
        r0, c0 = action["start_row"] + 1, action["start_column"] + 1
        for r in range(r0, r0 + action["row_count"]):
            for c in range(c0, c0 + action["column_count"]):
                yield r, c

    def _setValues(self, action):
        ws = self._sheet(action)
        r0, c0 = action["start_row"] + 1, action["start_column"] + 1
        for i, row in enumerate(action["values"]):
            for j, value in enumerate(row):
                ws.cell(r0 + i, c0 + j).value = typed(value)

    def _rangeClearContents(self, action):
        ws = self._sheet(action)
        for r, c in self._cells(action):
            ws.cell(r, c).value = None

    def _rangeClear(self, action):
        ws = self._sheet(action)
        for r, c in self._cells(action):
            cell = ws.cell(r, c)
            if isinstance(cell, MergedCell):
                continue  # the hidden part of a merge holds nothing; the unmerge that follows frees it
            cell.value = None
            cell._style = copy.copy(_DEFAULT_STYLE)
            cell.hyperlink = None

    def _addHyperlink(self, action):
        """An in-workbook link ("#'Sheet'!A1") becomes a location, as Excel stores it."""
        address, shown = action["args"][0], action["args"][1]
        for r, c in self._cells(action):
            cell = self._sheet(action).cell(r, c)
            if address.startswith("#"):
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=address[1:], display=shown)
            else:
                cell.hyperlink = address

    def _rangeUnmerge(self, action):
        ws = self._sheet(action)
        cells = set(self._cells(action))
        for merged in list(ws.merged_cells.ranges):
            if any((r, c) in cells for r, c in merged.cells):
                ws.unmerge_cells(str(merged))

    def _setAutofit(self, action):
        ws = self._sheet(action)
        if action["args"][0] == "rows":  # empty rows fit to the default height: no custom height is kept
            for r in {r for r, _ in self._cells(action)}:
                ws.row_dimensions[r].height = None

    def _copyRange(self, action):
        """The source (the action's range) fills the destination, repeated (Excel's copy onto a larger range)."""
        source_ws = self._sheet(action)
        target_ws = self.wb.worksheets[action["args"][0]]
        c1, r1, c2, r2 = range_boundaries(action["args"][1].replace("$", ""))
        rows, cols = action["row_count"], action["column_count"]
        r0, c0 = action["start_row"] + 1, action["start_column"] + 1
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                src = source_ws.cell(r0 + (r - r1) % rows, c0 + (c - c1) % cols)
                dst = target_ws.cell(r, c)
                dst.value = src.value
                dst._style = copy.copy(src._style)

    def _setColumnWidth(self, action):
        ws = self._sheet(action)
        _one_dimension_per_column(ws)
        for c in {c for _, c in self._cells(action)}:
            dim = ws.column_dimensions[get_column_letter(c)]
            dim.min = dim.max = c
            dim.width = action["args"][0]

    def _setRowHeight(self, action):
        ws = self._sheet(action)
        for r in {r for r, _ in self._cells(action)}:
            ws.row_dimensions[r].height = action["args"][0]

    def _setChartSourceData(self, action):
        index, sheet, address, plot_by = action["args"]
        assert plot_by == "Columns", "series by columns is what the doors ask for"
        ref = parse_sheet_ref(f"{quote(sheet)}!{address}")
        chart = self.charts[self.wb.worksheets[action["sheet_position"]].title][index]
        series = []
        for k, col in enumerate(range(ref.c1, ref.c2 + 1)):
            old = chart[k] if k < len(chart) else Series(None, None, None, None)
            series.append(Series(None, absolute(sheet, ref.r1, col, ref.r1, col), old.cat,
                                 absolute(sheet, ref.r1 + 1, col, ref.r2, col)))
        chart[:] = series

    def _setChartXAxisValues(self, action):
        index, sheet, address = action["args"]
        ref = parse_sheet_ref(f"{quote(sheet)}!{address}")
        for s in self.charts[self.wb.worksheets[action["sheet_position"]].title][index]:
            s.cat = absolute(sheet, ref.r1, ref.c1, ref.r2, ref.c2)

    def _resizeTable(self, action):
        ws = self._sheet(action)
        table = list(ws.tables.values())[action["args"][0]]
        table.ref = action["args"][1].replace("$", "")
        if table.autoFilter is not None:
            table.autoFilter.ref = table.ref

    def _save(self, action):
        self.saved += 1

    def _alert(self, action):
        self.alerts.append(action["args"][0])


def _one_dimension_per_column(ws) -> None:
    """openpyxl keeps a <col min max> run as one dimension under its first letter; split the runs so a width set on
    one column of a run changes that column only."""
    from openpyxl.worksheet.dimensions import ColumnDimension

    for key, dim in list(ws.column_dimensions.items()):
        first, last = dim.min or 1, dim.max or dim.min or 1
        if last > first and last - first < 1024:
            for c in range(first, last + 1):
                letter = get_column_letter(c)
                ws.column_dimensions[letter] = ColumnDimension(ws, index=letter, width=dim.width,
                                                               customWidth=dim.customWidth, hidden=dim.hidden,
                                                               min=c, max=c)


def quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def absolute(sheet: str, r1: int, c1: int, r2: int, c2: int) -> str:
    """A chart reference as Excel writes it: quoted sheet, absolute cells, a single cell without a colon."""
    first = f"${get_column_letter(c1)}${r1}"
    return f"{quote(sheet)}!{first}" + ("" if (r1, c1) == (r2, c2) else f":${get_column_letter(c2)}${r2}")
