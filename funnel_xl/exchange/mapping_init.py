"""``funnel-xl import --init EXPORT``: a starting mapping written from the export's own headers and values.

Every guess (a header taken for a field, a stage name for a methodology stage, a status, a date pattern, the header
row) is written as a commented line with the reason beside it, so nothing is applied until the user has read it and
removed the ``#``. What is certain (the methodology, the sheet, the encoding) is written as it is. The header names it
knows are the workbook's own (both languages) and those in ``templates/crm/headers.toml``.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from funnel_xl.domain.columns import DATE, OPPORTUNITIES, USER, columns
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank, parse_status, parse_text
from funnel_xl.errors import InputError
from funnel_xl.exchange.export_cells import fold_name, read_date
from funnel_xl.exchange.export_reader import CSV_SUFFIXES, HEADER_SEARCH_ROWS, read_records, read_table
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.paths import templates_dir

ENCODINGS = ("utf-8-sig", "gb18030")  # a CSV from Chinese Excel is GBK, which GB18030 reads
_MAX_LISTED = 30  # distinct stage or status values written out; more means the column is not a stage column


@dataclass(frozen=True)
class Guess:
    """A header taken for a field: ``exact`` when it is a name of the field, else it only contains one."""

    field: str
    header: str
    exact: bool
    name: str


@lru_cache(maxsize=1)
def _known_names() -> tuple[dict[str, str], dict[str, set[str]], tuple[str, ...]]:
    """(folded name -> field, field -> folded names, date patterns): the workbook's headers and headers.toml."""
    data = tomllib.loads((templates_dir() / "crm" / "headers.toml").read_text(encoding="utf-8"))
    names: dict[str, set[str]] = {}
    for spec in columns(OPPORTUNITIES, owner=USER):
        own = {label(spec.label, lang) for lang in LANGUAGES} | {spec.key}
        names[spec.key] = {_key(n) for n in (*own, *data["fields"].get(spec.key, ()))}
    exact = {n: field for field, folded in names.items() for n in folded}
    return exact, names, tuple(data["dates"]["patterns"])


def _key(text: object) -> str:
    return fold_name(text).replace("_", "")


def guess_columns(header: list[str]) -> dict[str, Guess]:
    """The best header for each field: an exact name first, else the first header containing a name (longest)."""
    exact, names, _ = _known_names()
    found: dict[str, Guess] = {}
    for text in header:
        field = exact.get(_key(text))
        if field and field not in found:
            found[field] = Guess(field, text, True, text)
    for text in header:
        if not text or any(g.header == text for g in found.values()):
            continue
        hits = [(len(n), field, n) for field, folded in names.items() for n in folded
                if field not in found and len(n) > 1 and n in _key(text)]
        if hits:
            _, field, name = max(hits)
            found[field] = Guess(field, text, False, name)
    return found


def _header_row(records: list[tuple[int, list[object]]]) -> int:
    """The position of the header: the row naming most fields; without any, the fullest of the first rows."""
    scored = [(len(guess_columns([parse_text(c) or "" for c in record])), -i)
              for i, (_, record) in enumerate(records[:HEADER_SEARCH_ROWS])]
    best, at = max(scored)
    if best:
        return -at
    filled = [(sum(not is_blank(c) for c in record), -i) for i, (_, record) in enumerate(records[:10])]
    return -max(filled)[1]


def _encoding(path: Path) -> str:
    if path.suffix.lower() not in CSV_SUFFIXES:
        return ENCODINGS[0]
    data = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            data.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return ENCODINGS[0]


def _q(text: object) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def _line(key: str, value: str, why: str, *, width: int = 36) -> str:
    return f"# {key} = {value}".ljust(width) + f"  # {why}"


def _distinct(values: pd.Series) -> list[str]:
    return list(dict.fromkeys(t for t in (parse_text(v) for v in values) if t is not None))


def _date_pattern(values: list[object], patterns: tuple[str, ...]) -> tuple[str | None, str]:
    """(a strptime pattern the column needs, or None when the workbook reads every cell as it is; the reason)."""
    def reads(pattern: tuple[str, ...]) -> bool:
        try:
            for v in values:
                read_date(v, pattern)
            return True
        except InputError:
            return False

    if reads(()):
        return None, "not needed: every date reads as it stands"
    fitting = [p for p in patterns if all(_strptime(v, p) for v in values if isinstance(v, str))]
    if not fitting:
        return None, "none found: some cells read as no date at all; the import will name them"
    other = f"; {fitting[1]!r} reads them too: which is it?" if len(fitting) > 1 else ""
    return fitting[0], f"every date reads this way{other}"


def _strptime(value: str, pattern: str) -> bool:
    try:
        dt.datetime.strptime(value.strip(), pattern)
        return True
    except ValueError:
        return False


def draft_mapping(export: Path, methodology: Methodology, *, sheet: str | None = None, workbook: str = "Funnel.xlsm",
                  mapping_name: str = "mapping.toml") -> str:
    """The text of a starting mapping for ``export`` into a workbook of ``methodology``: see the module docstring."""
    export = Path(export)
    encoding = _encoding(export)
    records = read_records(export, encoding=encoding, sheet=sheet)
    at = _header_row(records)
    header_line = records[at][0]
    header = [parse_text(c) or "" for c in records[at][1]]
    guesses = guess_columns(header)
    data = read_table(export, encoding=encoding, sheet=sheet, header_row=header_line)
    out = [
        f"# A starting mapping for {export.name}, written by `funnel-xl import --init`.",
        "# Lines that start with '# key = ...' are GUESSES from your headers and values: check each against the",
        "# sheet, then remove the '#' to confirm it, or change it. A line left commented does nothing.",
        "# Then try it without writing anything:",
        f"#   funnel-xl import {workbook} {export.name} --mapping {mapping_name} --dry-run",
        "# templates/crm/README.md explains every key.",
        "",
        f"methodology = {_q(methodology.key)}  # the workbook's: [stages] below names its stages",
        "",
        "[source]",
    ]
    if export.suffix.lower() in CSV_SUFFIXES:
        out.append(f"encoding = {_q(encoding)}")
    else:
        out.append(f"sheet = {_q(sheet or _sheet_name(export))}")
    if header_line != 1:
        out.append(_line("header_row", str(header_line), f"the headers are on row {header_line}; the rows above "
                                                           "look like a title (found without this line too)"))
    out += _date_lines(guesses, data)
    out.append(_line("duplicate_ids", _q("refuse"), "the default keeps the first row of an id and reports later "
                                                     "copies; this refuses the import instead"))
    out += ["", "[columns]", "# workbook field = your column"]
    for field in (c.key for c in columns(OPPORTUNITIES, owner=USER)):
        g = guesses.get(field)
        if g is None:
            continue
        why = "the header is a name of this field" if g.exact else f"the header contains {g.name!r}"
        if field == "amount" and "万" in g.header:
            why += "; it says 万: a plain 120 would be read as 120 yuan, so type 120万 or convert"
        out.append(_line(field, _q(g.header), why))
    for text in header:
        if text and not any(g.header == text for g in guesses.values()):
            out.append(f"# (no guess for {_q(text)}: map it to a field, e.g. notes = {_q(text)}, or leave it out)")
    out += _stage_lines(guesses, data, methodology)
    out += ["", "[defaults]", "# for fields your sheet lacks, or its blank cells, e.g.:",
            _line("close_date", '{ from = "created_date", add_days = 90 }',
                  "a blank close date: created date + 90 days, marked estimated")]
    return "\n".join(out) + "\n"


def _sheet_name(export: Path) -> str:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(export)).sheet_names[0]


def _date_lines(guesses: dict[str, Guess], data: pd.DataFrame) -> list[str]:
    _, _, patterns = _known_names()
    dated = [g for g in guesses.values() if g.field in {c.key for c in columns(OPPORTUNITIES) if c.kind == DATE}]
    values = [v for g in dated for v in data[g.header] if not is_blank(v)]
    if not values:
        return []
    pattern, why = _date_pattern(values, patterns)
    where = ", ".join(g.header for g in dated)
    if pattern is None:
        return [f"# date_format: {why} ({where})"]
    return [_line("date_format", _q(pattern), f"{where}: {why}")]


def _stage_lines(guesses: dict[str, Guess], data: pd.DataFrame, methodology: Methodology) -> list[str]:
    """[stages] and [status] guessed from the stage (and status) column's values."""
    out = ["", "[stages]", "# your stage name = the methodology's stage; its own names (key, 中文, English) need no "
           "line", "# stages: " + ", ".join(f"{s.key} ({s.zh})" for s in methodology.stages)]
    stage_col = guesses.get("stage")
    stages = _distinct(data[stage_col.header])[:_MAX_LISTED] if stage_col else []
    for value in stages:
        key = methodology.resolve_stage(fold_name(value))
        if key is None and _status(value) == "won":
            out.append(_line(_q(value), _q(methodology.stages[-1].key), "a won deal went through every stage"))
        elif key is None:
            out.append(_line(_q(value), '""', "which stage is it? one of the keys above"))
        elif fold_name(value) != fold_name(methodology.stage(key).zh):
            out.append(_line(_q(value), _q(key), f"reads as {methodology.stage(key).zh}"))
    out += ["", "[status]", "# your value = open, won or lost"]
    status_col = guesses.get("status")
    values = _distinct(data[status_col.header])[:_MAX_LISTED] if status_col else stages
    last = methodology.stages[-1].key
    for value in values:
        if _status(value):
            out.append(_line(_q(value), _q(_status(value)), "a word the workbook knows"))
        else:
            if status_col:
                out.append(_line(_q(value), '""', "open, won or lost?"))
            else:
                won = methodology.resolve_stage(fold_name(value)) == last
                out.append(_line(_q(value), _q("won" if won else "open"),
                                 "the last stage" if won else "a stage before the last: still open?"))
    return out


def _status(value: str) -> str | None:
    try:
        return parse_status(value)
    except InputError:
        return None
