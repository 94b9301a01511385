"""Data validation of the input tables, by column kind: dropdowns, 是/否, amounts not negative, dates in a span.

Each sheet hands over its registry columns with their positions; the rule of a column follows from its kind, so a
new column of a known kind gets its dropdown or check without a line here. Rules are added kind by kind (dropdowns
first, then numbers and dates), the order Excel lists them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from xlsxwriter.worksheet import Worksheet

from funnel_xl.domain.columns import (
    AMOUNT, CATEGORY, CUSTOMER_SIZE, DATE, PERCENT, PRIORITY, REP, STAGE, STATUS, USER, YES_NO, ColumnSpec,
)
from funnel_xl.domain.kinds import KINDS
from funnel_xl.workbook.sheets.context import BuildContext

LATEST_DATE = dt.date(2100, 1, 1)
# The message (label key) Excel shows when a cell of the kind refuses a value.
_MESSAGES = {STAGE: "validation.stage", REP: "validation.rep", STATUS: "validation.status",
             CATEGORY: "validation.category", PRIORITY: "validation.priority", CUSTOMER_SIZE: "validation.size",
             YES_NO: "validation.yes_no", AMOUNT: "validation.amount", DATE: "validation.date",
             PERCENT: "validation.win_rate"}


def add_validations(ctx: BuildContext, sheet: Worksheet, placed: Sequence[tuple[int, ColumnSpec]], first: int,
                    last: int, *, earliest: dt.date | None = None, lists: Mapping[str, str] | None = None,
                    yes_no_blocks: Sequence[tuple[int, int]] = ()) -> None:
    """Validate rows ``first``..``last`` of each user column in ``placed`` (sheet column, spec) by its kind.

    ``earliest`` is the first date a date column takes (None: dates are not checked); ``lists`` gives the source
    of the dropdowns whose choices live in the workbook (a defined name per kind); ``yes_no_blocks`` are column
    spans (the checklist) that take one 是/否 rule, placed after the yes/no columns.
    """
    for kind in KINDS:
        for col, spec in placed:
            if spec.kind != kind or spec.owner != USER:
                continue
            rule = _rule(ctx, kind, earliest, lists or {})
            if rule is not None:
                sheet.data_validation(first, col, last, col, rule)
        if kind == YES_NO:
            for start, end in yes_no_blocks:
                sheet.data_validation(first, start, last, end, _rule(ctx, YES_NO, earliest, {}))


def _rule(ctx: BuildContext, kind: str, earliest: dt.date | None, lists: Mapping[str, str]) -> dict | None:
    if kind not in _MESSAGES:
        return None
    refuse = {"error_title": ctx.label("validation.title"), "error_message": ctx.label(_MESSAGES[kind])}
    if kind in lists:
        return {"validate": "list", "source": lists[kind], **refuse}
    if kind == YES_NO:
        return {"validate": "list", "source": [ctx.label("out.yes"), ctx.label("out.no")], **refuse}
    if KINDS[kind].values:
        labels = KINDS[kind].labels
        return {"validate": "list", "source": [ctx.label(f"{labels}.{v}") for v in KINDS[kind].values], **refuse}
    if kind == AMOUNT:
        return {"validate": "decimal", "criteria": ">=", "value": 0, **refuse}
    if kind == PERCENT:
        return {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1, **refuse}
    if kind == DATE and earliest is not None:
        return {"validate": "date", "criteria": "between", "minimum": earliest, "maximum": LATEST_DATE, **refuse}
    return None
