"""The fingerprint of an output sheet: its values, however the XML spells them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_xl.workbook.fingerprint import fingerprint
from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.sheet_xml import splice_sheet

EMPTY_PART = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.'
              'org/spreadsheetml/2006/main"><dimension ref="A1"/><sheetData/></worksheet>')
STYLES = {"text": 0, "money": 3, "date": 5}

VALUES = st.one_of(
    st.text(max_size=12), st.sampled_from(["周磊_x0007_", "A & B", "<tag>", "a\r\nb", "_x005F_", "  ", "\x07"]),
    st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 1, 1)), st.none())


def written(cells: list) -> str:
    sheet = OutputSheet("problems")
    for i, (value, style) in enumerate(cells):
        sheet.put(1 + i // 3, 1 + i % 3, value, style)
    return splice_sheet(EMPTY_PART, sheet, STYLES)


def attributes_reordered(xml: str) -> str:
    """The same cells with their attributes in another order, as another program may write them."""
    return re.sub(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?)((?: t="[a-zA-Z]+")?)', r'<c\3\2 r="\1" ', xml)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(VALUES, st.sampled_from(sorted(STYLES))), max_size=12))
def test_the_tools_own_spelling_and_any_other_give_the_same_fingerprint(cells):
    xml = written(cells)
    other = attributes_reordered(xml)
    assert other.count("<c ") == xml.count("<c ") and (other != xml or "<c " not in xml)
    assert fingerprint(xml, list) == fingerprint(other, list)


@pytest.mark.parametrize("typed", ["经理的备注", 42, "周磊_x0007_"])
def test_a_value_typed_over_a_cell_changes_the_fingerprint(typed):
    before = written([("张伟", "text"), (1_000_000.0, "money"), ("A & B", "text")])
    after = written([("张伟", "text"), (1_000_000.0, "money"), (typed, "text")])
    assert fingerprint(before, list) != fingerprint(after, list)
