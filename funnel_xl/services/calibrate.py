"""Calibrate win rates (赢率校准): the observed rate per stage beside the configured one, and a suggested file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.calibration import observed_win_rates, suggested_methodology
from funnel_xl.domain.methodology import Methodology, methodology_to_toml
from funnel_xl.domain.rates import with_rates
from funnel_xl.services.master import read_master
from funnel_xl.workbook.port import WorkbookPort


@dataclass(frozen=True)
class Calibration:
    methodology: Methodology
    table: pd.DataFrame          # per stage: observed_win_rates (counts, rate, interval, suggested_rate, verdict)
    suggested: Methodology
    language: str

    def suggested_toml(self) -> str:
        """The suggested methodology as a file the user can review, copy and load (``--methodology FILE``)."""
        return methodology_to_toml(self.suggested)


def calibrate(book: WorkbookPort, as_of: dt.date, *, min_count: int = 30, confidence: float = 0.95) -> Calibration:
    """Observed win rates from the workbook's deals old enough to have closed by ``as_of`` (the cohort rule of
    ``domain.calibration``), each at the stage the forecast basis gives it: the rates being calibrated are the
    ones that basis weights by."""
    master = read_master(book)
    m = master.methodology
    rated = with_rates(master.opportunities.clean, m, master.inputs.settings.basis)
    table = observed_win_rates(rated, m, confidence=confidence, as_of=as_of, min_count=min_count)
    return Calibration(m, table, suggested_methodology(m, table), master.language)
