"""The methodology as the 阶段设置 sheet shows it: a meta block, a stages table and a criteria table (win rates in
percent, synonyms in one cell), read back into a Methodology with every mistake named by sheet, table and row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from funnel_xl.domain.columns import CRITERIA, STAGES, ColumnKeys
from funnel_xl.domain.methodology.model import Methodology
from funnel_xl.domain.methodology.validate import (
    CRITERION_KEYS, Locator, from_percent, methodology_faults, to_percent, validate_methodology,
)
from funnel_xl.domain.parsing import parse_bool
from funnel_xl.errors import InputError

# Columns of the two tables on the 阶段设置 sheet the user edits (win_rate in percent, as in the TOML files): live
# views of the column registry.
STAGE_TABLE_COLUMNS: Sequence[str] = ColumnKeys(STAGES)
CRITERIA_TABLE_COLUMNS: Sequence[str] = ColumnKeys(CRITERIA)
META_KEYS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en")

# Separators a user may type between synonyms in one cell: the Chinese enumeration comma and both commas.
_SYNONYM_SPLIT = re.compile(r"[、,，]")
_SYNONYM_JOIN = "\u3001"
# The "required" column's own words, besides every yes/no answer (parse_bool); a blank cell means required, as
# an omitted key does in TOML.
_REQUIRED_WORDS = {"required": True, "必须": True, "optional": False, "可选": False}


class _TableLocator(Locator):
    """Names places on the 阶段设置 sheet: the table, its row (as the user sees it) and the stage."""

    def __init__(self, sheet: str | None, stage_rows: list, criterion_rows: list[list]) -> None:
        self.prefix = f"sheet {sheet}, " if sheet else ""
        self.top = f"{self.prefix}methodology settings"
        self.stage_list = f"{self.prefix}stages table"
        self.stage_rows = stage_rows
        self.criterion_rows = criterion_rows

    def stage(self, i: int, key: object) -> str:
        named = f" (stage {key!r})" if isinstance(key, str) and key else ""
        return f"{self.prefix}stages table, row {self.stage_rows[i]}{named}"

    def criterion(self, i: int, stage_key: object, j: int, key: object) -> str:
        named = f" (criterion {key!r} of stage {stage_key!r})" if isinstance(key, str) and key else ""
        return f"{self.prefix}criteria table, row {self.criterion_rows[i][j]}{named}"


def methodology_from_tables(
    meta: Mapping[str, Any],
    stages: pd.DataFrame,
    criteria: pd.DataFrame,
    source: str,
    *,
    sheet: str | None = None,
) -> Methodology:
    """Build and validate a methodology from the 阶段设置 sheet's tables, as the user edited them in Excel.

    ``stages`` has STAGE_TABLE_COLUMNS (win_rate in percent, synonyms separated by 、 or a comma),
    ``criteria`` has CRITERIA_TABLE_COLUMNS (required: bool, 是/否 or yes/no; blank means required).
    Stage order is row order. Errors name ``sheet`` (pass the visible sheet name, e.g. the label
    ``sheet.stages``) and the row: the frames' index labels, so the reader should index them by sheet row.
    Columns the tool does not know are the user's own and are ignored.
    """
    faults = methodology_faults(source)
    prefix = f"sheet {sheet}, " if sheet else ""
    for name, frame, needed in (
        ("stages", stages, ("key", "zh", "en", "win_rate")),
        ("criteria", criteria, ("stage_key", "key", "zh", "en")),
    ):
        for column in needed:
            if column not in frame.columns:
                faults.add(f"{prefix}{name} table", f"column {column!r} is missing")
    faults.raise_if_any()

    raw: dict[str, Any] = {k: _cell(meta.get(k)) for k in META_KEYS if _cell(meta.get(k)) is not None}
    stage_rows: list = []
    raw_stages: list[dict[str, Any]] = []
    first_stage_with_key: dict[str, int] = {}
    for row, record in zip(stages.index, stages.to_dict("records")):
        entry = {k: _cell(record.get(k)) for k in STAGE_TABLE_COLUMNS}
        entry["win_rate"] = _number_cell(entry["win_rate"])
        entry["ideal_share"] = _number_cell(entry["ideal_share"], percent_sign_divides=True)
        if isinstance(entry["synonyms"], str):
            entry["synonyms"] = [p.strip() for p in _SYNONYM_SPLIT.split(entry["synonyms"]) if p.strip()]
        entry = {k: v for k, v in entry.items() if v is not None}
        entry["criteria"] = []
        if isinstance(entry.get("key"), str):
            first_stage_with_key.setdefault(entry["key"], len(raw_stages))
        raw_stages.append(entry)
        stage_rows.append(_row_label(row))
    criterion_rows: list[list] = [[] for _ in raw_stages]
    for row, record in zip(criteria.index, criteria.to_dict("records")):
        stage_key = _cell(record.get("stage_key"))
        entry = {k: _cell(record.get(k)) for k in CRITERION_KEYS}
        entry["required"] = _flag_cell(entry["required"])
        entry = {k: v for k, v in entry.items() if v is not None}
        where = f"{prefix}criteria table, row {_row_label(row)}"
        if stage_key is None:
            faults.add(where, "stage_key is empty: name the stage this criterion belongs to")
        elif stage_key not in first_stage_with_key:
            known = ", ".join(repr(s.get("key")) for s in raw_stages if isinstance(s.get("key"), str))
            faults.add(where, f"stage_key {stage_key!r} is not a stage of the stages table (stages: {known})")
        else:
            i = first_stage_with_key[stage_key]
            raw_stages[i]["criteria"].append(entry)
            criterion_rows[i].append(_row_label(row))
    raw["stages"] = raw_stages
    return validate_methodology(raw, _TableLocator(sheet, stage_rows, criterion_rows), faults)


def methodology_to_tables(m: Methodology) -> tuple[dict[str, str], pd.DataFrame, pd.DataFrame]:
    """The 阶段设置 sheet's content for a methodology: (meta, stages table, criteria table); the reverse of
    ``methodology_from_tables``. Win rates are written in percent, synonyms joined with 、."""
    meta = {"key": m.key, "zh": m.zh, "en": m.en, "description_zh": m.description_zh,
            "description_en": m.description_en}
    stages = pd.DataFrame(
        [
            {
                "key": s.key, "zh": s.zh, "en": s.en, "win_rate": to_percent(s.win_rate),
                "ideal_share": s.ideal_share, "synonyms": _SYNONYM_JOIN.join(s.synonyms),
                "main_work_zh": s.main_work_zh, "main_work_en": s.main_work_en,
                "owner_zh": s.owner_zh, "owner_en": s.owner_en,
            }
            for s in m.stages
        ],
        columns=list(STAGE_TABLE_COLUMNS),
    )
    stages["win_rate"] = stages["win_rate"].astype("float64")
    stages["ideal_share"] = stages["ideal_share"].astype("float64")
    criteria = pd.DataFrame(
        [
            {"stage_key": s.key, "key": c.key, "zh": c.zh, "en": c.en, "required": c.required}
            for s in m.stages
            for c in s.criteria
        ],
        columns=list(CRITERIA_TABLE_COLUMNS),
    )
    criteria["required"] = criteria["required"].astype(bool)
    return meta, stages, criteria


# --- worksheet cells --------------------------------------------------------------------------------------


def _cell(value: object) -> Any:
    """A worksheet cell as a plain Python value; blank cells (None, NaN, NA, empty text) become None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalar -> Python scalar
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _number_cell(value: object, percent_sign_divides: bool = False) -> Any:
    """Numbers typed as text are read as numbers; anything else is left for the validator.

    For win_rate (a percent column) '35%' is 35; for ideal_share (a fraction column) '30%' is 0.30.
    """
    if isinstance(value, str):
        text = value.removesuffix("%").strip()
        try:
            number = float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            return value
        return from_percent(number) if percent_sign_divides and value.endswith("%") else number
    return value


def _flag_cell(value: object) -> Any:
    """The required column's cell: any yes/no answer (是/否, yes/no, true/false, 1/0, ...) or required/optional
    (必须/可选); blank means required. Anything else goes to the validator, which says what is expected."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().casefold() in _REQUIRED_WORDS:
        return _REQUIRED_WORDS[value.strip().casefold()]
    try:
        return parse_bool(value)
    except InputError:
        return value


def _row_label(label: object) -> Any:
    if hasattr(label, "item"):
        label = label.item()
    return label
