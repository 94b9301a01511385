"""`funnel-xl import` on the real Maven export (8,800 deals): the counts the CSV gives, an intact package, a re-import
and a dry run that write nothing, and a workbook Recalculate and LibreOffice agree with."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from collections import Counter

import openpyxl
import pandas as pd
import pytest

from funnel_xl.cli import main as cli_main
from funnel_xl.exchange.mapping import load_mapping
from funnel_xl.labels import label
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.import_crm import import_crm, problems_file_name
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.opc import validate_package

# The mapping's [stages] and [status] tables, written out by hand from templates/crm/maven_mapping.toml.
STAGE_OF = {"Prospecting": "initial_contact", "Engaging": "needs", "Won": "closed", "Lost": "needs"}
STATUS_OF = {"Prospecting": "open", "Engaging": "open", "Won": "won", "Lost": "lost"}


@pytest.fixture(scope="module")
def pipeline(crm_export_dir):
    with (crm_export_dir / "sales_pipeline.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def empty_build(empty_product_sales):
    return empty_product_sales


@pytest.fixture(scope="module")
def imported(maven_workbook):
    return maven_workbook


def _opportunities(path):
    return FileWorkbook(path, quiet=True).read_table(TABLE_OPPORTUNITIES).frame


def test_the_table_holds_every_deal_counted_by_status_stage_and_rep_as_the_csv_counts(imported, pipeline):
    m = load_methodology("product_sales")
    table = _opportunities(imported)
    assert len(table) == len(pipeline) == 8800
    status_shown = {k: label(f"status.{v}") for k, v in STATUS_OF.items()}
    stage_shown = {k: m.stage(v).zh for k, v in STAGE_OF.items()}
    assert Counter(table[label("field.status")]) == Counter(status_shown[r["deal_stage"]] for r in pipeline)
    assert Counter(table[label("field.stage")]) == Counter(stage_shown[r["deal_stage"]] for r in pipeline)
    assert Counter(table[label("field.rep")]) == Counter(r["sales_agent"] for r in pipeline)
    assert set(table[label("field.id")]) == {r["opportunity_id"] for r in pipeline}


def test_deals_without_a_value_take_the_list_price_and_are_marked_estimated(imported, pipeline, crm_export_dir):
    with (crm_export_dir / "products.csv").open(newline="", encoding="utf-8") as fh:
        price = {r["product"]: float(r["sales_price"]) for r in csv.DictReader(fh)}
    price["GTXPro"] = price["GTX Pro"]  # the one alias the mapping lists
    expected = {r["opportunity_id"]: price[r["product"]] if r["close_value"] == "" else float(r["close_value"])
                for r in pipeline}
    table = _opportunities(imported).set_index(label("field.id"))
    blank = {r["opportunity_id"] for r in pipeline if r["close_value"] == ""}
    assert len(blank) == 2089
    estimated = table[label("field.estimated")]
    assert set(estimated[estimated == label("out.yes")].index) == blank
    amounts = table[label("field.amount")].astype(float)
    assert all(amounts[i] == v for i, v in expected.items())


def test_the_imported_file_validates_and_keeps_its_vba_and_ribbon_byte_for_byte(empty_build, imported):
    assert validate_package(imported) == []
    with zipfile.ZipFile(empty_build) as before, zipfile.ZipFile(imported) as after:
        kept = [n for n in before.namelist() if "vbaProject" in n or "customUI" in n]
        assert len(kept) >= 2
        for name in kept:
            assert before.read(name) == after.read(name), name


def test_every_rep_of_the_teams_file_is_in_the_reps_table(imported, crm_export_dir):
    with (crm_export_dir / "sales_teams.csv").open(newline="", encoding="utf-8") as fh:
        teams = {r["sales_agent"]: r["regional_office"] for r in csv.DictReader(fh)}
    reps = FileWorkbook(imported, quiet=True).read_table(TABLE_REPS).frame
    assert dict(zip(reps[label("rep_field.rep")], reps[label("rep_field.region")])) == teams


def test_a_second_import_of_the_same_export_writes_nothing(imported, crm_export_dir, maven_mapping_path, capsys):
    before = (imported.read_bytes(), imported.stat().st_mtime_ns)
    report = import_crm(FileWorkbook(imported, quiet=True), crm_export_dir, load_mapping(maven_mapping_path))
    assert report.written is None
    assert report.summary()["unchanged"] == 8800 and report.summary()["added"] == 0
    assert (imported.read_bytes(), imported.stat().st_mtime_ns) == before


def test_a_dry_run_writes_nothing_but_says_what_would_be_added(empty_build, crm_export_dir, maven_mapping_path,
                                                              tmp_path, capsys):
    path = tmp_path / "Funnel.xlsm"
    shutil.copy2(empty_build, path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    code = cli_main(["import", str(path), str(crm_export_dir), "--mapping", str(maven_mapping_path), "--dry-run",
                        "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["added"] == 8800 and summary["reps_added"] == 35 and summary["written"] is False
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Funnel.xlsm"]


def test_every_problem_is_listed_beside_the_workbook_on_a_blank_cell_of_its_line(imported, pipeline):
    with imported.with_name(problems_file_name(imported.name)).open(newline="", encoding="utf-8-sig") as fh:
        listed = list(csv.DictReader(fh))
    by_line = {n: rec for n, rec in enumerate(pipeline, start=2)}
    on_lines = [r for r in listed if r["row"]]
    # Each one names a cell the export left blank; the rest are the two notes on the teams file (no hire date, no
    # quota), and nothing is worse than a warning: every row was imported.
    assert on_lines and all(by_line[int(r["row"])][r["column"]] == "" for r in on_lines)
    assert [r["sheet"] for r in listed if not r["row"]] == ["sales_teams.csv", "sales_teams.csv"]
    assert {r["severity"] for r in listed} == {"warning"}


def test_recalc_counts_won_and_lost_as_the_csv_does_once_the_reps_are_complete(imported, pipeline, tmp_path, capsys):
    path = tmp_path / "Funnel.xlsm"
    shutil.copy2(imported, path)
    # What the import report asks the manager to do: give every rep a hire date and a quota.
    book = FileWorkbook(path, quiet=True)
    rows = book.read_rows(TABLE_REPS).index
    book.update_cells(TABLE_REPS, {(row, column): value for row in rows for column, value in
                                   (("hire_date", pd.Timestamp("2015-01-01")), ("annual_quota", 1_000_000.0))})
    book.save()
    assert cli_main(["recalc", str(path), "--as-of", "2017-12-31", "--json", "--no-history"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # Every deal counts: its amount, stage and status read. What such an export leaves blank (the account, the engage
    # date, an open deal's close date) is reported as a warning, never a reason to leave the deal out.
    assert summary["won_count"] == sum(r["deal_stage"] == "Won" for r in pipeline)
    assert summary["lost_count"] == sum(r["deal_stage"] == "Lost" for r in pipeline)
    assert summary["open_count"] == sum(STATUS_OF[r["deal_stage"]] == "open" for r in pipeline) > 0
    assert summary["rejected_count"] == 0


def test_a_mapping_for_another_methodology_is_refused_naming_both_and_the_command_that_fits(
        crm_export_dir, maven_mapping_path, empty_big_project, tmp_path, capsys):
    path = shutil.copy2(empty_big_project, tmp_path / "Big.xlsm")
    before = path.read_bytes()
    assert cli_main(["import", str(path), str(crm_export_dir), "--mapping", str(maven_mapping_path), "--dry-run"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "written for methodology 'product_sales'" in err and "Big.xlsm uses 'big_project'" in err
    assert "funnel-xl build-workbook -o Big-product_sales.xlsm --methodology product_sales --data empty" in err
    assert path.read_bytes() == before


def test_a_missing_export_is_reported_in_one_line(empty_build, maven_mapping_path, tmp_path, capsys):
    path = tmp_path / "Funnel.xlsm"
    shutil.copy2(empty_build, path)
    assert cli_main(["import", str(path), str(tmp_path / "nowhere.csv"), "--mapping",
                        str(maven_mapping_path)]) == 1
    assert "nowhere.csv" in capsys.readouterr().err


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_imported_formulas_to_the_cached_values(imported, tmp_path):
    from funnel_xl import libreoffice

    sheet = label("sheet.opportunities")
    formulas = openpyxl.load_workbook(imported, read_only=True)[sheet]
    cached = openpyxl.load_workbook(imported, read_only=True, data_only=True)[sheet]
    lo = openpyxl.load_workbook(libreoffice.recalculate(imported, tmp_path / "lo"), read_only=True,
                                data_only=True)[sheet]
    checked, mismatches = 0, []
    for f_row, c_row, l_row in zip(formulas.iter_rows(), cached.iter_rows(), lo.iter_rows()):
        for f, c, lv in zip(f_row, c_row, l_row):
            if isinstance(f.value, str) and f.value.startswith("="):
                checked += 1
                mine, theirs = c.value, lv.value
                same = (mine in (None, "") and theirs in (None, "")) or mine == theirs or (
                    isinstance(mine, (int, float)) and isinstance(theirs, (int, float))
                    and abs(mine - theirs) <= 0.005)
                if not same:
                    mismatches.append(f"{f.coordinate}: cached {mine!r}, LibreOffice {theirs!r}")
    assert checked >= 8800 * 5
    assert mismatches[:10] == []
