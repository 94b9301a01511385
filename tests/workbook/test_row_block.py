"""Rows written column by column and sheets kept as bytes: the cells are those the one cell rule writes one at a time,
new rows land in row order around the rows a sheet has, untouched rows are copied byte for byte, and a part streamed
into the zip reads back whole."""

from __future__ import annotations

import datetime as dt
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from funnel_xl.domain.distinct import distinct
from funnel_xl.workbook.ooxml import (
    RowBlock, SheetPart, StreamedXml, cell_body, cell_xml, col_letter, column_cells, constant_column, move_formula,
    values_only,
)
from funnel_xl.workbook.ooxml.row_block import ROW_MARK
from funnel_xl.workbook.zip_patch import patch_package

# One column of each kind a table holds, with the awkward values: blanks of every sort, text that needs escaping or
# starts like a formula, a number Excel cannot store, dates, booleans.
COLUMNS = {
    1: (["A-1", "A-2", "A<&>3", "A-4", "=A5"], 3),
    2: ([1054.0, float("nan"), 0.0, 1e15, None], 4),
    3: ([pd.Timestamp("2026-03-05"), pd.NaT, pd.Timestamp("2026-03-05"), None, pd.Timestamp("2017-01-01")], 5),
    4: ([True, False, None, True, 1], 0),
    5: (["是", "", "  ", "否\x07", None], 6),
}


def _shown(value):
    """A blank of any sort as the writer hands it on: None."""
    return None if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)) else value


def _columns(count: int) -> dict[int, tuple[list, int]]:
    """COLUMNS with ``count`` rows, their values repeated in turn."""
    return {c: ([values[i % len(values)] for i in range(count)], style) for c, (values, style) in COLUMNS.items()}


def _one_by_one(rows: list[int]) -> str:
    columns = _columns(len(rows))
    return "".join(f'<row r="{r}">' + "".join(cell_xml(f"{col_letter(c)}{r}", _shown(values[i]), style)
                                              for c, (values, style) in columns.items()) + "</row>"
                   for i, r in enumerate(rows))


def _block(rows: list[int]) -> RowBlock:
    columns = tuple(column_cells(c, pd.Series(values, dtype=object), lambda v, s=style: cell_body(_shown(v), s))
                    for c, (values, style) in _columns(len(rows)).items())
    return RowBlock(np.array(rows), f'<row r="{ROW_MARK}">', columns)


def test_a_column_s_distinct_values_give_back_every_cell_and_a_boolean_is_never_taken_for_one():
    values = [True, 1, 1.0, "1", None, True, 1, float("nan")]
    uniques, codes = distinct(values)
    back = [None if code < 0 else uniques[code] for code in codes]
    assert [(type(v), v) for v in back[:4]] == [(bool, True), (int, 1), (float, 1.0), (str, "1")]
    assert back[5] is True and back[6] == 1 and type(back[6]) is int
    assert back[4] is None or back[4] != back[4]  # a blank stays a blank
    assert len(uniques) < len(values)


def test_rows_written_column_by_column_are_the_cells_the_one_rule_writes_one_at_a_time():
    rows = [5, 6, 7, 8, 9]
    assert b"".join(_block(rows).chunks(chunk=2)).decode("utf-8") == _one_by_one(rows)


def test_a_column_of_one_cell_repeats_it_on_every_row():
    block = RowBlock(np.array([3, 4]), f'<row r="{ROW_MARK}">', (constant_column(2, cell_body(None, 7), 2),))
    assert b"".join(block.chunks()).decode() == '<row r="3"><c r="B3" s="7"/></row><row r="4"><c r="B4" s="7"/></row>'


SHEET = ('<worksheet><dimension ref="A1:B9"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>标题</t></is></c>'
         '</row><row r="2"><c r="A2"><v>2</v></c></row><row r="5" spans="1:2"><c r="A5"><v>5</v></c></row>'
         '<row r="9"><c r="B9" t="inlineStr"><is><t>备注</t></is></c></row></sheetData><pageMargins/></worksheet>')


def _numbers(xml: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'<row r="(\d+)"', xml)]


@pytest.mark.parametrize("mark_bytes", [1, 60, SheetPart.MARK_BYTES])  # a mark at every row, some rows, the first
def test_a_sheet_part_puts_new_rows_in_row_order_around_its_rows_and_copies_the_rest_as_it_was(mark_bytes,
                                                                                                monkeypatch):
    monkeypatch.setattr(SheetPart, "MARK_BYTES", mark_bytes)
    sheet = SheetPart(SHEET.encode("utf-8"))
    assert sheet.numbers == [1, 2, 5, 9] and sheet.row(5).startswith('<row r="5" spans="1:2">') and 3 not in sheet
    block = RowBlock(np.array([6, 7, 8, 10, 11]), f'<row r="{ROW_MARK}">', (constant_column(1, "/>", 5),))
    out = sheet.written({2: '<row r="2"><c r="A2"><v>20</v></c></row>', 3: '<row r="3"/>'}, block).text()
    assert _numbers(out) == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert '<c r="A2"><v>20</v></c>' in out and '<c r="A2"><v>2</v></c>' not in out
    for kept in (1, 5, 9):  # untouched rows, byte for byte
        assert sheet.row(kept) in out
    assert out.startswith(SHEET[:SHEET.index("<row")]) and out.endswith("</sheetData><pageMargins/></worksheet>")


def test_a_sheet_part_with_rows_out_of_order_is_refused_where_an_edit_reads_them():
    sheet = SheetPart(b'<worksheet><sheetData><row r="1"/><row r="3"/><row r="2"/></sheetData></worksheet>')
    with pytest.raises(ValueError, match="out of order"):
        sheet.row(2)


def test_an_empty_sheet_data_takes_its_first_rows():
    sheet = SheetPart(b'<worksheet><sheetData/></worksheet>')
    out = sheet.written({4: '<row r="4"/>'}).text()
    assert out == '<worksheet><sheetData><row r="4"/></sheetData></worksheet>'


def test_a_part_streamed_into_the_zip_reads_back_whole(tmp_path):
    source = tmp_path / "in.zip"
    with zipfile.ZipFile(source, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", SHEET)
        zf.writestr("other.bin", b"\x00\x01kept")
    rows = list(range(10, 5010))
    streamed = StreamedXml(("<sheetData>", _block(rows), memoryview(b"</sheetData>")))
    patch_package(source, tmp_path / "out.zip", {"xl/worksheets/sheet1.xml": streamed})
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.testzip() is None
        assert zf.read("xl/worksheets/sheet1.xml").decode() == "<sheetData>" + _one_by_one(rows) + "</sheetData>"
        assert zf.read("other.bin") == b"\x00\x01kept"


@pytest.mark.parametrize("formula, moved", [
    ("IFERROR(tblOpportunities[[#This Row],[预计金额(元)]]/10000,\"\")",
     "IFERROR(tblOpportunities[[#This Row],[预计金额(元)]]/10000,\"\")"),
    ('IF(tblStages[[#Data],[赢率]]="A1",1,0)', 'IF(tblStages[[#Data],[赢率]]="A1",1,0)'),
    ("SUM($B$2:B5)*2", "SUM($B$2:B7)*2"),
    ("Sheet1!A5+LOG10(2)", "Sheet1!A7+LOG10(2)"),
])
def test_a_formula_of_structured_references_is_one_text_on_every_row_and_an_address_moves(formula, moved):
    assert move_formula(formula, 5, 7, 3) == moved


def test_a_formula_whose_text_result_is_spaced_by_a_tab_or_blank_still_loses_its_formula():
    xml = ('<worksheet><sheetData><row r="1"><c r="A1"\tt="str"><f>X</f><v>是</v></c><c r="B1" s="2" t="str">'
           '<f>Y</f><v></v></c><c r="C1" t="str"/></row></sheetData></worksheet>')
    out = values_only(xml)
    assert '<c r="A1" t="inlineStr"><is><t xml:space="preserve">是</t></is></c>' in out
    assert '<c r="B1" s="2"/>' in out and '<c r="C1"/>' in out and "<f>" not in out


def test_dates_in_a_column_are_written_as_the_serial_numbers_the_one_rule_writes():
    day = dt.datetime(2026, 11, 20)
    cells = column_cells(2, pd.Series([pd.Timestamp(day)]), lambda v: cell_body(v, 5))
    assert cells.pieces[cells.codes[0]].decode().replace(ROW_MARK, "7") == cell_xml("B7", day, 5)
