"""Calibrate: observed win rates beside the configured ones, and a suggested methodology file that loads."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.methodology import parse_methodology
from funnel_xl.methodologies import load_methodology
from funnel_xl.paths import sample_dir
from funnel_xl.services.calibrate import calibrate
from tests.services.conftest import BAD_SAMPLE_IDS, run_cli


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


def test_the_first_stages_observed_rate_is_won_over_closed_and_the_suggestion_reads_back(fake_master):
    csv = pd.read_csv(sample_dir() / "opportunities.csv", encoding="utf-8-sig")
    closed = csv[csv["status"].isin(["won", "lost"]) & ~csv["id"].isin(BAD_SAMPLE_IDS)]
    result = calibrate(fake_master, min_count=len(closed))
    first = result.table.iloc[0]
    assert (first["reached_closed"], first["won"]) == (len(closed), int((closed["status"] == "won").sum()))
    again = parse_methodology(result.suggested_toml(), source="suggested.toml")
    assert again.rates()[result.methodology.stage_keys[0]] == pytest.approx(first["won"] / first["reached_closed"],
                                                                           abs=1e-4)
    assert fake_master.saves == 0
