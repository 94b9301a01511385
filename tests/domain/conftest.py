"""Fixtures for the domain tests: the three built-in methodologies, loaded as a user would load them."""

from __future__ import annotations

import pytest

from funnel_xl.domain.methodology import Methodology
from funnel_xl.methodologies import load_methodology


@pytest.fixture(scope="session")
def big_project() -> Methodology:
    """The seed's 7-stage big-project sale (大项目销售阶段)."""
    return load_methodology("big_project")


@pytest.fixture(scope="session")
def classic() -> Methodology:
    """The classic 25/50/75 funnel (经典漏斗)."""
    return load_methodology("classic")


@pytest.fixture(scope="session")
def product_sales() -> Methodology:
    """Product sales, "一三五七十" (产品型销售)."""
    return load_methodology("product_sales")
