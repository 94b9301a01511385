"""The company roll-up: every team read without being written, each computed as its own recalculation computes
it, the company's figures the sum of the teams' to the cent, and the checks across teams."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from funnel_xl.errors import InputError
from funnel_xl.history import SnapshotStore
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.build import build_workbook
from funnel_xl.services.rollup import read_hierarchy, rollup_workbooks
from tests.services.conftest import OWN_RATE, OWN_RATE_STAGE, OWN_RATE_TEAM, TEAMS, own_recalc, run_cli

TOTALS = ("weighted_forecast", "claimed_weighted_forecast", "achieved", "open_pipeline", "open_count", "won_count",
          "lost_count", "rejected_count", "left_out_weighted", "closed_after_count", "progress")


@pytest.fixture
def alone(teams):
    return {team: own_recalc(teams / f"{team}.xlsm") for team in TEAMS}


def files_state(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}


def test_rollup_reads_every_team_without_writing_it_and_its_figures_are_the_sum_of_the_teams_own(teams, alone,
                                                                                                  tmp_path):
    before = files_state(teams)
    out = tmp_path / "公司汇总.xlsx"
    run = run_cli("rollup", str(teams), "--as-of", SAMPLE_AS_OF.isoformat(), "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    assert files_state(teams) == before  # workbooks and history files: same bytes, same modification time
    company = json.loads(run.stdout)
    for key in TOTALS:
        own = [alone[t].summary()[key] for t in TEAMS]
        assert company[key] == pytest.approx(math.fsum(own), abs=0.005), key
    assert sorted(t["team"] for t in company["by_team"]) == sorted(TEAMS)  # a folder: its workbooks by name
    for t in company["by_team"]:
        mine = alone[t["team"]].summary()
        assert {k: t[k] for k in TOTALS} == {k: mine[k] for k in TOTALS}
    assert out.is_file()


def test_every_split_of_the_company_forecast_is_the_sum_of_the_teams_splits(teams, alone):
    result = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1)
    company = result.figures
    for name in ("by_category", "by_bucket", "by_quarter", "by_product", "by_region", "claims_by_category"):
        summed = pd.concat([getattr(alone[t].figures, name) for t in TEAMS]).groupby(level=0, dropna=False).sum()
        mine = getattr(company, name)
        assert sorted(mine.index, key=str) == sorted(summed.index, key=str), name
        for column in summed.columns:
            for group in summed.index:
                assert mine.loc[group, column] == pytest.approx(summed.loc[group, column], abs=0.005), (name, group)
    for column in ("open_count", "pipeline", "weighted"):
        summed = sum(alone[t].figures.funnel[column] for t in TEAMS)
        assert company.funnel[column].tolist() == pytest.approx(summed.tolist(), abs=0.005)


def test_the_kpi_tables_by_team_region_and_manager_add_up_to_the_company(teams, alone):
    result = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1)
    by_team = result.tables["team"]
    for team in TEAMS:
        assert by_team.loc[team, "weighted"] == pytest.approx(alone[team].figures.kpi["weighted_forecast"], abs=0.005)
        assert by_team.loc[team, "achieved"] == pytest.approx(alone[team].figures.kpi["achieved"], abs=0.005)
        assert by_team.loc[team, "quota"] == pytest.approx(alone[team].figures.kpi["team_quota"], abs=0.005)
    total = result.figures.kpi["weighted_forecast"]
    for by in ("team", "region", "manager"):
        assert result.tables[by]["weighted"].sum() == pytest.approx(total, abs=0.005), by
    reps = alone[TEAMS[0]].reps
    region = reps["region"].dropna().iloc[0]
    expected = sum(alone[t].figures.quota.loc[r, "weighted"] for t in TEAMS
                   for r in reps.loc[reps["region"].eq(region), "rep"])
    assert result.tables["region"].loc[region, "weighted"] == pytest.approx(expected, abs=0.005)


def test_each_team_is_computed_on_its_own_rates_and_the_difference_is_reported(teams, alone):
    result = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1)
    rates = result.differences[result.differences["item"].eq("win_rate")]
    assert set(rates["stage"]) == {OWN_RATE_STAGE}
    assert rates.set_index("team").loc[OWN_RATE_TEAM, "value"] == OWN_RATE
    mine = alone[OWN_RATE_TEAM].figures.kpi["weighted_forecast"]
    assert result.tables["team"].loc[OWN_RATE_TEAM, "weighted"] == pytest.approx(mine, abs=0.005)
    assert result.figures.funnel["win_rate"].isna().all()  # no one rate stands for the company's stages


def test_the_same_team_given_twice_is_reported_as_duplicate_ids(teams, alone):
    path = teams / f"{TEAMS[0]}.xlsm"
    result = rollup_workbooks([path, path], SAMPLE_AS_OF, workers=1)
    ids = set(alone[TEAMS[0]].figures.opps["id"])
    assert set(result.duplicates["id"]) == ids
    assert set(result.duplicates["teams"]) == {f"{TEAMS[0]}, {TEAMS[0]} (2)"}
    assert not rollup_workbooks([teams], SAMPLE_AS_OF, workers=1).duplicates.size  # distinct ids: none


def test_a_hierarchy_file_adds_each_level_up_from_its_teams(teams, alone, tmp_path):
    spec = tmp_path / "hierarchy.toml"
    spec.write_text('levels = ["大区", "事业部"]\n[teams]\n'
                    f'"{TEAMS[0]}" = ["东部大区", "南方事业部"]\n"{TEAMS[1]}" = ["北部大区", "北方事业部"]\n'
                    f'"{TEAMS[2]}" = ["东部大区", "南方事业部"]\n"{TEAMS[3]}" = ["西部大区", "南方事业部"]\n',
                    encoding="utf-8")
    result = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1, hierarchy=read_hierarchy(spec))
    weighted = {t: alone[t].figures.kpi["weighted_forecast"] for t in TEAMS}
    assert result.tables["大区"].loc["东部大区", "weighted"] == pytest.approx(weighted[TEAMS[0]] + weighted[TEAMS[2]])
    south = weighted[TEAMS[0]] + weighted[TEAMS[2]] + weighted[TEAMS[3]]
    assert result.tables["事业部"].loc["南方事业部", "weighted"] == pytest.approx(south)
    unplaced = result.tables["事业部"][result.tables["事业部"].index.isna()]
    assert unplaced["weighted"].sum() == pytest.approx(weighted[TEAMS[4]])  # a team not placed stays visible


def test_a_hierarchy_file_that_does_not_place_teams_on_every_level_is_refused_with_the_team(tmp_path):
    spec = tmp_path / "hierarchy.toml"
    spec.write_text('levels = ["大区", "事业部"]\n[teams]\n"华东销售" = ["东部大区"]\n', encoding="utf-8")
    with pytest.raises(InputError, match="华东销售"):
        read_hierarchy(spec)


def test_teams_on_different_stages_are_refused(teams, tmp_path):
    other = build_workbook(tmp_path / "产品销售.xlsm", data="empty", methodology="product_sales")
    with pytest.raises(InputError, match="different stages"):
        rollup_workbooks([teams / f"{TEAMS[0]}.xlsm", other], SAMPLE_AS_OF, workers=1)


def test_the_rollup_never_writes_over_a_team_workbook(teams):
    path = teams / f"{TEAMS[0]}.xlsx"
    with pytest.raises(InputError, match="team workbook"):
        rollup_workbooks([teams / f"{TEAMS[0]}.xlsm"], SAMPLE_AS_OF, output=teams / f"{TEAMS[0]}.xlsm")
    assert not path.exists()


def type_adjustments(path, rows):
    """Type rows into 预测调整 of a company workbook as a user does in Excel: below the header, the table growing."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    sheet = book["预测调整"]
    table = sheet.tables["tblAdjustments"]
    first = int(table.ref.split(":")[0][1:]) + 1
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            sheet.cell(first + i, 1 + j, value)
    table.ref = f"A{first - 1}:I{first - 1 + len(rows)}"
    book.save(path)


def test_an_adjustment_is_kept_beside_the_computed_forecast_never_in_its_place_and_stored_with_the_week(teams, alone,
                                                                                                      tmp_path):
    out = tmp_path / "公司汇总.xlsx"
    rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)
    team, rep, quarter = TEAMS[0], "张伟", "2027Q1"
    type_adjustments(out, [(team, rep, quarter, "800万", "客户口头确认", "王总", None),
                           (TEAMS[1], None, quarter, 15_000_000, None, "王总", None),
                           ("不存在的团队", None, quarter, 1, "笔误", None, None)])
    result = rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)

    opps = alone[team].figures.opps
    mine = opps[opps["status"].eq("open") & opps["rep"].eq(rep)
                & (opps["close_date"].dt.year.astype(str) + "Q" + opps["close_date"].dt.quarter.astype(str)).eq(quarter)]
    counted = result.adjustments[result.adjustments["counted"]].set_index("team")
    assert counted.loc[team, "adjusted"] == 8_000_000
    assert counted.loc[team, "computed"] == pytest.approx(mine["weighted"].sum(), abs=0.005)
    assert counted.loc[team, "difference"] == pytest.approx(8_000_000 - mine["weighted"].sum(), abs=0.005)
    assert result.figures.kpi["weighted_forecast"] == pytest.approx(
        sum(alone[t].figures.kpi["weighted_forecast"] for t in TEAMS), abs=0.005)  # the forecast is not replaced
    assert [p.severity for p in result.adjustment_problems] == ["warning", "error"]  # no reason; unknown team

    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_path(out).get_sheet_by_name("预测调整").to_python()
    shown = {row[0]: row for row in sheet[5:] if row[0]}
    assert shown[team][3] == 8_000_000 and shown[team][4] == "客户口头确认"
    assert shown[team][7] == pytest.approx(counted.loc[team, "computed"])
    assert "不存在的团队" in shown  # a row that does not read stays in the sheet to be corrected
    with SnapshotStore.for_workbook(out) as store:
        stored = store.adjustments(SAMPLE_AS_OF).set_index("team")
    assert stored.loc[team, ["adjusted", "computed"]].tolist() == pytest.approx(
        [8_000_000, counted.loc[team, "computed"]])
    assert set(stored.index) == {team, TEAMS[1]}


def test_the_company_kpi_strip_is_the_sum_of_the_teams_strips(teams, alone):
    strip = rollup_workbooks([teams], SAMPLE_AS_OF, workers=1).figures.strip
    for key in ("target", "achieved", "gap_to_target", "commit_this_quarter", "likely_this_quarter",
                "forecast_rest_of_year", "claim_difference", "left_out_weighted"):
        assert strip[key] == pytest.approx(math.fsum(alone[t].figures.strip[key] for t in TEAMS), abs=0.005), key
    assert strip["outlook"] == pytest.approx((strip["achieved"] + strip["forecast_rest_of_year"]) / strip["target"])


def test_each_deal_on_the_company_attention_lists_is_named_with_the_team_to_look_in(teams, tmp_path):
    import python_calamine

    out = tmp_path / "公司汇总.xlsx"
    rollup_workbooks([teams / f"{t}.xlsm" for t in TEAMS[:2]], SAMPLE_AS_OF, output=out, workers=1)
    shown = {row[0] for row in python_calamine.CalamineWorkbook.from_path(out).get_sheet_by_name("预测").to_python()
             if row and isinstance(row[0], str)}
    for team in TEAMS[:2]:
        overdue = own_recalc(teams / f"{team}.xlsm").figures.attention["overdue"]
        assert len(overdue)
        assert {f"{team} · {i}" for i in overdue["id"]} <= shown, team


def test_every_link_in_the_company_workbook_opens_a_place_in_it_and_none_promises_a_deal_it_cannot_open(teams,
                                                                                                      tmp_path):
    import openpyxl

    from funnel_xl.workbook.ooxml import parse_sheet_ref

    out = tmp_path / "公司汇总.xlsx"
    rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)
    book = openpyxl.load_workbook(out)
    cells = [c for ws in book for row in ws.iter_rows() for c in row]
    links = [c.hyperlink.location for c in cells if c.hyperlink is not None]
    assert links  # the attention summary: each list's name opens the list
    assert {parse_sheet_ref(target).sheet for target in links} <= set(book.sheetnames)
    assert not [c.value for c in cells if isinstance(c.value, str) and "点击编号" in c.value]
