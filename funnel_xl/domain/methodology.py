"""Methodologies (漏斗设置): ordered stages with win rates and checklist criteria, as plain data.

The seed calls the stages the funnel's body (身体) and the win rates its brain (大脑). Companies copy
a standard one and tune it, so these are parsed from TOML text the user can edit.
"""

from __future__ import annotations

import difflib
import math
from decimal import Decimal
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from funnel_xl.domain.columns import CRITERIA, STAGES, ColumnKeys
from funnel_xl.errors import MethodologyError


@dataclass(frozen=True)
class Criterion:
    """One observable exit criterion (阶段特征 / 评估标准) of a stage: a yes/no checklist item."""

    key: str
    zh: str
    en: str
    required: bool = True

    def text(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Stage:
    """One stage of a methodology; ``win_rate`` is a fraction 0-1 (the file writes percent)."""

    key: str
    order: int
    zh: str
    en: str
    win_rate: float
    criteria: tuple[Criterion, ...] = ()
    synonyms: tuple[str, ...] = ()
    main_work_zh: str = ""
    main_work_en: str = ""
    owner_zh: str = ""
    owner_en: str = ""
    ideal_share: float | None = None  # planned share of open opportunities in this stage (理想漏斗)

    def name(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en

    @property
    def required_criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.required)


@dataclass(frozen=True)
class Methodology:
    """An ordered list of stages. Stage order is the tuple order (order 1 first)."""

    key: str
    zh: str
    en: str
    stages: tuple[Stage, ...]
    description_zh: str = ""
    description_en: str = ""
    source: str = field(default="", compare=False)

    def name(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"stage {key!r} is not in methodology {self.key!r}")

    def rates(self) -> dict[str, float]:
        """Win rate (fraction) by stage key."""
        return {s.key: s.win_rate for s in self.stages}

    def ideal_shares(self) -> dict[str, float | None]:
        """Planned share of open opportunities by stage key (None where the file gives none)."""
        return {s.key: s.ideal_share for s in self.stages}

    def position(self, key: str) -> int:
        """0-based position of a stage key in the funnel."""
        return self.stage_keys.index(key)

    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion of every stage, in stage order."""
        return tuple(c for s in self.stages for c in s.criteria)

    def resolve_stage(self, name: object) -> str | None:
        """The stage key a user's text means (key, zh or en label, or a synonym), or None.

        Matching ignores case and surrounding/inner white space; it never guesses beyond that.
        """
        if name is None:
            return None
        wanted = _fold(str(name))
        if not wanted:
            return None
        for s in self.stages:
            names = (s.key, s.zh, s.en, *s.synonyms)
            if any(_fold(n) == wanted for n in names):
                return s.key
        return None


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


# --- Parsing and validation -------------------------------------------------------------------------------
# TOML text and the 阶段设置 worksheet tables are both turned into the same raw, TOML-shaped dict; one
# validator turns that into a Methodology or raises one MethodologyError listing every mistake, each on its
# own line naming the file (or sheet), the stage and what is wrong.

TOP_KEYS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en", "stages")
STAGE_KEYS: tuple[str, ...] = (
    "key", "zh", "en", "win_rate", "ideal_share", "synonyms",
    "main_work_zh", "main_work_en", "owner_zh", "owner_en", "criteria",
)
CRITERION_KEYS: tuple[str, ...] = ("key", "zh", "en", "required")

# Columns of the two tables on the 阶段设置 sheet the user edits (win_rate in percent, as in the TOML files): live
# views of the column registry.
STAGE_TABLE_COLUMNS: Sequence[str] = ColumnKeys(STAGES)
CRITERIA_TABLE_COLUMNS: Sequence[str] = ColumnKeys(CRITERIA)
META_KEYS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en")

# Keys become column names ("chk:<key>"), table headers and file names, so they stay plain ASCII identifiers.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")
# Separators a user may type between synonyms in one cell: the Chinese enumeration comma and both commas.
_SYNONYM_SPLIT = re.compile(r"[、,，]")
_SYNONYM_JOIN = "\u3001"
# Cell texts accepted for the "required" column; a blank cell means required, as an omitted key does in TOML.
_YES = frozenset({"是", "yes", "y", "true", "required", "必须"})
_NO = frozenset({"否", "no", "n", "false", "optional", "可选"})
_SHARE_TOLERANCE = 1e-9


class _Mistakes:
    """Collects every mistake found, so the user sees them all at once, one line each."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{self.source}: {where}: {what}" if where else f"{self.source}: {what}")

    def raise_if_any(self) -> None:
        if self.lines:
            n = len(self.lines)
            head = f"{self.source}: the methodology is not valid ({n} mistake{'s' if n > 1 else ''}):"
            err = MethodologyError("\n".join([head, *self.lines]))
            err.mistakes = list(self.lines)  # one entry per mistake, for the 数据问题 sheet
            raise err


class _Locator:
    """Names places in a TOML file: 'stage 2 ('potential'), criterion 3 ('x')'."""

    top = ""
    stage_list = ""

    def stage(self, i: int, key: object) -> str:
        return f"stage {i + 1}" + (f" ({key!r})" if isinstance(key, str) and key else "")

    def criterion(self, i: int, stage_key: object, j: int, key: object) -> str:
        return f"{self.stage(i, stage_key)}, criterion {j + 1}" + (
            f" ({key!r})" if isinstance(key, str) and key else ""
        )


class _TableLocator(_Locator):
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


def parse_methodology(text: str, source: str = "<text>") -> Methodology:
    """Parse and validate a methodology from TOML text (win rates in percent), naming ``source`` in errors.

    Pure: the caller reads the file. Raises MethodologyError listing every mistake, one line each.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        where = f"line {found.group(1)}, column {found.group(2)}" if found else ""
        detail = _TOML_LINE.sub("", str(exc)).strip()
        mistakes = _Mistakes(source)
        mistakes.add(where, f"TOML syntax error: {detail}")
        mistakes.raise_if_any()
    return _build(raw, source, _Locator())


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
    mistakes = _Mistakes(source)
    prefix = f"sheet {sheet}, " if sheet else ""
    for name, frame, needed in (
        ("stages", stages, ("key", "zh", "en", "win_rate")),
        ("criteria", criteria, ("stage_key", "key", "zh", "en")),
    ):
        for column in needed:
            if column not in frame.columns:
                mistakes.add(f"{prefix}{name} table", f"column {column!r} is missing")
    mistakes.raise_if_any()

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
            mistakes.add(where, "stage_key is empty: name the stage this criterion belongs to")
        elif stage_key not in first_stage_with_key:
            known = ", ".join(repr(s.get("key")) for s in raw_stages if isinstance(s.get("key"), str))
            mistakes.add(where, f"stage_key {stage_key!r} is not a stage of the stages table (stages: {known})")
        else:
            i = first_stage_with_key[stage_key]
            raw_stages[i]["criteria"].append(entry)
            criterion_rows[i].append(_row_label(row))
    raw["stages"] = raw_stages
    return _build(raw, source, _TableLocator(sheet, stage_rows, criterion_rows), mistakes)


def methodology_to_tables(m: Methodology) -> tuple[dict[str, str], pd.DataFrame, pd.DataFrame]:
    """The 阶段设置 sheet's content for a methodology: (meta, stages table, criteria table); the reverse of
    ``methodology_from_tables``. Win rates are written in percent, synonyms joined with 、."""
    meta = {"key": m.key, "zh": m.zh, "en": m.en, "description_zh": m.description_zh,
            "description_en": m.description_en}
    stages = pd.DataFrame(
        [
            {
                "key": s.key, "zh": s.zh, "en": s.en, "win_rate": _percent(s.win_rate),
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


def methodology_to_toml(m: Methodology) -> str:
    """TOML text for a methodology in the format of the shipped files; ``parse_methodology`` reads it back equal.

    Written by hand rather than with a TOML writer so criteria come out as ``[[stages.criteria]]`` tables
    the way a person writes them, and the domain needs no extra library.
    """
    out = [
        f"# {_comment(m.zh)} / {_comment(m.en)}",
        "# win_rate is in percent (0-100); ideal_share is a fraction (0-1) of the open opportunities.",
        "# A criterion with required = false is shown on the form but does not hold a project back.",
        "",
        *_toml_pairs({"key": m.key, "zh": m.zh, "en": m.en,
                      "description_zh": m.description_zh, "description_en": m.description_en}),
    ]
    for s in m.stages:
        out += ["", "[[stages]]"]
        out += _toml_pairs({
            "key": s.key, "zh": s.zh, "en": s.en, "win_rate": _percent(s.win_rate),
            "ideal_share": s.ideal_share, "synonyms": list(s.synonyms),
            "main_work_zh": s.main_work_zh, "main_work_en": s.main_work_en,
            "owner_zh": s.owner_zh, "owner_en": s.owner_en,
        })
        for c in s.criteria:
            out.append("  [[stages.criteria]]")
            fields = {"key": c.key, "zh": c.zh, "en": c.en}
            if not c.required:
                fields["required"] = False
            out += [f"  {line}" for line in _toml_pairs(fields)]
    return "\n".join(out) + "\n"


# --- the validator ----------------------------------------------------------------------------------------


def _build(raw: dict, source: str, loc: _Locator, mistakes: _Mistakes | None = None) -> Methodology:
    """Validate a TOML-shaped dict and build the Methodology, or raise with every mistake found."""
    mistakes = mistakes or _Mistakes(source)
    top = loc.top
    _unknown_keys(raw, TOP_KEYS, top, mistakes)
    key = _identifier(raw, "key", top, mistakes, what="methodology key")
    zh = _text(raw, "zh", top, mistakes)
    en = _text(raw, "en", top, mistakes)
    description_zh = _text(raw, "description_zh", top, mistakes, required=False)
    description_en = _text(raw, "description_en", top, mistakes, required=False)

    raw_stages = raw.get("stages")
    if raw_stages is None or raw_stages == []:
        mistakes.add(loc.stage_list, "no stages: add at least one [[stages]] table")
        raw_stages = []
    elif not isinstance(raw_stages, list) or not all(isinstance(s, dict) for s in raw_stages):
        mistakes.add(top, "stages must be a list of [[stages]] tables")
        raw_stages = []

    stages: list[Stage] = []
    seen_criteria: dict[str, str] = {}
    for i, rs in enumerate(raw_stages):
        stages.append(_stage(i, rs, loc, mistakes, seen_criteria))
    _check_stage_names(stages, loc, mistakes)
    _check_rates(raw_stages, stages, loc, mistakes)
    shares = [s.ideal_share for s in stages if s.ideal_share is not None]
    if shares and sum(shares) > 1 + _SHARE_TOLERANCE:
        mistakes.add(loc.stage_list, f"the ideal_share values add up to {sum(shares):g}; they are shares of the open "
                          "opportunities and may add up to at most 1")
    mistakes.raise_if_any()
    return Methodology(key=key, zh=zh, en=en, stages=tuple(stages), description_zh=description_zh,
                       description_en=description_en, source=source)


def _stage(i: int, rs: dict, loc: _Locator, mistakes: _Mistakes, seen_criteria: dict[str, str]) -> Stage:
    where = loc.stage(i, rs.get("key"))
    _unknown_keys(rs, STAGE_KEYS, where, mistakes)
    key = _identifier(rs, "key", where, mistakes, what="stage key")
    win_rate = _win_rate(rs, where, mistakes)
    share = _ideal_share(rs, where, mistakes)
    synonyms = rs.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(isinstance(x, str) and x.strip() for x in synonyms):
        mistakes.add(where, f"synonyms must be a list of non-empty texts, got {synonyms!r}")
        synonyms = []
    raw_criteria = rs.get("criteria", [])
    if not isinstance(raw_criteria, list) or not all(isinstance(c, dict) for c in raw_criteria):
        mistakes.add(where, "criteria must be a list of [[stages.criteria]] tables")
        raw_criteria = []
    criteria = []
    for j, rc in enumerate(raw_criteria):
        cwhere = loc.criterion(i, rs.get("key"), j, rc.get("key"))
        _unknown_keys(rc, CRITERION_KEYS, cwhere, mistakes)
        ckey = _identifier(rc, "key", cwhere, mistakes, what="criterion key")
        if ckey:
            if ckey in seen_criteria:
                mistakes.add(cwhere, f"duplicate criterion key {ckey!r}: already used at {seen_criteria[ckey]}; "
                                     "criterion keys must be unique in the whole methodology")
            else:
                seen_criteria[ckey] = cwhere
        required = rc.get("required", True)
        if not isinstance(required, bool):
            mistakes.add(cwhere, f"required must be true or false, got {required!r}")
            required = True
        criteria.append(Criterion(key=ckey, zh=_text(rc, "zh", cwhere, mistakes),
                                  en=_text(rc, "en", cwhere, mistakes), required=required))
    return Stage(
        key=key, order=i + 1, zh=_text(rs, "zh", where, mistakes), en=_text(rs, "en", where, mistakes),
        win_rate=win_rate, criteria=tuple(criteria), synonyms=tuple(x.strip() for x in synonyms),
        main_work_zh=_text(rs, "main_work_zh", where, mistakes, required=False),
        main_work_en=_text(rs, "main_work_en", where, mistakes, required=False),
        owner_zh=_text(rs, "owner_zh", where, mistakes, required=False),
        owner_en=_text(rs, "owner_en", where, mistakes, required=False),
        ideal_share=share,
    )


def _check_stage_names(stages: list[Stage], loc: _Locator, mistakes: _Mistakes) -> None:
    """Every key, label and synonym must point to one stage, or resolving a rep's stage text would guess."""
    owner: dict[str, int] = {}
    for i, s in enumerate(stages):
        where = loc.stage(i, s.key)
        mine = set()
        for kind, name in (("key", s.key), ("zh", s.zh), ("en", s.en), *(("synonym", x) for x in s.synonyms)):
            folded = _fold(name)
            if not folded or folded in mine:
                continue
            mine.add(folded)
            if folded in owner:
                j = owner[folded]
                other = loc.stage(j, stages[j].key)
                what = {"key": "duplicate stage key", "zh": "duplicate stage label (zh)",
                        "en": "duplicate stage label (en)", "synonym": "synonym"}[kind]
                mistakes.add(where, f"{what} {name!r}: {other} already has this name; "
                                    "every stage name must be unique so stage text resolves to one stage")
            else:
                owner[folded] = i


def _check_rates(raw_stages: list[dict], stages: list[Stage], loc: _Locator, mistakes: _Mistakes) -> None:
    """Win rates may not fall along the funnel, and percent must not be written as fractions.

    A falling rate is an error, not a warning: it means stages out of order or a typo, and left in it would
    make the weighted forecast reward moving a deal backwards. Equal neighbours are fine (报价 and 商务谈判
    both 70 %).
    """
    valid = [(i, s) for i, s in enumerate(stages) if _is_rate(raw_stages[i].get("win_rate"))]
    for (_, before), (i, s) in zip(valid, valid[1:]):
        if s.win_rate < before.win_rate:
            mistakes.add(loc.stage(i, s.key),
                         f"win_rate {_percent(s.win_rate):g} % is lower than the {_percent(before.win_rate):g} % "
                         f"of the stage before it ({before.key!r}); win rates may not fall along the funnel")
    rates = [s.win_rate for _, s in valid]
    if len(rates) == len(stages) >= 2 and max(rates) <= 0.01 and max(rates) > 0:
        mistakes.add(loc.stage_list, "every win_rate is 1 or less: they look like fractions (0.25 for 25 %); "
                              "write win rates in percent, 0-100")


def _unknown_keys(d: dict, allowed: tuple[str, ...], where: str, mistakes: _Mistakes) -> None:
    for k in d:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), allowed, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (allowed: {', '.join(allowed)})"
            mistakes.add(where, f"unknown key {k!r}{hint}")


def _text(d: dict, name: str, where: str, mistakes: _Mistakes, required: bool = True) -> str:
    value = d.get(name)
    if value is None:
        if required:
            mistakes.add(where, f"{name} text is missing")
        return ""
    if not isinstance(value, str):
        mistakes.add(where, f"{name} must be text, got {value!r}")
        return ""
    if required and not value.strip():
        mistakes.add(where, f"{name} text is empty")
    return value.strip()


def _identifier(d: dict, name: str, where: str, mistakes: _Mistakes, what: str) -> str:
    value = d.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        mistakes.add(where, f"{what} ({name}) is missing")
        return ""
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        mistakes.add(where, f"{what} {value!r} is not a valid key: use letters, digits and _ "
                            "(not starting with a digit), e.g. 'needs_budget'")
        return value if isinstance(value, str) else ""
    return value


def _is_rate(value: object) -> bool:
    return _is_number(value) and 0 <= value <= 100


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _win_rate(rs: dict, where: str, mistakes: _Mistakes) -> float:
    value = rs.get("win_rate")
    if value is None:
        mistakes.add(where, "win_rate is missing (percent, 0-100)")
    elif not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        mistakes.add(where, f"win_rate must be a number (percent, 0-100), got {value!r}")
    elif not _is_rate(value):
        mistakes.add(where, f"win_rate {_show(value)} is outside 0-100 (percent)")
    else:
        return _fraction(value)
    return 0.0


def _ideal_share(rs: dict, where: str, mistakes: _Mistakes) -> float | None:
    value = rs.get("ideal_share")
    if value is None:
        return None
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        mistakes.add(where, f"ideal_share must be a number between 0 and 1, got {value!r}")
    elif not (_is_number(value) and 0 <= value <= 1):
        mistakes.add(where, f"ideal_share {_show(value)} is outside 0-1 (a share of the open opportunities, "
                            "e.g. 0.30 for 30 %)")
    else:
        return float(value)
    return None


def _fraction(percent: float) -> float:
    """A percent as written, divided by 100 in decimal: 35.1 gives 0.351, not 0.35100000000000003."""
    return float(Decimal(repr(float(percent))) / 100)


def _percent(fraction: float) -> float:
    """The shortest percent figure that reads back as exactly ``fraction`` (0.35 -> 35).

    Exact for any rate a person or a rounded calibration writes; a rate carrying all 17 digits may
    have no percent float that maps back to it (the percent grid is coarser), and comes back within 1e-15.
    """
    exact = fraction * 100
    for digits in range(0, 18):
        candidate = float(round(exact, digits))
        if _fraction(candidate) == fraction:
            return candidate
    return exact


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
        return _fraction(number) if percent_sign_divides and value.endswith("%") else number
    return value


def _flag_cell(value: object) -> Any:
    """A yes/no cell: bool, 是/否, yes/no, true/false; blank means required. Anything else goes to the validator."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        folded = value.casefold()
        if folded in _YES:
            return True
        if folded in _NO:
            return False
    return value


def _row_label(label: object) -> Any:
    if hasattr(label, "item"):
        label = label.item()
    return label


# --- TOML writing -----------------------------------------------------------------------------------------


def _toml_pairs(fields: Mapping[str, Any]) -> list[str]:
    """'key = value' lines, leaving out empty optional values so the file stays short."""
    return [f"{k} = {_toml_value(v)}" for k, v in fields.items() if v not in ("", None, [])]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def _toml_string(text: str) -> str:
    """A TOML basic string: escape backslash, quote and every control character TOML forbids raw."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    """Text safe for a one-line TOML comment, which may hold no line breaks or control characters."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())


def _show(value: object) -> str:
    """A number as the user typed it: 250.0 read from a worksheet cell shows as 250."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return repr(value)
