"""Recalculate forecast (重新计算预测): read the input tables, validate, compute every figure, write the output sheets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from funnel_xl.domain.activity import activity_status
from funnel_xl.domain.attention import attention_summary
from funnel_xl.domain.figures import Figures, compute_figures
from funnel_xl.domain.left_out import left_out
from funnel_xl.domain.roadmap import Roadmap, parse_roadmap
from funnel_xl.domain.schema import Problem
from funnel_xl.history import HistoryPort
from funnel_xl.labels import label
from funnel_xl.paths import templates_dir
from funnel_xl.reports.activity_log import existing_activity
from funnel_xl.reports.forecast_sheet import forecast_sheet
from funnel_xl.reports.funnel_sheet import funnel_sheet
from funnel_xl.reports.problems_sheet import problems_sheet
from funnel_xl.reports.progress_sheet import progress_sheet
from funnel_xl.reports.quota_sheet import quota_sheet
from funnel_xl.reports.widths import fit_columns
from funnel_xl.services.master import Master, read_master
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.port import Saved, WorkbookPort


@dataclass
class RecalcResult:
    """What a recalculation found: the figures, the problems, and where things were written."""

    figures: Figures
    problems: list[Problem]
    reps: pd.DataFrame
    language: str
    run_at: dt.datetime
    rejected_count: int = 0
    saved: Saved | None = None   # None: not saved (``save=False``)

    @property
    def overwritten(self) -> tuple[str, ...]:
        """Output sheets on which the save found content the tool had not written (kept in the backup)."""
        return self.saved.overwritten if self.saved else ()

    def summary(self) -> dict:
        """The JSON shape of ``funnel-xl recalc --json``."""
        f = self.figures
        claimed = f.claims_by_rep["claimed_weighted"]
        by_rep = []
        for rep, r in f.quota.iterrows():
            by_rep.append({"rep": None if pd.isna(rep) else rep, "weighted_forecast": _num(r.weighted),
                           "claimed_weighted_forecast": _num(claimed.get(rep, 0.0)), "achieved": _num(r.achieved),
                           "quota": _num(r.quota), "coverage": _num(r.coverage), "attainment": _num(r.attainment)})
        return {
            "as_of": f.as_of.isoformat(),
            "run_at": self.run_at.isoformat(timespec="seconds"),
            "methodology": f.methodology.key,
            "basis": f.settings.basis,
            "weighted_forecast": round(f.kpi["weighted_forecast"], 2),
            "claimed_weighted_forecast": round(f.kpi["claimed_weighted_forecast"], 2),
            "achieved": round(f.kpi["achieved"], 2),
            "open_pipeline": round(f.kpi["open_pipeline"], 2),
            "open_count": f.kpi["open_count"],
            "won_count": f.kpi["won_count"],
            "lost_count": f.kpi["lost_count"],
            "rejected_count": self.rejected_count,
            "left_out_weighted": round(f.kpi["left_out_weighted"], 2),
            "closed_after_count": f.kpi["closed_after_count"],
            "progress": None if f.progress.last_date is None else round(f.progress.totals["progress"], 2),
            "last_snapshot": None if f.progress.last_date is None else f.progress.last_date.isoformat(),
            **{k: _num(f.strip[k]) for k in ("target", "gap_to_target", "commit_this_quarter", "likely_this_quarter",
                                             "forecast_rest_of_year", "outlook")},
            "claim_difference": round(f.kpi["claim_difference"], 2),
            "change_since_last_week": {k: _num(v) for k, v in f.strip_change.items()},
            "attention": {k: {"count": int(r["count"]), "amount": round(float(r["amount"]), 2)}
                          for k, r in attention_summary(f.attention).iterrows()}
                         | {"data_problems": {"count": len(self.problems),
                                              "amount": round(f.kpi["left_out_amount"], 2)}},
            "problems": [p.as_dict() for p in self.problems],
            "by_rep": by_rep,
        }


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), 4)


def _known_on(history: HistoryPort, as_of: dt.date, opps: pd.DataFrame) -> pd.DataFrame | None:
    """The latest snapshot on or before the report date, read only when some deal closed after it (it places
    those deals as they stood then)."""
    closed_after = opps["status"].isin(("won", "lost")) & opps["close_date"].gt(pd.Timestamp(as_of))
    if not closed_after.any():
        return None
    dates = [d for d in history.dates() if d <= as_of]
    return history.snapshot(max(dates)) if dates else None


def default_roadmap() -> Roadmap:
    path = templates_dir() / "roadmap.toml"
    return parse_roadmap(path.read_text(encoding="utf-8"), source=path.name)


def team_figures(master: Master, as_of: dt.date, *, history: HistoryPort | None = None,
                 roadmap: Roadmap | None = None, skip: frozenset[str] = frozenset()) -> Figures:
    """Every figure of one team's workbook on a report date, from its history when given: what a recalculation
    writes, and what the company roll-up sums (one code path, so the roll-up equals the teams' own recalcs).
    ``skip``: parts of ``figures.TEAM_ONLY`` left empty (the roll-up's, which does not add them up)."""
    inputs, reps, opps = master.inputs, master.reps, master.opportunities
    last_snapshot = last_date = first_seen = known = last_strip = None
    if history is not None:
        last_date = history.previous_week(as_of)
        if last_date is not None:
            last_snapshot = history.snapshot(last_date)
            last_strip = history.strip(last_date)
        first_seen = history.first_seen()
        known = _known_on(history, as_of, opps.clean)
    return compute_figures(
        opps.clean, reps.clean, inputs.methodology, as_of, roadmap or default_roadmap(), settings=inputs.settings,
        last_snapshot=last_snapshot, last_date=last_date, first_seen=first_seen, known=known,
        left_out=left_out(opps.rejected_values, opps.problems, inputs.methodology, inputs.settings.basis),
        last_strip=last_strip, skip=skip,
    )


def weekly_history(history: HistoryPort | None, figures: Figures) -> pd.DataFrame | None:
    """The stored weekly totals with this run's week in place of a stored one of the same date (the 进展 chart)."""
    if history is None:
        return None
    weekly = pd.concat([history.weekly(), figures.weekly], ignore_index=True)
    return weekly.drop_duplicates(["snapshot_date", "rep"], keep="last")


def _activity(book: WorkbookPort, reps: pd.DataFrame, roadmap: Roadmap, as_of: dt.date,
              lang: str) -> tuple[pd.DataFrame | None, dict]:
    """The reps' week's activity against their standards (None where the master has no 工作记录 sheet) and each
    standard's name by (phase, key) in the workbook's language."""
    name = sheet_name("activity", lang)
    if name not in book.sheet_names():
        return None, {}
    table = existing_activity(book.read_sheet(name))
    names = {(p.key, s.key): s.name(lang) for p in roadmap.phases for s in p.standards}
    return activity_status(table, reps, roadmap, as_of), names


def recalculate(
    book: WorkbookPort,
    as_of: dt.date,
    *,
    history: HistoryPort | None = None,
    run_at: dt.datetime | None = None,
    roadmap: Roadmap | None = None,
    save: bool = True,
) -> RecalcResult:
    """The main job. ``run_at`` is only the stamp written on the sheets (fixed in builds and tests)."""
    run_at = run_at or dt.datetime.now().replace(microsecond=0)
    master = read_master(book)
    inputs, reps, opps, lang = master.inputs, master.reps, master.opportunities, master.language
    settings = inputs.settings
    problems = master.problems
    rejected_count = len(opps.rejected)

    book.status(label("progress_msg.computing", lang))
    figures = team_figures(master, as_of, history=history, roadmap=roadmap)
    weekly = weekly_history(history, figures)

    stamp = label("out.stamp", lang).format(
        run_at=run_at.strftime("%Y-%m-%d %H:%M"), as_of=as_of.isoformat(), methodology=inputs.methodology.name(lang),
        basis=label(f"basis.{settings.basis}", lang),
    )
    sheets = {
        "forecast": forecast_sheet(figures, lang, stamp, len(problems)),
        "funnel": funnel_sheet(figures, lang, stamp, figures.calibration),
        "quota": quota_sheet(figures, reps.clean, lang, stamp, *_activity(book, reps.clean, roadmap or default_roadmap(),
                                                                        as_of, lang)),
        "progress": progress_sheet(figures, lang, stamp, weekly),
        "problems": problems_sheet(problems, lang, stamp, master.problem_owners(problems), list(reps.clean["rep"])),
    }
    for layout_ in sheets.values():
        fit_columns(layout_.sheet)  # after each writer's widths: what its words need in this language
    book.status(label("progress_msg.writing", lang))
    book.write_sheets({sheet_name(k, lang): s.sheet for k, s in sheets.items()})
    saved = None
    if save:
        # The snapshot is committed with the workbook: both, or (if the save fails) neither.
        together = None if history is None else history.staged(figures.snapshot, figures.weekly,
                                                                   figures.strip)
        saved = book.save(alongside=together)
    return RecalcResult(figures, problems, reps.clean, lang, run_at, rejected_count=rejected_count, saved=saved)
