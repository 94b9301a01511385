"""Generate forms and build quota sheets, on the sample master in memory: which workbooks go to the sink, what the
manifest says, and that the master is only read."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest

from funnel_xl.errors import InputError
from funnel_xl.paths import sample_dir
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.forms import MANIFEST, build_quota_sheets, generate_forms
from tests.fakes import MemorySink

# templates/sample/README.md: of the two rows with mistakes, the deal without a rep gets no form (nobody would fill
# it in); the other counts, and gets its form like any deal.
BAD_ROWS = {"OPP-1062"}


def _csv(name: str) -> list[dict[str, str]]:
    with open(sample_dir() / name, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _open_ids_by_rep() -> dict[str, list[str]]:
    out = defaultdict(list)
    for r in _csv("opportunities.csv"):
        if r["status"] == "open" and r["id"] not in BAD_ROWS:
            out[r["rep"]].append(r["id"])
    return {rep: sorted(ids) for rep, ids in out.items()}


def test_each_rep_with_open_deals_gets_one_workbook_of_those_deals_and_their_quota(fake_master):
    sink = MemorySink()
    generate_forms(fake_master, sink, as_of=SAMPLE_AS_OF)
    got = {b.forms[0].rep: sorted(f.opportunity_id for f in b.forms) for b in sink.books.values()}
    assert got == _open_ids_by_rep()
    assert all(b.quota.rep == b.forms[0].rep and b.as_of == SAMPLE_AS_OF for b in sink.books.values())


def test_the_manifest_names_each_workbook_with_its_reps_address_and_the_rows_left_out(fake_master):
    sink = MemorySink()
    generate_forms(fake_master, sink, as_of=SAMPLE_AS_OF)
    manifest = json.loads(sink.files[MANIFEST])
    emails = {r["rep"]: r["email"] for r in _csv("reps.csv")}
    assert manifest["master"] == fake_master.name and manifest["as_of"] == SAMPLE_AS_OF.isoformat()
    assert {w["rep"]: w["email"] for w in manifest["workbooks"]} == {rep: emails[rep] for rep in _open_ids_by_rep()}
    assert {w["file"] for w in manifest["workbooks"]} == set(sink.books)
    (skipped,) = manifest["skipped"]
    assert skipped.startswith("no form for 商机, row 64, column 销售人员") and "no rep" in skipped  # OPP-1062


def test_generating_forms_only_reads_the_master(fake_master):
    generate_forms(fake_master, MemorySink(), as_of=SAMPLE_AS_OF)
    assert fake_master.saves == 0 and not (fake_master.updated or fake_master.appended or fake_master.written)


def test_one_opportunity_gives_one_workbook_with_one_form(fake_master):
    sink = MemorySink()
    generate_forms(fake_master, sink, opportunity="OPP-1001", as_of=SAMPLE_AS_OF)
    (book,) = sink.books.values()
    assert [f.opportunity_id for f in book.forms] == ["OPP-1001"]


def test_a_filter_that_matches_nothing_is_an_error_naming_it_and_writes_nothing(fake_master):
    sink = MemorySink()
    with pytest.raises(InputError, match="nobody"):
        generate_forms(fake_master, sink, rep="nobody", as_of=SAMPLE_AS_OF)
    assert sink.books == {} and sink.files == {}


def test_quota_sheets_give_every_rep_a_workbook_without_forms_and_with_their_annual_quota(fake_master):
    sink = MemorySink()
    build_quota_sheets(fake_master, sink, SAMPLE_AS_OF)
    quotas = {r["rep"]: float(r["annual_quota"] or 0) for r in _csv("reps.csv")}
    assert {b.quota.rep: b.quota.quota for b in sink.books.values()} == quotas
    assert all(b.forms == [] for b in sink.books.values())
