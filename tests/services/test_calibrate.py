"""Calibrate: observed win rates beside the configured ones, and a suggested methodology file that loads."""

from __future__ import annotations

import pandas as pd
import pytest

from funnel_xl.domain.methodology import parse_methodology
from funnel_xl.methodologies import load_methodology
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.calibrate import calibrate
from tests import evidence
from tests.services.conftest import run_cli


def cohort(as_of=SAMPLE_AS_OF) -> pd.DataFrame:
    """The sample's deals old enough to have closed, worked out by hand: created more than the typical cycle (the
    median days from created to won) before the report date."""
    csv = evidence.sample_csv()
    created, closed = pd.to_datetime(csv["created_date"]), pd.to_datetime(csv["close_date"])
    won = csv["status"].eq("won")
    cycle = (closed - created)[won].dt.days.median()
    return csv[created <= pd.Timestamp(as_of) - pd.Timedelta(days=cycle)]


def test_calibration_of_the_sample_keeps_rates_with_too_few_deals_and_writes_a_loadable_file(workbook):
    out = workbook.parent / "suggested.toml"
    done = run_cli("calibrate", str(workbook), "-o", str(out), "--as-of", SAMPLE_AS_OF.isoformat())
    assert done.returncode == 0, done.stderr
    suggested = load_methodology(out)
    old = cohort()
    # Fewer old deals than the default 30: every configured rate stays, and the table says why.
    assert len(old) < 30
    assert suggested.rates() == load_methodology("big_project").rates()
    # ... while the first stage shows what the cohort did: every old deal reached it, stalled ones count as not won.
    first = next(line for line in done.stdout.splitlines() if line.startswith("定位目标客户群"))
    rate = (old["status"] == "won").sum() / len(old)
    assert f"{rate:.0%}" in first and str(len(old)) in first and "样本不足" in first
    last = next(line for line in done.stdout.splitlines() if line.startswith("完成销售成交"))
    assert "只有赢单能到达" in last  # never an artefactual 100 %


def test_with_a_lower_bar_the_observed_rates_are_suggested_and_never_fall_down_the_funnel(workbook):
    out = workbook.parent / "suggested.toml"
    done = run_cli("calibrate", str(workbook), "-o", str(out), "--min-count", "10",
                   "--as-of", SAMPLE_AS_OF.isoformat())
    assert done.returncode == 0, done.stderr
    rates = list(load_methodology(out).rates().values())
    old = cohort()
    assert rates[0] == pytest.approx(round((old["status"] == "won").sum() / len(old), 4))
    assert rates == sorted(rates)


def test_the_first_stages_observed_rate_is_won_over_the_cohort_and_the_suggestion_reads_back(fake_master):
    old = cohort()
    result = calibrate(fake_master, SAMPLE_AS_OF, min_count=len(old))
    first = result.table.iloc[0]
    assert (first["reached"], first["won"]) == (len(old), int((old["status"] == "won").sum()))
    assert first["stalled"] == int((old["status"] == "open").sum()) > 0  # old open deals count as not won
    again = parse_methodology(result.suggested_toml(), source="suggested.toml")
    assert again.rates()[result.methodology.stage_keys[0]] == pytest.approx(first["won"] / first["reached"],
                                                                           abs=1e-4)
    assert fake_master.saves == 0
