"""What a form carries, independent of the spreadsheet file: one opportunity's header, answers, token and seal.

Which opportunity columns a form's header shows comes from the column registry (``ColumnSpec.form``, the header
slot of the column).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from funnel_xl.domain.columns import OPPORTUNITIES, ColumnSpec, columns
from funnel_xl.domain.kinds import kind_of
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank, parse_bool, parse_text
from funnel_xl.domain.schema import checklist_column
from funnel_xl.errors import InputError
from funnel_xl.forms.version import seal
from funnel_xl.workbook.ooxml import clean_text

FORM_MARKER = "funnel_xl.assessment"   # first value of every form's hidden block
MARK = "\u25cf"                        # ● marks the current stage


@dataclass(frozen=True)
class FormData:
    """The master row a form is made from: the texts its header shows (by column key), the current stage key,
    answers by criterion key, the notes, the row's version token and the seal binding id, rep and token."""

    fields: Mapping[str, str]
    stage: str | None
    answers: dict[str, bool | None]
    notes: str
    token: str
    seal: str
    # The stage the answers support, when the caller worked it out for many forms at once (derive_stages);
    # otherwise the writer derives it per form.
    derived_stage: str | None = None
    derived_given: bool = False
    # The fields a rep may correct on the form: the value that reads (a float, a date, a status key) or, where the
    # master's cell does not read, its text as typed, so the rep sees what recalc could not use.
    amount: Any = None
    close_date: Any = None
    status: Any = None
    # What recalc reported on the row, in the workbook's language (shown on the form; empty for a clean row).
    problems: tuple[str, ...] = ()

    @property
    def opportunity_id(self) -> str:
        return self.fields.get("id", "")

    @property
    def rep(self) -> str:
        return self.fields.get("rep", "")


def form_columns() -> tuple[ColumnSpec, ...]:
    """The opportunity columns a form's header shows: those the registry gives a form slot (``ColumnSpec.form``)."""
    return tuple(spec for spec in columns(OPPORTUNITIES) if spec.form is not None)


# The master columns a rep may correct on the form, in the order the form shows them.
EDITABLE = ("amount", "close_date", "status")


def form_data(row: Mapping[str, Any], m: Methodology, token: str, key: bytes, derived_stage: str | None = None,
              *, derived_given: bool = True, problems: tuple[str, ...] = ()) -> FormData:
    """What a form carries of one master row, sealed with the master's ``key``: a clean row, or (with the
    ``problems`` recalc found) a row as typed, each cell read where it reads and kept as text where it does not;
    ``derived_stage`` is the stage its answers support (``derived_given=False``: the writer works it out)."""
    answers = {c.key: _lenient(row.get(checklist_column(c.key)), parse_bool) for c in m.criteria()}
    fields = {spec.key: parse_text(row.get(spec.key)) or "" for spec in form_columns()}
    sealed = seal(key, *block_identity(fields.get("id", ""), fields.get("rep", "")), token)
    editable = {k: _lenient(row.get(k), kind_of(k).parse, keep_text=True) for k in EDITABLE}
    if isinstance(editable["close_date"], dt.datetime):
        editable["close_date"] = editable["close_date"].date()
    stage = row.get("stage")
    return FormData(fields, m.resolve_stage(stage) if stage is not None else None,
                    {k: (v if isinstance(v, bool) else None) for k, v in answers.items()},
                    parse_text(row.get("notes")) or "", token, sealed, derived_stage, derived_given,
                    problems=problems, **editable)


def _lenient(value: Any, parse, keep_text: bool = False) -> Any:
    """``value`` read by ``parse``; a blank is None, and a value that does not read is its text (``keep_text``)
    or None."""
    if is_blank(value):
        return None
    try:
        return parse(value)
    except (InputError, ValueError, TypeError):
        return parse_text(value) if keep_text else None


def block_identity(opportunity: str, rep: str) -> tuple[str, str]:
    """The opportunity id and rep as a form's hidden block holds them (what XML cannot hold replaced, as written),
    so the seal made when sending and the one checked when collecting cover the same texts."""
    return clean_text(opportunity), clean_text(rep)


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
