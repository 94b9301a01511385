"""数据问题: every value that could not be used, put before the person who must fix it.

Each entry names the deal (商机编号, customer) and its rep beside the sheet, row and column, in one sentence; the
entries are sorted by rep (the reps table's order, the unassigned and the problems of no deal last), errors before
warnings, with each rep's count of errors and warnings at the top.
"""

from __future__ import annotations

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


def problems_sheet(problems: list[Problem], lang: str, stamp: str, owners: dict[tuple, tuple] | None = None,
                   rep_order: list[str] | None = None) -> SheetLayout:
    out = SheetLayout("problems", lang, stamp)
    owners, rank = owners or {}, _rep_rank(list(rep_order or []))
    entries = []
    for p in problems:
        deal, customer, rep = owners.get((p.sheet, p.row), (None, None, None))
        entries.append((rank(rep, deal), _SEVERITY_ORDER.get(p.severity, 2), p.row or 0, rep, deal, customer, p))
    entries.sort(key=lambda e: e[:3])

    counts: dict = {}
    for key, _, _, rep, *_, p in entries:
        counts.setdefault((key, rep), [0, 0])[0 if p.severity == "error" else 1] += 1
    summary = [[_owner_name(out, key, rep), e, w, e + w] for (key, rep), (e, w) in counts.items()]
    row = out.table("problems_by_rep", layout.PROBLEMS.section_row, ("rep", "errors", "warnings", "problem_count"),
                    summary,
                    total=[out.label("out.total"), *(sum(r[i] for r in summary) for i in (1, 2, 3))])

    # The sentence last, where it runs on to the right: no row needs to grow, however many there are.
    columns = ("rep", "id", "customer", "severity", "sheet", "row", "column", "value", "message")
    # Worked out once per kind of problem and per severity: an imported table may bring tens of thousands.
    messages = problem_messages([e[-1] for e in entries], lang)
    severity = {s: out.label(f"severity.{s}") for s in {e[-1].severity for e in entries}}
    values = [[_owner_name(out, key, rep) for key, _, _, rep, *_ in entries], [e[4] for e in entries],
              [e[5] for e in entries], [severity[e[-1].severity] for e in entries],
              *([getattr(e[-1], a) for e in entries] for a in ("sheet", "row", "column")),
              [None if e[-1].value is None else display_value(e[-1].value) for e in entries], messages]
    styles: list = [style_for(c) for c in columns]
    # Most entries are warnings; each entry's severity in its own colour.
    styles[3] = [_SEVERITY_STYLE.get(e[-1].severity, "text") for e in entries]
    out.column_table("problems", row, columns, values, styles)
    out.sheet.widths.update({1: 14, 2: 12, 3: 20, 4: 14, 5: 12, 6: 8, 7: 16, 8: 18, 9: 80})
    return out
