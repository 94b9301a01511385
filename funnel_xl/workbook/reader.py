"""Read the input tables of a workbook (through any port) into the canonical raw frames the domain normalises."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from funnel_xl.domain.columns import CRITERIA, META, OPPORTUNITIES, STAGES, USER, columns
from funnel_xl.domain.kinds import KINDS
from funnel_xl.domain.methodology import Methodology, methodology_from_tables
from funnel_xl.domain.schema import CHECKLIST_PREFIX, Problem
from funnel_xl.domain.settings import ForecastSettings, read_settings
from funnel_xl.errors import WorkbookFormatError
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.workbook import contract
from funnel_xl.workbook.port import RawTable, WorkbookPort


@dataclass(frozen=True)
class Inputs:
    """What the user typed, keyed canonically; index = the sheet row numbers, for pointing back."""

    methodology: Methodology
    language: str
    opportunities: pd.DataFrame
    reps: pd.DataFrame
    opportunity_sheet: str
    rep_sheet: str
    opportunity_labels: dict[str, str]   # canonical column -> header the user sees
    rep_labels: dict[str, str]
    problems: list[Problem] = field(default_factory=list)
    settings: ForecastSettings = ForecastSettings()


def _rename(table: RawTable, mapping: dict[str, str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Keep only known columns, renamed to canonical keys; user-added columns are left alone in the sheet."""
    keep = {h: mapping[h] for h in table.frame.columns if h in mapping}
    frame = table.frame.loc[:, list(keep)].rename(columns=keep)
    return frame, {v: k for k, v in keep.items()}


def _percent_cell(value):
    """A percent-formatted cell holds a fraction (35 % is 0.35); the methodology writes percent. Text is left for
    the methodology's own check, which names the cell."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return value * 100


def _meta(book: WorkbookPort) -> tuple[dict, dict, str]:
    """tblMethodology's values by field, the sheet row of each, and the sheet it is on."""
    meta_table = book.read_table(contract.TABLE_META)
    meta_frame, _ = _rename(meta_table, contract.headers_to_keys(META))
    item_to_field = {label(f"meta.{f}", lang): f for f in contract.META_FIELDS for lang in LANGUAGES}
    item_to_field.update({f: f for f in contract.META_FIELDS})
    meta, rows = {}, {}
    for row, item, value in zip(meta_frame.index, meta_frame.get("item", []), meta_frame.get("value", [])):
        if isinstance(item, str) and item.strip() in item_to_field:
            meta[item_to_field[item.strip()]] = value
            rows[item_to_field[item.strip()]] = row
    return meta, rows, meta_table.sheet


def read_methodology(book: WorkbookPort, source: str) -> tuple[Methodology, str]:
    meta, _, _ = _meta(book)
    return _methodology(book, source, meta)


def _methodology(book: WorkbookPort, source: str, meta: dict) -> tuple[Methodology, str]:
    language = meta.get("language") if meta.get("language") in LANGUAGES else "zh-CN"
    stages_table = book.read_table(contract.TABLE_STAGES)
    stages, _ = _rename(stages_table, contract.headers_to_keys(STAGES))
    if "win_rate" in stages.columns:
        stages["win_rate"] = stages["win_rate"].map(_percent_cell)
    criteria, _ = _rename(book.read_table(contract.TABLE_CRITERIA), contract.headers_to_keys(CRITERIA))
    methodology = methodology_from_tables(meta, stages, criteria, source, sheet=stages_table.sheet)
    return methodology, language


def read_inputs(book: WorkbookPort, source: str) -> Inputs:
    """Read 阶段设置, 商机 and 销售人员 through the port."""
    meta, meta_rows, meta_sheet = _meta(book)
    methodology, language = _methodology(book, source, meta)
    settings, problems = read_settings(meta, sheet=meta_sheet, rows=meta_rows,
                                       labels={f: label(f"meta.{f}", language) for f in contract.SETTING_FIELDS})
    headers: dict[str, str] = {}
    for lang in (language, *[l for l in LANGUAGES if l != language]):
        for col in contract.opportunity_columns(methodology, lang):
            headers.setdefault(col.header.strip(), col.key)
    # Columns of a text kind are read as text, without guessing (nothing is lost that way, and it is faster).
    text_keys = {c.key for c in columns(OPPORTUNITIES, owner=USER) if KINDS[c.kind].read_as_text}
    text_headers = frozenset(h for h, key in headers.items() if key in text_keys or key.startswith(CHECKLIST_PREFIX))
    opp_table = book.read_table(contract.TABLE_OPPORTUNITIES, text_columns=text_headers)
    opps, opp_labels = _rename(opp_table, headers)
    opps = opps.drop(columns=[c for c in contract.DERIVED_OPPORTUNITY_COLUMNS if c in opps.columns])
    rep_headers = {c.header: c.key for lang in LANGUAGES for c in contract.rep_columns(lang)}
    rep_table = book.read_table(contract.TABLE_REPS)
    reps, rep_labels = _rename(rep_table, rep_headers)
    if "id" not in opps.columns:
        raise WorkbookFormatError(
            f"{source}: table {contract.TABLE_OPPORTUNITIES} on sheet {opp_table.sheet} has no "
            f"{contract.opportunity_header('id', language)!r} column"
        )
    return Inputs(methodology, language, opps, reps, opp_table.sheet, rep_table.sheet, opp_labels, rep_labels,
                  problems, settings)
