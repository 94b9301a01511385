"""数据问题: every value that could not be used, put before the person who must fix it.

Each entry names the deal (商机编号, customer) and its rep beside the sheet, row and column, in one sentence; the
entries are sorted by rep (the reps table's order, the unassigned and the problems of no deal last), errors before
warnings, with each rep's count of errors and warnings at the top.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from funnel_xl.domain.schema import Problem, display_value
from funnel_xl.reports.problem_text import problem_messages
from funnel_xl.reports.table import SheetLayout, rep_name, style_for
from funnel_xl.workbook import layout

_SEVERITY_ORDER = {"error": 0, "warning": 1}
_SEVERITY_STYLE = {"error": "bad", "warning": "warn"}


def problem_owners(sheet: str, deals: pd.DataFrame, rep_sheet: str, reps: pd.DataFrame,
                   problems: list[Problem] | None = None) -> dict[tuple, tuple]:
    """(sheet, row) -> (商机编号, customer, rep) for each row of the opportunities and reps tables as typed (index:
    the sheet rows), so a problem can name whose it is; a rep's own row names the rep. Given ``problems``, only the
    rows they name (a clean 100,000-deal table has none to look up)."""
    owners: dict[tuple, tuple] = {}
    text = lambda v: None if v is None or (not isinstance(v, str) and pd.isna(v)) or str(v).strip() == "" \
        else str(v).strip()  # noqa: E731
    if problems is not None:
        deal_rows = {p.row for p in problems if p.sheet == sheet}
        rep_rows = {p.row for p in problems if p.sheet == rep_sheet}
        deals = deals[deals.index.isin(deal_rows)]
        reps = reps[reps.index.isin(rep_rows)]
    # Column by column, not iterrows: at 100,000 deals a Series per row cost 10 s of a recalculation.
    frame = deals.reindex(columns=["id", "customer", "rep"])
    columns = [[text(v) for v in frame[c].tolist()] for c in frame.columns]
    owners.update(((sheet, row), owner) for row, owner in zip(frame.index, zip(*columns)))
    for row, name in reps.reindex(columns=["rep"])["rep"].items():
        owners[(rep_sheet, row)] = (None, None, text(name))
    return owners


def _rep_rank(rep_order: list[str]):
    """Sort key of an entry's owner: the reps table's reps in its order, other names, the unassigned deals, then the
    problems of no deal (a setting, a rep's row)."""
    rank = {r: i for i, r in enumerate(rep_order)}

    def key(rep, deal) -> tuple:
        if rep in rank:
            return (0, rank[rep], "")
        return (1, 0, rep) if rep else (2, 0, "") if deal else (3, 0, "")
    return key


def _owner_name(out: SheetLayout, key: tuple, rep) -> str:
    return out.label("out.no_deal") if key[0] == 3 else rep_name(out, rep)


@dataclass(frozen=True)
class TeamProblems:
    """One workbook's problems with each one's owner (``problem_owners``) and its reps in the reps table's order:
    what the company's 数据问题 lists under the team's name."""

    team: str | None
    problems: list[Problem]
    owners: dict[tuple, tuple] = field(default_factory=dict)
    rep_order: list[str] = field(default_factory=list)


def problems_sheet(problems: list[Problem], lang: str, stamp: str, owners: dict[tuple, tuple] | None = None,
                   rep_order: list[str] | None = None) -> SheetLayout:
    """A team's 数据问题: the count per rep, then every problem by rep, errors first."""
    return _problems_layout([TeamProblems(None, problems, owners or {}, list(rep_order or []))], lang, stamp,
                            by_team=False)


def company_problems_sheet(teams: Sequence[TeamProblems], lang: str, stamp: str) -> SheetLayout:
    """The company's 数据问题: every team's problems under its name, in the order the teams were given, so the
    count a director sees on 预测 can be traced to the rows each team must fix in its own workbook."""
    return _problems_layout(teams, lang, stamp, by_team=True)


def _by_column(out: SheetLayout, problems: list[Problem], row: int) -> int:
    """The count per sheet and column, most first: tens of thousands of one kind (an import without the customer's
    name) show as one line, to be corrected column by column rather than read row by row."""
    if not problems:
        return row
    counts: dict[tuple, list[int]] = {}
    for p in problems:
        counts.setdefault((p.sheet, p.column), [0, 0])[0 if p.severity == "error" else 1] += 1
    ordered = sorted(counts.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))  # stable: first seen first among equals
    rows = [[sheet, column or "-", e, w, e + w] for (sheet, column), (e, w) in ordered]
    total = [out.label("out.total"), None, *(sum(r[i] for r in rows) for i in (2, 3, 4))]
    return out.table("problems_by_column", row, ("sheet", "column", "errors", "warnings", "problem_count"), rows,
                     total=total)


def _problems_layout(teams: Sequence[TeamProblems], lang: str, stamp: str, *, by_team: bool) -> SheetLayout:
    out = SheetLayout("problems", lang, stamp)
    entries = []
    for order, team in enumerate(teams):
        rank = _rep_rank(team.rep_order)
        for p in team.problems:
            deal, customer, rep = team.owners.get((p.sheet, p.row), (None, None, None))
            entries.append((order, rank(rep, deal), _SEVERITY_ORDER.get(p.severity, 2), p.row or 0, team.team, rep,
                            deal, customer, p))
    entries.sort(key=lambda e: e[:4])

    counts: dict = {}
    for order, key, _, _, team, rep, *_, p in entries:
        counts.setdefault((order, team, key, rep), [0, 0])[0 if p.severity == "error" else 1] += 1
    lead = ("team",) if by_team else ()
    summary = [[*((team,) if by_team else ()), _owner_name(out, key, rep), e, w, e + w]
               for (_, team, key, rep), (e, w) in counts.items()]
    n = len(lead)
    total = [out.label("out.total"), *([None] * n), *(sum(r[i] for r in summary) for i in (n + 1, n + 2, n + 3))]
    row = out.table("company_problems_by_rep" if by_team else "problems_by_rep", layout.PROBLEMS.section_row,
                    (*lead, "rep", "errors", "warnings", "problem_count"), summary, total=total)
    row = _by_column(out, [e[-1] for e in entries], row)

    # The sentence last, where it runs on to the right: no row needs to grow, however many there are.
    columns = (*lead, "rep", "id", "customer", "severity", "sheet", "row", "column", "value", "message")
    # Worked out once per kind of problem and per severity: an imported table may bring tens of thousands.
    messages = problem_messages([e[-1] for e in entries], lang)
    severity = {s: out.label(f"severity.{s}") for s in {e[-1].severity for e in entries}}
    values = [*([[e[4] for e in entries]] if by_team else []),
              [_owner_name(out, e[1], e[5]) for e in entries], [e[6] for e in entries],
              [e[7] for e in entries], [severity[e[-1].severity] for e in entries],
              *([getattr(e[-1], a) for e in entries] for a in ("sheet", "row", "column")),
              [None if e[-1].value is None else display_value(e[-1].value) for e in entries], messages]
    styles: list = [style_for(c) for c in columns]
    # Most entries are warnings; each entry's severity in its own colour.
    styles[n + 3] = [_SEVERITY_STYLE.get(e[-1].severity, "text") for e in entries]
    out.column_table("company_problems" if by_team else "problems", row, columns, values, styles)
    widths = (14, 12, 20, 14, 12, 8, 16, 18, 80)
    out.sheet.widths.update({i + 1: w for i, w in enumerate(((16,) if by_team else ()) + widths)})
    return out
