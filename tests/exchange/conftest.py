"""Fixtures of the exchange layer's tests: the real CRM export beside the repo, and the shipped mapping."""

from pathlib import Path

import pytest

from funnel_xl.paths import templates_dir

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def crm_export_dir() -> Path:
    """The Maven CRM export (../shared/data/crm-export relative to the repo root); skips when absent."""
    folder = REPO_ROOT.parent / "shared" / "data" / "crm-export"
    if not (folder / "sales_pipeline.csv").is_file():
        pytest.skip(f"the real CRM export is not at {folder} (it lives outside the repo, in shared/data)")
    return folder


@pytest.fixture(scope="session")
def maven_mapping_path() -> Path:
    return templates_dir() / "crm" / "maven_mapping.toml"


@pytest.fixture(scope="session")
def product_sales():
    from funnel_xl.methodologies import load_methodology

    return load_methodology("product_sales")


@pytest.fixture(scope="session")
def empty_big_project(tmp_path_factory) -> Path:
    """An empty workbook of the default methodology (big_project), built once: copy it before writing to it."""
    from funnel_xl.services.build import build_workbook

    return build_workbook(tmp_path_factory.mktemp("empty_big") / "Funnel.xlsm", data="empty")


@pytest.fixture(scope="session")
def empty_product_sales(tmp_path_factory) -> Path:
    """An empty workbook of the product_sales methodology (the Maven mapping's), built once: copy it to write."""
    from funnel_xl.services.build import build_workbook

    return build_workbook(tmp_path_factory.mktemp("empty_product_sales") / "Funnel.xlsm", data="empty",
                          methodology="product_sales")


@pytest.fixture(scope="session")
def maven_workbook(empty_product_sales, crm_export_dir, maven_mapping_path, tmp_path_factory) -> Path:
    """The empty product_sales workbook with the Maven export imported by the command line, as a user does it."""
    import shutil

    from funnel_xl.cli import main

    path = tmp_path_factory.mktemp("maven") / "Funnel.xlsm"
    shutil.copy2(empty_product_sales, path)
    assert main(["import", str(path), str(crm_export_dir), "--mapping", str(maven_mapping_path)]) == 0
    return path
