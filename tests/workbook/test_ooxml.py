"""The one XML writer: one escaping rule, Excel's limits, cells and rows, ranges, chart series, package parts."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from xml.etree import ElementTree

import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel_xl.errors import FunnelError, SheetNameError
from funnel_xl.workbook import ooxml
from funnel_xl.workbook.ooxml import (
    CALC_CHAIN, MAX_CELL_TEXT, MAX_SHEET_NAME, TRUNCATION_NOTE, Write, add_relationship, cell_xml,
    check_sheet_name, drop_parts, excel_serial, formula_of, grow_print_area, grow_table, move_formula, patch_cells,
    refresh_series, safe_sheet_name, series_ref_xml, utf16_len, values_only, xml_attr, xml_text,
)
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.zip_patch import patch_package
from tests.excel_saved import calc_chain_traces, with_calc_chain

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
FORBIDDEN = ["\x00", "\x07", "\x0b", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]


def _parse(xml: str) -> ElementTree.Element:
    return ElementTree.fromstring(xml.encode("utf-8"))


def _cell_text(xml: str) -> str:
    root = _parse(f'<sheetData xmlns="{NS[1:-1]}"><row r="1">{xml}</row></sheetData>')
    return "".join(t.text or "" for t in root.iter(f"{NS}t")) or "".join(v.text or "" for v in root.iter(f"{NS}v"))


# --- one escaping rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", FORBIDDEN)
def test_a_character_xml_forbids_becomes_a_replacement_mark_in_a_cell_that_parses(bad):
    assert _cell_text(cell_xml("A1", f"周磊{bad}")) == "周磊\ufffd"


def test_tab_line_feed_carriage_return_and_markup_characters_survive_a_cell_as_typed():
    text = "a\tb\nc\rd <e> & \"f\" 'g'"
    assert _cell_text(cell_xml("A1", text)) == text


@pytest.mark.parametrize("bad", FORBIDDEN)
def test_the_same_rule_holds_for_formula_text_and_its_cached_text(bad):
    cell = cell_xml("A1", f"x{bad}<", formula='IF(A2<1,"' + bad + '","")')
    root = _parse(f'<row xmlns="{NS[1:-1]}">{cell}</row>')
    assert root.find(f"{NS}c/{NS}f").text == 'IF(A2<1,"\ufffd","")'
    assert root.find(f"{NS}c/{NS}v").text == "x\ufffd<"


def test_an_attribute_value_keeps_quotes_and_whitespace_and_loses_forbidden_characters():
    value = xml_attr('say "hi"\n\tnow\x07 & <go>')
    root = _parse(f'<x a="{value}"/>')
    assert root.get("a") == 'say "hi"\n\tnow\ufffd & <go>'


def test_text_escaping_and_unescaping_round_trip():
    text = "R&D <A> \"q\" 'a'"
    assert ooxml.xml_unescape(xml_text(text)) == text
    assert ooxml.xml_unescape("&#10;&#x41;&apos;") == "\nA'"


# --- Excel's limits ---------------------------------------------------------------------------------------------

def test_cell_text_longer_than_excel_keeps_is_cut_to_the_limit_with_a_visible_note():
    text = "备注" * 20_000
    cut = ooxml.cell_text(text)
    assert utf16_len(cut) == MAX_CELL_TEXT and cut.endswith(TRUNCATION_NOTE)
    assert text.startswith(cut[: -len(TRUNCATION_NOTE)])
    assert _cell_text(cell_xml("A1", text)) == cut


def test_cell_text_at_the_limit_is_kept_whole():
    text = "x" * MAX_CELL_TEXT
    assert ooxml.cell_text(text) == text


def test_characters_beyond_the_basic_plane_count_twice_and_are_never_split():
    text = "😀" * MAX_CELL_TEXT  # 65,534 UTF-16 units
    cut = ooxml.cell_text(text)
    assert utf16_len(cut) <= MAX_CELL_TEXT and cut.endswith(TRUNCATION_NOTE)
    assert set(cut[: -len(TRUNCATION_NOTE)]) == {"😀"}


@pytest.mark.parametrize("name", ["", "  ", "a" * 32, "😀" * 16, "a[b", "a]b", "a:b", "a*b", "a?b", "a/b", "a\\b",
                                  "'lead", "trail'", "History", "HISTORY", "history", "bell\x07"])
def test_a_sheet_name_excel_refuses_is_refused_with_an_error_that_is_also_a_value_error(name):
    with pytest.raises(SheetNameError) as caught:
        check_sheet_name(name)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, FunnelError)


@pytest.mark.parametrize("name", ["商机", "销" * MAX_SHEET_NAME, "O'Brien", "Histories", "😀" * 15 + "a", "a b-c_(d)"])
def test_a_sheet_name_excel_accepts_is_accepted(name):
    assert check_sheet_name(name) == name


@pytest.mark.parametrize("text", ["", "'", "a[b]:*?/\\c", "'quoted'", "History", "张" * 40, "😀" * 20, "x\x07y",
                                  "a" * 30 + "'b"])
def test_a_safe_sheet_name_is_always_one_excel_accepts(text):
    assert check_sheet_name(safe_sheet_name(text)) == safe_sheet_name(text)


def test_safe_sheet_names_are_unique_without_regard_to_case_and_stay_within_the_limit():
    taken: set[str] = set()
    names = [safe_sheet_name(t, taken=taken) for t in ["Deal", "deal", "DEAL", "商" * 40, "商" * 40]]
    assert names[:3] == ["Deal", "deal~2", "DEAL~3"]
    assert names[3] == "商" * MAX_SHEET_NAME and names[4] == "商" * (MAX_SHEET_NAME - 2) + "~2"
    assert len({n.casefold() for n in names}) == len(names)


# --- cells and rows ---------------------------------------------------------------------------------------------

def test_cells_are_numbers_booleans_dates_as_serials_inline_strings_or_formulas_with_cached_values():
    assert cell_xml("B5", 1234.5) == '<c r="B5"><v>1234.5</v></c>'
    assert cell_xml("B5", True, 3) == '<c r="B5" s="3" t="b"><v>1</v></c>'
    assert cell_xml("B5", dt.date(2026, 11, 20)) == f'<c r="B5"><v>{excel_serial(dt.date(2026, 11, 20))!r}</v></c>'
    assert cell_xml("B5", "是") == '<c r="B5" t="inlineStr"><is><t xml:space="preserve">是</t></is></c>'
    assert cell_xml("B5", 0.35, 2, "C5*D5") == '<c r="B5" s="2"><f>C5*D5</f><v>0.35</v></c>'
    assert cell_xml("B5", "", 0, 'IF(1,"","")') == '<c r="B5" t="str"><f>IF(1,"","")</f><v></v></c>'
    assert cell_xml("B5", None, 4) == '<c r="B5" s="4"/>'


def test_a_number_excel_cannot_store_leaves_the_cell_empty():
    assert cell_xml("A1", float("nan")) == '<c r="A1"/>'
    assert cell_xml("A1", float("inf"), 0, "1/0") == '<c r="A1"><f>1/0</f></c>'


def test_excel_serial_of_the_sample_report_date():
    # 2026-11-20: 46,346 days after Excel's 1899-12-30 epoch (checked against =DATE(2026,11,20) in LibreOffice)
    assert excel_serial(dt.date(2026, 11, 20)) == 46346


def test_a_cell_write_keeps_the_cell_style_and_a_new_row_copies_the_row_above():
    xml = ('<worksheet><sheetData><row r="1"><c r="A1" s="2"><v>1</v></c></row>'
           '<row r="2"><c r="A2" s="5"><v>1</v></c><c r="B2" s="6"><f>A2*2</f><v>2</v></c></row></sheetData></worksheet>')
    formula = move_formula(formula_of(xml, 2, 2), 2, 3, 2)
    out = patch_cells(xml, {(2, 1): Write(10), (3, 1): Write("新"), (3, 2): Write(20, formula)}, template_row=2)
    assert '<c r="A2" s="5"><v>10</v></c>' in out
    assert '<c r="A3" s="5" t="inlineStr">' in out
    assert '<c r="B3" s="6"><f>A3*2</f><v>20</v></c>' in out
    assert out.index('r="2"') < out.index('r="3"')


def test_rows_are_inserted_in_row_order_between_existing_rows():
    xml = '<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row><row r="9"/></sheetData></worksheet>'
    out = patch_cells(xml, {(5, 1): Write(5), (12, 1): Write(12)})
    rows = [r.get("r") for r in _parse(out).iter("row")]
    assert rows == ["1", "5", "9", "12"]


def test_a_formula_is_read_back_as_typed():
    xml = '<sheetData><row r="4"><c r="C4"><f>IF(A4&lt;&gt;"",&quot;是&quot;,"")</f><v>是</v></c></row></sheetData>'
    assert formula_of(xml, 4, 3) == 'IF(A4<>"","是","")'
    assert formula_of(xml, 4, 2) is None and formula_of(xml, 5, 3) is None


def test_a_formula_cell_keeps_its_cached_value_and_loses_its_formula():
    xml = ('<worksheet><sheetData><row r="1"><c r="A1" s="3"><f>B1*2</f><v>4</v></c>'
           '<c r="B1" t="str"><f>IF(1,"是","")</f><v>是</v></c><c r="C1"><f t="shared" si="0"/><v>1</v></c>'
           '</row></sheetData><conditionalFormatting><cfRule><formula>A1&gt;0</formula></cfRule>'
           '</conditionalFormatting></worksheet>')
    out = values_only(xml)
    assert '<c r="A1" s="3"><v>4</v></c>' in out
    assert '<c r="B1" t="inlineStr"><is><t xml:space="preserve">是</t></is></c>' in out
    assert '<c r="C1"><v>1</v></c>' in out
    assert "<formula>A1&gt;0</formula>" in out  # formatting rules are not cell formulas


# --- ranges -----------------------------------------------------------------------------------------------------

def test_a_table_grows_with_its_autofilter():
    grown = grow_table('<table ref="A4:C10"><autoFilter ref="A4:C10"/></table>', 12)
    assert grown == '<table ref="A4:C12"><autoFilter ref="A4:C12"/></table>'


def test_a_print_area_ending_on_the_table_grows_and_other_sheets_print_areas_stay():
    xml = ('<definedNames><definedName name="_xlnm.Print_Area" localSheetId="0">\'R&amp;D\'!$A$1:$F$10</definedName>'
           '<definedName name="_xlnm.Print_Area" localSheetId="1">商机!$A$1:$F$10</definedName></definedNames>')
    out = grow_print_area(xml, "R&D", 10, 14)
    names = [dn.text for dn in _parse(out).iter("definedName")]
    assert names == ["'R&D'!$A$1:$F$14", "商机!$A$1:$F$10"]


# --- chart series -----------------------------------------------------------------------------------------------

def _chart(val_kind: str = "numRef") -> str:
    return (f'<c:chartSpace xmlns:c="{C[1:-1]}"><c:ser><c:tx><c:strRef><c:f>\'漏斗\'!$B$5</c:f></c:strRef></c:tx>'
            f"<c:cat><c:numRef><c:f>'漏斗'!$A$6:$A$7</c:f></c:numRef></c:cat>"
            f"<c:val><c:{val_kind}><c:f>'漏斗'!$B$6:$B$7</c:f></c:{val_kind}></c:val></c:ser></c:chartSpace>")


def test_a_series_value_is_never_a_string_reference_and_text_in_it_is_a_blank_point():
    cells = {(5, 2): "金额", (6, 1): "周磊\x07", (7, 1): "张伟", (6, 2): "—", (7, 2): 120.0}
    for kind in ("numRef", "strRef"):
        out = _parse(refresh_series(_chart(kind), "漏斗", lambda r, c: cells.get((r, c))))
        val = out.find(f"{C}ser/{C}val")
        assert val.find(f"{C}strRef") is None and val.find(f"{C}numRef") is not None
        points = {p.get("idx"): p.find(f"{C}v").text for p in val.iter(f"{C}pt")}
        assert points == {"1": "120.0"}
        cats = [p.find(f"{C}v").text for p in out.find(f"{C}ser/{C}cat").iter(f"{C}pt")]
        assert cats == ["周磊\ufffd", "张伟"]
        assert out.find(f"{C}ser/{C}tx/{C}strRef/{C}f").text == "'漏斗'!$B$5"


def test_a_series_reference_to_a_sheet_with_markup_in_its_name_is_escaped():
    xml = series_ref_xml("cat", "strRef", "'R&D <1>'!$A$6:$A$7", ["a", "b"])
    assert _parse(f'<x xmlns:c="{C[1:-1]}">{xml}</x>').find(f"{C}strRef/{C}f").text == "'R&D <1>'!$A$6:$A$7"


# --- package parts ----------------------------------------------------------------------------------------------

def test_a_dropped_part_takes_its_relationship_and_content_type_override_along(tmp_path):
    plain = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(plain)
    wb.add_worksheet("商机").write_formula("B2", "=1+1", None, 2)
    wb.close()
    chained, out = tmp_path / "chained.xlsx", tmp_path / "out.xlsx"
    with_calc_chain(plain, chained)
    assert len(calc_chain_traces(chained)) == 3 and validate_package(chained) == []
    with zipfile.ZipFile(chained) as zf:
        drop = drop_parts(zf, [CALC_CHAIN])
    patch_package(chained, out, drop.replaced, drop.dropped)
    assert calc_chain_traces(out) == []
    assert validate_package(out) == []


def test_dropping_a_part_the_package_lacks_changes_nothing(tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet()
    wb.close()
    with zipfile.ZipFile(path) as zf:
        drop = drop_parts(zf, [CALC_CHAIN], {"xl/worksheets/sheet1.xml": b"<worksheet/>"})
    assert drop.dropped == frozenset() and drop.replaced == {"xl/worksheets/sheet1.xml": b"<worksheet/>"}


def test_a_relationship_is_added_once():
    rels = '<Relationships xmlns="x"><Relationship Id="rId1" Type="t/a" Target="a.xml"/></Relationships>'
    once = add_relationship(rels, "rId2", "t/b", "b & c.xml")
    assert add_relationship(once, "rId3", "t/b", "b & c.xml") == once
    targets = [r.get("Target") for r in _parse(once).iter("{x}Relationship")]
    assert targets == ["a.xml", "b & c.xml"]


# What the splice looked for before it searched by hand: the first element, written either way.
_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", re.S)
_SHEET_DATA_PIECES = ["<sheetData>", "</sheetData>", "<sheetData/>", "<sheetData />", "<sheetData\n/>", "<sheetData >",
                      "<sheetDataX>", "<sheetData a='1'>", '<row r="1"/>', "<sheetData", "/>", ">", " ", "x"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_SHEET_DATA_PIECES), max_size=10))
def test_the_sheet_data_is_found_where_the_regular_expression_finds_it(pieces):
    xml = "".join(pieces)
    found = _SHEET_DATA.search(xml)
    assert ooxml.sheet_data_span(xml) == (None if found is None else found.span())
