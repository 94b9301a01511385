"""Fixtures and settings shared by every layer's tests."""

import os
import shutil
from contextlib import contextmanager

import pytest
from hypothesis import settings

from funnel_xl.domain.columns import AMOUNT, OPPORTUNITIES, ColumnSpec, added_column
from funnel_xl.labels import catalogue

# Property tests check invariants, not speed (speed lives in benchmarks/): no per-example deadline, which a busy
# 2-core CI machine would otherwise trip. On CI the examples are derandomised so a run can be repeated exactly.
settings.register_profile("funnel", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("funnel")


@contextmanager
def registered_column(monkeypatch, table: str, spec: ColumnSpec, zh: str, en: str, *, after: str | None = None):
    """``spec`` added to a table of the column registry and its header label to the catalogue while the block runs:
    the two places a new column is written down."""
    monkeypatch.setitem(catalogue(), spec.label, {"zh-CN": zh, "en": en})
    with added_column(table, spec, after=after):
        yield spec


@pytest.fixture
def contract_columns(monkeypatch):
    """Two test-only optional columns of 商机: 合同编号 (contract_no, text) after the project, and 定金 (deposit, an
    amount) at the end of the user's columns."""
    with registered_column(monkeypatch, OPPORTUNITIES, ColumnSpec("contract_no", "field.contract_no"), "合同编号",
                           "Contract no.", after="project"), \
            registered_column(monkeypatch, OPPORTUNITIES, ColumnSpec("deposit", "field.deposit", AMOUNT), "定金(元)",
                              "Deposit (CNY)"):
        yield "contract_no", "deposit"


# The programs the tests marked ``libreoffice`` may need, and what provides each.
_PROVIDED_BY = {"soffice": "LibreOffice", "pdftoppm": "poppler", "pdfinfo": "poppler"}


def pytest_collection_modifyitems(config, items):
    """Skip the tests marked ``libreoffice`` where soffice, or a tool the marker names (``libreoffice("pdfinfo")``),
    is not on PATH, saying what is missing; every other test runs."""
    for item in items:
        needed = [tool for marker in item.iter_markers("libreoffice") for tool in ("soffice", *marker.args)]
        missing = [tool for tool in dict.fromkeys(needed) if shutil.which(tool) is None]
        if missing:
            tools = " and ".join(f"{tool} ({_PROVIDED_BY.get(tool, 'a system package')})" for tool in missing)
            item.add_marker(pytest.mark.skip(reason=f"needs {tools} on PATH"))


@pytest.fixture(scope="session")
def sample_master(tmp_path_factory):
    """Funnel.xlsm built from the shipped sample (already recalculated as of the sample's report date)."""
    from funnel_xl.services.build import build_workbook

    return build_workbook(tmp_path_factory.mktemp("master") / "Funnel.xlsm", data="sample")


@pytest.fixture
def workbook(sample_master, tmp_path):
    """A private copy of the sample master and its snapshot history."""
    from funnel_xl.history import history_path

    target = tmp_path / "Funnel.xlsm"
    shutil.copy2(sample_master, target)
    shutil.copy2(history_path(sample_master), history_path(target))
    return target


# A real PostgreSQL server for the history tests (skipped with the reason where PostgreSQL is not installed), and
# Office's rules (openxml-audit) on every workbook a test writes.
pytest_plugins = ("tests.postgres_server", "tests.office_audit")
