"""The built workbook as a manager meets it: sheets, tables, figures, dropdowns, formats, and reproducibility."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlwings

from funnel_xl.domain.schema import BUCKETS
from funnel_xl.errors import InputError, SheetNameError
from funnel_xl.labels import catalogue, label
from funnel_xl.workbook import layout
from funnel_xl.services.build import build_workbook
from funnel_xl.workbook.ooxml import col_letter
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.contract import SHEET_KEYS, sheet_name


def table_rows(path: Path, table: str, *, data_only: bool = True) -> list[dict[str, object]]:
    """The rows of a named Excel table as dicts keyed by header (cached values unless data_only=False)."""
    wb = openpyxl.load_workbook(path, data_only=data_only)
    for ws in wb.worksheets:
        if table in ws.tables:
            cells = ws[ws.tables[table].ref]
            header = [c.value for c in cells[0]]
            return [dict(zip(header, (c.value for c in row))) for row in cells[1:]]
    raise AssertionError(f"table {table} not found")


def col(key: str) -> str:
    return label(key, "zh-CN")



def test_the_managers_workbook_shows_the_managers_sheets_only(built_sample):
    wb = openpyxl.load_workbook(built_sample)
    expected = [sheet_name(k) for k in SHEET_KEYS if k != "examples"] + ["xlwings.conf", "_styles"]
    assert wb.sheetnames == expected
    assert wb["_styles"].sheet_state == "hidden"
    assert wb["xlwings.conf"].sheet_state == "veryHidden"  # not even in Unhide; xlwings' VBA reads it by name
    assert all(wb[n].sheet_state == "visible" for n in expected[:-2])


def test_the_function_examples_come_with_the_build_option_only(tmp_path):
    built = build_workbook(tmp_path / "Funnel.xlsm", data="empty", examples=True)
    names = openpyxl.load_workbook(built).sheetnames
    assert names.index(sheet_name("examples")) == names.index("xlwings.conf") - 1
    assert validate_package(built) == []


def test_input_data_live_in_named_tables(built_sample):
    wb = openpyxl.load_workbook(built_sample)
    tables = {name for ws in wb.worksheets for name in ws.tables}
    assert {"tblStages", "tblCriteria", "tblOpportunities", "tblReps", "tblMethodology"} <= tables


def test_every_sample_opportunity_and_rep_is_in_the_tables(built_sample):
    from funnel_xl.sample import load_sample
    sample = load_sample()
    opps = table_rows(built_sample, "tblOpportunities")
    assert [r[col("field.id")] for r in opps] == sample.opportunities["id"].tolist()
    assert [r[col("rep_field.rep")] for r in table_rows(built_sample, "tblReps")] == sample.reps["rep"].tolist()


def test_weighted_amount_is_amount_times_the_assessed_stages_win_rate_for_open_deals_only(built_hand_made):
    rows = {r[col("field.id")]: r for r in table_rows(built_hand_made, "tblOpportunities")}
    # 1,000,000 at 引导客户立项 (35 %) = 350,000; 2,000,000 claimed at 商务谈判 (75 %) but evidenced only at
    # 确认客户意向 (20 %) = 400,000, not the claim's 1,500,000; won = 0.
    assert rows["T-1"][col("col.win_rate")] == pytest.approx(0.35)
    assert rows["T-1"][col("col.weighted")] == pytest.approx(350_000)
    assert rows["T-2"][col("col.win_rate")] == pytest.approx(0.20)
    assert rows["T-2"][col("col.weighted")] == pytest.approx(400_000)
    assert rows["T-3"][col("col.win_rate")] == pytest.approx(1.0)
    assert rows["T-3"][col("col.weighted")] == 0
    assert rows["T-1"][col("col.amount_wan")] == pytest.approx(100.0)


def test_totals_above_the_header_add_up_the_rows(built_hand_made):
    wb = openpyxl.load_workbook(built_hand_made, data_only=True)
    ws = wb[sheet_name("opportunities")]
    header = [c.value for c in ws[4]]
    totals = {h: ws.cell(row=3, column=i + 1).value for i, h in enumerate(header)}
    assert totals[col("field.amount")] == pytest.approx(3_500_000)
    assert totals[col("col.weighted")] == pytest.approx(750_000)
    assert totals[col("col.amount_wan")] == pytest.approx(350.0)
    # T-2 claims 3 stages above its evidence; T-3 has no evidence at all: not assessed, so no gap.
    assert totals[col("col.stage_gap")] == 1


def test_assessed_stage_follows_the_checklist_and_a_claim_above_it_shows_a_gap(built_hand_made, big_project_methodology):
    m = big_project_methodology
    rows = {r[col("field.id")]: r for r in table_rows(built_hand_made, "tblOpportunities")}
    assert rows["T-1"][col("col.derived_stage")] == m.stage("approved").zh
    assert rows["T-1"][col("col.stage_gap")] == 0
    assert rows["T-2"][col("field.stage")] == m.stage("negotiation").zh
    assert rows["T-2"][col("col.derived_stage")] == m.stage("intent").zh
    assert rows["T-2"][col("col.stage_gap")] == 3  # claimed 6th stage, evidence for the 3rd
    assert rows["T-3"][col("col.derived_stage")] == label("assessment.not_assessed")  # no criterion answered
    assert rows["T-3"][col("col.stage_gap")] in (None, "")  # not assessed is never shown as a gap


def test_computed_columns_are_live_formulas_naming_table_columns(built_hand_made):
    rows = table_rows(built_hand_made, "tblOpportunities", data_only=False)
    for key in ("col.win_rate", "col.weighted", "col.amount_wan", "col.derived_stage", "col.stage_gap"):
        formula = rows[0][col(key)]
        assert isinstance(formula, str) and formula.startswith("="), key
        assert "tblOpportunities[[#This Row]" in formula
        # Only functions Excel 2016, WPS and LibreOffice share.
        functions = set(re.findall(r"([A-Z][A-Z0-9.]*)\(", formula))
        assert functions <= {"IFERROR", "INDEX", "MATCH", "IF", "AND", "NOT", "OR", "ISNUMBER", "TRIM",
                             "COUNTIF"}, functions


def test_checklist_and_stage_cells_read_as_a_manager_types_them(built_hand_made):
    rows = {r[col("field.id")]: r for r in table_rows(built_hand_made, "tblOpportunities")}
    first_criterion = next(h for h in rows["T-1"] if h.startswith("1.1 "))
    assert rows["T-1"][first_criterion] == label("out.yes")
    assert rows["T-3"][first_criterion] is None
    assert rows["T-1"][col("field.status")] == label("status.open")
    assert rows["T-3"][col("field.status")] == label("status.won")


def _sheet_xml(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as zf:
        wb = zf.read("xl/workbook.xml").decode()
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(rf'<sheet name="{re.escape(sheet)}" sheetId="\d+"(?: state="\w+")? r:id="(rId\d+)"', wb).group(1)
        target = re.search(rf'Id="{rid}" Type="[^"]+" Target="([^"]+)"', rels).group(1)
        return zf.read("xl/" + target).decode()


def _defined_names(path: Path) -> dict[str, str]:
    wb = openpyxl.load_workbook(path)
    return {name: dn.attr_text for name, dn in wb.defined_names.items()}


def test_stage_and_rep_dropdowns_come_from_the_stage_and_rep_tables(built_sample):
    names = _defined_names(built_sample)
    assert names["lstStages"] == f"tblStages[[#Data],[{col('col.stage_zh')}]]"
    assert names["lstReps"] == f"tblReps[[#Data],[{col('rep_field.rep')}]]"
    xml = _sheet_xml(built_sample, sheet_name("opportunities"))
    assert "<formula1>lstStages</formula1>" in xml
    assert "<formula1>lstReps</formula1>" in xml
    statuses = ",".join(label(f"status.{s}") for s in ("open", "won", "lost"))
    assert f'<formula1>"{statuses}"</formula1>' in xml
    assert f'<formula1>"{label("out.yes")},{label("out.no")}"</formula1>' in xml


def test_yes_is_green_and_a_positive_gap_is_red(built_sample):
    wb = openpyxl.load_workbook(built_sample)
    ws = wb[sheet_name("opportunities")]
    rules = [(str(rng.sqref), rule) for rng in ws.conditional_formatting for rule in rng.rules]
    green = [r for _, r in rules if r.formula and r.formula[0] == f'"{label("out.yes")}"']
    assert green and green[0].dxf.fill.bgColor.rgb.endswith("C6EFCE")
    red = [r for _, r in rules if r.type == "expression" and ">0" in r.formula[0]]
    assert red and red[0].dxf.fill.bgColor.rgb.endswith("FFC7CE")


def test_the_opportunities_sheet_freezes_its_header_row_and_first_columns(built_sample):
    ws = openpyxl.load_workbook(built_sample)[sheet_name("opportunities")]
    header_row = min(ws.tables["tblOpportunities"].ref.split(":")[0][1:], key=int)
    assert ws.freeze_panes == f"D{int(header_row) + 1}"


def test_amounts_show_whole_yuan_and_dates_show_as_dates(built_hand_made):
    ws = openpyxl.load_workbook(built_hand_made)[sheet_name("opportunities")]
    header = [c.value for c in ws[4]]
    amount = ws.cell(row=5, column=header.index(col("field.amount")) + 1)
    close = ws.cell(row=5, column=header.index(col("field.close_date")) + 1)
    wan = ws.cell(row=5, column=header.index(col("col.amount_wan")) + 1)
    assert amount.number_format == "#,##0" and amount.value == 1_000_000
    assert close.is_date and close.number_format == "yyyy-mm-dd"
    assert wan.number_format == "#,##0.0"


def test_every_sheet_prints_landscape_on_a4_fit_to_one_page_wide(built_sample):
    wb = openpyxl.load_workbook(built_sample)
    for name in wb.sheetnames[:-1]:
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape", name
        assert ws.page_setup.paperSize == 9, name  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
        # fitToWidth defaults to 1 page in the schema when absent; 0 pages high = as many as needed.
        assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, name
    assert wb[sheet_name("opportunities")].print_area is not None
    assert wb[sheet_name("opportunities")].print_title_rows == "$4:$4"


def test_default_font_is_dengxian_for_chinese_text(built_sample):
    with zipfile.ZipFile(built_sample) as zf:
        styles = zf.read("xl/styles.xml").decode()
    first_font = re.search(r"<font>(.*?)</font>", styles).group(1)
    assert '<name val="DengXian"/>' in first_font


def _xlwings_release_config_keys() -> list[str]:
    """The keys xlwings' own `release` command writes to an xlwings.conf sheet (read from its source)."""
    source = Path(xlwings.__file__).with_name("cli.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and any(isinstance(k, ast.Constant) and k.value == "Interpreter_Win"
                                              for k in node.keys):
            return [k.value for k in node.keys]
    raise AssertionError("xlwings' config keys not found in its cli.py")


def test_xlwings_conf_sheet_holds_xlwings_keys_from_a1_down_with_our_udf_module(built_sample):
    ws = openpyxl.load_workbook(built_sample)["xlwings.conf"]
    settings = {}
    row = 1
    while ws.cell(row=row, column=1).value:  # xlwings reads column A from A1 to the first blank
        settings[ws.cell(row=row, column=1).value] = ws.cell(row=row, column=2).value
        row += 1
    known = set(_xlwings_release_config_keys())
    assert set(settings) <= known
    assert {"Interpreter_Win", "Interpreter_Mac", "PYTHONPATH", "UDF Modules", "Use UDF Server",
            "Show Console"} <= set(settings)
    assert settings["UDF Modules"] == "funnel_xl.excel.udfs"
    assert settings["Show Console"] is False


def test_output_sheets_are_titled_and_their_charts_point_at_their_blocks(built_sample, built_empty,
                                                                         big_project_methodology):
    # An empty workbook says "not calculated yet"; the sample is recalculated by the build, so it carries a stamp.
    empty, sample = openpyxl.load_workbook(built_empty), openpyxl.load_workbook(built_sample)
    for key in ("forecast", "funnel", "quota", "progress", "problems"):
        assert empty[sheet_name(key)]["A1"].value == label(f"title.{key}")
        assert empty[sheet_name(key)]["A2"].value == label("out.not_calculated")
        assert sample[sheet_name(key)]["A1"].value == label(f"title.{key}")
        assert sample[sheet_name(key)]["A2"].value.startswith(label("out.stamp").split("{")[0])
    with zipfile.ZipFile(built_sample) as zf:
        charts = [zf.read(n).decode() for n in sorted(zf.namelist()) if n.startswith("xl/charts/chart")]
    assert len(charts) == len(layout.CHARTS)
    funnel = next(c for c in charts if label("chart.funnel") in c)
    block = layout.FUNNEL_CHART
    first, stage = block.first_data_row, col_letter(block.col("stage"))
    last = first + len(big_project_methodology.stages) - 1  # one row per stage: 7
    assert f"${stage}${first}:${stage}${last}" in funnel
    assert label("outcol.pipeline_wan") in funnel and "<c:grouping val=\"stacked\"/>" in funnel
    assert "<a:noFill/>" in funnel  # the offset that centres each stage's bar is not drawn
    bucket = next(c for c in charts if label("chart.forecast_bucket") in c)
    first = layout.FORECAST_BUCKET.first_data_row
    assert f"$A${first}:$A${first + len(BUCKETS) - 1}" in bucket  # one row per time bucket


def test_an_empty_workbook_has_each_table_with_one_blank_row(built_empty):
    opps = table_rows(built_empty, "tblOpportunities")
    reps = table_rows(built_empty, "tblReps")
    assert len(opps) == 1 and opps[0][col("field.id")] is None
    assert len(reps) == 1 and reps[0][col("rep_field.rep")] is None
    assert len(table_rows(built_empty, "tblStages")) == 7


def test_an_english_build_uses_english_sheet_names_and_headers(tmp_path):
    path = build_workbook(tmp_path / "Funnel_en.xlsm", lang="en", data="empty")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == [label("sheet.guide", "en"), label("sheet.stages", "en"),
                                 label("sheet.opportunities", "en")]
    header = [c.value for c in wb[label("sheet.opportunities", "en")][4]]
    assert label("field.amount", "en") in header and label("col.weighted", "en") in header


def test_two_builds_of_the_same_sources_are_byte_identical(tmp_path):
    a = build_workbook(tmp_path / "a" / "Funnel.xlsm", data="sample")
    b = build_workbook(tmp_path / "b" / "Funnel.xlsm", data="sample")
    assert a.read_bytes() == b.read_bytes()


def test_unknown_data_choice_and_wrong_extension_are_refused(tmp_path):
    with pytest.raises(InputError, match="data 'demo'"):
        build_workbook(tmp_path / "x.xlsm", data="demo")
    with pytest.raises(InputError, match=r"\*\.xlsm"):
        build_workbook(tmp_path / "x.xlsx", data="empty")


@pytest.mark.parametrize("name", ["📈" * 16, "History"])  # 32 UTF-16 units; Excel's reserved name
def test_a_sheet_name_excel_would_refuse_stops_the_build_with_the_reason(tmp_path, monkeypatch, name):
    monkeypatch.setitem(catalogue()["sheet.forecast"], "en", name)
    with pytest.raises(SheetNameError, match="sheet name"):
        build_workbook(tmp_path / "Funnel.xlsm", lang="en", data="empty")


def test_document_and_member_dates_are_fixed_so_rebuilds_compare_equal(built_sample):
    with zipfile.ZipFile(built_sample) as zf:
        core = zf.read("docProps/core.xml").decode()
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "<dcterms:created xsi:type=\"dcterms:W3CDTF\">2026-01-01T00:00:00Z</dcterms:created>" in core
