"""The CRM import mapping: which export column feeds which field, and how stage names and statuses translate.

A mapping is a TOML file the user writes once per CRM (``templates/crm/maven_mapping.toml`` is the
worked example, ``templates/crm/README.md`` the reference). Parsing checks everything that can be
checked without the export and reports every fault at once, each with the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_xl.domain.columns import DATE, OPPORTUNITIES, REPS, TEXT, ColumnKeys
from funnel_xl.domain.faults import Faults
from funnel_xl.domain.methodology import Methodology
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
        resolved, faults = {}, _faults(self.path)
        for source_stage, target in self.stages.items():
            key = methodology.resolve_stage(target)
            if key is None:
                faults.add("[stages]", f"{source_stage!r} = {target!r}: methodology {methodology.key!r} has no such "
                                       f"stage; expected one of {', '.join(methodology.stage_keys)}")
            resolved[source_stage] = key
        faults.raise_if_any()
        return resolved


def _faults(path: Path) -> Faults:
    return Faults(path.name, "mapping", MappingError)


def _text_table(table: dict, where: str, faults: Faults) -> dict[str, str]:
    out = {}
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            faults.add(where, f"{key!r} = {value!r}: expected a non-empty text")
        else:
            out[key.strip()] = value.strip()
    return out


def parse_mapping(text: str, path: Path | str = "mapping.toml") -> Mapping:
    """Parse mapping TOML text; ``path`` names the file in messages and anchors relative file names."""
    path = Path(path)
    faults = _faults(path)
    data = faults.load_toml(text)
    faults.unknown_keys(data, TOP_KEYS, "top level")

    methodology = faults.text(data, "methodology", "top level")

    source = faults.table(data, "source", "top level")
    faults.unknown_keys(source, SOURCE_KEYS, "[source]")
    formats = source.get("date_format", ())
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    for fmt in formats:
        if not isinstance(fmt, str) or "%" not in fmt:
            faults.add("[source]", f"date_format {fmt!r}: expected a strftime pattern such as '%m/%d/%Y'")
    delimiter = source.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        faults.add("[source]", f"delimiter {delimiter!r}: expected one character")
    encoding = faults.text(source, "encoding", "[source]", required=False) or "utf-8-sig"
    try:
        "".encode(encoding)
    except LookupError:
        faults.add("[source]", f"encoding {encoding!r}: not an encoding Python knows (try 'utf-8' or 'gbk')")
    pipeline = faults.text(source, "pipeline", "[source]", required=False) or None
    sheet = faults.text(source, "sheet", "[source]", required=False) or None

    columns = _text_table(faults.table(data, "columns", "top level"), "[columns]", faults)
    for name in columns:
        if name not in (*OPPORTUNITY_COLUMNS, "status"):
            faults.add("[columns]", f"{name!r}: not an opportunity field; expected one of "
                                    f"{', '.join(OPPORTUNITY_COLUMNS)}")
    for name in REQUIRED_MAPPED:
        if name not in columns:
            faults.add("[columns]", f"{name} is missing: the export column holding the {name} is needed")

    stages = _text_table(faults.table(data, "stages", "top level"), "[stages]", faults)
    if not stages:
        faults.add("[stages]", "missing or empty: map each export stage name to a methodology stage")
    status = _text_table(faults.table(data, "status", "top level"), "[status]", faults)
    if not status:
        faults.add("[status]", "missing or empty: map each export stage (or status) to open, won or lost")
    for key, value in status.items():
        if value not in STATUSES:
            faults.add("[status]", f"{key!r} = {value!r}: expected one of {', '.join(STATUSES)}")
    if "status" not in columns:
        for key in stages:
            if key not in status:
                faults.add("[status]", f"lacks {key!r}, which [stages] lists: say whether it is open, won or lost")

    defaults: dict[str, Any] = {}
    for name, value in faults.table(data, "defaults", "top level").items():
        if name not in OPPORTUNITY_COLUMNS:
            faults.add("[defaults]", f"{name!r}: not an opportunity field")
        elif name in columns:
            faults.add("[defaults]", f"{name!r}: also mapped in [columns]; keep one")
        elif isinstance(value, dict):
            if set(value) != {"from_reps"} or value["from_reps"] not in joinable_rep_fields():
                faults.add("[defaults]", f"{name!r} = {value!r}: expected {{ from_reps = \"region\" }} with "
                                         f"one of {', '.join(joinable_rep_fields())}")
            else:
                defaults[name] = FromReps(value["from_reps"])
        elif isinstance(value, (str, int, float, bool)):
            defaults[name] = value
        else:
            faults.add("[defaults]", f"{name!r} = {value!r}: expected a text, number, true/false or "
                                     "{ from_reps = ... }")

    price_list = None
    if "price_list" in data:
        table = faults.table(data, "price_list", "top level")
        faults.unknown_keys(table, PRICE_LIST_KEYS, "[price_list]")
        aliases = _text_table(faults.table(table, "aliases", "[price_list]"), "[price_list.aliases]", faults)
        values = [faults.text(table, k, "[price_list]") for k in ("file", "product", "price")]
        if all(values):
            price_list = PriceList(*values, sheet=faults.text(table, "sheet", "[price_list]", required=False) or None,
                                   aliases=aliases)

    reps = None
    if "reps" in data:
        table = faults.table(data, "reps", "top level")
        faults.unknown_keys(table, reps_keys(), "[reps]")
        file = faults.text(table, "file", "[reps]")
        rep_columns = {k: v for k in REP_COLUMNS if (v := faults.text(table, k, "[reps]", required=(k == "rep")))}
        if file and "rep" in rep_columns:
            reps = RepsSource(file, rep_columns, sheet=faults.text(table, "sheet", "[reps]", required=False) or None)
    for name, value in defaults.items():
        if isinstance(value, FromReps) and (reps is None or value.field not in reps.columns):
            faults.add("[defaults]", f"{name!r} takes the rep's {value.field!r}, but [reps] does not map it")

    faults.raise_if_any()
    return Mapping(
        path=path, methodology=methodology, columns=columns, stages=stages, status=status,
        pipeline=pipeline, sheet=sheet, encoding=encoding, delimiter=delimiter, date_formats=formats,
        defaults=defaults, price_list=price_list, reps=reps,
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
