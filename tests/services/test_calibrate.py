"""Calibrate: observed win rates beside the configured ones, and a suggested methodology file that loads."""

from __future__ import annotations

from funnel_xl.methodologies import load_methodology
from tests.services.conftest import run_cli


def test_calibration_of_the_sample_keeps_rates_with_too_few_closed_deals_and_writes_a_loadable_file(workbook):
    out = workbook.parent / "suggested.toml"
    done = run_cli("calibrate", str(workbook), "-o", str(out))
    assert done.returncode == 0, done.stderr
    suggested = load_methodology(out)
    # The sample has 15 closed deals (9 won, 6 lost), under the default 30: every configured rate stays.
    assert suggested.rates() == load_methodology("big_project").rates()
    # ... while the table shows the observed 9 / 15 = 60 % at the first stage, flagged against its 0 %.
    first = next(line for line in done.stdout.splitlines() if line.startswith("定位目标客户群"))
    assert "60%" in first and "15" in first and "设定赢率超出区间" in first


def test_with_a_lower_bar_the_observed_rates_are_suggested_and_never_fall_down_the_funnel(workbook):
    out = workbook.parent / "suggested.toml"
    done = run_cli("calibrate", str(workbook), "-o", str(out), "--min-count", "10")
    assert done.returncode == 0, done.stderr
    rates = list(load_methodology(out).rates().values())
    assert rates[0] == 0.6  # 9 won of 15 closed that reached the first stage
    assert rates == sorted(rates)
