"""Fixtures of the forms tests: the built sample master (built once, copied per test) and its forms."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pytest

from funnel_xl.paths import sample_dir

AS_OF = dt.date(2026, 11, 20)  # the sample's report date (templates/sample/README.md)


@pytest.fixture(scope="session")
def built_master(tmp_path_factory) -> Path:
    """The sample master with its form key (which its first forms would write), so every copy seals alike."""
    from formtools import give_form_key

    from funnel_xl.services.build import build_workbook

    path = build_workbook(tmp_path_factory.mktemp("master") / "Funnel.xlsm")
    give_form_key(path)
    return path


@pytest.fixture
def master(built_master, tmp_path) -> Path:
    """A private copy of the sample master, free to be written."""
    target = tmp_path / "master" / "Funnel.xlsm"
    target.parent.mkdir()
    shutil.copy2(built_master, target)
    return target


@pytest.fixture(scope="session")
def sample_rows() -> list[dict[str, str]]:
    """The sample opportunities as the CSV holds them: the independent source the forms are checked against."""
    with open(sample_dir() / "opportunities.csv", encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def sample_emails() -> dict[str, str]:
    with open(sample_dir() / "reps.csv", encoding="utf-8-sig", newline="") as fh:
        return {r["rep"]: r["email"] for r in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def generated(built_master, tmp_path_factory) -> list[Path]:
    """The form workbooks of the whole sample master (read-only: copy one before filling it in)."""
    from formtools import generate_from_file

    return generate_from_file(built_master, tmp_path_factory.mktemp("forms"), as_of=AS_OF)


@pytest.fixture(scope="session")
def workbook_of(generated):
    """The generated workbook of one rep."""
    return lambda rep: next(p for p in generated if p.stem.endswith("_" + rep))


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 (free port); yields (host, port, recorder)."""
    from tests.smtp import smtp_server as running

    with running() as server:
        yield server
