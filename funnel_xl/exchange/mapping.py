"""The CRM import mapping: which export column feeds which field, and how stage names and statuses translate.

A mapping is a TOML file the user writes once per CRM (``templates/crm/maven_mapping.toml`` is the
worked example, ``templates/crm/README.md`` the reference). Parsing checks everything that can be
checked without the export and reports every fault at once, each with the file and the key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.columns import DATE, OPPORTUNITIES, REPS, TEXT, ColumnKeys
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, STATUSES
from funnel_xl.errors import MappingError

TOP_KEYS = ("methodology", "source", "columns", "stages", "status", "defaults", "price_list", "reps")
SOURCE_KEYS = ("pipeline", "sheet", "encoding", "delimiter", "date_format")
PRICE_LIST_KEYS = ("file", "sheet", "product", "price", "aliases")
REQUIRED_MAPPED = ("id", "stage")
# The fields a mapping may name are the columns the user types (live views of the column registry).
DATE_FIELDS = ColumnKeys(OPPORTUNITIES, kinds=(DATE,))
REPS_DATE_FIELDS = ColumnKeys(REPS, kinds=(DATE,))


def reps_keys() -> tuple[str, ...]:
    """The keys of [reps]: the file, its sheet, and the export column of each rep field."""
    return ("file", "sheet", *REP_COLUMNS)


def joinable_rep_fields() -> tuple[str, ...]:
    """Fields a default may fill from the reps table, by joining on the opportunity's rep: the reps' texts."""
    return tuple(k for k in ColumnKeys(REPS, kinds=(TEXT,)) if k != "rep")


@dataclass(frozen=True)
class FromReps:
    """A default that takes the opportunity's value from its rep's row (e.g. region = the rep's office)."""

    field: str


@dataclass(frozen=True)
class PriceList:
    """A list-price file that fills blank amounts; ``aliases`` maps export spellings to its product names."""

    file: str
    product: str
    price: str
    sheet: str | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    def canonical_product(self, name: str) -> str:
        return self.aliases.get(name, name)


@dataclass(frozen=True)
class RepsSource:
    """The reps (teams) file and which of its columns feed the 销售人员 fields."""

    file: str
    columns: dict[str, str]  # rep field -> source column
    sheet: str | None = None


@dataclass(frozen=True)
class Mapping:
    """A parsed, validated import mapping. Source names are matched exactly, surrounding spaces ignored."""

    path: Path
    methodology: str
    columns: dict[str, str]          # opportunity field -> source column
    stages: dict[str, str]           # source stage name -> methodology stage key
    status: dict[str, str]           # source value -> open / won / lost
    pipeline: str | None = None
    sheet: str | None = None
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    date_formats: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)  # field -> constant or FromReps
    price_list: PriceList | None = None
    reps: RepsSource | None = None

    @property
    def status_column(self) -> str:
        """The source column whose values [status] translates: ``columns.status``, else the stage column."""
        return self.columns.get("status", self.columns["stage"])

    def locate(self, name: str, export_path: Path) -> Path:
        """A file named in the mapping: absolute as written, else beside the export, else beside the mapping."""
        candidate = Path(name).expanduser()
        if candidate.is_absolute():
            return candidate
        export_dir = export_path if export_path.is_dir() else export_path.parent
        for folder in (export_dir, self.path.parent):
            if (folder / candidate).exists():
                return folder / candidate
        raise MappingError(
            f"mapping {self.path.name}: file {name!r} is neither in the export folder {export_dir} "
            f"nor beside the mapping in {self.path.parent}"
        )

    def check_against(self, methodology: Methodology) -> dict[str, str]:
        """The [stages] table as stage keys of ``methodology`` (labels and synonyms accepted).

        Raises MappingError naming every [stages] entry the methodology does not know.
        """
        resolved, faults = {}, []
        for source_stage, target in self.stages.items():
            key = methodology.resolve_stage(target)
            if key is None:
                faults.append(
                    f"[stages] {source_stage!r} = {target!r}: methodology {methodology.key!r} has no such "
                    f"stage; expected one of {', '.join(methodology.stage_keys)}"
                )
            resolved[source_stage] = key
        if faults:
            raise MappingError(_report(self.path, faults))
        return resolved


def _report(path: Path, faults: list[str]) -> str:
    return f"mapping {path.name} is not valid:\n  - " + "\n  - ".join(faults)


def _unknown(table: dict, allowed: tuple[str, ...], where: str, faults: list[str]) -> None:
    for key in table:
        if key not in allowed:
            faults.append(f"{where}: unknown key {key!r}; expected one of {', '.join(allowed)}")


def _text(table: dict, key: str, where: str, faults: list[str], *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            faults.append(f"{where}.{key} is missing")
        return None
    if not isinstance(value, str) or not value.strip():
        faults.append(f"{where}.{key} = {value!r}: expected a non-empty text")
        return None
    return value.strip()


def _section(data: dict, name: str, faults: list[str]) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        faults.append(f"{name} must be a table ([{name}]), got {value!r}")
        return {}
    return value


def _text_table(table: dict, where: str, faults: list[str]) -> dict[str, str]:
    out = {}
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            faults.append(f"[{where}] {key!r} = {value!r}: expected a non-empty text")
        else:
            out[key.strip()] = value.strip()
    return out


def parse_mapping(text: str, path: Path | str = "mapping.toml") -> Mapping:
    """Parse mapping TOML text; ``path`` names the file in messages and anchors relative file names."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"mapping {path.name} is not valid TOML: {exc}") from None
    faults: list[str] = []
    _unknown(data, TOP_KEYS, "top level", faults)

    methodology = _text(data, "methodology", "top level", faults, required=True) or ""

    source = _section(data, "source", faults)
    _unknown(source, SOURCE_KEYS, "[source]", faults)
    formats = source.get("date_format", ())
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    for fmt in formats:
        if not isinstance(fmt, str) or "%" not in fmt:
            faults.append(f"[source].date_format {fmt!r}: expected a strftime pattern such as '%m/%d/%Y'")
    delimiter = source.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        faults.append(f"[source].delimiter {delimiter!r}: expected one character")
    encoding = _text(source, "encoding", "[source]", faults) or "utf-8-sig"
    try:
        "".encode(encoding)
    except LookupError:
        faults.append(f"[source].encoding {encoding!r}: not an encoding Python knows (try 'utf-8' or 'gbk')")

    columns = _text_table(_section(data, "columns", faults), "columns", faults)
    for name in columns:
        if name not in (*OPPORTUNITY_COLUMNS, "status"):
            faults.append(f"[columns] {name!r}: not an opportunity field; expected one of "
                          f"{', '.join(OPPORTUNITY_COLUMNS)}")
    for name in REQUIRED_MAPPED:
        if name not in columns:
            faults.append(f"[columns].{name} is missing: the export column holding the {name} is needed")

    stages = _text_table(_section(data, "stages", faults), "stages", faults)
    if not stages:
        faults.append("[stages] is missing or empty: map each export stage name to a methodology stage")
    status = _text_table(_section(data, "status", faults), "status", faults)
    if not status:
        faults.append("[status] is missing or empty: map each export stage (or status) to open, won or lost")
    for key, value in status.items():
        if value not in STATUSES:
            faults.append(f"[status] {key!r} = {value!r}: expected one of {', '.join(STATUSES)}")
    if "status" not in columns:
        for key in stages:
            if key not in status:
                faults.append(f"[status] lacks {key!r}, which [stages] lists: say whether it is open, won or lost")

    defaults: dict[str, Any] = {}
    for name, value in _section(data, "defaults", faults).items():
        if name not in OPPORTUNITY_COLUMNS:
            faults.append(f"[defaults] {name!r}: not an opportunity field")
        elif name in columns:
            faults.append(f"[defaults] {name!r}: also mapped in [columns]; keep one")
        elif isinstance(value, dict):
            if set(value) != {"from_reps"} or value["from_reps"] not in joinable_rep_fields():
                faults.append(f"[defaults] {name!r} = {value!r}: expected {{ from_reps = \"region\" }} with "
                              f"one of {', '.join(joinable_rep_fields())}")
            else:
                defaults[name] = FromReps(value["from_reps"])
        elif isinstance(value, (str, int, float, bool)):
            defaults[name] = value
        else:
            faults.append(f"[defaults] {name!r} = {value!r}: expected a text, number, true/false or "
                          "{ from_reps = ... }")

    price_list = None
    if "price_list" in data:
        table = _section(data, "price_list", faults)
        _unknown(table, PRICE_LIST_KEYS, "[price_list]", faults)
        aliases = table.get("aliases", {})
        if not isinstance(aliases, dict):
            faults.append("[price_list].aliases must be a table of export name = price-list name")
            aliases = {}
        values = [_text(table, k, "[price_list]", faults, required=True) for k in ("file", "product", "price")]
        aliases = _text_table(aliases, "price_list.aliases", faults)
        if all(values):
            price_list = PriceList(*values, sheet=_text(table, "sheet", "[price_list]", faults),
                                   aliases=aliases)

    reps = None
    if "reps" in data:
        table = _section(data, "reps", faults)
        _unknown(table, reps_keys(), "[reps]", faults)
        file = _text(table, "file", "[reps]", faults, required=True)
        rep_columns = {k: v for k in REP_COLUMNS
                       if (v := _text(table, k, "[reps]", faults, required=(k == "rep")))}
        if file and "rep" in rep_columns:
            reps = RepsSource(file, rep_columns, sheet=_text(table, "sheet", "[reps]", faults))
    for name, value in defaults.items():
        if isinstance(value, FromReps) and (reps is None or value.field not in reps.columns):
            faults.append(f"[defaults] {name!r} takes the rep's {value.field!r}, but [reps] does not map it")

    if faults:
        raise MappingError(_report(path, faults))
    return Mapping(
        path=path, methodology=methodology, columns=columns, stages=stages, status=status,
        pipeline=_text(source, "pipeline", "[source]", []), sheet=_text(source, "sheet", "[source]", []),
        encoding=encoding, delimiter=delimiter, date_formats=formats, defaults=defaults,
        price_list=price_list, reps=reps,
    )


def load_mapping(path: Path | str) -> Mapping:
    """Read and validate a mapping file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"mapping file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise MappingError(f"mapping {path.name} is not UTF-8 text: {exc}") from None
    return parse_mapping(text, path)
