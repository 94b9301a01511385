"""Fixtures for the use cases: the sample master's tables in an in-memory workbook (the fake port) for the tests
that need no file (the master itself, and a private copy with its history, are tests/conftest.py's)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from funnel_xl.workbook.file_adapter import FileWorkbook
from tests.fakes import FakeWorkbook

# The sample's two rows with deliberate mistakes (templates/sample/README.md): warnings, so both deals count.
BAD_SAMPLE_IDS = {"OPP-1054", "OPP-1062"}


@pytest.fixture(scope="session")
def sample_tables(sample_master) -> FakeWorkbook:
    """The sample master's tables, with the form key its first forms would have written."""
    from funnel_xl.forms.version import new_form_key

    book = FakeWorkbook.copy_of(FileWorkbook(sample_master, read_only=True, quiet=True))
    book.key = new_form_key()
    return book


@pytest.fixture
def fake_master(sample_tables) -> FakeWorkbook:
    """The sample master in memory, free to be written."""
    return sample_tables.copy()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The command line as a user runs it: a separate process, its exit code, its two streams."""
    return subprocess.run([sys.executable, "-m", "funnel_xl.cli", *args], capture_output=True, text=True,
                          timeout=600)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


def add_user_sheet(path: Path, name: str, text: str) -> None:
    """Add a sheet the way Excel would save one a user inserted (part, relationship, content type, workbook entry)."""
    parts = members(path)
    n = 1 + max(int(m) for m in re.findall(r"xl/worksheets/sheet(\d+)\.xml", " ".join(parts)))
    part = f"xl/worksheets/sheet{n}.xml"
    parts[part] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c></row></sheetData></worksheet>'
    ).encode()
    ct = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = ct.replace(
        "</Types>",
        f'<Override PartName="/{part}" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>').encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>",
        '<Relationship Id="rIdUser1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{n}.xml"/></Relationships>').encode()
    wb = parts["xl/workbook.xml"].decode()
    sheet_id = 1 + max(int(m) for m in re.findall(r'sheetId="(\d+)"', wb))
    parts["xl/workbook.xml"] = wb.replace(
        "</sheets>", f'<sheet name="{name}" sheetId="{sheet_id}" r:id="rIdUser1"/></sheets>').encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name_, data in parts.items():
            zf.writestr(name_, data)


# Five teams made from the sample: ids made distinct per team, each keeping a different four fifths of the deals,
# the last on its own win rate for 引导客户立项 (40 % instead of the methodology's): each team's history is the
# sample's, with the same ids, so every team has last week's snapshot.
TEAMS = ("华东销售", "华北销售", "华南销售", "西南销售", "华中销售")
OWN_RATE_TEAM, OWN_RATE_STAGE, OWN_RATE = "华中销售", "approved", 0.40


def team_workbook(folder: Path, team: str, position: int) -> Path:
    """One team's workbook and history, built from the sample as ``build_workbook`` builds it."""
    import dataclasses

    from funnel_xl.methodologies import load_methodology
    from funnel_xl.sample import SAMPLE_AS_OF, load_sample
    from funnel_xl.services.build import fill_output_sheets
    from funnel_xl.workbook.build import write_workbook

    sample = load_sample()
    prefix = f"T{position + 1}-"
    opps = sample.opportunities
    opps = opps[[i % 5 != position for i in range(len(opps))]].copy()
    opps["id"] = prefix + opps["id"]
    history = sample.history.copy()
    history["id"] = prefix + history["id"]
    m = load_methodology("big_project")
    if team == OWN_RATE_TEAM:
        m = dataclasses.replace(m, stages=tuple(dataclasses.replace(s, win_rate=OWN_RATE) if s.key == OWN_RATE_STAGE
                                                else s for s in m.stages))
    path = write_workbook(folder / f"{team}.xlsm", lang="zh-CN", methodology=m, opportunities=opps, reps=sample.reps,
                          vba=True, as_of=SAMPLE_AS_OF)
    fill_output_sheets(path, SAMPLE_AS_OF, history)
    return path


@pytest.fixture(scope="session")
def built_teams(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("teams")
    for i, team in enumerate(TEAMS):
        team_workbook(folder, team, i)
    return folder


def own_recalc(path: Path):
    """A team recalculated alone, as its manager's button does (nothing saved)."""
    from funnel_xl.history import SnapshotStore
    from funnel_xl.sample import SAMPLE_AS_OF
    from funnel_xl.services.recalculate import recalculate

    with SnapshotStore.for_workbook(path) as store, FileWorkbook(path, quiet=True) as book:
        return recalculate(book, SAMPLE_AS_OF, history=store, save=False)


@pytest.fixture
def teams(built_teams, tmp_path) -> Path:
    """A private copy of the five teams' folder (workbooks and history files)."""
    return Path(shutil.copytree(built_teams, tmp_path / "teams"))
