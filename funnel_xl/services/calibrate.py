"""Calibrate win rates (赢率校准): the observed rate per stage beside the configured one, and a suggested file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from funnel_xl.domain.calibration import observed_win_rates, suggested_methodology
from funnel_xl.domain.methodology import Methodology, methodology_to_toml
from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.workbook.port import WorkbookPort
from funnel_xl.workbook.reader import read_inputs


@dataclass(frozen=True)
class Calibration:
    methodology: Methodology
    table: pd.DataFrame          # per stage: configured_rate, reached_closed, won, lost, observed_rate, ci_low, ci_high
    suggested: Methodology
    language: str


def calibrate(book: WorkbookPort, source: str, *, min_count: int = 30, confidence: float = 0.95) -> Calibration:
    """Observed win rates from the workbook's closed opportunities (each counted at the furthest stage it reached)."""
    inputs = read_inputs(book, source)
    reps = normalize_reps(inputs.reps, sheet=inputs.rep_sheet, column_labels=inputs.rep_labels)
    opps = normalize_opportunities(inputs.opportunities, inputs.methodology, reps=list(reps.clean["rep"]),
                                   sheet=inputs.opportunity_sheet, column_labels=inputs.opportunity_labels)
    table = observed_win_rates(opps.clean, inputs.methodology, confidence=confidence)
    return Calibration(inputs.methodology, table, suggested_methodology(inputs.methodology, table,
                                                                         min_count=min_count), inputs.language)


def write_suggestion(calibration: Calibration, path: Path) -> Path:
    """The suggested methodology as a TOML file the user can review, copy and load (``--methodology FILE``)."""
    path.write_text(methodology_to_toml(calibration.suggested), encoding="utf-8")
    return path
