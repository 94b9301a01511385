"""LibreOffice, forced to recalculate, agrees with every cached value the build wrote and with pandas, to the cent."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from funnel_xl import libreoffice
from funnel_xl.domain.stages import derive_stages
from funnel_xl.labels import label
from funnel_xl.sample import load_sample
from funnel_xl.workbook.contract import TABLE_META, sheet_name
from tests import evidence

pytestmark = pytest.mark.libreoffice
CENT = 0.005


def _same(a: object, b: object) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= CENT
    return a == b


def _table(ws, name: str) -> tuple[list[str], list[tuple]]:
    cells = ws[ws.tables[name].ref]
    return [c.value for c in cells[0]], [tuple(c.value for c in row) for row in cells[1:]]


def test_libreoffice_really_recalculates_instead_of_keeping_cached_values(tmp_path):
    path = tmp_path / "stale.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet().write_formula("A1", "=1+1", None, 5)  # a deliberately stale cached value
    wb.close()
    result = libreoffice.recalculate(path, tmp_path / "out")
    assert openpyxl.load_workbook(result, data_only=True).active["A1"].value == 2


def test_every_live_formula_recalculates_to_the_cached_value_written(built_sample, lo_sample):
    formulas = openpyxl.load_workbook(built_sample)
    cached = openpyxl.load_workbook(built_sample, data_only=True)
    recalculated = openpyxl.load_workbook(lo_sample, data_only=True)
    checked, mismatches = 0, []
    for ws in formulas.worksheets:
        # 函数示例 shows FUNNEL_ functions, which need the Python side that LibreOffice lacks; its native twins
        # are recalculated by LibreOffice in test_examples_sheet.py, the functions themselves in tests/excel.
        if ws.title == sheet_name("examples"):
            continue
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    mine = cached[ws.title][cell.coordinate].value
                    theirs = recalculated[ws.title][cell.coordinate].value
                    checked += 1
                    if not _same(mine, theirs):
                        mismatches.append(f"{ws.title}!{cell.coordinate}: cached {mine!r}, LibreOffice {theirs!r}")
    assert checked > 5 * len(load_sample().opportunities)  # five computed columns per row, plus totals
    assert mismatches == []


def _weighted(path) -> tuple[pd.Series, float]:
    """The 商机 weighted column and its total row, as recalculated."""
    ws = openpyxl.load_workbook(path, data_only=True)[sheet_name("opportunities")]
    header, rows = _table(ws, "tblOpportunities")
    got = pd.Series([r[header.index(label("col.weighted"))] for r in rows], dtype=float)
    return got, ws.cell(row=3, column=header.index(label("col.weighted")) + 1).value


def test_libreoffice_weighted_amounts_equal_the_pandas_figure_at_the_assessed_stages(lo_sample):
    # The domain's rule written out with pandas (tests/evidence.py): amount × the rate of the stage the checklist
    # supports, for open deals; nothing for won or lost ones.
    csv = evidence.sample_csv()
    expected = evidence.weighted(csv)
    got, total = _weighted(lo_sample)
    assert (got - expected).abs().max() <= CENT
    assert abs(total - expected.sum()) <= CENT
    assert expected.sum() < evidence.weighted(csv, "claimed").sum()  # the sample's claims are above the evidence
    ws = openpyxl.load_workbook(lo_sample, data_only=True)[sheet_name("opportunities")]
    header, rows = _table(ws, "tblOpportunities")
    amounts_wan = pd.Series([r[header.index(label("col.amount_wan"))] for r in rows], dtype=float)
    assert (amounts_wan - csv["amount"] / 10_000).abs().max() <= CENT


def _edited(built_sample, tmp_path, *, basis: str | None = None, unanswer: str | None = None):
    """A copy of the sample with 阶段设置's forecast basis set to ``basis`` and the checklist of deal ``unanswer``
    cleared, as a manager would edit them, recalculated by LibreOffice."""
    wb = openpyxl.load_workbook(built_sample)
    if basis is not None:
        ws = wb[sheet_name("stages")]
        cells = ws[ws.tables[TABLE_META].ref]
        (value,) = [row[1] for row in cells[1:] if row[0].value == label("meta.basis")]
        value.value = basis
    if unanswer is not None:
        ws = wb[sheet_name("opportunities")]
        cells = ws[ws.tables["tblOpportunities"].ref]
        header = [c.value for c in cells[0]]
        (row,) = [r for r in cells[1:] if r[header.index(label("field.id"))].value == unanswer]
        for cell, name in zip(row, header):
            if name[0].isdigit():  # a checklist column: "1.1 ..."
                cell.value = None
    path = tmp_path / "edited.xlsx"
    wb.save(path)
    return libreoffice.recalculate(path, tmp_path / "lo")


def test_libreoffice_weighs_every_deal_at_its_claimed_stage_when_the_basis_says_so(built_sample, tmp_path):
    got, total = _weighted(_edited(built_sample, tmp_path, basis=label("basis.claimed")))
    expected = evidence.weighted(evidence.sample_csv(), "claimed")
    assert (got - expected).abs().max() <= CENT
    assert abs(total - expected.sum()) <= CENT


def test_libreoffice_marks_a_deal_with_an_unanswered_checklist_not_assessed_and_weighs_its_claim(built_sample,
                                                                                                 tmp_path):
    csv = evidence.sample_csv()
    deal = "OPP-1029"  # claimed 进行商务谈判 (75 %), evidence 引导客户立项 (35 %)
    recalculated = _edited(built_sample, tmp_path, unanswer=deal)
    cleared = csv.copy()
    cleared.loc[cleared["id"] == deal, [c for c in csv.columns if c.startswith("chk:")]] = float("nan")
    got, total = _weighted(recalculated)
    assert (got - evidence.weighted(cleared)).abs().max() <= CENT
    ws = openpyxl.load_workbook(recalculated, data_only=True)[sheet_name("opportunities")]
    header, rows = _table(ws, "tblOpportunities")
    (row,) = [r for r in rows if r[header.index(label("field.id"))] == deal]
    assert row[header.index(label("col.derived_stage"))] == label("assessment.not_assessed")
    assert row[header.index(label("col.stage_gap"))] in (None, "")  # not assessed is never a gap
    assert row[header.index(label("col.win_rate"))] == pytest.approx(0.75)


def test_libreoffice_assessed_stages_equal_the_domain_derived_stages(big_project_methodology, lo_sample):
    m = big_project_methodology
    sample = load_sample()
    derived = derive_stages(sample.opportunities, m)
    names = {s.key: s.zh for s in m.stages}
    expected = [names[k] if isinstance(k, str) else label("assessment.not_assessed") for k in derived["derived_stage"]]
    ws = openpyxl.load_workbook(lo_sample, data_only=True)[sheet_name("opportunities")]
    header, rows = _table(ws, "tblOpportunities")
    got = [r[header.index(label("col.derived_stage"))] or None for r in rows]
    assert got == expected
    gaps = [r[header.index(label("col.stage_gap"))] for r in rows]
    assert [None if g in (None, "") else int(g) for g in gaps] == [
        None if pd.isna(g) else int(g) for g in derived["stage_gap"]]
    assert sum(1 for g in gaps if isinstance(g, (int, float)) and g > 0) >= 3  # the sample's deliberate gaps


@pytest.mark.libreoffice("pdftoppm")
def test_every_sheet_renders_to_its_own_png(built_sample, tmp_path):
    pngs = libreoffice.render_pngs(built_sample, tmp_path / "png", dpi=40)
    names = [p.stem.split("_", 1)[1] for p in pngs]
    assert sheet_name("opportunities") in names and "xlwings.conf" in names
    assert all(p.stat().st_size > 1000 for p in pngs)


def test_a_missing_file_is_refused_before_libreoffice_starts(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        libreoffice.recalculate(tmp_path / "nope.xlsx", tmp_path)

