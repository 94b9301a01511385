"""Recalculate forecast, headless: the figures, what it writes, what it keeps, and how it answers bad input."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
import python_calamine

from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.rates import with_rates
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.methodologies import load_methodology
from funnel_xl.paths import sample_dir
from funnel_xl.sample import SAMPLE_AS_OF, load_sample
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.ooxml import Write, patch_cells, split_ref
from funnel_xl.workbook.contract import TABLE_META, TABLE_OPPORTUNITIES, opportunity_header
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.contract import STYLES_SHEET
from funnel_xl.workbook.layout import FORECAST_KPI, FORECAST_KPIS, QUOTA_REPS, palette_row
from funnel_xl.workbook.opc import validate_package
from funnel_xl.workbook.port import RawTable
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.ooxml import drop_defined_names
from funnel_xl.workbook.zip_patch import atomic_patch
from funnel_xl.labels import label
from funnel_xl.reports.table import DETAIL_LIMIT
from tests import evidence
from tests.services.conftest import BAD_SAMPLE_IDS, add_user_sheet, members, run_cli


def _sheet_rows(path, sheet: str) -> list[list]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def _recalc_json(path, *extra) -> dict:
    as_of = () if "--as-of" in extra else ("--as-of", SAMPLE_AS_OF.isoformat())
    done = run_cli("recalc", str(path), *as_of, "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_forecast_is_weighted_at_the_assessed_stages_with_the_claimed_forecast_beside_it(workbook):
    # Independent of the domain code: the sample CSV and the methodology file, read plainly (tests/evidence.py).
    csv = evidence.sample_csv()
    open_rows = csv[csv["status"] == "open"]  # every row counts: the sample's two mistakes are warnings
    won = csv[(csv["status"] == "won") & (csv["close_date"] <= SAMPLE_AS_OF.isoformat())
              & (csv["close_date"] >= f"{SAMPLE_AS_OF.year}-01-01")]

    summary = _recalc_json(workbook)

    assert summary["basis"] == "assessed"
    assert summary["weighted_forecast"] == pytest.approx(evidence.weighted(csv).sum(), abs=0.005)
    assert summary["claimed_weighted_forecast"] == pytest.approx(evidence.weighted(csv, "claimed").sum(), abs=0.005)
    assert summary["weighted_forecast"] < summary["claimed_weighted_forecast"]  # the sample's reps claim more
    assert summary["achieved"] == pytest.approx(float(won["amount"].sum()), abs=0.005)
    assert (summary["open_count"], summary["won_count"], summary["lost_count"]) == (
        len(open_rows), len(won), int((csv["status"] == "lost").sum()))
    assert summary["rejected_count"] == 0 and summary["left_out_weighted"] == 0


def test_every_place_gives_the_same_weighted_forecast_to_the_cent(workbook):
    summary = _recalc_json(workbook)
    opportunities = _sheet_rows(workbook, "商机")
    header = opportunities[3]
    total_on_opportunities = opportunities[2][header.index(label("col.weighted"))]  # the total row's cached value
    forecast = {r[0]: r[1] for r in _sheet_rows(workbook, "预测")[FORECAST_KPI.first_data_row - 1:]}
    assert total_on_opportunities == pytest.approx(summary["weighted_forecast"], abs=0.005)
    assert forecast[label("kpi.weighted_forecast")] * 10_000 == pytest.approx(summary["weighted_forecast"],
                                                                             abs=0.005)
    assert forecast[label("kpi.claimed_weighted_forecast")] * 10_000 == pytest.approx(
        summary["claimed_weighted_forecast"], abs=0.005)


def test_the_terminal_shows_the_forecast_rounded_as_the_sheet_shows_it(workbook):
    done = run_cli("recalc", str(workbook), "--as-of", SAMPLE_AS_OF.isoformat())
    summary = _recalc_json(workbook)
    shown = Decimal(str(summary["weighted_forecast"] / 10_000)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    line = next(l for l in done.stdout.splitlines() if l.startswith(label("kpi.weighted_forecast")))
    assert line.split()[-1] == f"{shown:,.1f}"
    assert label("basis.assessed") in done.stdout


def test_the_sample_figures_match_the_domain_functions(workbook):
    sample, m = load_sample(), load_methodology("big_project")
    reps = normalize_reps(sample.reps)
    opps = with_rates(normalize_opportunities(sample.opportunities, m, reps=list(reps.clean["rep"])).clean, m)
    open_rows = opps[opps["status"].eq("open")]
    by_rep = open_rows.groupby("rep", dropna=False)[["weighted", "claimed_weighted"]].sum()
    by_rep.index = [None if pd.isna(r) else r for r in by_rep.index]

    summary = _recalc_json(workbook)

    # Every rep of the reps table, then the deals without a rep (rep null: 未分配 on the sheets).
    assert [r["rep"] for r in summary["by_rep"]] == [*reps.clean["rep"], None]
    for column, key in (("weighted", "weighted_forecast"), ("claimed_weighted", "claimed_weighted_forecast")):
        assert {r["rep"]: r[key] for r in summary["by_rep"]} == pytest.approx(
            {rep: by_rep[column].get(rep, 0.0) for rep in [*reps.clean["rep"], None]}, abs=0.005)
    assert summary["as_of"] == "2026-11-20"
    assert set(summary) >= {"as_of", "weighted_forecast", "achieved", "open_count", "won_count", "lost_count",
                            "problems", "by_rep"}
    assert set(summary["by_rep"][0]) >= {"rep", "weighted_forecast", "achieved", "quota", "coverage"}


def test_the_forecast_sheet_shows_the_figures_as_values_in_wan(workbook):
    summary = _recalc_json(workbook)
    rows = _sheet_rows(workbook, "预测")
    first = FORECAST_KPI.first_data_row - 1
    assert rows[first][:2] == ["预测依据", "评估阶段"]  # the basis first: every figure below is read on it
    kpi_row = rows[first + FORECAST_KPIS.index("weighted_forecast")]
    assert kpi_row[0] == "销售预计(加权,万元)"
    assert kpi_row[1] == pytest.approx(summary["weighted_forecast"] / 10_000)
    assert str(rows[1][0]).startswith("计算时间")


def test_a_row_with_a_mistake_is_listed_in_data_issues_with_where_and_why_and_stays_in_place(workbook):
    before = members(workbook)
    summary = _recalc_json(workbook)
    problems = {(p["row"], p["column"]): p for p in summary["problems"]}
    close = problems[(57, opportunity_header("close_date"))]
    assert close["sheet"] == "商机" and close["value"] == "2026-01-31" and "created date" in close["message"]
    assert close["severity"] == "warning"  # the deal counts: its amount, stage and status read
    no_rep = problems[(64, opportunity_header("rep"))]
    assert (no_rep["code"], no_rep["severity"], no_rep["value"]) == ("rep_missing", "warning", None)

    issues = _sheet_rows(workbook, "数据问题")
    # rep, 商机编号, customer, severity, then where: sheet, row, column, value; the sentence last
    listed = [r for r in issues if r[4:7] == ["商机", 57.0, "预计成交日期"]]
    csv = evidence.sample_csv().set_index("id")
    assert listed and listed[0][7] == "2026-01-31"
    assert listed[0][:3] == [csv.loc["OPP-1054", "rep"], "OPP-1054", csv.loc["OPP-1054", "customer"]]
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
    return int((evidence.sample_csv()["status"] == "open").sum())


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
    # rep, 商机编号, customer, severity, then sheet and row
    assert rows <= {int(r[5]) for r in issues if r[4] == "商机" and isinstance(r[5], (int, float))}


def test_a_report_date_in_the_past_counts_deals_closed_later_as_open_at_their_last_known_stage(workbook):
    as_of = "2026-11-13"  # the last Friday the sample's history has a snapshot of
    csv = evidence.sample_csv()
    history = pd.read_csv(sample_dir() / "history.csv", encoding="utf-8-sig")
    known = history[history["snapshot_date"] == as_of].set_index("id")
    closed = csv[csv["status"].isin(["won", "lost"])]
    later = closed[closed["close_date"] > as_of]
    placed = later[later["id"].isin(known.index)]
    assert set(placed["status"]) == {"won", "lost"}  # one of each at least: they must be treated alike

    summary = _recalc_json(workbook, "--as-of", as_of)

    before = closed[closed["close_date"] <= as_of]
    assert summary["won_count"] == int((before["status"] == "won").sum())
    assert summary["lost_count"] == int((before["status"] == "lost").sum())
    # Placed by the snapshot: open then, at the stage it shows; the rest listed once, in neither won nor lost.
    assert summary["closed_after_count"] == len(later) - len(placed)
    assert summary["open_count"] == int((csv["status"] == "open").sum()) + len(placed)


def _set_setting(book, field: str, value) -> None:
    """Type a value into 阶段设置's settings table (tblMethodology), as a manager would."""
    frame = book.tables[TABLE_META].frame
    item, value_col = frame.columns[:2]
    frame[value_col] = frame[value_col].astype(object)  # a number typed where text stood
    frame.loc[frame[item] == label(f"meta.{field}"), value_col] = value


def test_the_basis_set_in_the_stages_sheet_switches_every_figure_and_each_sheet_says_which(fake_master):
    csv = evidence.sample_csv()
    _set_setting(fake_master, "basis", "销售阶段")
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    summary = result.summary()
    assert summary["basis"] == "claimed"
    assert summary["weighted_forecast"] == pytest.approx(evidence.weighted(csv, "claimed").sum(), abs=0.005)
    assert summary["weighted_forecast"] == summary["claimed_weighted_forecast"]
    for sheet in ("预测", "漏斗", "配额", "进展", "数据问题"):
        stamp = fake_master.written[sheet].rows()[1][0]
        assert stamp.endswith(f"{label('kpi.basis')}：{label('basis.claimed')}"), sheet


def test_a_setting_that_does_not_read_is_reported_and_the_default_used(fake_master):
    _set_setting(fake_master, "basis", "看心情")
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    assert result.summary()["basis"] == "assessed"
    (problem,) = [p for p in result.problems if p.code == "basis_unreadable"]
    assert (problem.column, problem.value, problem.severity) == (label("meta.basis"), "看心情", "warning")


def test_a_fiscal_year_start_moves_the_plan_year_the_quota_proposal_is_labelled_with(fake_master):
    _set_setting(fake_master, "fiscal_year_start", 4)
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    plan = result.figures.plan_year
    assert (plan.start, plan.end) == (pd.Timestamp(2027, 4, 1), pd.Timestamp(2028, 3, 31))
    header = fake_master.written["配额"].rows()[QUOTA_REPS.header_row - 1]
    assert "2027-04至2028-03财年" in header[QUOTA_REPS.col("proposal_wan") - 1]
    # ... and the proposal counts each rep's open deals closing in it, each at its assessed stage (a deal without a
    # rep is nobody's quota).
    csv = evidence.sample_csv()
    in_year = csv["close_date"].between("2027-04-01", "2028-03-31") & csv["status"].eq("open") & csv["rep"].notna()
    assert result.figures.quota["proposal"].sum() == pytest.approx(evidence.weighted(csv)[in_year].sum(), abs=0.005)


def test_the_list_of_deals_carrying_the_claim_stops_at_its_limit_and_says_how_many_more(fake_master):
    table = fake_master.tables[TABLE_OPPORTUNITIES].frame
    ids = table[opportunity_header("id")]
    gap = table[ids == "OPP-1029"]  # claimed 进行商务谈判, evidenced 引导客户立项
    copies = pd.concat([gap] * (DETAIL_LIMIT + 20), ignore_index=True)
    copies[opportunity_header("id")] = [f"COPY-{i}" for i in range(len(copies))]
    copies.index = range(table.index.max() + 1, table.index.max() + 1 + len(copies))
    old = fake_master.tables[TABLE_OPPORTUNITIES]
    fake_master.tables[TABLE_OPPORTUNITIES] = RawTable(old.name, old.sheet, pd.concat([table, copies]))
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))
    carrying = len(result.figures.claim_deals)
    rows = fake_master.written["预测"].rows()
    first = next(i for i, r in enumerate(rows) if r[0] == label("block.claim_deals")) + 2
    listed = [r for r in rows[first:first + carrying + 1] if str(r[0]).startswith(("OPP-", "COPY-"))]
    assert len(listed) == DETAIL_LIMIT < carrying
    assert rows[first + DETAIL_LIMIT][0] == label("out.more_rows").format(shown=DETAIL_LIMIT,
                                                                        count=carrying - DETAIL_LIMIT)


def test_reps_without_hire_date_or_quota_read_hire_date_unknown_and_show_no_coverage(fake_master):
    from funnel_xl.labels import label
    from funnel_xl.workbook.contract import TABLE_REPS, rep_header
    from funnel_xl.workbook.layout import QUOTA_REPS

    reps = fake_master.tables[TABLE_REPS].frame
    reps[rep_header("hire_date")] = None  # an imported team: neither is in a CRM's teams file
    reps[rep_header("annual_quota")] = None
    result = recalculate(fake_master, SAMPLE_AS_OF, save=False, run_at=dt.datetime(2026, 11, 20, 18))

    names = set(reps[rep_header("rep")])
    rows = fake_master.written["配额"].rows()
    by_rep = {r[0]: r for r in rows[QUOTA_REPS.first_data_row - 1:] if r[0] in names}
    phase, coverage = QUOTA_REPS.col("phase") - 1, QUOTA_REPS.col("coverage") - 1
    assert set(by_rep) == names
    assert {r[phase] for r in by_rep.values()} == {label("roadmap.phase.hire_date_unknown")} == {"入职日期未知"}
    assert {r[coverage] for r in by_rep.values()} == {None}
    assert result.figures.quota["coverage"].isna().all()
