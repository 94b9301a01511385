"""Builders for clean opportunity frames and small methodologies, shared by the domain figure tests.

``make_opps`` fills every canonical column a test does not care about, so a test shows only the
fields its figure depends on. ``opportunity_frames`` is the Hypothesis strategy for property tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
from hypothesis import strategies as st

from funnel_xl.domain.columns import AMOUNT, DATE, OPPORTUNITIES, USER, columns
from funnel_xl.domain.kinds import KINDS
from funnel_xl.domain.methodology import Methodology, Stage
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS

_DEFAULTS: dict[str, object] = {
    "customer": "Customer",
    "project": "Project",
    "rep": "Li",
    "project_manager": None,
    "region": "East",
    "product": "ERP",
    "amount": 100_000.0,
    "close_date": "2026-12-15",
    "status": "open",
    "created_date": "2026-01-05",
    "stage_entered_date": None,
    "category": None,
    "priority": None,
    "customer_size": None,
    "new_customer": None,
    "competitors": None,
    "notes": None,
}


def make_opps(rows: Iterable[Mapping[str, object]], methodology: Methodology | None = None) -> pd.DataFrame:
    """A clean opportunities frame from a few dicts (dates as ISO text), through ``with_rates`` if given a methodology.

    Each row needs a ``stage``; ``id`` defaults to O1, O2, ... in row order.
    """
    records = []
    for i, row in enumerate(rows, start=1):
        record = {"id": f"O{i}", **_DEFAULTS, **row}
        records.append(record)
    frame = typed(pd.DataFrame.from_records(records, columns=list(OPPORTUNITY_COLUMNS)), OPPORTUNITIES)
    return frame if methodology is None else with_rates(frame, methodology)


def typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """The registry columns of ``table`` in ``frame`` typed as the normaliser types them: dates, amounts, keywords."""
    for spec in columns(table, owner=USER):
        if spec.kind == DATE:
            frame[spec.key] = pd.to_datetime(frame[spec.key])
        elif spec.kind == AMOUNT:
            frame[spec.key] = frame[spec.key].astype("float64")
        elif KINDS[spec.kind].values:
            frame[spec.key] = frame[spec.key].astype(KINDS[spec.kind].dtype)
    return frame


def make_methodology(rates: Sequence[float], ideal_shares: Sequence[float | None] | None = None,
                     key: str = "test") -> Methodology:
    """A bare methodology with stages s1, s2, ... at the given win rates (fractions)."""
    shares = list(ideal_shares) if ideal_shares is not None else [None] * len(rates)
    stages = tuple(
        Stage(key=f"s{i}", order=i, zh=f"s{i}", en=f"Stage {i}", win_rate=float(rate), ideal_share=share)
        for i, (rate, share) in enumerate(zip(rates, shares, strict=True), start=1)
    )
    return Methodology(key=key, zh=key, en=key, stages=stages)


AS_OF = dt.date(2026, 11, 20)
REPS = ("Li", "Wang", "Zhao", "Chen")


@st.composite
def funnels_with_opportunities(draw, as_of: dt.date = AS_OF, max_rows: int = 30):
    """A 4-stage methodology with random rates 0-1 and a clean opportunities frame through ``with_rates``.

    Won deals close on or before ``as_of`` (a signed deal's date is in the past); open and lost ones
    anywhere from two years before to two years after.
    """
    rates = draw(st.lists(st.floats(0, 1), min_size=4, max_size=4))
    methodology = make_methodology(rates)
    n = draw(st.integers(0, max_rows))
    rows = []
    for i in range(n):
        status = draw(st.sampled_from(("open", "won", "lost")))
        latest = as_of if status == "won" else as_of + dt.timedelta(days=730)
        rows.append({
            "id": f"H{i}",
            "rep": draw(st.sampled_from(REPS)),
            "product": draw(st.sampled_from(("ERP", "CRM", None))),
            "amount": draw(st.floats(0, 1e9, allow_nan=False)),
            "stage": draw(st.sampled_from(methodology.stage_keys)),
            "status": status,
            "close_date": draw(st.dates(as_of - dt.timedelta(days=730), latest)).isoformat(),
            "category": draw(st.sampled_from((None, None, "commit", "intent", "likely_next_quarter"))),
        })
    return methodology, make_opps(rows, methodology)
