"""A long table kept as a block of columns (数据问题 may list 50,000 problems) is the same sheet as the one written row
by row: the same worksheet XML byte for byte, the same column widths, the same values wherever a reader looks, and a
cell put over it later wins as it always has."""

from __future__ import annotations

import datetime as dt

import pytest

from funnel_xl.reports.widths import fit_columns
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.sheet_xml import splice_sheet

ORIGINAL = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1"/>'
            '<sheetData/><pageSetup orientation="landscape"/></worksheet>')
STYLES = {"text": 0, "header": 3, "money": 4, "date": 5, "warn": 6, "bad": 7, "note": 8, "kpi_label": 9}

# Awkward values, cycled through the rows: text that needs escaping or holds a control character, a blank text, a
# number Excel cannot store, 0.0 beside -0.0, a boolean beside the whole number it equals, dates, Chinese, None.
VALUES = [
    ["张伟", "A<&>\"3'", "", "李娜\x07", None, "=SUM(A1)", "张伟"],
    [1054.0, float("nan"), 0.0, -0.0, 1e15, None, 7],
    [dt.date(2026, 3, 5), None, dt.datetime(2017, 1, 1, 9, 30), dt.date(2026, 3, 5)],
    [True, 1, False, 0, None, 1.0],
    ["缺少预计成交日期，请在商机表中填写", "短", None, "一句很长很长的话" * 6],
    [7, 12, None, 7, 3],
]
STYLES_OF = ["text", "money", "date", "text", "text", "text"]
ROWS = 40
FIRST = 6


def _columns() -> list[list]:
    return [[values[i % len(values)] for i in range(ROWS)] for values in VALUES]


def _severity_styles() -> list[str]:
    return ["bad" if i % 5 == 0 else "warn" for i in range(ROWS)]


def _surroundings(sheet: OutputSheet) -> None:
    """What a report writes around a table: a title, a header row, a height, and a cell beside a body row."""
    sheet.put(1, 1, "数据问题", "kpi_label")
    sheet.put_row(FIRST - 1, 1, ["销售人员", "金额", "日期", "是否", "说明", "行", "严重程度"], "header")
    sheet.heights[FIRST - 1] = 30
    sheet.heights[FIRST + 3] = 18.5
    sheet.put(FIRST + 7, 9, "旁边的备注")  # a cell outside the table's columns, on one of its rows
    sheet.put(FIRST + ROWS + 1, 1, "共 40 条", "note")


def _row_by_row() -> OutputSheet:
    sheet = OutputSheet("problems")
    _surroundings(sheet)
    columns, severity = _columns(), _severity_styles()
    for i in range(ROWS):
        sheet.put_row(FIRST + i, 1, [c[i] for c in columns] + ["严重" if i % 5 == 0 else "提示"],
                      STYLES_OF + [severity[i]])
    return sheet


def _as_block() -> OutputSheet:
    sheet = OutputSheet("problems")
    _surroundings(sheet)
    severity = _severity_styles()
    sheet.put_block(FIRST, 1, _columns() + [["严重" if s == "bad" else "提示" for s in severity]],
                    STYLES_OF + [severity])
    return sheet


def test_a_block_of_columns_is_written_as_the_same_xml_as_its_rows_one_by_one():
    block, rows = _as_block(), _row_by_row()
    assert block.blocks, "the table is kept as a block until it is written"
    assert splice_sheet(ORIGINAL, block, STYLES) == splice_sheet(ORIGINAL, rows, STYLES)
    assert block.blocks, "writing a block does not turn it into cells"


def test_a_block_of_columns_gets_the_widths_and_heights_its_rows_would():
    block, rows = _as_block(), _row_by_row()
    fit_columns(block)
    fit_columns(rows)
    assert block.widths == rows.widths and block.heights == rows.heights
    assert block.widths[5] > 20  # the long sentence cannot run on over the row number beside it: its column widens
    assert block.blocks


def test_every_reader_sees_the_same_values_in_a_block():
    block, rows = _as_block(), _row_by_row()
    assert (block.max_row, block.max_col) == (rows.max_row, rows.max_col)
    assert all(block.value(r, c) == rows.value(r, c) for r in range(1, rows.max_row + 2)
               for c in range(1, rows.max_col + 2))
    assert block.rows() == rows.rows()
    assert block.cells == rows.cells  # the live adapter and the company workbook read the cells


def test_a_cell_put_over_a_block_wins_and_the_rest_of_the_block_stays():
    block, rows = _as_block(), _row_by_row()
    for sheet in (block, rows):
        sheet.put(FIRST + 2, 2, 99.5, "money")
        sheet.put_row(FIRST + 9, 3, ["改过的", None], "text")
    assert block.value(FIRST + 2, 2) == 99.5 and block.value(FIRST + 9, 3) == "改过的"
    assert block.value(FIRST + 2, 1) == rows.value(FIRST + 2, 1)
    assert splice_sheet(ORIGINAL, block, STYLES) == splice_sheet(ORIGINAL, rows, STYLES)


def test_two_blocks_on_the_same_rows_are_written_as_their_cells():
    left, right = OutputSheet("problems"), OutputSheet("problems")
    columns = _columns()
    left.put_block(FIRST, 1, columns[:2], STYLES_OF[:2])
    left.put_block(FIRST + 5, 3, columns[2:], STYLES_OF[2:])  # overlaps the rows of the first
    for i in range(ROWS):
        right.put_row(FIRST + i, 1, [columns[0][i], columns[1][i]], STYLES_OF[:2])
        right.put_row(FIRST + 5 + i, 3, [c[i] for c in columns[2:]], STYLES_OF[2:])
    assert splice_sheet(ORIGINAL, left, STYLES) == splice_sheet(ORIGINAL, right, STYLES)


def test_a_block_with_columns_of_different_lengths_is_refused():
    sheet = OutputSheet("problems")
    with pytest.raises(ValueError, match="different lengths"):
        sheet.put_block(FIRST, 1, [[1, 2, 3], [1, 2]], ["text", "text"])
    with pytest.raises(ValueError, match="2 columns but 1 styles"):
        sheet.put_block(FIRST, 1, [[1], [2]], ["text"])
