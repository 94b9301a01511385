"""Recalculate forecast, headless: the figures, what it writes, what it keeps, and how it answers bad input."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
import zipfile

import pandas as pd
import pytest
import python_calamine

from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.rates import with_rates
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.methodologies import load_methodology
from funnel_xl.paths import methodologies_dir, sample_dir
from funnel_xl.sample import SAMPLE_AS_OF, load_sample
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.ooxml import Write, patch_cells, split_ref
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, opportunity_header
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.contract import STYLES_SHEET
from funnel_xl.workbook.layout import FORECAST_KPI, palette_row
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.ooxml import drop_defined_names
from funnel_xl.workbook.zip_patch import atomic_patch
from tests.services.conftest import BAD_SAMPLE_IDS, add_user_sheet, members, run_cli


def _sheet_rows(path, sheet: str) -> list[list]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def _recalc_json(path, *extra) -> dict:
    done = run_cli("recalc", str(path), "--as-of", SAMPLE_AS_OF.isoformat(), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_weighted_forecast_equals_amount_times_rate_summed_by_hand(workbook):
    # Independent of the domain code: the sample CSV and the methodology file, read plainly.
    rates = {s["key"]: s["win_rate"] / 100 for s in
             tomllib.loads((methodologies_dir() / "big_project.toml").read_text("utf-8"))["stages"]}
    csv = pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig")
    usable = csv[~csv["id"].isin(BAD_SAMPLE_IDS)]
    open_rows = usable[usable["status"] == "open"]
    expected = float((open_rows["amount"] * open_rows["stage"].map(rates)).sum())
    won = usable[(usable["status"] == "won") & (usable["close_date"] <= SAMPLE_AS_OF.isoformat())
                 & (usable["close_date"] >= f"{SAMPLE_AS_OF.year}-01-01")]

    summary = _recalc_json(workbook)

    assert summary["weighted_forecast"] == pytest.approx(expected, abs=0.005)
    assert summary["achieved"] == pytest.approx(float(won["amount"].sum()), abs=0.005)
    assert (summary["open_count"], summary["won_count"], summary["lost_count"]) == (
        len(open_rows), len(won), int((usable["status"] == "lost").sum()))


def test_the_sample_figures_match_the_domain_functions(workbook):
    sample, m = load_sample(), load_methodology("big_project")
    reps = normalize_reps(sample.reps)
    opps = with_rates(normalize_opportunities(sample.opportunities, m, reps=list(reps.clean["rep"])).clean, m)
    by_rep = opps[opps["status"].eq("open")].groupby("rep")["weighted"].sum()

    summary = _recalc_json(workbook)

    assert {r["rep"]: r["weighted_forecast"] for r in summary["by_rep"]} == pytest.approx(
        {rep: by_rep.get(rep, 0.0) for rep in reps.clean["rep"]}, abs=0.005)
    assert summary["as_of"] == "2026-11-20"
    assert set(summary) >= {"as_of", "weighted_forecast", "achieved", "open_count", "won_count", "lost_count",
                            "problems", "by_rep"}
    assert set(summary["by_rep"][0]) >= {"rep", "weighted_forecast", "achieved", "quota", "coverage"}


def test_the_forecast_sheet_shows_the_figures_as_values_in_wan(workbook):
    summary = _recalc_json(workbook)
    rows = _sheet_rows(workbook, "预测")
    kpi_row = rows[FORECAST_KPI.first_data_row - 1]
    assert kpi_row[0] == "销售预计(加权,万元)"
    assert kpi_row[1] == pytest.approx(summary["weighted_forecast"] / 10_000)
    assert str(rows[1][0]).startswith("计算时间")


def test_a_bad_row_is_listed_in_data_issues_with_where_and_why_and_stays_in_place(workbook):
    before = members(workbook)
    summary = _recalc_json(workbook)
    problems = {(p["row"], p["column"]): p for p in summary["problems"]}
    close = problems[(57, opportunity_header("close_date"))]
    assert close["sheet"] == "商机" and close["value"] == "2026-01-31" and "created date" in close["message"]
    assert problems[(64, opportunity_header("rep"))]["message"] == "a value is required here"

    issues = _sheet_rows(workbook, "数据问题")
    listed = [r for r in issues if r[:3] == ["商机", 57.0, "预计成交日期"]]
    assert listed and listed[0][3] == "2026-01-31"
    with zipfile.ZipFile(workbook) as zf:
        index = PackageIndex.read(zf)
    opp_part = index.sheet(index.tables[TABLE_OPPORTUNITIES].sheet).part
    assert members(workbook)[opp_part] == before[opp_part], "the user's rows were rewritten"


def test_recalculation_keeps_every_part_it_does_not_own(workbook):
    add_user_sheet(workbook, "我的分析", "经理自己的笔记")
    before = members(workbook)
    _recalc_json(workbook)
    after = members(workbook)

    with zipfile.ZipFile(workbook) as zf:
        index = PackageIndex.read(zf)
    owned = {index.sheet(n).part for n in ("预测", "漏斗", "配额", "进展", "数据问题")}
    owned |= {c for n in ("预测", "漏斗", "配额") for c in index.sheet(n).charts}
    assert list(after) == list(before)
    changed = {name for name in before if before[name] != after[name]}
    assert changed and changed <= owned | {"xl/workbook.xml"}
    # In the workbook part only the tool's hidden names (what it wrote on each output sheet) changed.
    tools_names_only = lambda xml: drop_defined_names(xml.decode(), lambda n: n.name.startswith("_funnel_xl_"))  # noqa: E731
    assert tools_names_only(after["xl/workbook.xml"]) == tools_names_only(before["xl/workbook.xml"])
    assert "xl/vbaProject.bin" in after and "customUI/customUI14.xml" in after
    assert index.sheet("我的分析") is not None
    assert validate_package(workbook) == []


def test_output_sheets_take_their_formats_from_the_style_palette(workbook):
    _recalc_json(workbook)
    with zipfile.ZipFile(workbook) as zf:
        index = PackageIndex.read(zf)
        palette = zf.read(index.sheet(STYLES_SHEET).part).decode()
        forecast = zf.read(index.sheet("预测").part).decode()
    import re

    title_style = re.search(rf'<c r="B{palette_row("title")}" s="(\d+)"', palette).group(1)
    assert f'<c r="A1" s="{title_style}" t="inlineStr">' in forecast


def _set_amount(path, opp_id: str, amount: float) -> None:
    """Change one deal's amount in 商机, as a rep would by typing over it."""
    book = FileWorkbook(path)
    table = book.read_table(TABLE_OPPORTUNITIES)
    row = int(table.frame.index[table.frame[opportunity_header("id")] == opp_id][0])
    col = 1 + list(table.frame.columns).index(opportunity_header("amount"))
    info = book.index.tables[TABLE_OPPORTUNITIES]
    col += split_ref(info.ref)[1] - 1
    part = book.index.sheet(table.sheet).part
    with zipfile.ZipFile(path) as zf:
        xml = zf.read(part).decode()
    atomic_patch(path, path, {part: patch_cells(xml, {(row, col): Write(amount)}).encode()})


def test_two_runs_a_week_apart_give_the_progress_a_manager_works_out_by_hand(workbook, tmp_path):
    history_path(workbook).unlink()  # start the history afresh: this week is the first snapshot
    first = _recalc_json(workbook)
    assert first["progress"] is None and first["last_snapshot"] is None

    # One open deal at 引导客户立项 (35 %) grows from its amount by 1,000,000 during the week.
    csv = pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig")
    deal = csv[(csv["status"] == "open") & (csv["stage"] == "approved") & ~csv["id"].isin(BAD_SAMPLE_IDS)].iloc[0]
    _set_amount(workbook, deal["id"], float(deal["amount"]) + 1_000_000)

    done = run_cli("recalc", str(workbook), "--as-of", "2026-11-27", "--json")
    second = json.loads(done.stdout)
    # progress = (this forecast + achieved) − (last forecast + achieved) = 1,000,000 × 35 % (nothing else moved)
    assert second["last_snapshot"] == "2026-11-20"
    assert second["progress"] == pytest.approx(350_000.0)
    assert second["weighted_forecast"] - first["weighted_forecast"] == pytest.approx(350_000.0)
    with SnapshotStore.for_workbook(workbook) as store:
        assert store.dates() == [dt.date(2026, 11, 20), dt.date(2026, 11, 27)]
    progress_sheet = _sheet_rows(workbook, "进展")
    assert ["销售进展(万元)", pytest.approx(35.0)] in [r[:2] for r in progress_sheet]


def test_a_workbook_open_in_excel_is_refused_with_one_line_and_left_alone(workbook):
    (workbook.parent / f"~${workbook.name}").write_bytes(b"owner")
    before = workbook.read_bytes()
    done = run_cli("recalc", str(workbook), "--as-of", "2026-11-20")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "open in Excel" in done.stderr
    assert workbook.read_bytes() == before


def test_a_missing_workbook_gets_a_one_line_answer(tmp_path):
    done = run_cli("recalc", str(tmp_path / "nope.xlsm"), "--json")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == f"funnel-xl: workbook not found: {tmp_path / 'nope.xlsm'}"


def test_a_recalculation_keeps_a_backup_of_the_previous_file(workbook):
    before = workbook.read_bytes()
    _recalc_json(workbook)
    assert (workbook.parent / "Funnel.bak.xlsm").read_bytes() == before


def _open_sample_deals() -> int:
    csv = pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig")
    return int(((csv["status"] == "open") & ~csv["id"].isin(BAD_SAMPLE_IDS)).sum())


def test_the_service_writes_the_five_output_sheets_and_saves_once_with_the_weeks_snapshot(fake_master):
    with SnapshotStore(":memory:") as store:
        result = recalculate(fake_master, SAMPLE_AS_OF, history=store, run_at=dt.datetime(2026, 11, 20, 18))
        assert store.dates() == [SAMPLE_AS_OF]
    assert set(fake_master.written) == {"预测", "漏斗", "配额", "进展", "数据问题"}
    assert fake_master.saves == 1 and result.saved is not None
    assert result.figures.kpi["open_count"] == _open_sample_deals()
    assert not fake_master.updated and not fake_master.appended  # what the user typed is never written


def test_the_service_runs_on_the_port_without_saving_when_asked(fake_master):
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    assert result.figures.kpi["open_count"] == _open_sample_deals()
    assert fake_master.saves == 0 and result.saved is None


def test_the_data_issues_sheet_lists_each_bad_row_where_the_user_typed_it(fake_master):
    recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    issues = fake_master.written["数据问题"].rows()
    ids = fake_master.read_table(TABLE_OPPORTUNITIES).frame[opportunity_header("id")]
    rows = {int(ids.index[ids == i][0]) for i in BAD_SAMPLE_IDS}
    assert rows <= {int(r[1]) for r in issues if r[0] == "商机" and isinstance(r[1], (int, float))}
