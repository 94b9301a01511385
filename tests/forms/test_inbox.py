"""Every file in the inbox is accounted for: collected, refused with a reason (in the workbook's language, noted
beside the file), or skipped as a lock file, a hidden file or one already collected; the summary counts them all."""

from __future__ import annotations

import datetime as dt
import json
import io
import shutil
import zipfile

import openpyxl
import pytest

from funnel_xl.forms.collect import REJECTED_SUFFIX
from funnel_xl.forms.settings import form_settings
from funnel_xl.labels import label
from formtools import collect_into_file, fill_notes  # noqa: E402
from tests.damaged import encrypted_workbook, old_xls

RUN_AT = dt.datetime(2026, 11, 23, 9, 30)
# The inbox holds every kind of file that is not a form, some of them broken packages on purpose.
pytestmark = pytest.mark.office_invalid("an inbox of junk on purpose")


@pytest.fixture
def inbox(tmp_path, master, workbook_of):
    """An inbox as a manager's really is: one good form among every kind of file that is not one."""
    folder = tmp_path / "inbox"
    fill_notes(workbook_of("李强"), folder / "li.xlsx", "OPP-1001", "已补充资料")
    shutil.copy2(master, folder / "master-copy.xlsm")                 # macro-enabled
    (folder / "locked.xlsx").write_bytes(encrypted_workbook())        # encrypted
    (folder / "old.xlsx").write_bytes(old_xls())                      # an .xls renamed
    (folder / "scan.xlsx").write_bytes(b"%PDF-1.7 a scan renamed")    # renamed
    (folder / "scan.pdf").write_bytes(b"%PDF-1.7 a scan")             # wrong type
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    (folder / "report.xlsx").write_bytes(buf.getvalue())             # a zip, but no workbook
    openpyxl.Workbook().save(folder / "blank.xlsx")                   # a workbook, but no form
    with open(folder / "huge.xlsx", "wb") as fh:                       # too large
        fh.truncate(form_settings().limits["max_file_bytes"] + 1)
    (folder / "~$li.xlsx").write_bytes(b"owner")                      # Excel's lock file
    (folder / ".DS_Store").write_bytes(b"\0")                         # hidden
    return folder


REFUSED = {"master-copy.xlsm": "macro_enabled", "locked.xlsx": "encrypted", "old.xlsx": "renamed",
           "scan.xlsx": "renamed", "scan.pdf": "wrong_type"}


def test_every_file_of_the_inbox_is_collected_refused_with_its_reason_or_skipped(master, inbox):
    report = collect_into_file(master, inbox, run_at=RUN_AT)
    outcomes = report.file_outcomes
    files = sorted(p.name for p in inbox.iterdir() if not p.name.endswith(REJECTED_SUFFIX))
    assert sorted(outcomes) == files
    assert outcomes["li.xlsx"] == ("collected", "")
    for name, why in REFUSED.items():
        reason = label(f"form.refused.{why}").format(file=name)
        assert outcomes[name] == ("refused", reason), name
        assert reason in (inbox / (name + REJECTED_SUFFIX)).read_text(encoding="utf-8")
    for name, kind in (("report.xlsx", "damaged"), ("blank.xlsx", "no_form"), ("huge.xlsx", "too_large")):
        assert outcomes[name] == ("refused", label(f"form.package.{kind}").format(file=name)), name
    assert outcomes["~$li.xlsx"] == ("skipped", label("form.refused.lock_file").format(file="~$li.xlsx"))
    assert outcomes[".DS_Store"] == ("skipped", label("form.refused.hidden").format(file=".DS_Store"))
    summary = report.summary()
    assert (summary["collected_files"], summary["refused_files"], summary["skipped_files"]) == (1, 8, 2)
    assert summary["files"] == len(files) == 11


def test_a_second_collect_skips_what_was_collected_and_still_counts_every_file(master, inbox):
    collect_into_file(master, inbox, run_at=RUN_AT)
    again = collect_into_file(master, inbox, run_at=RUN_AT + dt.timedelta(days=1))
    assert again.file_outcomes["li.xlsx"] == ("skipped", label("form.refused.already_collected").format(file="li.xlsx"))
    assert not again.written
    summary = again.summary()
    assert summary["files"] == summary["collected_files"] + summary["refused_files"] + summary["skipped_files"] == 11


def test_the_command_line_lists_each_file_it_did_not_collect_with_its_reason(master, inbox, capsys):
    from funnel_xl import cli

    assert cli.main(["collect", str(master), str(inbox)]) == 0
    out = capsys.readouterr().out
    for name, why in REFUSED.items():
        reason = label(f"form.refused.{why}").format(file=name)
        assert "  " + label("collect_summary.file_line").format(file=name, reason=reason) in out
    assert "{" not in out                                   # JSON only with --json
    assert cli.main(["collect", str(master), str(inbox), "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["files"] == 11
