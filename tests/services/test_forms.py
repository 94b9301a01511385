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


def test_the_first_forms_of_a_master_keep_a_new_form_key_in_it_and_change_nothing_else(fake_master):
    fake_master.key = None
    generate_forms(fake_master, MemorySink(), as_of=SAMPLE_AS_OF)
    assert fake_master.saves == 1 and len(fake_master.form_key()) == 32
    assert not (fake_master.updated or fake_master.appended or fake_master.written)
    key = fake_master.form_key()
    generate_forms(fake_master, MemorySink(), as_of=SAMPLE_AS_OF)
    assert fake_master.saves == 1 and fake_master.form_key() == key


def test_each_form_is_sealed_with_the_masters_key_over_its_opportunity_rep_and_version(fake_master):
    from funnel_xl.forms.version import seal

    sink = MemorySink()
    generate_forms(fake_master, sink, as_of=SAMPLE_AS_OF)
    forms = [f for b in sink.books.values() for f in b.forms]
    assert forms and all(f.seal == seal(fake_master.form_key(), f.opportunity_id, f.rep, f.token) for f in forms)
    assert len({f.seal for f in forms}) == len(forms)


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


def _rename_rep(book, old: str, new: str) -> None:
    """A rep renamed in both input tables of the in-memory master (header texts from the contract)."""
    from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS, opportunity_header, rep_header

    for table, header in ((TABLE_OPPORTUNITIES, opportunity_header("rep")), (TABLE_REPS, rep_header("rep"))):
        frame = book.tables[table].frame
        frame.loc[frame[header] == old, header] = new


def test_reps_whose_names_fold_to_one_file_name_each_get_a_file_of_their_own_before_anything_is_written(
        fake_master):
    _rename_rep(fake_master, "张伟", "张/伟")
    _rename_rep(fake_master, "王芳", "张:伟")
    sink = MemorySink()
    generate_forms(fake_master, sink, as_of=SAMPLE_AS_OF)
    by_rep = {b.forms[0].rep: b.name for b in sink.books.values()}
    assert by_rep["张/伟"] != by_rep["张:伟"]
    assert all(by_rep[r].startswith("评估表_张_伟-") for r in ("张/伟", "张:伟"))
    assert by_rep["李强"] == "评估表_李强.xlsx"  # a name of its own keeps its plain form
    manifest = json.loads(sink.files[MANIFEST])
    assert {w["rep"]: w["file"] for w in manifest["workbooks"]} == by_rep
    ids = _open_ids_by_rep()
    files = {b.name: sorted(f.opportunity_id for f in b.forms) for b in sink.books.values()}
    assert files[by_rep["张/伟"]] == ids["张伟"] and files[by_rep["张:伟"]] == ids["王芳"]


def test_file_names_that_differ_only_in_case_are_told_apart_for_windows_and_macos():
    from funnel_xl.services.forms import workbook_file_names

    names = workbook_file_names(["Zhang Wei", "zhang wei", "Li Qiang"], "en")
    assert len({n.casefold() for n in names.values()}) == 3
    assert names["Li Qiang"] == f"{workbook_file_names(['Li Qiang'], 'en')['Li Qiang']}"


def test_quota_workbooks_get_the_same_unique_names(fake_master):
    _rename_rep(fake_master, "张伟", "张/伟")
    _rename_rep(fake_master, "王芳", "张:伟")
    sink = MemorySink()
    build_quota_sheets(fake_master, sink, SAMPLE_AS_OF)
    assert len(sink.books) == len(_csv("reps.csv"))
