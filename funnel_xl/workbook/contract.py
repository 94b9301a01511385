"""The workbook contract: sheet keys, table names, column headers, in either language.

Code finds data by table name and header, never by address, so a user who moves a table, adds rows or adds a
column of their own breaks nothing. Headers come from the label catalogue; checklist headers are generated from
the methodology so the reader can map each back to its criterion key.
"""

from __future__ import annotations

from dataclasses import dataclass

from funnel_xl.domain.methodology import Criterion, Methodology, Stage
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, checklist_column
from funnel_xl.labels import check_language, label

# Sheets in the order the workbook shows them.
SHEET_KEYS: tuple[str, ...] = (
    "guide", "stages", "opportunities", "reps",
    "forecast", "funnel", "quota", "progress", "problems", "audit", "examples",
)
INPUT_SHEETS: tuple[str, ...] = ("stages", "opportunities", "reps")
OUTPUT_SHEETS: tuple[str, ...] = ("forecast", "funnel", "quota", "progress", "problems", "audit")
CONFIG_SHEET = "xlwings.conf"      # name fixed by xlwings
STYLES_SHEET = "_styles"           # hidden: the style palette output sheets take their formats from

# ListObject names (language independent, so a translated workbook keeps working).
TABLE_STAGES = "tblStages"
TABLE_CRITERIA = "tblCriteria"
TABLE_OPPORTUNITIES = "tblOpportunities"
TABLE_REPS = "tblReps"
TABLE_META = "tblMethodology"      # key/value: methodology key, names, language

# Derived columns appended to the opportunities table (live formulas with cached values).
DERIVED_OPPORTUNITY_COLUMNS: tuple[str, ...] = ("win_rate", "weighted", "amount_wan", "derived_stage", "stage_gap")


def sheet_name(key: str, lang: str = "zh-CN") -> str:
    """The visible name of a sheet."""
    return label(f"sheet.{key}", check_language(lang))


def opportunity_header(column: str, lang: str = "zh-CN") -> str:
    """Header text of a canonical opportunity column or a derived column."""
    if column in DERIVED_OPPORTUNITY_COLUMNS:
        return label(f"col.{column}", lang)
    return label(f"field.{column}", lang)


def rep_header(column: str, lang: str = "zh-CN") -> str:
    return label(f"rep_field.{column}", lang)


def checklist_header(stage: Stage, index: int, criterion: Criterion, lang: str = "zh-CN") -> str:
    """Header of a checklist column: '<stage order>.<n> <criterion text>' (unique and readable).

    The number makes the header unique even where two criteria share words; the reader matches the whole
    header against the methodology, so an edited criterion text shows up as an unknown column, not a silent
    mismatch.
    """
    return f"{stage.order}.{index} {criterion.text(lang)}"


@dataclass(frozen=True)
class Column:
    """One column of an input table: its canonical key and the header the user sees."""

    key: str
    header: str


# The derived columns stand right after the status, beside the stage the rep claims: the assessed stage and the
# gap are the rep/manager disagreement made visible, so they must not sit thirty columns away.
DERIVED_AFTER = "status"


def opportunity_columns(methodology: Methodology, lang: str = "zh-CN") -> list[Column]:
    """All columns of tblOpportunities in order: fields (derived ones after the status), then the checklist."""
    cols = []
    for c in OPPORTUNITY_COLUMNS:
        cols.append(Column(c, opportunity_header(c, lang)))
        if c == DERIVED_AFTER:
            cols += [Column(d, opportunity_header(d, lang)) for d in DERIVED_OPPORTUNITY_COLUMNS]
    for stage in methodology.stages:
        for i, criterion in enumerate(stage.criteria, start=1):
            cols.append(Column(checklist_column(criterion.key), checklist_header(stage, i, criterion, lang)))
    return cols


def rep_columns(lang: str = "zh-CN") -> list[Column]:
    return [Column(c, rep_header(c, lang)) for c in REP_COLUMNS]


# 阶段设置: the methodology as three tables the user may edit. Canonical column -> label key.
# The win-rate and ideal-share cells hold fractions shown as percentages (35 %), as Excel stores a percent.
STAGE_TABLE_HEADERS: dict[str, str] = {
    "key": "col.stage_key", "zh": "col.stage_zh", "en": "col.stage_en", "win_rate": "col.stage_win_rate",
    "ideal_share": "col.ideal_share", "synonyms": "col.synonyms", "main_work_zh": "col.main_work_zh",
    "main_work_en": "col.main_work_en", "owner_zh": "col.owner_zh", "owner_en": "col.owner_en",
}
CRITERIA_TABLE_HEADERS: dict[str, str] = {
    "stage_key": "col.criterion_stage", "key": "col.criterion_key", "zh": "col.criterion_zh",
    "en": "col.criterion_en", "required": "col.criterion_required",
}
# tblMethodology: two columns (item, value); one row per meta field, the item cell holds the field's key
# (or its label meta.<field>, which the reader accepts too).
META_TABLE_HEADERS: dict[str, str] = {"item": "input.meta_field", "value": "input.meta_value"}
META_FIELDS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en", "language")


def headers_to_keys(mapping: dict[str, str]) -> dict[str, str]:
    """Header text in either language -> canonical column, for a table whose headers come from ``mapping``."""
    from funnel_xl.labels import LANGUAGES

    return {label(lbl, lang).strip(): key for key, lbl in mapping.items() for lang in LANGUAGES}
