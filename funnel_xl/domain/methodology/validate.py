"""Reading a methodology: TOML text (or the 阶段设置 tables, turned into the same TOML-shaped dict by ``sheet``)
validated into a Methodology, or one MethodologyError listing every mistake, each on its own line naming the file
(or sheet), the stage and what is wrong.
"""

from __future__ import annotations

import math
from decimal import Decimal

from funnel_xl.domain.faults import Faults
from funnel_xl.domain.methodology.model import Criterion, Methodology, Stage, fold
from funnel_xl.errors import MethodologyError

TOP_KEYS: tuple[str, ...] = ("key", "zh", "en", "description_zh", "description_en", "stages")
STAGE_KEYS: tuple[str, ...] = (
    "key", "zh", "en", "win_rate", "ideal_share", "synonyms",
    "main_work_zh", "main_work_en", "owner_zh", "owner_en", "criteria",
)
CRITERION_KEYS: tuple[str, ...] = ("key", "zh", "en", "required")

_SHARE_TOLERANCE = 1e-9


def methodology_faults(source: str) -> Faults:
    """The collector of a methodology's mistakes, raising MethodologyError."""
    return Faults(source, "methodology", MethodologyError)


class Locator:
    """Names places in a TOML file: 'stage 2 ('potential'), criterion 3 ('x')'."""

    top = ""
    stage_list = ""

    def stage(self, i: int, key: object) -> str:
        return f"stage {i + 1}" + (f" ({key!r})" if isinstance(key, str) and key else "")

    def criterion(self, i: int, stage_key: object, j: int, key: object) -> str:
        return f"{self.stage(i, stage_key)}, criterion {j + 1}" + (
            f" ({key!r})" if isinstance(key, str) and key else ""
        )


def parse_methodology(text: str, source: str = "<text>") -> Methodology:
    """Parse and validate a methodology from TOML text (win rates in percent), naming ``source`` in errors.

    Pure: the caller reads the file. Raises MethodologyError listing every mistake, one line each.
    """
    faults = methodology_faults(source)
    return validate_methodology(faults.load_toml(text), Locator(), faults)


def validate_methodology(raw: dict, loc: Locator, faults: Faults) -> Methodology:
    """Validate a TOML-shaped dict and build the Methodology, or raise with every mistake found (``faults``
    may already hold some, found while reading the sheet)."""
    top = loc.top
    faults.unknown_keys(raw, TOP_KEYS, top)
    key = faults.identifier(raw, "key", top, what="methodology key")
    zh = faults.text(raw, "zh", top)
    en = faults.text(raw, "en", top)
    description_zh = faults.text(raw, "description_zh", top, required=False)
    description_en = faults.text(raw, "description_en", top, required=False)

    if raw.get("stages") is None or raw.get("stages") == []:
        faults.add(loc.stage_list, "no stages: add at least one [[stages]] table")
    raw_stages = faults.tables(raw, "stages", top, "stages")

    stages: list[Stage] = []
    seen_criteria: dict[str, str] = {}
    for i, rs in enumerate(raw_stages):
        stages.append(_stage(i, rs, loc, faults, seen_criteria))
    _check_stage_names(stages, loc, faults)
    _check_rates(raw_stages, stages, loc, faults)
    shares = [s.ideal_share for s in stages if s.ideal_share is not None]
    if shares and sum(shares) > 1 + _SHARE_TOLERANCE:
        faults.add(loc.stage_list, f"the ideal_share values add up to {sum(shares):g}; they are shares of the open "
                                   "opportunities and may add up to at most 1")
    faults.raise_if_any()
    return Methodology(key=key, zh=zh, en=en, stages=tuple(stages), description_zh=description_zh,
                       description_en=description_en, source=faults.source)


def _stage(i: int, rs: dict, loc: Locator, faults: Faults, seen_criteria: dict[str, str]) -> Stage:
    where = loc.stage(i, rs.get("key"))
    faults.unknown_keys(rs, STAGE_KEYS, where)
    key = faults.identifier(rs, "key", where, what="stage key")
    win_rate = _win_rate(rs, where, faults)
    share = _ideal_share(rs, where, faults)
    synonyms = rs.get("synonyms", [])
    if not isinstance(synonyms, list) or not all(isinstance(x, str) and x.strip() for x in synonyms):
        faults.add(where, f"synonyms must be a list of non-empty texts, got {synonyms!r}")
        synonyms = []
    criteria = []
    for j, rc in enumerate(faults.tables(rs, "criteria", where, "stages.criteria")):
        cwhere = loc.criterion(i, rs.get("key"), j, rc.get("key"))
        faults.unknown_keys(rc, CRITERION_KEYS, cwhere)
        ckey = faults.identifier(rc, "key", cwhere, what="criterion key")
        if ckey:
            if ckey in seen_criteria:
                faults.add(cwhere, f"duplicate criterion key {ckey!r}: already used at {seen_criteria[ckey]}; "
                                   "criterion keys must be unique in the whole methodology")
            else:
                seen_criteria[ckey] = cwhere
        required = rc.get("required", True)
        if not isinstance(required, bool):
            faults.add(cwhere, f"required must be true or false, got {required!r}")
            required = True
        criteria.append(Criterion(key=ckey, zh=faults.text(rc, "zh", cwhere),
                                  en=faults.text(rc, "en", cwhere), required=required))
    return Stage(
        key=key, order=i + 1, zh=faults.text(rs, "zh", where), en=faults.text(rs, "en", where),
        win_rate=win_rate, criteria=tuple(criteria), synonyms=tuple(x.strip() for x in synonyms),
        main_work_zh=faults.text(rs, "main_work_zh", where, required=False),
        main_work_en=faults.text(rs, "main_work_en", where, required=False),
        owner_zh=faults.text(rs, "owner_zh", where, required=False),
        owner_en=faults.text(rs, "owner_en", where, required=False),
        ideal_share=share,
    )


def _check_stage_names(stages: list[Stage], loc: Locator, faults: Faults) -> None:
    """Every key, label and synonym must point to one stage, or resolving a rep's stage text would guess."""
    owner: dict[str, int] = {}
    for i, s in enumerate(stages):
        where = loc.stage(i, s.key)
        mine = set()
        for kind, name in (("key", s.key), ("zh", s.zh), ("en", s.en), *(("synonym", x) for x in s.synonyms)):
            folded = fold(name)
            if not folded or folded in mine:
                continue
            mine.add(folded)
            if folded in owner:
                j = owner[folded]
                other = loc.stage(j, stages[j].key)
                what = {"key": "duplicate stage key", "zh": "duplicate stage label (zh)",
                        "en": "duplicate stage label (en)", "synonym": "synonym"}[kind]
                faults.add(where, f"{what} {name!r}: {other} already has this name; "
                                  "every stage name must be unique so stage text resolves to one stage")
            else:
                owner[folded] = i


def _check_rates(raw_stages: list[dict], stages: list[Stage], loc: Locator, faults: Faults) -> None:
    """Win rates may not fall along the funnel, and percent must not be written as fractions.

    A falling rate is an error, not a warning: it means stages out of order or a typo, and left in it would
    make the weighted forecast reward moving a deal backwards. Equal neighbours are fine (报价 and 商务谈判
    both 70 %).
    """
    valid = [(i, s) for i, s in enumerate(stages) if _is_rate(raw_stages[i].get("win_rate"))]
    for (_, before), (i, s) in zip(valid, valid[1:]):
        if s.win_rate < before.win_rate:
            faults.add(loc.stage(i, s.key),
                       f"win_rate {to_percent(s.win_rate):g} % is lower than the {to_percent(before.win_rate):g} % "
                       f"of the stage before it ({before.key!r}); win rates may not fall along the funnel")
    rates = [s.win_rate for _, s in valid]
    if len(rates) == len(stages) >= 2 and max(rates) <= 0.01 and max(rates) > 0:
        faults.add(loc.stage_list, "every win_rate is 1 or less: they look like fractions (0.25 for 25 %); "
                                   "write win rates in percent, 0-100")


def _is_rate(value: object) -> bool:
    return _is_number(value) and 0 <= value <= 100


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _win_rate(rs: dict, where: str, faults: Faults) -> float:
    value = rs.get("win_rate")
    if value is None:
        faults.add(where, "win_rate is missing (percent, 0-100)")
    elif not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        faults.add(where, f"win_rate must be a number (percent, 0-100), got {value!r}")
    elif not _is_rate(value):
        faults.add(where, f"win_rate {_show(value)} is outside 0-100 (percent)")
    else:
        return from_percent(value)
    return 0.0


def _ideal_share(rs: dict, where: str, faults: Faults) -> float | None:
    value = rs.get("ideal_share")
    if value is None:
        return None
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
        faults.add(where, f"ideal_share must be a number between 0 and 1, got {value!r}")
    elif not (_is_number(value) and 0 <= value <= 1):
        faults.add(where, f"ideal_share {_show(value)} is outside 0-1 (a share of the open opportunities, "
                          "e.g. 0.30 for 30 %)")
    else:
        return float(value)
    return None


def from_percent(percent: float) -> float:
    """A percent as written, divided by 100 in decimal: 35.1 gives 0.351, not 0.35100000000000003."""
    return float(Decimal(repr(float(percent))) / 100)


def to_percent(fraction: float) -> float:
    """The shortest percent figure that reads back as exactly ``fraction`` (0.35 -> 35).

    Exact for any rate a person or a rounded calibration writes; a rate carrying all 17 digits may
    have no percent float that maps back to it (the percent grid is coarser), and comes back within 1e-15.
    """
    exact = fraction * 100
    for digits in range(0, 18):
        candidate = float(round(exact, digits))
        if from_percent(candidate) == fraction:
            return candidate
    return exact


def _show(value: object) -> str:
    """A number as the user typed it: 250.0 read from a worksheet cell shows as 250."""
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}" if abs(value) < 1e15 else repr(value)
    return repr(value)
