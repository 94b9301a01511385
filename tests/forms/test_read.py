"""Reading a returned form: only real forms, within size bounds, safe XML, strict answers, no formula text."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from funnel_xl.errors import FormError
from funnel_xl.domain.parsing import neutralise
from funnel_xl.forms.read import read_returned_workbook
from funnel_xl.forms.settings import form_settings
from funnel_xl.methodologies import load_methodology
from formtools import form_sheet, refs  # noqa: E402

BIG = load_methodology("big_project")


def filled(src: Path, tmp_path: Path, edit) -> bytes:
    """The form workbook after a rep's edits (openpyxl on the form, as a spreadsheet program would save it)."""
    wb = openpyxl.load_workbook(src)
    edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("text,expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-客户预算不足", "'-客户预算不足"),
    ("@SUM(A1)", "'@SUM(A1)"), ("客户预算 = 100万", "客户预算 = 100万"),
])
def test_text_that_starts_like_a_formula_gets_a_leading_apostrophe(text, expected):
    assert neutralise(text)[0] == expected
    assert neutralise(text)[1] == (text != expected)


def test_a_returned_form_reads_back_the_answers_stage_and_notes_the_rep_entered(workbook_of, tmp_path):
    def edit(wb):
        ws = form_sheet(wb, "OPP-1001")
        r = refs(ws)
        ws[r["chk:recognition_meets_requirements"]] = "是"
        ws[r["marker:approved"]] = None
        ws[r["marker:recognition"]] = "●"
        ws[r["notes"]] = "客户已口头认可"
    forms = read_returned_workbook(filled(workbook_of("李强"), tmp_path, edit), "李强.xlsx", BIG)
    form = next(f for f in forms if f.opportunity_id == "OPP-1001")
    assert form.ok
    assert form.answers["recognition_meets_requirements"] is True
    assert form.stage == "recognition"
    assert form.notes == "客户已口头认可"


def test_a_bad_answer_a_formula_in_an_answer_and_two_marked_stages_are_each_named(workbook_of, tmp_path):
    def edit(wb):
        ws = form_sheet(wb, "OPP-1001")
        r = refs(ws)
        ws[r["chk:target_industry"]] = "也许"
        ws[r["chk:target_needs_it"]] = '=IF(1,"是","否")'
        ws[r["marker:recognition"]] = "●"
    forms = read_returned_workbook(filled(workbook_of("李强"), tmp_path, edit), "李强.xlsx", BIG)
    form = next(f for f in forms if f.opportunity_id == "OPP-1001")
    text = "\n".join(form.problems)
    r = refs(form_sheet(openpyxl.load_workbook(workbook_of("李强")), "OPP-1001"))
    # Each named in the form's language, by its cell and the criterion as the form words it, no internal key.
    first, second = BIG.stages[0].criteria[:2]
    assert f"单元格 {r['chk:target_industry']}(特征 1.1 {first.zh})：“也许”不是回答" in text
    assert f"单元格 {r['chk:target_needs_it']}(特征 1.2 {second.zh})：“=IF(1,\"是\",\"否\")”不是回答" in text
    assert f"标记了多个阶段({BIG.stage('approved').zh}、{BIG.stage('recognition').zh})" in text
    assert "approved" not in text and "target_industry" not in text


def test_a_file_that_is_not_a_zip_is_refused_as_damaged():
    with pytest.raises(FormError, match="not an Excel workbook"):
        read_returned_workbook(b"PK\x03\x04 this is not a workbook", "x.xlsx", BIG)


def test_a_workbook_without_a_form_sheet_is_refused(tmp_path):
    buf = io.BytesIO()
    openpyxl.Workbook().save(buf)
    with pytest.raises(FormError, match="no stage-assessment form"):
        read_returned_workbook(buf.getvalue(), "budget.xlsx", BIG)


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened():
    limit = form_settings().limits["max_file_bytes"]
    with pytest.raises(FormError, match="more than"):
        read_returned_workbook(b"\0" * (limit + 1), "huge.xlsx", BIG)


def test_a_zip_bomb_is_refused_from_the_declared_sizes(workbook_of):
    buf = io.BytesIO(workbook_of("李强").read_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/padding.bin", b"\0" * 5_000_000)  # compresses about 1000 to 1
    with pytest.raises(FormError, match="zip bomb"):
        read_returned_workbook(buf.getvalue(), "bomb.xlsx", BIG)


def with_part(data: bytes, name: str, xml: bytes) -> bytes:
    """The package ``data`` with its part ``name`` (added when missing) holding ``xml``, every other part as it was."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != name:
                zout.writestr(info, zin.read(info.filename))
        zout.writestr(name, xml)
    return out.getvalue()


def first_sheet_part(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return next(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))


MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
ENTITY_BOMB = b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'


def test_xml_with_an_entity_bomb_is_refused_by_defusedxml(workbook_of):
    bomb = b'<?xml version="1.0"?>' + ENTITY_BOMB + b"<sst " + MAIN + b"><si><t>&lol2;</t></si></sst>"
    with pytest.raises(FormError, match="forbidden XML"):
        read_returned_workbook(with_part(workbook_of("李强").read_bytes(), "xl/sharedStrings.xml", bomb),
                               "entities.xlsx", BIG)


@pytest.mark.parametrize("doctype, reason", [
    (ENTITY_BOMB, "forbidden XML"),
    (b'<!DOCTYPE w [<!ENTITY secret SYSTEM "file:///etc/passwd">]>', "forbidden XML"),
    (b'<!DOCTYPE w SYSTEM "http://example.invalid/w.dtd">', "not well-formed"),
])
def test_a_form_sheet_declaring_entities_or_naming_an_outside_dtd_is_refused(workbook_of, doctype, reason):
    data = workbook_of("李强").read_bytes()
    sheet = (b'<?xml version="1.0"?>' + doctype + b"<worksheet " + MAIN
             + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;&secret;&outside;</t></is></c></row>'
             b"</sheetData></worksheet>")
    with pytest.raises(FormError, match=reason):
        read_returned_workbook(with_part(data, first_sheet_part(data), sheet), "entities.xlsx", BIG)
