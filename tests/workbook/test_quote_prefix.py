"""Text that starts like a formula is stored so Excel never runs it: through the file door with the quote prefix on a
twin of the cell's style (its look kept), through the live door with the apostrophe Excel reads as that prefix."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import openpyxl
import pytest

from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook import contract
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.live_adapter import LiveWorkbook
from funnel_xl.workbook.ooxml import QuotePrefixStyles
from tests.workbook.test_live_adapter import DEALS, _sent_cells, book_json, remote_xlwings

ATTACK = "=cmd|' /C calc'!A0"
STYLES = ('<styleSheet><cellXfs count="2"><xf numFmtId="0" fontId="0"/>'
          '<xf numFmtId="3" fontId="1" applyNumberFormat="1"><alignment vertical="top"/></xf></cellXfs></styleSheet>')


def test_a_style_gets_one_quote_prefixed_twin_that_later_cells_reuse():
    styles = QuotePrefixStyles(STYLES)
    assert styles.twin(1) == styles.twin(1) == 2
    assert styles.twin(0) == 3
    xml = styles.xml()
    assert 'count="4"' in xml
    assert '<xf quotePrefix="1" numFmtId="3" fontId="1" applyNumberFormat="1"><alignment vertical="top"/></xf>' in xml
    again = QuotePrefixStyles(xml)
    assert again.twin(1) == 2 and again.twin(2) == 2 and again.xml() == xml  # nothing added twice


def test_only_text_that_starts_like_a_formula_moves_to_the_twin():
    sheet = ('<c r="A1" s="1" t="inlineStr"><is><t xml:space="preserve">=SUM(A2)</t></is></c>'
             '<c r="A2" s="1" t="inlineStr"><is><t xml:space="preserve">a=b</t></is></c>'
             '<c r="A3" t="inlineStr"><is><t xml:space="preserve">@x</t></is></c>'
             '<c r="A4" s="1"><v>-5</v></c>')
    styles = QuotePrefixStyles(STYLES)
    out = styles.quote_formula_text(sheet)
    assert re.findall(r'r="(A\d)" s="(\d+)"', out) == [("A1", "2"), ("A2", "1"), ("A3", "3"), ("A4", "1")]


def _quoted_cells(path, sheet: str) -> dict[str, str]:
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.quotePrefix}


def test_recalculate_shows_a_formula_like_value_on_the_data_issues_sheet_as_quoted_text(built_sample, tmp_path):
    path = shutil.copy2(built_sample, tmp_path / "Funnel.xlsm")
    with FileWorkbook(path, quiet=True) as book:
        first = int(book.read_rows(contract.TABLE_OPPORTUNITIES).index[0])
        book.update_cells(contract.TABLE_OPPORTUNITIES, {(first, "amount"): ATTACK})
        book.save()
    with FileWorkbook(path, quiet=True) as book:
        recalculate(book, dt.date(2026, 11, 20), run_at=dt.datetime(2026, 11, 20, 9))
    assert list(_quoted_cells(path, contract.sheet_name("opportunities")).values()) == [ATTACK]
    assert list(_quoted_cells(path, contract.sheet_name("problems")).values()) == [ATTACK]
    book = openpyxl.load_workbook(path)
    assert not [c.coordinate for ws in book for row in ws.iter_rows() for c in row
                if c.data_type == "f" and "cmd|" in str(c.value)]


def test_the_live_door_sends_formula_like_text_with_the_leading_apostrophe(built_sample):
    book = remote_xlwings().Book(json=book_json(built_sample))
    door = LiveWorkbook(book)
    door.append_rows(contract.TABLE_OPPORTUNITIES, [dict(DEALS[0], id="F-1", customer=ATTACK)])
    sent = set(_sent_cells(book).values())
    assert "'" + ATTACK in sent and ATTACK not in sent


def test_a_style_that_says_quote_prefix_zero_is_set_not_given_the_attribute_twice():
    styles = QuotePrefixStyles('<cellXfs count="1"><xf numFmtId="0" quotePrefix="0" pivotButton="0"/></cellXfs>')
    assert styles.twin(0) == 1
    assert styles.xml().count("quotePrefix") == 2 and '<xf numFmtId="0" quotePrefix="1" pivotButton="0"/>' in styles.xml()


@pytest.mark.parametrize("text", ["+86 138 0000 0000", "-待定", "@张伟", "\tTab"])
def test_every_formula_start_is_covered(text):
    sheet = f'<c r="A1" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    assert 's="1"' in QuotePrefixStyles('<cellXfs count="1"><xf numFmtId="0"/></cellXfs>').quote_formula_text(sheet)
