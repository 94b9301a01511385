"""The success roadmap (成功路线图): per-rep milestones by tenure, each reported met or missed with its figure.

The phases and milestones are data (``templates/roadmap.toml``) parsed by ``parse_roadmap``; the code knows
only a small closed set of measures (``MEASURES``). ``roadmap_status`` places each rep in one phase and
measures that phase's milestones against the rep's opportunities.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from funnel_xl.domain.faults import Faults
from funnel_xl.domain.forecast import achieved, as_of_timestamp
from funnel_xl.domain.funnel import reached_position
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.quota import annual_quotas, attainment
from funnel_xl.errors import InputError

STAGE_MEASURES: tuple[str, ...] = ("customers_at_or_beyond", "opps_at_or_beyond")
RATIO_MEASURES: tuple[str, ...] = ("coverage", "attainment_of_annual", "attainment_of_quarter")
MEASURES: tuple[str, ...] = (*STAGE_MEASURES, *RATIO_MEASURES, "largest_won_amount")

STATUS_COLUMNS: tuple[str, ...] = (
    "rep", "phase", "tenure_months", "milestone", "measure", "target", "actual", "met", "reason",
)

# Reason keys (labels under roadmap.reason.*) for a milestone that is neither met nor missed.
REASON_STAGE_NOT_IN_METHODOLOGY = "stage_not_in_methodology"
REASON_NO_QUOTA = "no_quota"
REASON_NO_HIRE_DATE = "no_hire_date"
# The phase of a rep without a hire date (label roadmap.phase.hire_date_unknown, 入职日期未知): no tenure, no phase
# of the file, but a row that says so, so the quota sheet shows the rep rather than leaving them out.
PHASE_HIRE_DATE_UNKNOWN = "hire_date_unknown"

_PHASE_KEYS = ("key", "requires_quota", "from_months", "to_months", "milestones", "standards")
_STANDARD_KEYS = ("key", "threshold", "zh", "en")
_MILESTONE_KEYS = ("key", "measure", "threshold", "stage", "quarter")


@dataclass(frozen=True)
class Milestone:
    """One goal of a phase: ``measure`` (one of MEASURES) must reach ``threshold``.

    Ratio thresholds are fractions here (the file writes percent, like win rates); counts are counts and
    largest_won_amount is CNY. ``stage`` is set for the stage measures, ``quarter`` (1-4) for
    attainment_of_quarter.
    """

    key: str
    measure: str
    threshold: float
    stage: str | None = None
    quarter: int | None = None


@dataclass(frozen=True)
class Standard:
    """A weekly work standard of a phase (每周至少收集5家客户资料): what a rep reports each week (``key``, named
    ``zh``/``en`` with its unit, so a company adds one as data) and the least a week should hold."""

    key: str
    threshold: float
    zh: str
    en: str

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Phase:
    """A stretch of a rep's first year: training (no quota yet) or a tenure range [from_months, to_months)."""

    key: str
    milestones: tuple[Milestone, ...]
    requires_quota: bool = True
    from_months: int | None = None
    to_months: int | None = None  # None: no upper end ("months 9-12 and on")
    standards: tuple[Standard, ...] = ()

    def holds(self, tenure: int) -> bool:
        """Whether a rep with a quota and this many whole months of tenure is in this phase."""
        if not self.requires_quota or self.from_months is None:
            return False
        return tenure >= self.from_months and (self.to_months is None or tenure < self.to_months)


@dataclass(frozen=True)
class Roadmap:
    """The ordered phases of the success roadmap."""

    phases: tuple[Phase, ...]
    source: str = "<text>"

    def phase_for(self, has_quota: bool, tenure: int) -> Phase | None:
        """The phase of a rep: the no-quota phase before a quota is set or before the hire date, else by tenure."""
        if not has_quota or tenure < 0:
            return next((p for p in self.phases if not p.requires_quota), None)
        return next((p for p in self.phases if p.holds(tenure)), None)


# --------------------------------------------------------------------------------------------- parsing

def parse_roadmap(text: str, source: str = "<text>") -> Roadmap:
    """A Roadmap from TOML text (the format of templates/roadmap.toml); every mistake reported at once.

    Raises InputError naming the source, the phase and milestone, and what was expected.
    """
    faults = Faults(source, "roadmap", InputError)
    data = faults.load_toml(text)
    faults.unknown_keys(data, ("phases",), "")
    if not data.get("phases"):
        faults.add("", "no [[phases]]; expected at least one phase")
    raw_phases = faults.tables(data, "phases", "", "phases")
    phases = [_parse_phase(raw, i, faults) for i, raw in enumerate(raw_phases, 1)]
    _check_phase_set(phases, faults)
    faults.raise_if_any()
    return Roadmap(tuple(phases), source)


def _parse_phase(raw: dict, number: int, faults: Faults) -> Phase:
    key = faults.identifier(raw, "key", f"phase {number}", what="phase key")
    where = f"phase {number} ({key})" if key else f"phase {number}"
    key = key or f"#{number}"
    faults.unknown_keys(raw, _PHASE_KEYS, where)
    requires_quota = raw.get("requires_quota", True)
    if not isinstance(requires_quota, bool):
        faults.add(where, f"requires_quota {requires_quota!r} must be true or false")
        requires_quota = True
    bounds: list[int | None] = []
    for name in ("from_months", "to_months"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            faults.add(where, f"{name} {value!r} must be a whole number of months, 0 or more")
            value = None
        bounds.append(value)
    start, end = bounds
    if requires_quota and start is None and "from_months" not in raw:
        faults.add(where, "from_months is missing; a phase with a quota needs its tenure range")
    if not requires_quota and (start is not None or end is not None):
        faults.add(where, "a phase without a quota (training) takes no from_months/to_months")
    if start is not None and end is not None and end <= start:
        faults.add(where, f"to_months {end} must be greater than from_months {start}")
    milestones = [m for j, m_raw in enumerate(faults.tables(raw, "milestones", where, "phases.milestones"), 1)
                  if (m := _parse_milestone(m_raw, f"{where}, milestone {j}", faults)) is not None]
    standards = [s for j, s_raw in enumerate(faults.tables(raw, "standards", where, "phases.standards"), 1)
                 if (s := _parse_standard(s_raw, f"{where}, standard {j}", faults)) is not None]
    for what, entries in (("milestone", milestones), ("standard", standards)):
        keys = [e.key for e in entries]
        for twice in sorted({k for k in keys if keys.count(k) > 1}):
            faults.add(where, f"{what} key {twice!r} is used twice")
    return Phase(key, tuple(milestones), requires_quota, start, end, tuple(standards))


def _entry(raw: dict, where: str, faults: Faults, what: str, allowed: tuple[str, ...]) -> tuple[str, str, float]:
    """The key of a milestone or standard, where it is (named by its key), and its threshold (0 when wrong)."""
    key = faults.identifier(raw, "key", where, what=f"{what} key")
    if key:
        where = f"{where} ({key})"
    faults.unknown_keys(raw, allowed, where)
    threshold = raw.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or threshold < 0:
        faults.add(where, f"threshold {threshold!r} must be a number, 0 or more")
        threshold = 0
    return key, where, float(threshold)


def _parse_standard(raw: dict, where: str, faults: Faults) -> Standard | None:
    before = len(faults)
    key, where, threshold = _entry(raw, where, faults, "standard", _STANDARD_KEYS)
    names = {lang: raw.get(lang) for lang in ("zh", "en")}
    for lang, text in names.items():
        if not (isinstance(text, str) and text.strip()):
            faults.add(where, f"{lang} = \"<what the rep reports, with its unit>\" is missing")
    if len(faults) > before:
        return None
    return Standard(key, threshold, names["zh"].strip(), names["en"].strip())


def _parse_milestone(raw: dict, where: str, faults: Faults) -> Milestone | None:
    before = len(faults)
    key, where, threshold = _entry(raw, where, faults, "milestone", _MILESTONE_KEYS)
    measure = raw.get("measure")
    if measure not in MEASURES:
        faults.add(where, f"measure {measure!r} is not known; expected one of {', '.join(MEASURES)}")
    stage, quarter = raw.get("stage"), raw.get("quarter")
    if measure in STAGE_MEASURES and not (isinstance(stage, str) and stage.strip()):
        faults.add(where, f"measure {measure} needs stage = \"<stage key>\"")
    if measure not in STAGE_MEASURES and stage is not None:
        faults.add(where, f"stage is only used by {', '.join(STAGE_MEASURES)}")
    if measure == "attainment_of_quarter" and quarter not in (1, 2, 3, 4):
        faults.add(where, f"quarter {quarter!r} must be 1, 2, 3 or 4")
    if measure != "attainment_of_quarter" and quarter is not None:
        faults.add(where, "quarter is only used by attainment_of_quarter")
    if len(faults) > before:
        return None
    scale = 100.0 if measure in RATIO_MEASURES else 1.0
    return Milestone(key, measure, float(threshold) / scale, stage, quarter)


def _check_phase_set(phases: list[Phase], faults: Faults) -> None:
    keys = [p.key for p in phases]
    for twice in sorted({k for k in keys if keys.count(k) > 1}):
        faults.add("", f"phase key {twice!r} is used twice")
    if sum(not p.requires_quota for p in phases) > 1:
        faults.add("", "more than one phase has requires_quota = false; expected at most one training phase")
    ranged = sorted((p for p in phases if p.requires_quota and p.from_months is not None),
                    key=lambda p: p.from_months)
    for earlier, later in zip(ranged, ranged[1:]):
        if earlier.to_months is None or earlier.to_months > later.from_months:
            faults.add("", f"phases {earlier.key} and {later.key} overlap in tenure; expected each month in one phase")


# ----------------------------------------------------------------------------------------- measuring

def tenure_months(hire_date: dt.date | pd.Timestamp, as_of: dt.date | pd.Timestamp) -> int:
    """Whole calendar months from hire_date to as_of (negative before the hire date).

    n is the largest number with hire_date + n months ≤ as_of, months added as pd.DateOffset does (31 January
    + 1 month = 28 February), so hired 15 January, as_of 14 April is 2 months and 15 April is 3.
    """
    hire, stamp = pd.Timestamp(hire_date).normalize(), pd.Timestamp(as_of).normalize()
    months = (stamp.year - hire.year) * 12 + (stamp.month - hire.month)
    while hire + pd.DateOffset(months=months) > stamp:
        months -= 1
    while hire + pd.DateOffset(months=months + 1) <= stamp:
        months += 1
    return months


def roadmap_status(
    opps: pd.DataFrame, reps: pd.DataFrame, methodology: Methodology, as_of: dt.date | pd.Timestamp,
    roadmap: Roadmap, fiscal_year_start: int = 1, *, ratios: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per rep × milestone of the rep's current phase: target, actual and whether it is met.

    Phase: a rep without a quota (annual_quota blank or 0) or hired after as_of is in training, since the
    seed names every later phase 有定额的… (with a quota); other reps go by tenure_months (whole months from
    hire_date to as_of). Stage counts take open and won opportunities (a lost deal has left the funnel) at
    the stage or beyond, because the seed's "进入…阶段" means having entered it. Ratios use
    ``quota.attainment`` of the fiscal year as_of falls in (coverage = (achieved + this year's weighted
    pipeline) / quota); tenure quarter n runs from hire_date +
    3(n-1) months to hire_date + 3n months, its target is quota / 4. ``met`` is NA with a ``reason`` key
    (labels roadmap.reason.*) when the milestone cannot be judged: a stage the methodology lacks, no quota, or
    no hire date (then the rep gets one row, phase ``PHASE_HIRE_DATE_UNKNOWN`` and no milestone). Reps only found in the opportunities have no hire
    date or quota here; ``quota.attainment`` flags them. ``ratios``, when given, is that ``quota.attainment`` of
    the same deals, reps and year, already worked out by the caller.
    """
    stamp = as_of_timestamp(as_of)
    quotas = pd.Series(annual_quotas(reps).to_numpy(), index=reps["rep"])
    ratios = attainment(opps, reps, stamp, fiscal_year_start) if ratios is None else ratios
    counted = opps[opps["status"].isin(["open", "won"]).fillna(False).astype(bool)]
    positions = reached_position(counted, methodology)
    slim = counted[["customer", "status", "close_date", "amount"]]  # all a measure reads; cheaper to slice
    row_numbers = counted.groupby("rep", sort=False).indices  # one pass over the rows, not one per rep
    nothing = np.array([], dtype="int64")
    rows: list[dict] = []
    for rep, hire in zip(reps["rep"], pd.to_datetime(reps["hire_date"])):
        if pd.isna(hire):
            rows.append(_row(rep, PHASE_HIRE_DATE_UNKNOWN, None, None, None, REASON_NO_HIRE_DATE))
            continue
        tenure = tenure_months(hire, stamp)
        quota = quotas[rep]
        phase = roadmap.phase_for(bool(quota > 0), tenure)
        if phase is None:
            continue
        mine = row_numbers.get(rep, nothing)
        rep_opps, rep_positions = slim.iloc[mine], positions.iloc[mine]
        for milestone in phase.milestones:
            actual, reason = _measure(
                milestone, rep_opps, rep_positions, methodology, ratios.loc[rep], hire, stamp, quota)
            rows.append(_row(rep, phase.key, tenure, milestone, actual, reason))
    out = pd.DataFrame(rows, columns=list(STATUS_COLUMNS))
    out["tenure_months"] = out["tenure_months"].astype("Int64")
    out[["target", "actual"]] = out[["target", "actual"]].astype("float64")
    out["met"] = out["met"].astype("boolean")
    return out


def _row(rep, phase, tenure, milestone: Milestone | None, actual, reason) -> dict:
    judged = milestone is not None and reason is None
    return {
        "rep": rep, "phase": phase, "tenure_months": tenure,
        "milestone": None if milestone is None else milestone.key,
        "measure": None if milestone is None else milestone.measure,
        "target": None if milestone is None else milestone.threshold,
        "actual": actual,
        "met": bool(actual >= milestone.threshold) if judged else None,
        "reason": reason,
    }


def _measure(
    milestone: Milestone, opps: pd.DataFrame, positions: pd.Series, methodology: Methodology,
    ratios: pd.Series, hire: pd.Timestamp, as_of: pd.Timestamp, quota: float,
) -> tuple[float | None, str | None]:
    """The rep's figure for one milestone, or (None, reason key) when it cannot be judged."""
    m = milestone.measure
    if m in STAGE_MEASURES:
        if milestone.stage not in methodology.stage_keys:
            return None, REASON_STAGE_NOT_IN_METHODOLOGY
        beyond = positions.ge(methodology.position(milestone.stage))
        if m == "customers_at_or_beyond":
            return float(opps.loc[beyond, "customer"].dropna().nunique()), None
        return float(beyond.sum()), None
    if m == "largest_won_amount":
        won = opps["status"].eq("won") & pd.to_datetime(opps["close_date"]).le(as_of)
        return float(opps.loc[won, "amount"].max()) if won.any() else 0.0, None
    if not quota > 0:
        return None, REASON_NO_QUOTA
    if m == "coverage":
        return float(ratios["coverage"]), None
    if m == "attainment_of_annual":
        return float(ratios["attainment"]), None
    start = hire + pd.DateOffset(months=3 * (milestone.quarter - 1))
    end = min(hire + pd.DateOffset(months=3 * milestone.quarter) - pd.Timedelta(days=1), as_of)
    won_in_quarter = achieved(opps, end, period_start=start) if start <= end else 0.0
    return won_in_quarter / (quota / 4), None
