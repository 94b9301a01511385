"""The workbook contract: sheet keys, table names, column headers, in either language.

Code finds data by table name and header, never by address, so a user who moves a table, adds rows or adds a
column of their own breaks nothing. Columns and their order come from the column registry (``domain/columns.py``),
headers from the label catalogue; checklist headers are generated from the methodology so the reader can map each
back to its criterion key.
"""

from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Sequence

from funnel_xl.domain.columns import OPPORTUNITIES, REPS, TOOL, USER, ColumnKeys, ColumnSpec, column, columns
from funnel_xl.domain.methodology import Criterion, Methodology, Stage
from funnel_xl.domain.schema import checklist_column
from funnel_xl.labels import LANGUAGES, check_language, label

# Sheets in the order the workbook shows them.
SHEET_KEYS: tuple[str, ...] = (
    "guide", "stages", "opportunities", "reps",
    "forecast", "funnel", "quota", "progress", "problems", "audit", "activity", "examples",
)
OUTPUT_SHEETS: tuple[str, ...] = ("forecast", "funnel", "quota", "progress", "problems", "audit", "activity")
# Rewritten whole by every Recalculate; collect keeps the other two (audit is a log, activity the reps' reports).
RECALCULATED_SHEETS: tuple[str, ...] = OUTPUT_SHEETS[:5]
CONFIG_SHEET = "xlwings.conf"      # name fixed by xlwings
STYLES_SHEET = "_styles"           # hidden: the style palette output sheets take their formats from

# The tool keeps what it owns in a workbook as hidden defined names under this prefix: the key sealing this
# master's assessment forms (see forms/version.py), and a fingerprint of each output sheet it wrote. None of them
# leaves the master (the export drops them; forms and quota sheets are new workbooks).
TOOL_NAME_PREFIX = "_funnel_xl_"
FORM_KEY_NAME = TOOL_NAME_PREFIX + "form_key"

# ListObject names (language independent, so a translated workbook keeps working).
TABLE_STAGES = "tblStages"
TABLE_CRITERIA = "tblCriteria"
TABLE_OPPORTUNITIES = "tblOpportunities"
TABLE_REPS = "tblReps"
TABLE_META = "tblMethodology"      # key/value: methodology key, names, language

# The tool's columns of the opportunities table (live formulas with cached values): a live view of the registry.
DERIVED_OPPORTUNITY_COLUMNS: Sequence[str] = ColumnKeys(OPPORTUNITIES, owner=TOOL)


def sheet_name(key: str, lang: str = "zh-CN") -> str:
    """The visible name of a sheet."""
    return label(f"sheet.{key}", check_language(lang))


def sheet_language(names: Sequence[str]) -> str:
    """The language a workbook speaks, told by its sheet names before its tables are read (the first progress line
    is already in it): the language whose opportunities sheet it has, Chinese when neither."""
    return next((lang for lang in LANGUAGES if sheet_name("opportunities", lang) in names), "zh-CN")


def header(table: str, key: str, lang: str = "zh-CN") -> str:
    """Header text of a registry column of ``table``."""
    return label(column(table, key).label, lang)


def opportunity_header(key: str, lang: str = "zh-CN") -> str:
    """Header text of an opportunity column, the user's or the tool's."""
    return header(OPPORTUNITIES, key, lang)


def rep_header(key: str, lang: str = "zh-CN") -> str:
    return header(REPS, key, lang)


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


def opportunity_columns(methodology: Methodology, lang: str = "zh-CN") -> list[Column]:
    """All columns of tblOpportunities in order: the registry's (the tool's among them), then the checklist."""
    cols = [Column(spec.key, label(spec.label, lang)) for spec in columns(OPPORTUNITIES)]
    for stage in methodology.stages:
        for i, criterion in enumerate(stage.criteria, start=1):
            cols.append(Column(checklist_column(criterion.key), checklist_header(stage, i, criterion, lang)))
    return cols


def rep_columns(lang: str = "zh-CN") -> list[Column]:
    return [Column(spec.key, label(spec.label, lang)) for spec in columns(REPS)]


def shown_columns(table: str, lang: str = "zh-CN") -> list[ColumnSpec]:
    """A table's registry columns in the order a workbook in ``lang`` shows them.

    The registry lists 阶段设置's columns as a Chinese workbook shows them; in another language its text columns
    trade places pairwise with their Chinese twins, so the workbook's own language comes first.
    """
    specs = list(columns(table))
    if check_language(lang) != "zh-CN":
        zh = [i for i, c in enumerate(specs) if c.language == "zh"]
        en = [i for i, c in enumerate(specs) if c.language == "en"]
        for i, j in zip(zh, en, strict=True):
            specs[i], specs[j] = specs[j], specs[i]
    return specs


# tblMethodology holds one row per meta field (item, value); the item cell holds the field's key (or its label
# meta.<field>, which the reader accepts too). The last two are the workbook's forecast settings
# (domain/settings.py): the basis (预测依据) and the month the fiscal year starts (财年起始月, blank: January).
META_FIELDS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en", "language", "basis",
                                "fiscal_year_start", "stall_days")
SETTING_FIELDS: tuple[str, ...] = ("basis", "fiscal_year_start", "stall_days")


def header_labels(table: str) -> dict[str, str]:
    """Canonical column -> label key, for the columns of ``table`` the user edits (the ones read back)."""
    return {spec.key: spec.label for spec in columns(table, owner=USER)}


def headers_to_keys(table: str) -> dict[str, str]:
    """Header text in either language -> canonical column, for the columns of ``table`` the user edits."""
    return {label(lbl, lang).strip(): key for key, lbl in header_labels(table).items() for lang in LANGUAGES}
