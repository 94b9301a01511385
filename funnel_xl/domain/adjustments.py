"""Manager adjustments (预测调整): a manager's own forecast for a team, or one of its reps, in a quarter, with the
reason, kept beside the forecast the funnel computes. An adjustment never replaces the computed figure: both are
shown and both are stored, so a later look can tell judgement from evidence.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import pandas as pd

from funnel_xl.domain.columns import ADJUSTMENTS, USER, columns
from funnel_xl.domain.forecast import close_quarter
from funnel_xl.domain.kinds import KINDS
from funnel_xl.domain.parsing import is_blank
from funnel_xl.domain.schema import Problem
from funnel_xl.errors import InputError

ADJUSTMENT_COLUMNS = tuple(c.key for c in columns(ADJUSTMENTS))
TYPED_COLUMNS = tuple(c.key for c in columns(ADJUSTMENTS, owner=USER))
_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")


def empty_adjustments() -> pd.DataFrame:
    return pd.DataFrame({**{c: pd.Series(dtype=object) for c in ADJUSTMENT_COLUMNS},
                         "counted": pd.Series(dtype=bool)})


def read_adjustments(raw: pd.DataFrame, reps: Mapping[str, Collection[str]], *, sheet: str,
                     column_labels: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """The typed rows of 预测调整 (canonical columns, index = sheet rows) read, and the problems.

    ``reps`` names each team's reps. A row whose team, rep, quarter or amount does not read is not counted
    (``counted`` False, its cells kept as typed, so the next sheet still shows them to correct) with an error; a row
    without a reason counts, with a warning. Blank rows are dropped.
    """
    labels = dict(column_labels or {})
    problems: list[Problem] = []
    rows = []

    def problem(row, key, value, message, severity="error"):
        problems.append(Problem(sheet, row, labels.get(key, key), value, message, severity))
        if severity == "error":
            rows.append({**{k: None if is_blank(v) else v for k, v in values.items()}, "counted": False, "_row": row})

    for row, r in raw.iterrows():
        values = {k: r.get(k) for k in TYPED_COLUMNS}
        if all(is_blank(v) for v in values.values()):
            continue
        team, rep = _text(values["team"]), _text(values["rep"])
        quarter = _quarter(values["quarter"])
        if team is None or team not in reps:
            problem(row, "team", values["team"], f"expected one of the teams rolled up: {', '.join(reps)}")
            continue
        if rep is not None and rep not in reps[team]:
            problem(row, "rep", rep, f"expected a rep of {team} (or blank for the whole team)")
            continue
        if quarter is None:
            problem(row, "quarter", values["quarter"], "expected a quarter such as 2026Q4")
            continue
        try:
            adjusted = KINDS["amount"].parse(values["adjusted"])
        except InputError as exc:
            problem(row, "adjusted", values["adjusted"], f"expected an amount such as 500万 ({exc})")
            continue
        if adjusted is None or pd.isna(adjusted):
            problem(row, "adjusted", values["adjusted"], "expected the adjusted forecast, an amount such as 500万")
            continue
        reason = _text(values["reason"])
        if reason is None:
            problem(row, "reason", None, "no reason: the adjustment is shown, but say why it differs", "warning")
        entered = values["entered"]
        try:
            entered = None if is_blank(entered) else KINDS["date"].parse(entered)
        except InputError:
            problem(row, "entered", entered, "expected a date such as 2026-11-20; left blank", "warning")
            entered = None
        rows.append({"team": team, "rep": rep, "quarter": quarter, "adjusted": float(adjusted), "reason": reason,
                     "by": _text(values["by"]), "entered": entered, "counted": True, "_row": row})
    if not rows:
        return empty_adjustments(), problems
    frame = pd.DataFrame(rows, dtype=object).set_index("_row").rename_axis(None)
    frame = frame.astype(object).where(frame.notna(), None)
    for c in ("computed", "difference"):
        frame[c] = None
    frame["counted"] = frame["counted"].astype(bool)
    return frame[[*ADJUSTMENT_COLUMNS, "counted"]], problems


def computed_forecast(opps: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The weighted forecast of open deals by (team, rep, close quarter) and by (team, close quarter), from rated
    deals carrying a ``team`` column: what an adjustment is set against."""
    is_open = opps["status"].eq("open")
    frame = pd.DataFrame({"team": opps["team"], "rep": opps["rep"], "quarter": close_quarter(opps["close_date"]),
                          "weighted": opps["weighted"].astype("float64").where(is_open, 0.0)})[is_open]
    by_rep = frame.groupby(["team", "rep", "quarter"], dropna=True)["weighted"].sum()
    by_team = frame.groupby(["team", "quarter"], dropna=True)["weighted"].sum()
    return by_rep, by_team


def beside_computed(adjustments: pd.DataFrame, opps: pd.DataFrame) -> pd.DataFrame:
    """Each counted adjustment with the computed forecast it stands beside and the difference (adjusted − computed);
    the computed figure is 0 where the funnel holds nothing for that quarter."""
    out = adjustments.copy()
    if out.empty:
        return out
    by_rep, by_team = computed_forecast(opps)
    for i, a in out[out["counted"]].iterrows():
        computed = float(by_team.get((a.team, a.quarter), 0.0) if a.rep is None
                         else by_rep.get((a.team, a.rep, a.quarter), 0.0))
        out.at[i, "computed"] = computed
        out.at[i, "difference"] = a.adjusted - computed
    return out


def _text(value) -> str | None:
    return None if is_blank(value) else str(value).strip()


def _quarter(value) -> str | None:
    if is_blank(value):
        return None
    found = _QUARTER.match(str(value))
    return f"{found.group(1)}Q{found.group(2)}" if found else None

