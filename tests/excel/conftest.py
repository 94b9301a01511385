"""Fixtures for the Excel-side tests (helpers live in excel_args.py, importable from the test modules)."""

from __future__ import annotations

import pytest
from excel_args import declare_udfs, register_remote_engine

from funnel_xl.methodologies import load_methodology
from funnel_xl.sample import load_sample


@pytest.fixture(scope="session")
def remote_xlwings():
    return register_remote_engine()


@pytest.fixture(scope="session")
def declared_udfs():
    """funnel_xl/excel/udfs.py loaded with xlwings' real (Windows) decorators, so ``__xlfunc__`` is attached."""
    return declare_udfs()


@pytest.fixture(scope="session")
def sample():
    return load_sample()


@pytest.fixture(scope="session")
def big_project():
    return load_methodology("big_project")
