"""The real CRM export end to end, as a user runs it: import, recalc, calibrate, forms for one rep, export. Every
figure is checked against an independent count of the CSV files with pandas and the methodology file read plainly
(won 4,238 for 10,005,534; lost 2,473; open 2,089 worth 4,966,215 at list price, 1,275,067.30 weighted), in total,
per agent and per stage. The checklists are unanswered, so the claimed stage sets each rate."""

from __future__ import annotations

import json
import shutil
import tomllib
import zipfile

import pandas as pd
import pytest
import python_calamine

from funnel_xl.cli import main as cli_main
from funnel_xl.labels import label
from funnel_xl.paths import methodologies_dir
from funnel_xl.workbook.layout import FORECAST_KPI, FUNNEL_STAGES

AS_OF = "2017-12-31"


@pytest.fixture(scope="module")
def expected(crm_export_dir, maven_mapping_path) -> dict:
    """The figures, counted from the CSV files with pandas and the mapping and methodology files read as TOML."""
    mapping = tomllib.loads(maven_mapping_path.read_text(encoding="utf-8"))
    rates = {s["key"]: s["win_rate"] / 100 for s in
             tomllib.loads((methodologies_dir() / f"{mapping['methodology']}.toml").read_text("utf-8"))["stages"]}
    deals = pd.read_csv(crm_export_dir / "sales_pipeline.csv")
    prices = pd.read_csv(crm_export_dir / "products.csv").set_index("product")["sales_price"]
    aliases = mapping["price_list"]["aliases"]
    deals["status"] = deals["deal_stage"].map(mapping["status"])
    deals["stage"] = deals["deal_stage"].map(mapping["stages"])
    deals["value"] = deals["close_value"].fillna(deals["product"].replace(aliases).map(prices))
    deals["weighted"] = deals["value"] * deals["stage"].map(rates)
    won, lost, open_ = (deals[deals["status"] == s] for s in ("won", "lost", "open"))
    this_year = won[pd.to_datetime(won["close_date"], format="%m/%d/%Y").dt.year == int(AS_OF[:4])]
    return {
        "won": len(won), "lost": len(lost), "open": len(open_), "achieved": float(this_year["close_value"].sum()),
        "pipeline": float(open_["value"].sum()), "weighted": float(open_["weighted"].sum()),
        # Every agent of the teams file, those without a deal too (with zeros).
        "by_agent": pd.DataFrame({"weighted": open_.groupby("sales_agent")["weighted"].sum(),
                                  "achieved": this_year.groupby("sales_agent")["close_value"].sum()},
                                 index=pd.read_csv(crm_export_dir / "sales_teams.csv")["sales_agent"]).fillna(0.0),
        "by_stage": open_.groupby("stage").agg(count=("value", "size"), pipeline=("value", "sum"),
                                               weighted=("weighted", "sum")),
        "open_ids": open_.groupby("sales_agent")["opportunity_id"].apply(set),
    }


@pytest.fixture(scope="module")
def recalculated(maven_workbook, tmp_path_factory) -> tuple:
    """A copy of the imported workbook after `funnel-xl recalc --as-of 2017-12-31 --json`: (path, its JSON)."""
    path = shutil.copy2(maven_workbook, tmp_path_factory.mktemp("recalc") / "Funnel.xlsm")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["recalc", str(path), "--as-of", AS_OF, "--json", "--no-history"]) == 0
    return path, json.loads(out.getvalue())


def _rows(path, sheet: str) -> list[list]:
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def test_the_import_says_it_adds_every_deal_and_counts_what_recalc_counts(maven_workbook, recalculated, expected,
                                                                         crm_export_dir, maven_mapping_path,
                                                                         capsys):
    assert cli_main(["import", str(maven_workbook), str(crm_export_dir), "--mapping", str(maven_mapping_path),
                     "--dry-run", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["imported"] == expected["won"] + expected["lost"] + expected["open"] == 8800
    _, recalc = recalculated
    assert summary["counted"] == recalc["open_count"] + recalc["won_count"] + recalc["lost_count"]


def test_recalc_counts_every_deal_of_the_export(recalculated, expected):
    _, summary = recalculated
    assert (summary["won_count"], summary["lost_count"], summary["open_count"]) == (
        expected["won"], expected["lost"], expected["open"]) == (4238, 2473, 2089)
    assert summary["rejected_count"] == 0


def test_recalc_gives_the_achieved_pipeline_and_weighted_forecast_of_the_csv(recalculated, expected):
    _, summary = recalculated
    assert summary["achieved"] == pytest.approx(expected["achieved"], abs=0.005)
    assert summary["open_pipeline"] == pytest.approx(expected["pipeline"], abs=0.005)
    assert summary["weighted_forecast"] == pytest.approx(expected["weighted"], abs=0.005)
    assert round(expected["weighted"], 2) == 1_275_067.30 and expected["pipeline"] == 4_966_215


def test_recalc_gives_each_agent_the_weighted_forecast_and_achieved_of_the_csv(recalculated, expected):
    _, summary = recalculated
    by_rep = pd.DataFrame(summary["by_rep"]).set_index("rep")
    agents = expected["by_agent"]
    assert set(by_rep.index) == set(agents.index)
    assert by_rep.loc[agents.index, "weighted_forecast"].tolist() == pytest.approx(agents["weighted"].tolist(),
                                                                                  abs=1e-3)
    assert by_rep.loc[agents.index, "achieved"].tolist() == pytest.approx(agents["achieved"].tolist(), abs=1e-3)
    assert by_rep["coverage"].isna().all()  # no quota in a CRM export: no coverage, never inf


def test_the_funnel_sheet_gives_each_stage_the_open_deals_of_the_csv(recalculated, expected):
    path, _ = recalculated
    from funnel_xl.methodologies import load_methodology

    m = load_methodology("product_sales")
    rows = _rows(path, label("sheet.funnel"))
    first = FUNNEL_STAGES.first_data_row - 1
    shown = {r[0]: r for r in rows[first:first + len(m.stages)]}
    stages = expected["by_stage"].reindex(list(m.stage_keys), fill_value=0)
    col = {k: FUNNEL_STAGES.col(k) - 1 for k in ("open_count", "pipeline_wan", "weighted_wan")}
    for key, want in stages.iterrows():
        row = shown[m.stage(key).zh]
        assert row[col["open_count"]] == want["count"], key
        assert row[col["pipeline_wan"]] == pytest.approx(want["pipeline"] / 10_000, abs=1e-6), key
        assert row[col["weighted_wan"]] == pytest.approx(want["weighted"] / 10_000, abs=1e-6), key


def test_the_forecast_sheet_shows_the_weighted_forecast_in_wan(recalculated, expected):
    path, _ = recalculated
    rows = _rows(path, label("sheet.forecast"))
    kpis = {r[0]: r[1] for r in rows[FORECAST_KPI.first_data_row - 1:] if r[0]}
    assert kpis[label("kpi.weighted_forecast")] == pytest.approx(expected["weighted"] / 10_000, abs=1e-6)


def test_calibrate_reads_the_closed_deals_and_writes_a_methodology_that_loads(recalculated, tmp_path, capsys):
    from funnel_xl.methodologies import load_methodology

    path, _ = recalculated
    suggested = tmp_path / "suggested.toml"
    assert cli_main(["calibrate", str(path), "-o", str(suggested)]) == 0
    out = capsys.readouterr().out
    m = load_methodology(suggested)
    assert m.stage_keys == load_methodology("product_sales").stage_keys
    assert all(0 <= s.win_rate <= 1 for s in m.stages)
    assert m.stage("initial_contact").zh in out


def test_forms_for_one_rep_hold_a_form_per_open_deal_and_say_the_hire_date_is_unknown(recalculated, expected,
                                                                                     tmp_path):
    path, _ = recalculated
    rep = max(expected["open_ids"].index, key=lambda a: len(expected["open_ids"][a]))  # the busiest agent
    out = tmp_path / "forms"
    assert cli_main(["forms", str(path), "-o", str(out), "--rep", rep, "--as-of", AS_OF, "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["workbooks"]
    assert entry["rep"] == rep and set(entry["opportunities"]) == expected["open_ids"][rep]
    book = python_calamine.CalamineWorkbook.from_path(str(out / entry["file"]))
    quota = [s for s in book.sheet_names if s == label("form.quota_sheet")]
    cells = {str(c) for row in book.get_sheet_by_name(quota[0]).to_python() for c in row}
    assert label("roadmap.phase.hire_date_unknown") in cells


def test_the_export_for_readers_carries_the_figures_without_macros(recalculated, expected, tmp_path):
    path, _ = recalculated
    target = tmp_path / "for-readers.xlsx"
    assert cli_main(["export", str(path), "-o", str(target)]) == 0
    with zipfile.ZipFile(target) as zf:
        assert not any("vbaProject" in n for n in zf.namelist())
    rows = _rows(target, label("sheet.forecast"))
    kpis = {r[0]: r[1] for r in rows[FORECAST_KPI.first_data_row - 1:] if r[0]}
    assert kpis[label("kpi.weighted_forecast")] == pytest.approx(expected["weighted"] / 10_000, abs=1e-6)
