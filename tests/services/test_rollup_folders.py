"""What the roll-up takes for a team: a folder's team workbooks, never a company workbook an earlier roll-up left
there (told by what it holds, not by its name, and listed as left out), and a clear refusal of anything else."""

from __future__ import annotations

import json
import shutil

import pytest
import python_calamine
import xlsxwriter

from funnel_xl.errors import InputError
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.rollup import rollup_workbooks
from funnel_xl.textreport import render_rollup
from tests.services.conftest import TEAMS, run_cli


def other_workbook(path):
    """A workbook that is no team's: a sheet named 商机 holding a list, but not the funnel's table."""
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("商机").write_row(0, 0, ["客户", "金额"])
    book.close()
    return path


def test_a_company_workbook_left_in_the_teams_folder_is_left_out_and_said_so(teams):
    out = teams / "公司汇总.xlsx"
    first = rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)
    renamed = shutil.copy(out, teams / "华西销售.xlsx")  # known by what it holds, not by its name

    run = run_cli("rollup", str(teams), "--as-of", SAMPLE_AS_OF.isoformat(), "-o", str(out), "--json")
    assert run.returncode == 0, run.stderr
    company = json.loads(run.stdout)
    assert sorted(company["teams"]) == sorted(TEAMS)
    assert sorted(s["file"] for s in company["skipped"]) == sorted([str(out), str(renamed)])
    assert company["weighted_forecast"] == pytest.approx(first.figures.kpi["weighted_forecast"], abs=0.005)

    again = rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)
    said = render_rollup(again)
    assert "公司汇总.xlsx" in said and "华西销售.xlsx" in said
    sheet = python_calamine.CalamineWorkbook.from_path(out).get_sheet_by_name("公司汇总").to_python()
    notes = [row[0] for row in sheet if row and isinstance(row[0], str) and "华西销售.xlsx" in row[0]]
    assert len(notes) == 1 and "公司汇总.xlsx" in notes[0]


def test_a_company_workbook_named_as_a_team_is_refused_saying_what_it_is(teams, tmp_path):
    out = tmp_path / "公司汇总.xlsx"
    rollup_workbooks([teams], SAMPLE_AS_OF, output=out, workers=1)
    with pytest.raises(InputError, match=r"公司汇总\.xlsx is a company workbook written by funnel-xl rollup"):
        rollup_workbooks([teams / f"{TEAMS[0]}.xlsm", out], SAMPLE_AS_OF, workers=1)


def test_a_workbook_that_is_not_a_team_is_refused_naming_it_and_the_opportunities_table(teams, tmp_path):
    named = other_workbook(tmp_path / "客户名单.xlsx")
    with pytest.raises(InputError, match=r"客户名单\.xlsx is not a team workbook: it has no 商机 table"):
        rollup_workbooks([teams / f"{TEAMS[0]}.xlsm", named], SAMPLE_AS_OF, workers=1)

    other_workbook(teams / "客户名单.xlsx")
    run = run_cli("rollup", str(teams), "--as-of", SAMPLE_AS_OF.isoformat())
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "客户名单.xlsx is not a team workbook" in run.stderr and "move it out" in run.stderr
