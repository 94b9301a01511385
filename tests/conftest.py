"""Fixtures and settings shared by every layer's tests."""

import os

from hypothesis import settings

# Property tests check invariants, not speed (speed lives in benchmarks/): no per-example deadline, which a busy
# 2-core CI machine would otherwise trip. On CI the examples are derandomised so a run can be repeated exactly.
settings.register_profile("funnel", deadline=None, derandomize=bool(os.environ.get("CI")))
settings.load_profile("funnel")

# A real PostgreSQL server for the history tests (skipped with the reason where PostgreSQL is not installed).
pytest_plugins = ("tests.postgres_server",)
