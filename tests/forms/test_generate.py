"""Generating the stage-assessment forms: one workbook per rep, one protected A4 sheet per open opportunity."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from funnel_xl.forms.model import MARK
from funnel_xl.labels import label
from funnel_xl.methodologies import load_methodology
from formtools import form_sheet, form_sheets, generate_from_file, refs  # noqa: E402

AS_OF = dt.date(2026, 11, 20)  # the sample report date

BIG = load_methodology("big_project")
# templates/sample/README.md: of the two rows with mistakes, the deal without a rep gets no form (nobody would fill
# it in); the other counts, and gets its form like any deal.
BAD_ROWS = {"OPP-1062"}


def formable(rows):
    return [r for r in rows if r["status"] == "open" and r["id"] not in BAD_ROWS]


block = refs  # the hidden key/value block (columns AN:AO)


def value_beside(ws, text: str):
    """The value right of the label ``text`` in column A (the form's header and fields read label -> value)."""
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == text:
            return ws.cell(row=row[0].row, column=2).value
    raise KeyError(text)


def test_each_rep_gets_an_index_then_a_sheet_per_open_opportunity_then_their_quota_sheet(generated, sample_rows):
    open_by_rep = Counter(r["rep"] for r in formable(sample_rows))
    assert len(generated) == len(open_by_rep)
    for rep, count in open_by_rep.items():
        path = next(p for p in generated if p.stem.endswith("_" + rep))
        wb = openpyxl.load_workbook(path)
        expected_ids = sorted(r["id"] for r in formable(sample_rows) if r["rep"] == rep)
        assert sorted(refs(ws)["opportunity"] for ws in form_sheets(wb)) == expected_ids
        assert wb.sheetnames[0] == label("form.index.sheet", "zh-CN")
        assert wb.sheetnames[-1] == label("form.quota_sheet", "zh-CN")


def test_a_tab_is_named_by_the_customers_short_name_and_the_id(workbook_of, sample_rows):
    row = next(r for r in sample_rows if r["id"] == "OPP-1001")
    ws = form_sheet(openpyxl.load_workbook(workbook_of(row["rep"])), "OPP-1001")
    assert ws.title.endswith(" OPP-1001")
    short = ws.title.removesuffix(" OPP-1001")
    assert short and row["customer"].startswith(short)


def test_header_shows_project_customer_rep_and_manager_products_and_date(workbook_of, sample_rows):
    row = next(r for r in sample_rows if r["id"] == "OPP-1001")
    ws = form_sheet(openpyxl.load_workbook(workbook_of(row["rep"])), "OPP-1001")
    assert ws["A1"].value == "销售阶段评估表"
    assert value_beside(ws, "项目名称") == row["project"]
    assert value_beside(ws, "客户名称") == row["customer"]
    assert value_beside(ws, "项目经理(销售负责人)") == f'{row["rep"]} / {row["project_manager"]}'
    assert value_beside(ws, "提供的产品") == row["product"]
    assert value_beside(ws, "日期") == "2026-11-20"


def test_the_instructions_come_first_in_plain_words(workbook_of):
    ws = form_sheet(openpyxl.load_workbook(workbook_of("李强")), "OPP-1001")
    assert ws["A2"].value == label("form.instructions", "zh-CN")
    assert all(word in ws["A2"].value for word in ("●", "是", "否", "黄色", "保存", "回复"))


def test_current_stage_is_marked_with_a_dot_beside_its_stage_and_nowhere_else(workbook_of, sample_rows):
    row = next(r for r in sample_rows if r["id"] == "OPP-1001")  # stage 'approved' in the sample CSV
    ws = form_sheet(openpyxl.load_workbook(workbook_of(row["rep"])), "OPP-1001")
    markers = {k[len("marker:"):]: v for k, v in block(ws).items() if k.startswith("marker:")}
    assert {key: ws[ref].value for key, ref in markers.items()} == {
        s.key: (MARK if s.key == "approved" else None) for s in BIG.stages}
    approved = ws[markers["approved"]]
    assert ws.cell(row=approved.row, column=2).value.startswith("引导客户立项")


def test_answers_are_yes_no_dropdowns_prefilled_from_the_masters_checklist(workbook_of, sample_rows):
    row = next(r for r in sample_rows if r["id"] == "OPP-1001")
    ws = form_sheet(openpyxl.load_workbook(workbook_of(row["rep"])), "OPP-1001")
    refs = {k[4:]: v for k, v in block(ws).items() if k.startswith("chk:")}
    assert set(refs) == {c.key for c in BIG.criteria()}
    for key, ref in refs.items():
        csv_value = row[f"chk:{key}"]
        assert ws[ref].value == {"1": "是", "0": "否", "": None}[csv_value], key
    lists = [dv for dv in ws.data_validations.dataValidation if dv.formula1 == '"是,否"']
    assert len(lists) == 1
    covered = {str(r) for r in lists[0].sqref.ranges}
    assert covered == set(refs.values())


def test_every_input_cell_shows_an_input_message(workbook_of):
    ws = form_sheet(openpyxl.load_workbook(workbook_of("李强")), "OPP-1001")
    b = block(ws)
    inputs = {v for k, v in b.items() if k.startswith(("chk:", "marker:", "field:"))} | {b["notes"]}
    prompted = {str(r) for dv in ws.data_validations.dataValidation if dv.showInputMessage and dv.prompt
                for r in dv.sqref.ranges}
    assert inputs <= prompted


def test_only_the_answer_marker_field_and_notes_cells_are_unlocked_on_a_protected_sheet(workbook_of):
    ws = form_sheet(openpyxl.load_workbook(workbook_of("李强")), "OPP-1001")
    assert ws.protection.sheet is True
    b = block(ws)
    inputs = {v for k, v in b.items() if k.startswith(("chk:", "marker:", "field:"))} | {b["notes"]}
    unlocked = {c.coordinate for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=45) for c in row
                if c.protection.locked is False}
    # Cells inside merged input ranges are unlocked too; every unlocked top-left cell is an input cell.
    merged_inner = {cell for rng in ws.merged_cells.ranges for cell in _cells(rng) if cell != rng.coord.split(":")[0]}
    assert unlocked - merged_inner == inputs


def _cells(rng) -> set[str]:
    from openpyxl.utils import get_column_letter

    return {f"{get_column_letter(c)}{r}" for r in range(rng.min_row, rng.max_row + 1)
            for c in range(rng.min_col, rng.max_col + 1)}


def test_hidden_block_names_opportunity_methodology_rep_token_seal_and_format_version(workbook_of):
    from funnel_xl.forms.settings import form_settings

    ws = form_sheet(openpyxl.load_workbook(workbook_of("李强")), "OPP-1001")
    b = block(ws)
    assert b["format"] == "funnel_xl.assessment"
    assert (b["opportunity"], b["methodology"], b["rep"], b["format_version"]) == (
        "OPP-1001", "big_project", "李强", str(form_settings().format_version))
    assert len(b["token"]) == 16 and len(b["seal"]) == 32
    assert ws.column_dimensions["AN"].hidden and ws.column_dimensions["AO"].hidden


def test_derived_stage_is_a_live_formula_with_a_cached_value_for_previews(workbook_of, sample_rows):
    path = workbook_of("李强")
    ws = form_sheet(openpyxl.load_workbook(path), "OPP-1001")
    derived = next(c for row in ws.iter_rows(max_col=3) for c in row
                   if isinstance(c.value, str) and c.value.startswith("=IF(COUNTA("))
    cached = openpyxl.load_workbook(path, data_only=True)[ws.title][derived.coordinate].value
    # OPP-1001's checklist in the CSV: every required criterion of stages 1-4 is 1 and the first criterion of
    # stage 5 (客户认可我们的产品) is 0, so the evidence supports stage 4, 引导客户立项.
    row = next(r for r in sample_rows if r["id"] == "OPP-1001")
    assert all(row[f"chk:{c.key}"] == "1" for s in BIG.stages[:4] for c in s.required_criteria)
    assert row["chk:recognition_meets_requirements"] == "0"
    assert cached == "引导客户立项"


def test_progress_reports_every_form_up_to_the_total(master, tmp_path, sample_rows):
    seen = []
    generate_from_file(master, tmp_path / "out", as_of=AS_OF, progress=lambda d, t, m: seen.append((d, t)))
    total = len(formable(sample_rows))
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_labels_follow_the_workbook_language(tmp_path):
    from funnel_xl.services.build import build_workbook

    en = build_workbook(tmp_path / "en.xlsm", lang="en")
    paths = generate_from_file(en, tmp_path / "out", opportunity="OPP-1001", as_of=AS_OF)
    ws = form_sheet(openpyxl.load_workbook(paths[0]), "OPP-1001")
    assert ws["A1"].value == "Stage assessment"
    assert ws["A4"].value == "Project"
    b = block(ws)
    answers = {ws[v].value for k, v in b.items() if k.startswith("chk:")}
    assert answers <= {"Yes", "No", None}
    assert openpyxl.load_workbook(paths[0]).sheetnames[-1] == "My quota"


# --- LibreOffice: one page, and the formula agrees with the domain ----------------------------------------------

def _pdf_pages(pdf: Path) -> tuple[int, str]:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(next(l for l in info.splitlines() if l.startswith("Pages:")).split()[1])
    size = next(l for l in info.splitlines() if l.startswith("Page size:"))
    return pages, size


def cjk_sizes(pdf: Path) -> list[tuple[int, float, str]]:
    """(page, size in points, word) of every word of CJK ideographs in the PDF: such a glyph is one em wide, so a
    word's width over its length is the size it is printed at."""
    import re
    from xml.etree import ElementTree

    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    root = ElementTree.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", xml))
    out = []
    for n, page in enumerate(root.iter("{http://www.w3.org/1999/xhtml}page"), start=1):
        for word in page.iter("{http://www.w3.org/1999/xhtml}word"):
            text = word.text or ""
            if len(text) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in text):
                out.append((n, (float(word.get("xMax")) - float(word.get("xMin"))) / len(text), text))
    return out


@pytest.mark.libreoffice("pdftotext")
def test_libreoffice_prints_each_form_on_a4_from_its_own_page_with_text_of_9_pt_or_more(workbook_of, tmp_path):
    from funnel_xl.libreoffice import _convert

    path = workbook_of("张伟")
    forms = form_sheets(openpyxl.load_workbook(path))
    # Plain PDF export (not render_pngs' one-page-per-sheet option), so page breaks are LibreOffice's own.
    pdf = _convert(path, tmp_path, "pdf:calc_pdf_Export")
    pages, size = _pdf_pages(pdf)
    assert "(A4)" in size
    sizes = cjk_sizes(pdf)
    title = label("form.title", "zh-CN")
    form_pages = sorted({page for page, _, word in sizes if word == title})
    assert len(form_pages) == len(forms)                      # every form starts a page of its own ...
    quota_page = next(page for page, _, word in sizes if word == label("form.quota.title", "zh-CN"))
    assert quota_page - form_pages[0] <= 2 * len(forms) + 1   # ... and takes at most two (then 本周工作)
    body = [s for page, s, word in sizes if form_pages[0] <= page < quota_page and word != title]
    assert min(body) >= 9.0


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_derived_stage_as_the_domain_rule_says(workbook_of, tmp_path):
    from funnel_xl.domain.stages import derive_stage_from_answers
    from funnel_xl.libreoffice import recalculate

    src = tmp_path / "filled.xlsx"
    wb = openpyxl.load_workbook(workbook_of("李强"))
    cases = {}
    for ws, answered in zip(form_sheets(wb)[:3], (1, 2, 5)):
        name = ws.title
        refs = {k[4:]: v for k, v in block(ws).items() if k.startswith("chk:")}
        answers = {}
        for stage_index, stage in enumerate(BIG.stages):
            for c in stage.criteria:
                answers[c.key] = stage_index < answered  # stages before `answered` all 是, the rest all 否
                ws[refs[c.key]] = "是" if answers[c.key] else "否"
        cases[name] = BIG.stage(derive_stage_from_answers(answers, BIG)).zh
    # By hand: all criteria of the first 1, 2, 5 stages met -> stage 1, 2, 5.
    assert list(cases.values()) == ["定位目标客户群", "发掘潜在商机", "赢得客户认可"]
    wb.save(src)
    out = recalculate(src, tmp_path / "lo")
    recalculated = openpyxl.load_workbook(out, data_only=True)
    derived = next(c.coordinate for row in wb[next(iter(cases))].iter_rows(max_col=3) for c in row
                   if isinstance(c.value, str) and c.value.startswith("=IF(COUNTA("))
    for name, expected in cases.items():
        assert recalculated[name][derived].value == expected


def test_quota_sheets_give_every_rep_their_annual_quota_from_the_reps_table(master, tmp_path, sample_emails):
    import csv

    from funnel_xl.outputs import Folder
    from funnel_xl.paths import sample_dir
    from funnel_xl.services.forms import build_quota_sheets
    from funnel_xl.workbook.file_adapter import FileWorkbook

    with open(sample_dir() / "reps.csv", encoding="utf-8-sig", newline="") as fh:
        quotas = {r["rep"]: float(r["annual_quota"] or 0) for r in csv.DictReader(fh)}
    paths = build_quota_sheets(FileWorkbook(master, read_only=True), Folder(tmp_path / "quota"), AS_OF)
    assert len(paths) == len(quotas)
    for rep, quota in quotas.items():
        ws = openpyxl.load_workbook(next(p for p in paths if f"_{rep}_" in p.name)).active
        assert ws["A6"].value == "年度定额(元)" and ws["B6"].value == quota


def test_the_forms_command_writes_the_workbooks_and_prints_their_paths(master, tmp_path, capsys):
    from funnel_xl.cli import main

    assert main(["forms", str(master), "-o", str(tmp_path / "out"), "--rep", "周磊", "--as-of", "2026-11-20",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["评估表_周磊.xlsx"]


def test_a_customer_name_that_starts_like_a_formula_stays_quoted_text_in_the_form(master, tmp_path):
    from funnel_xl.workbook import contract
    from funnel_xl.workbook.file_adapter import FileWorkbook

    attack = '=HYPERLINK("http://evil.example/","点击")'
    with FileWorkbook(master, quiet=True) as book:
        rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
        row = int(rows.index[rows["id"] == "OPP-1001"][0])
        book.update_cells(contract.TABLE_OPPORTUNITIES, {(row, "customer"): attack})
        book.save()
    (path,) = generate_from_file(master, tmp_path / "forms", opportunity="OPP-1001", as_of=AS_OF)
    ws = form_sheet(openpyxl.load_workbook(path), "OPP-1001")
    cell = next(ws.cell(row=r[0].row, column=2) for r in ws.iter_rows(max_col=1) if r[0].value == "客户名称")
    assert (cell.value, cell.data_type, cell.quotePrefix) == (attack, "s", True)


@pytest.mark.libreoffice
def test_the_assessed_stage_turns_red_two_stages_below_the_mark_and_lists_what_the_mark_lacks(workbook_of,
                                                                                              tmp_path):
    from funnel_xl.domain.stages import derive_stage_from_answers
    from funnel_xl.forms.generate import missing_criteria
    from funnel_xl.forms.settings import form_settings
    from funnel_xl.libreoffice import recalculate

    wb = openpyxl.load_workbook(workbook_of("李强"))
    ws = form_sheet(wb, "OPP-1001")
    b = block(ws)
    answers = {c.key: i < 3 for i, s in enumerate(BIG.stages) for c in s.criteria}  # stages 1-3 met, the rest not
    for key, value in answers.items():
        ws[b[f"chk:{key}"]] = "是" if value else "否"
    for s in BIG.stages:
        ws[b[f"marker:{s.key}"]] = MARK if s.key == "recognition" else None       # ● on stage 5
    wb.save(tmp_path / "filled.xlsx")
    assert BIG.stage(derive_stage_from_answers(answers, BIG)).order == 3
    lacking = missing_criteria(BIG, "recognition", answers)
    assert lacking and all(n.split(".")[0] in ("4", "5") for n in lacking)

    done = openpyxl.load_workbook(recalculate(tmp_path / "filled.xlsx", tmp_path / "lo"), data_only=True)[ws.title]
    derived = next(c for row in ws.iter_rows(max_col=3) for c in row
                   if isinstance(c.value, str) and c.value.startswith("=IF(COUNTA("))
    below = done.cell(row=derived.row + 1, column=2).value
    assert done[derived.coordinate].value == BIG.stages[2].zh
    assert below == label("form.missing_some", "zh-CN") + " ".join(lacking)
    red = form_settings().colours["gap_red"]
    rules = [r for cf in ws.conditional_formatting for r in cf.rules if derived.coordinate in str(cf.sqref)]
    fired = [r for r in rules if r.dxf.fill.fgColor.rgb.endswith(red)]
    assert len(fired) == 1
    from funnel_xl.forms.generate import form_layout

    lay = form_layout(BIG, form_settings())
    claimed, found = (done[lay.helper_cell(n)].value for n in ("claimed_order", "derived_order"))
    assert (claimed, found) == (5, 3)   # the red rule's condition: ● two or more stages above the answers


def test_everything_but_the_inputs_is_protected_on_every_sheet_of_the_written_file(workbook_of):
    wb = openpyxl.load_workbook(workbook_of("李强"))
    for ws in wb.worksheets:
        assert ws.protection.sheet is True, ws.title
        b = block(ws)
        inputs = {v for k, v in b.items() if k.startswith(("chk:", "marker:", "field:", "value:"))}
        inputs |= {b["notes"]} if "notes" in b else set()
        merged_inner = {c for rng in ws.merged_cells.ranges for c in _cells(rng) if c != rng.coord.split(":")[0]}
        unlocked = {c.coordinate for row in ws.iter_rows() for c in row if c.protection.locked is False}
        assert unlocked - merged_inner == inputs, ws.title


def test_a_workbook_collect_would_refuse_is_not_written_and_the_message_says_what_to_do(master, tmp_path,
                                                                                          monkeypatch, sample_rows):
    import dataclasses

    from funnel_xl.errors import FormError
    from funnel_xl.forms.settings import form_settings

    rep = "张伟"
    forms = [r for r in formable(sample_rows) if r["rep"] == rep]
    # Collect allows two sheets fewer than this workbook has (index, forms, 本周工作, 我的配额).
    limits = {**form_settings().limits, "max_sheets": len(forms) + 1}
    monkeypatch.setattr("funnel_xl.forms.generate.form_settings",
                        lambda: dataclasses.replace(form_settings(), limits=limits))
    with pytest.raises(FormError) as refused:
        generate_from_file(master, tmp_path / "out", rep=rep, as_of=AS_OF)
    assert f"{len(forms)} 份评估表" in str(refused.value) and "--opportunity" in str(refused.value)
    assert not list((tmp_path / "out").glob("*.xlsx"))
