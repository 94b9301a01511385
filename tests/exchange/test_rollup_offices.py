"""The real CRM export as a company of three regional offices: the export split by office (each office's agents and
their deals), imported into one product_sales workbook per office as a user does it; the roll-up of the three is
the sum of each office's own recalculation, to the cent, and the same as the whole export in one workbook."""

from __future__ import annotations

import json
import math
import shutil

import pandas as pd
import pytest

from funnel_xl.cli import main as cli_main
from tests.services.conftest import run_cli

AS_OF = "2017-12-31"
TOTALS = ("weighted_forecast", "claimed_weighted_forecast", "achieved", "open_pipeline", "open_count", "won_count",
          "lost_count", "rejected_count", "left_out_weighted")


@pytest.fixture(scope="module")
def offices(empty_product_sales, crm_export_dir, maven_mapping_path, tmp_path_factory):
    """One workbook per regional office of sales_teams.csv, named for the office, with its part of the export."""
    root = tmp_path_factory.mktemp("offices")
    teams = pd.read_csv(crm_export_dir / "sales_teams.csv")
    deals = pd.read_csv(crm_export_dir / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    books = {}
    for office, agents in teams.groupby("regional_office"):
        export = root / f"export-{office}"
        shutil.copytree(crm_export_dir, export)
        agents.to_csv(export / "sales_teams.csv", index=False)
        deals[deals["sales_agent"].isin(agents["sales_agent"])].to_csv(export / "sales_pipeline.csv", index=False)
        book = root / "books" / f"{office}.xlsm"
        book.parent.mkdir(exist_ok=True)
        shutil.copy2(empty_product_sales, book)
        assert cli_main(["import", str(book), str(export), "--mapping", str(maven_mapping_path)]) == 0
        books[office] = book
    return books


def recalc_json(path, tmp_path) -> dict:
    run = run_cli("recalc", str(path), "--as-of", AS_OF, "--json", "--no-history", "-o", str(tmp_path / path.name))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_three_offices_roll_up_to_the_sum_of_their_own_recalcs_and_to_the_whole_export(offices, maven_workbook,
                                                                                       tmp_path):
    assert sorted(offices) == ["Central", "East", "West"]
    folder = next(iter(offices.values())).parent
    run = run_cli("rollup", str(folder), "--as-of", AS_OF, "--json", "-o", str(tmp_path / "公司汇总.xlsx"))
    assert run.returncode == 0, run.stderr
    company = json.loads(run.stdout)
    own = {office: recalc_json(path, tmp_path) for office, path in offices.items()}
    whole = recalc_json(maven_workbook, tmp_path)
    for key in TOTALS:
        assert company[key] == pytest.approx(math.fsum(o[key] for o in own.values()), abs=0.005), key
        assert company[key] == pytest.approx(whole[key], abs=0.005), key
    assert company["duplicate_ids"] == [] and company["methodology_differences"] == []
    assert company["weighted_forecast"] > 0 and company["open_count"] > 0  # the offices carry open deals
