"""The live (xlwings) door of Recalculate against real xlwings objects: xlwings' remote engine (test-only, the
noncommercial key) opened on the JSON a client would send for the built sample workbook.

Both doors must read the same tables and write the same values, and the live door must make a constant number
of Range calls per table and per output sheet, however many opportunities there are.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter

import openpyxl
import pandas as pd
import pytest

from funnel_xl.domain.attention import ATTENTION_LISTS
from funnel_xl.reports.outlook_blocks import ATTENTION_LIMIT
from funnel_xl.workbook.layout import ATTENTION_ROWS

from funnel_xl.sample import load_sample
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook import contract
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.live_adapter import LiveWorkbook, as_text, style_blocks
from funnel_xl.workbook.model import OutputSheet
from tests.remote_book import book_json, remote_xlwings, typed

AS_OF = dt.date(2026, 11, 20)
RUN_AT = dt.datetime(2026, 11, 20, 9, 0)
TABLES = (contract.TABLE_META, contract.TABLE_STAGES, contract.TABLE_CRITERIA, contract.TABLE_OPPORTUNITIES,
          contract.TABLE_REPS)


class Recording:
    """Wraps a port to keep the output sheets handed to it."""

    def __init__(self, port):
        self.port, self.written = port, {}

    def __getattr__(self, name):
        return getattr(self.port, name)

    def write_sheets(self, sheets):
        self.written.update(sheets)
        self.port.write_sheets(sheets)


@pytest.fixture(scope="module")
def both_doors(built_sample, tmp_path_factory):
    """Recalculate the built sample through the file adapter and through the live adapter."""
    xw = remote_xlwings()
    folder = tmp_path_factory.mktemp("doors")
    file_copy = shutil.copy(built_sample, folder / "Funnel.xlsm")
    file_door = Recording(FileWorkbook(file_copy, output=folder / "out.xlsm", quiet=True))
    file_result = recalculate(file_door, AS_OF, run_at=RUN_AT, save=True)
    book = xw.Book(json=book_json(built_sample))
    live_door = Recording(LiveWorkbook(book))
    live_result = recalculate(live_door, AS_OF, run_at=RUN_AT, save=True)
    return file_door, file_result, live_door, live_result, book, folder / "out.xlsm"


def test_both_doors_read_every_input_table_the_same(built_sample):
    xw = remote_xlwings()
    files = FileWorkbook(built_sample, quiet=True)
    live = LiveWorkbook(xw.Book(json=book_json(built_sample)))
    for name in TABLES:
        a, b = files.read_table(name), live.read_table(name)
        assert (a.name, a.sheet) == (b.name, b.sheet)
        assert list(a.frame.columns) == list(b.frame.columns)
        assert list(a.frame.index) == list(b.frame.index)  # the sheet's row numbers, for pointing at problems
        left = a.frame.map(_comparable)
        right = b.frame.map(_comparable)
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def _comparable(value):
    """Readers differ in number types (1 vs 1.0), dates (date vs datetime) and blanks (None vs NaN/NaT); the user
    sees the same cell."""
    if isinstance(value, bool) or value is None:
        return value
    if not isinstance(value, str) and pd.isna(value):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    return value


def test_both_doors_compute_the_same_figures_and_problems(both_doors):
    _, file_result, _, live_result, _, _ = both_doors
    assert file_result.summary() == live_result.summary()
    assert file_result.summary()["weighted_forecast"] > 0


def test_both_doors_write_the_same_values_to_every_output_sheet(both_doors):
    file_door, _, live_door, _, _, _ = both_doors
    assert set(file_door.written) == set(live_door.written) == {
        contract.sheet_name(k) for k in ("forecast", "funnel", "quota", "progress", "problems")}
    for name, sheet in file_door.written.items():
        assert sheet.rows() == live_door.written[name].rows(), name


def test_the_live_door_clears_each_output_sheet_once_and_saves_the_book_once(both_doors):
    *_, book, _ = both_doors
    calls = Counter(a["func"] for a in book.json()["actions"])
    assert calls["rangeClear"] == 5 and calls["setValues"] == 5
    assert calls["save"] == 1


def _actions_for_sample_of(n_copies: int, tmp_path) -> tuple[Counter, int]:
    """Recalculate a workbook holding the sample's opportunities n times over; count write actions and reads."""
    xw = remote_xlwings()
    sample = load_sample()
    from funnel_xl.methodologies import load_methodology

    copies = []
    for k in range(n_copies):
        part = sample.opportunities.copy()
        part["id"] = part["id"] + (f"-{k}" if k else "")
        copies.append(part)
    opps = pd.concat(copies)
    opps.index = pd.RangeIndex(2, 2 + len(opps))
    path = write_workbook(tmp_path / f"Funnel{n_copies}.xlsx", lang="zh-CN", methodology=load_methodology("big_project"),
                          opportunities=opps, reps=sample.reps, vba=False)
    book = xw.Book(json=book_json(path))
    reads = Counter()
    original = xw.main.Range.value

    def counting(self):
        reads["value"] += 1
        return original.fget(self)

    xw.main.Range.value = property(counting, original.fset)
    try:
        recalculate(LiveWorkbook(book), AS_OF, run_at=RUN_AT, save=False)
    finally:
        xw.main.Range.value = original
    return Counter(a["func"] for a in book.json()["actions"]), reads["value"]


def test_range_calls_stay_constant_when_the_opportunities_grow_tenfold(tmp_path):
    small_writes, small_reads = _actions_for_sample_of(1, tmp_path)
    big_writes, big_reads = _actions_for_sample_of(10, tmp_path)
    # One read of each table, header and body together, and one of the reps' weekly activity (工作记录).
    assert small_reads == big_reads == len(TABLES) + 1
    # Style copies follow the report's rectangles of like cells: a detail list that grows tenfold may break one
    # more run of a highlighted style, never add one per row.
    small_copies, big_copies = small_writes.pop("copyRange"), big_writes.pop("copyRange")
    # A link per deal that needs attention: the lists are short, however long the pipeline.
    small_links, big_links = small_writes.pop("addHyperlink"), big_writes.pop("addHyperlink")
    assert small_links <= big_links <= ATTENTION_LIMIT * len(ATTENTION_LISTS) + ATTENTION_ROWS
    assert small_writes == big_writes
    assert big_copies <= small_copies * 1.1
    assert sum(big_writes.values()) + big_copies < 500  # 640 rows would need thousands, per cell


def test_styles_are_copied_per_rectangle_of_like_cells_not_per_cell():
    sheet = OutputSheet("funnel")
    for r in range(5, 105):
        sheet.put(r, 2, 0.5, "percent")
        sheet.put(r, 3, 0.25, "percent")
        sheet.put(r, 4, 1000.0, "money")
    sheet.put(105, 2, "n/a", "text")
    assert style_blocks(sheet) == [((5, 2, 104, 3), "percent"), ((5, 4, 104, 4), "money"), ((105, 2, 105, 2), "text")]


def test_text_that_excel_would_read_as_a_date_number_or_formula_is_sent_as_text():
    assert [as_text(v) for v in ("2026-01-31", "1,200", "=SUM(A1)", "TRUE", "'quoted", "张伟", 12.5, None)] == [
        "'2026-01-31", "'1,200", "'=SUM(A1)", "'TRUE", "''quoted", "张伟", 12.5, None]
    assert [typed(as_text(v)) for v in ("2026-01-31", "1,200", "'quoted")] == ["2026-01-31", "1,200", "'quoted"]


def test_a_missing_table_is_named_with_the_tables_the_book_has(built_sample):
    xw = remote_xlwings()
    live = LiveWorkbook(xw.Book(json=book_json(built_sample)))
    with pytest.raises(Exception) as info:
        live.read_table("tblNope")
    assert "tblNope" in str(info.value) and contract.TABLE_OPPORTUNITIES in str(info.value)


def test_the_status_line_falls_back_to_stderr_where_excel_has_no_status_bar(built_sample, capsys):
    xw = remote_xlwings()
    LiveWorkbook(xw.Book(json=book_json(built_sample))).status("正在计算预测……")
    assert "正在计算预测" in capsys.readouterr().err


# --- edits of the input tables: the same values through both doors ----------------------------------------------

DEALS = [
    {"id": "A-1", "customer": "客户A-1", "rep": "李强", "amount": 1_000_000.0, "stage": "approved", "status": "open",
     "close_date": pd.Timestamp("2026-03-05"), "created_date": pd.Timestamp("2025-12-01"), "estimated": True},
    {"id": "A-2", "customer": "客户A-2", "rep": "李强", "amount": 400_000.0, "stage": "closed", "status": "won",
     "close_date": pd.Timestamp("2026-02-01"), "created_date": pd.Timestamp("2025-11-01"), "estimated": False},
]


def _sent_cells(book) -> dict[tuple[int, int], object]:
    """Every cell the live door set on 商机, by (row, column), 1-based as Excel numbers them."""
    position = [s.name for s in book.sheets].index(contract.sheet_name("opportunities"))
    cells = {}
    for action in book.json()["actions"]:
        if action["func"] == "setValues" and action["sheet_position"] == position:
            for i, row in enumerate(action["values"]):
                for j, value in enumerate(row):
                    cells[(action["start_row"] + 1 + i, action["start_column"] + 1 + j)] = value
    return cells


@pytest.fixture(scope="module")
def edited_both_ways(built_sample, tmp_path_factory):
    """The sample with DEALS appended and its first deal's stage changed: through the file door and the live door."""
    file_copy = shutil.copy(built_sample, tmp_path_factory.mktemp("edits") / "Funnel.xlsm")
    for door in (FileWorkbook(file_copy, quiet=True), LiveWorkbook(remote_xlwings().Book(json=book_json(built_sample)))):
        first = int(door.read_rows(contract.TABLE_OPPORTUNITIES).index[0])
        door.update_cells(contract.TABLE_OPPORTUNITIES, {(first, "stage"): "negotiation"})
        door.append_rows(contract.TABLE_OPPORTUNITIES, DEALS)
        door.save()
    return openpyxl.load_workbook(file_copy, data_only=True)[contract.sheet_name("opportunities")], door.book


def test_the_live_door_sends_the_cells_the_file_door_writes_for_the_users_columns(edited_both_ways):
    sheet, book = edited_both_ways
    sent = _sent_cells(book)
    assert sent, "nothing was sent"
    for (row, col), value in sent.items():
        assert typed(value) == sheet.cell(row, col).value, (row, col)


def test_appended_rows_grow_the_table_with_one_resize_to_the_range_the_file_door_gives(edited_both_ways):
    sheet, book = edited_both_ways
    resizes = [a["args"][1].replace("$", "") for a in book.json()["actions"] if a["func"] == "resizeTable"]
    assert resizes == [sheet.tables[contract.TABLE_OPPORTUNITIES].ref]
    ids = [typed(v) for (_, col), v in sorted(_sent_cells(book).items()) if col == 1]
    assert ids == [d["id"] for d in DEALS]


def test_derived_columns_are_left_to_excels_calculated_columns(edited_both_ways):
    sheet, book = edited_both_ways
    header = [c.value for c in sheet[4]]
    derived = {header.index(contract.opportunity_header(c)) + 1 for c in contract.DERIVED_OPPORTUNITY_COLUMNS
               if contract.opportunity_header(c) in header}
    assert derived and not derived & {col for _, col in _sent_cells(book)}


def test_the_live_door_reads_a_sheet_from_a1_and_copies_only_a_saved_file(built_sample, tmp_path):
    from funnel_xl.errors import NotSupportedError

    live = LiveWorkbook(remote_xlwings().Book(json=book_json(built_sample)))
    log = contract.sheet_name("audit")
    assert live.read_sheet(log) == FileWorkbook(built_sample).read_sheet(log)
    with pytest.raises(NotSupportedError, match="save"):
        live.values_only_copy()  # the remote book has no file on this computer
