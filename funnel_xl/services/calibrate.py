"""Calibrate win rates (赢率校准): the observed rate per stage beside the configured one, and a suggested file."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.calibration import observed_win_rates, suggested_methodology
from funnel_xl.domain.methodology import Methodology, methodology_to_toml
from funnel_xl.services.master import read_master
from funnel_xl.workbook.port import WorkbookPort


@dataclass(frozen=True)
class Calibration:
    methodology: Methodology
    table: pd.DataFrame          # per stage: configured_rate, reached_closed, won, lost, observed_rate, ci_low, ci_high
    suggested: Methodology
    language: str

    def suggested_toml(self) -> str:
        """The suggested methodology as a file the user can review, copy and load (``--methodology FILE``)."""
        return methodology_to_toml(self.suggested)


def calibrate(book: WorkbookPort, *, min_count: int = 30, confidence: float = 0.95) -> Calibration:
    """Observed win rates from the workbook's closed opportunities (each counted at the furthest stage it reached)."""
    master = read_master(book)
    m = master.methodology
    table = observed_win_rates(master.opportunities.clean, m, confidence=confidence)
    return Calibration(m, table, suggested_methodology(m, table, min_count=min_count), master.language)
