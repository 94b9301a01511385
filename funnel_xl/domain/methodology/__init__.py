"""Methodologies (漏斗设置): ordered stages with win rates and checklist criteria, as plain data.

Companies copy a standard one and tune it, so these are parsed from TOML text the user can edit, or from the
阶段设置 sheet where the user edited them in Excel:

- ``model``: Criterion, Stage, Methodology;
- ``validate``: TOML text (and the sheet's tables, in the same shape) checked into a Methodology, every mistake
  named at once;
- ``sheet``: the 阶段设置 tables, both ways;
- ``toml_text``: a methodology written back as TOML.
"""

from funnel_xl.domain.methodology.model import Criterion, Methodology, Stage
from funnel_xl.domain.methodology.sheet import (
    CRITERIA_TABLE_COLUMNS,
    META_KEYS,
    STAGE_TABLE_COLUMNS,
    methodology_from_tables,
    methodology_to_tables,
)
from funnel_xl.domain.methodology.toml_text import methodology_to_toml
from funnel_xl.domain.methodology.validate import CRITERION_KEYS, STAGE_KEYS, TOP_KEYS, parse_methodology

__all__ = [
    "CRITERIA_TABLE_COLUMNS",
    "CRITERION_KEYS",
    "META_KEYS",
    "STAGE_KEYS",
    "STAGE_TABLE_COLUMNS",
    "TOP_KEYS",
    "Criterion",
    "Methodology",
    "Stage",
    "methodology_from_tables",
    "methodology_to_tables",
    "methodology_to_toml",
    "parse_methodology",
]
