"""The manager's first screen on 预测: the KPI strip equals the JSON and the terminal, its changes follow last week's
stored strip, and every deal that needs attention links to its row on 商机."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pandas as pd
import pytest

from funnel_xl.domain.outlook import STRIP_KEYS
from funnel_xl.labels import label
from funnel_xl.paths import sample_dir
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.workbook.layout import FORECAST_ATTENTION, FORECAST_GRID, FORECAST_STRIP_ROW
from tests import evidence
from tests.services.conftest import run_cli

JSON_KEYS = {"target": "target", "gap_to_target": "gap_to_target", "commit_this_quarter": "commit_this_quarter",
             "likely_this_quarter": "likely_this_quarter", "forecast_rest_of_year": "forecast_rest_of_year",
             "outlook": "outlook", "claim_difference": "claim_difference", "achieved": "achieved",
             "left_out_weighted": "left_out_weighted"}


def _recalc(path, as_of: dt.date = SAMPLE_AS_OF) -> dict:
    done = run_cli("recalc", str(path), "--as-of", as_of.isoformat(), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _strip(path) -> dict[str, tuple]:
    """Name -> (figure, change) as the 预测 sheet shows them."""
    ws = openpyxl.load_workbook(path, read_only=True)["预测"]
    rows = list(ws.iter_rows(min_row=FORECAST_STRIP_ROW + 1, max_row=FORECAST_STRIP_ROW + 3, values_only=True))
    return {name: (value, change) for name, value, change in zip(*rows) if name}


def test_the_strip_on_the_forecast_sheet_equals_the_json(workbook):
    summary = _recalc(workbook)
    shown = _strip(workbook)
    assert [name for name in shown] == [label(f"strip.{k}") for k in STRIP_KEYS]
    for key in STRIP_KEYS:
        value = shown[label(f"strip.{key}")][0]
        expected = summary[JSON_KEYS[key]]
        assert (value if key == "outlook" else value * 10_000) == pytest.approx(expected, abs=0.005), key


def test_the_strip_answers_how_far_the_team_is_from_its_target(workbook):
    # Independent of the product: the sample's reps and deals read plainly.
    reps = pd.read_csv(sample_dir() / "reps.csv", encoding="utf-8-sig")
    csv = evidence.sample_csv()
    won = csv[(csv["status"] == "won") & (csv["close_date"] <= SAMPLE_AS_OF.isoformat())
              & (csv["close_date"] >= f"{SAMPLE_AS_OF.year}-01-01")]
    this_year = csv["close_date"].fillna("9999") <= f"{SAMPLE_AS_OF.year}-12-31"
    forecast = evidence.weighted(csv)[this_year].sum()

    summary = _recalc(workbook)

    assert summary["target"] == pytest.approx(reps["annual_quota"].sum())
    assert summary["gap_to_target"] == pytest.approx(reps["annual_quota"].sum() - won["amount"].sum())
    assert summary["forecast_rest_of_year"] == pytest.approx(forecast, abs=0.005)
    assert summary["outlook"] == pytest.approx((won["amount"].sum() + forecast) / reps["annual_quota"].sum(),
                                               abs=1e-4)


def test_a_week_later_each_figure_shows_its_change_since_the_stored_strip(workbook):
    earlier = _recalc(workbook, SAMPLE_AS_OF - dt.timedelta(days=7))
    later = _recalc(workbook)
    shown = _strip(workbook)
    for key in ("target", "gap_to_target", "commit_this_quarter", "forecast_rest_of_year"):
        change = later[JSON_KEYS[key]] - earlier[JSON_KEYS[key]]
        assert later["change_since_last_week"][key] == pytest.approx(change, abs=0.005)
        assert shown[label(f"strip.{key}")][1] * 10_000 == pytest.approx(change, abs=0.005)


def test_the_terminal_summary_opens_with_the_strip(workbook):
    done = run_cli("recalc", str(workbook), "--as-of", SAMPLE_AS_OF.isoformat())
    summary = _recalc(workbook)
    lines = done.stdout.splitlines()
    first = lines.index(label("block.strip"))
    line = next(line for line in lines[first:] if line.startswith(label("strip.gap_to_target")))
    assert f"{summary['gap_to_target'] / 10_000:,.1f}" in line


def test_every_deal_that_needs_attention_links_to_its_row_on_the_opportunities_sheet(workbook):
    summary = _recalc(workbook)
    book = openpyxl.load_workbook(workbook)
    forecast, opportunities = book["预测"], book["商机"]
    links = [c for row in forecast.iter_rows(min_row=FORECAST_GRID.section_row) for c in row if c.hyperlink]
    deal_links = [c for c in links if c.hyperlink.location.startswith("'商机'!")]
    listed = sum(v["count"] for k, v in summary["attention"].items() if k != "data_problems")
    assert listed and len(deal_links) == listed
    for cell in deal_links:
        target = opportunities[cell.hyperlink.location.split("!")[1]]
        assert target.value == cell.value  # the link lands on the deal's own ID
    # The summary beside the grid: each list with a case links to its list on this sheet.
    first = FORECAST_ATTENTION.first_data_row
    names = {forecast.cell(first + i, FORECAST_ATTENTION.first_col).value: forecast.cell(
        first + i, FORECAST_ATTENTION.first_col + 1).value for i in range(6)}
    for key, figures in summary["attention"].items():
        assert names[label(f"attention.{key}")] == figures["count"]


def test_every_per_rep_list_follows_the_reps_tables_order(workbook):
    reps = list(pd.read_csv(sample_dir() / "reps.csv", encoding="utf-8-sig")["rep"])
    _recalc(workbook)
    book = openpyxl.load_workbook(workbook, read_only=True)

    def listed(sheet: str, block: str) -> list[str]:
        rows = list(book[sheet].iter_rows(values_only=True))
        start = next(i for i, r in enumerate(rows) if r[0] == label(f"block.{block}")) + 2
        names = []
        for r in rows[start:]:
            if r[0] in (None, label("out.total")):
                break
            names.append(r[0])
        return [n for n in names if n in reps]

    for sheet, block in (("预测", "by_rep"), ("预测", "claims_by_rep"), ("进展", "progress_by_rep")):
        names = listed(sheet, block)
        assert names and names == sorted(names, key=reps.index), (sheet, block)


def test_the_stall_limit_set_on_the_stages_sheet_decides_which_deals_are_stalled(fake_master):
    from funnel_xl.services.recalculate import recalculate
    from funnel_xl.workbook.contract import TABLE_META

    meta = fake_master.tables[TABLE_META].frame  # the fake's own table: an edit as a manager makes it
    position = list(meta.iloc[:, 0]).index(label("meta.stall_days"))
    csv = evidence.sample_csv()
    entered = pd.to_datetime(csv.loc[csv["status"].eq("open"), "stage_entered_date"])
    days = (pd.Timestamp(SAMPLE_AS_OF) - entered).dt.days
    limit = int(days.max()) - 1  # only the longest-parked deal is over it
    meta.iat[position, 1] = str(limit)  # as typed: the reader reads the text 244 as 244 days
    figures = recalculate(fake_master, SAMPLE_AS_OF, save=False).figures
    assert figures.stall_days == limit
    assert len(figures.attention["stalled"]) == int((days > limit).sum()) == 1
