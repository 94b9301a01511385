"""What a form carries, independent of the spreadsheet file: one opportunity's header, answers and token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

FORM_MARKER = "funnel_xl.assessment"   # first value of every form's hidden block
MARK = "\u25cf"                        # ● marks the current stage


@dataclass(frozen=True)
class FormData:
    """The master row a form is made from: header texts, current stage key, answers by criterion key, notes."""

    opportunity_id: str
    customer: str
    project: str
    rep: str
    project_manager: str
    product: str
    amount: float | None
    stage: str | None
    answers: dict[str, bool | None]
    notes: str
    token: str
    # The stage the answers support, when the caller worked it out for many forms at once (derive_stages);
    # otherwise the writer derives it per form.
    derived_stage: str | None = None
    derived_given: bool = False


@dataclass(frozen=True)
class Milestone:
    """One roadmap milestone as the rep's quota sheet shows it (labels already in the workbook's language)."""

    phase: str
    milestone: str
    target: float | None
    actual: float | None
    met: bool | None
    is_ratio: bool = False   # coverage and attainment are shown as percent; counts and amounts as numbers


@dataclass(frozen=True)
class QuotaData:
    """A rep's own figures for the quota sheet in their form workbook (values only)."""

    rep: str
    as_of: dt.date
    quota: float | None
    achieved: float | None
    attainment: float | None
    weighted: float | None
    coverage: float | None
    proposal: float | None
    milestones: tuple[Milestone, ...] = field(default=())
