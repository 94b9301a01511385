"""Fixtures for the workbook tests: built workbooks (sample, empty, hand-made) and their LibreOffice recalculation.

Builds are session-scoped: a build takes seconds and the tests only read the files.
"""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.build import build_workbook
from funnel_xl.workbook.build import write_workbook


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory):
    """Funnel.xlsm built from the shipped sample, in Chinese."""
    return build_workbook(tmp_path_factory.mktemp("sample") / "Funnel.xlsm", data="sample")


@pytest.fixture(scope="session")
def built_empty(tmp_path_factory):
    return build_workbook(tmp_path_factory.mktemp("empty") / "Funnel.xlsm", data="empty")


@pytest.fixture(scope="session")
def big_project_methodology():
    return load_methodology("big_project")


def _criteria_through(m, last_stage_key: str) -> dict[str, bool]:
    """Every criterion (required or not) of the stages up to and including ``last_stage_key`` answered yes."""
    answers: dict[str, bool] = {}
    for stage in m.stages:
        for c in stage.criteria:
            answers[checklist_column(c.key)] = True
        if stage.key == last_stage_key:
            break
    return answers


@pytest.fixture(scope="session")
def hand_made(big_project_methodology):
    """Three deals whose figures are worked out by hand in the tests (big_project rates: approved 35 %,
    negotiation 75 %, intent 20 %)."""
    m = big_project_methodology
    base = {c: None for c in OPPORTUNITY_COLUMNS}
    rows = [
        # Open, claimed approved (35 %), evidence through approved: weighted 1,000,000 x 35 % = 350,000.
        {**base, "id": "T-1", "customer": "A", "rep": "R1", "amount": 1_000_000.0, "stage": "approved",
         "status": "open", "close_date": pd.Timestamp("2026-12-15"), "created_date": pd.Timestamp("2026-01-05"),
         **_criteria_through(m, "approved")},
        # Open, claimed negotiation (75 %) but evidence only through intent: weighted 2,000,000 x 75 %
        # = 1,500,000; assessed stage intent (3rd), claimed 6th: gap 3.
        {**base, "id": "T-2", "customer": "B", "rep": "R1", "amount": 2_000_000.0, "stage": "negotiation",
         "status": "open", "close_date": pd.Timestamp("2027-02-01"), "created_date": pd.Timestamp("2026-03-01"),
         **_criteria_through(m, "intent")},
        # Won at closed: weighs nothing (counted as achieved), rate 100 %, no checklist: no assessed stage.
        {**base, "id": "T-3", "customer": "C", "rep": "R2", "amount": 500_000.0, "stage": "closed",
         "status": "won", "close_date": pd.Timestamp("2026-06-30"), "created_date": pd.Timestamp("2026-02-01")},
    ]
    opps = pd.DataFrame(rows, index=[2, 3, 4])
    for c in m.criteria():
        col = checklist_column(c.key)
        if col not in opps:
            opps[col] = None
        opps[col] = opps[col].astype("boolean")
    reps = pd.DataFrame([
        {"rep": "R1", "email": "r1@example.com", "hire_date": pd.Timestamp("2024-01-01"), "region": "E",
         "annual_quota": 5_000_000.0, "manager": "M"},
        {"rep": "R2", "email": "r2@example.com", "hire_date": pd.Timestamp("2025-07-01"), "region": "S",
         "annual_quota": 3_000_000.0, "manager": "M"},
    ], columns=list(REP_COLUMNS), index=[2, 3])
    return opps, reps


@pytest.fixture(scope="session")
def built_hand_made(tmp_path_factory, hand_made, big_project_methodology):
    opps, reps = hand_made
    return write_workbook(tmp_path_factory.mktemp("hand") / "Hand.xlsm", lang="zh-CN",
                          methodology=big_project_methodology, opportunities=opps, reps=reps)


@pytest.fixture(scope="session")
def lo_sample(built_sample, tmp_path_factory):
    """The sample workbook as LibreOffice recalculates it (forced), saved as .xlsx for reading."""
    from funnel_xl.libreoffice import recalculate
    return recalculate(built_sample, tmp_path_factory.mktemp("lo_sample"))
