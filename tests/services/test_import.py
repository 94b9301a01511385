"""Import a CRM export, on the sample master in memory: what is updated and appended, the problem list beside the
workbook, a dry run that stages nothing, and a second import that changes nothing."""

from __future__ import annotations

import csv
import shutil

import pytest

from funnel_xl.domain.schema import REP_COLUMNS
from funnel_xl.exchange.mapping import parse_mapping
from funnel_xl.paths import sample_dir
from funnel_xl.services.import_crm import import_crm, problems_file_name
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS, opportunity_header
from tests.fakes import MemorySink

# A small CRM whose export uses the workbook's own stage keys and statuses, so only the values differ.
MAPPING = """
methodology = "big_project"
[source]
encoding = "utf-8-sig"
date_format = "%Y-%m-%d"
[columns]
id = "id"
customer = "customer"
rep = "rep"
amount = "amount"
stage = "stage"
status = "status"
created_date = "created_date"
close_date = "close_date"
[stages]
{stages}
[status]
open = "open"
won = "won"
lost = "lost"
[reps]
file = "reps.csv"
{reps}
"""
COLUMNS = ("id", "customer", "rep", "amount", "stage", "status", "created_date", "close_date")


@pytest.fixture
def mapping(fake_master, tmp_path):
    from funnel_xl.methodologies import load_methodology

    stages = "\n".join(f'{k} = "{k}"' for k in load_methodology("big_project").stage_keys)
    shutil.copy(sample_dir() / "reps.csv", tmp_path / "reps.csv")  # the reps as the workbook holds them
    reps = "\n".join(f'{c} = "{c}"' for c in REP_COLUMNS)
    path = tmp_path / "mapping.toml"
    path.write_text(MAPPING.format(stages=stages, reps=reps), encoding="utf-8")
    return parse_mapping(path.read_text(encoding="utf-8"), path)


def _sample_row(opp_id: str) -> dict[str, str]:
    with open(sample_dir() / "opportunities.csv", encoding="utf-8-sig", newline="") as fh:
        return next(r for r in csv.DictReader(fh) if r["id"] == opp_id)


def _export(tmp_path, rows: list[dict[str, str]]):
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows({c: r[c] for c in COLUMNS} for r in rows)
    return path


def _row_of(master, opp_id: str) -> int:
    frame = master.read_table(TABLE_OPPORTUNITIES).frame
    return int(frame.index[frame[opportunity_header("id")] == opp_id][0])


def test_a_changed_amount_is_one_cell_update_and_a_new_deal_one_appended_row(fake_master, mapping, tmp_path):
    known = _sample_row("OPP-1001")
    new = dict(known, id="CRM-1", customer="新客户", amount="500000")
    export = _export(tmp_path, [dict(known, amount="1400000"), new])

    report = import_crm(fake_master, export, mapping, outputs=MemorySink())

    # The sample leaves 是否预估 blank; an amount the CRM gives is not an estimate, so that cell is filled too.
    row = _row_of(fake_master, "OPP-1001")
    assert fake_master.updated[TABLE_OPPORTUNITIES] == {(row, "amount"): 1_400_000.0, (row, "estimated"): False}
    (added,) = fake_master.appended[TABLE_OPPORTUNITIES]
    assert (added["id"], added["customer"], added["amount"]) == ("CRM-1", "新客户", 500_000.0)
    assert TABLE_REPS not in fake_master.appended
    assert fake_master.saves == 1 and report.written is not None
    assert (report.summary()["added"], report.summary()["updated"]) == (1, 1)


def test_a_dry_run_stages_nothing_and_writes_no_problem_list(fake_master, mapping, tmp_path):
    sink = MemorySink()
    export = _export(tmp_path, [dict(_sample_row("OPP-1001"), amount="1400000")])
    report = import_crm(fake_master, export, mapping, dry_run=True, outputs=sink)
    assert report.summary()["updated"] == 1 and report.written is None
    assert fake_master.saves == 0 and not fake_master.updated and sink.files == {}


def test_importing_the_same_export_twice_changes_nothing_the_second_time(fake_master, mapping, tmp_path):
    export = _export(tmp_path, [dict(_sample_row("OPP-1001"), amount="1400000")])
    import_crm(fake_master, export, mapping, outputs=MemorySink())
    fake_master.updated.clear()
    again = import_crm(fake_master, export, mapping, outputs=MemorySink())
    assert again.written is None and again.summary()["unchanged"] == 1
    assert fake_master.saves == 1 and not fake_master.updated


def test_the_problem_list_goes_beside_the_workbook_and_is_removed_when_none_is_left(fake_master, mapping, tmp_path):
    sink = MemorySink()
    name = problems_file_name(fake_master.name)
    bad = dict(_sample_row("OPP-1001"), amount="约100万")
    import_crm(fake_master, _export(tmp_path, [bad]), mapping, outputs=sink)
    assert "约100万" in sink.files[name].decode("utf-8-sig")

    import_crm(fake_master, _export(tmp_path, [_sample_row("OPP-1001")]), mapping, outputs=sink)
    assert name not in sink.files
