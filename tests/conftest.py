"""Fixtures and settings shared by every layer's tests."""

import os
import shutil

import pytest
from hypothesis import settings

# Property tests check invariants, not speed (speed lives in benchmarks/): no per-example deadline, which a busy
# 2-core CI machine would otherwise trip. On CI the examples are derandomised so a run can be repeated exactly.
settings.register_profile("funnel", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("funnel")


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
