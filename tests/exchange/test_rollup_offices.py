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


def recalc_json(path, out) -> dict:
    run = run_cli("recalc", str(path), "--as-of", AS_OF, "--json", "--no-history", "-o", str(out / path.name))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def own(offices, tmp_path_factory) -> dict:
    """Each office recalculated alone, as its manager would (JSON; the workbook written beside under its name)."""
    out = tmp_path_factory.mktemp("own")
    return {office: (recalc_json(path, out), out / path.name) for office, path in offices.items()}


@pytest.fixture(scope="module")
def company(offices, tmp_path_factory) -> tuple[dict, object]:
    """The three offices rolled up from their folder: the JSON and the company workbook."""
    out = tmp_path_factory.mktemp("company") / "公司汇总.xlsx"
    folder = next(iter(offices.values())).parent
    run = run_cli("rollup", str(folder), "--as-of", AS_OF, "--json", "-o", str(out))
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), out


def sheet_rows(path, name) -> list[list]:
    import python_calamine

    return python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_name(name).to_python()


def test_three_offices_roll_up_to_the_sum_of_their_own_recalcs_and_to_the_whole_export(offices, own, company,
                                                                                       maven_workbook, tmp_path):
    assert sorted(offices) == ["Central", "East", "West"]
    company, _ = company
    whole = recalc_json(maven_workbook, tmp_path)
    for key in TOTALS:
        assert company[key] == pytest.approx(math.fsum(o[key] for o, _ in own.values()), abs=0.005), key
        assert company[key] == pytest.approx(whole[key], abs=0.005), key
    assert company["duplicate_ids"] == [] and company["methodology_differences"] == []
    assert company["weighted_forecast"] > 0 and company["open_count"] > 0  # the offices carry open deals


def listed_problems(rows: list[list], columns: int) -> list[tuple]:
    """The rows of 数据问题's list (below its second header row), each cut to its first ``columns`` cells."""
    headers = [i for i, r in enumerate(rows) if r and r[0] in ("团队", "销售人员")]
    return [tuple(r[:columns]) for r in rows[headers[-1] + 1:] if any(v != "" for v in r)]


def test_the_company_lists_every_offices_data_problems_under_its_name_as_the_office_lists_them(own, company):
    summary, path = company
    listed = listed_problems(sheet_rows(path, "数据问题"), 10)
    for office, (mine, book) in own.items():
        expected = listed_problems(sheet_rows(book, "数据问题"), 9)
        assert len(expected) == len(mine["problems"]) > 0, office  # the export's offices are not clean
        assert [row[1:] for row in listed if row[0] == office] == expected, office
    assert {row[0] for row in listed} == set(own)
    assert len(listed) == len(summary["problems"]) == sum(len(o["problems"]) for o, _ in own.values())
    forecast = {r[0]: r for r in sheet_rows(path, "预测") if r and isinstance(r[0], str)}
    count = [r for label, r in forecast.items() if label.startswith("数据问题")]
    assert count and count[0][1] == len(listed)  # the count 预测 shows is the length of the list it opens


def test_an_offices_data_issues_are_counted_per_column_most_first_above_the_list(own):
    from collections import Counter

    _, book = own["East"]
    rows = sheet_rows(book, "数据问题")
    start = next(i for i, r in enumerate(rows) if r and str(r[0]).startswith("各列的数据问题"))
    assert rows[start + 1][:5] == ["工作表", "列", "错误", "提醒", "问题数"]
    table = []
    for r in rows[start + 2:]:
        if r[0] == "合计":
            total = r
            break
        table.append(r)
    listed = listed_problems(rows, 9)
    counted = Counter((r[4], r[6] or "-") for r in listed)
    assert {(r[0], r[1]): r[4] for r in table} == dict(counted)
    assert [r[4] for r in table] == sorted((r[4] for r in table), reverse=True)
    assert total[4] == len(listed) == sum(r[2] + r[3] for r in table)
