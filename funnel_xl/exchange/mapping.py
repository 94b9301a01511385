"""The CRM import mapping: which export column feeds which field, and how stage names and statuses translate.

A mapping is a TOML file the user writes once per CRM (``templates/crm/maven_mapping.toml`` is the
worked example, ``templates/crm/README.md`` the reference). Parsing checks everything that can be
checked without the export and reports every fault at once, each with the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funnel_xl.domain.columns import DATE, OPPORTUNITIES, REPS, TEXT, ColumnKeys
from funnel_xl.domain.faults import Faults
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS, REP_COLUMNS, STATUSES
from funnel_xl.errors import MappingError

TOP_KEYS = ("methodology", "source", "columns", "stages", "status", "defaults", "price_list", "reps")
SOURCE_KEYS = ("pipeline", "sheet", "encoding", "delimiter", "date_format", "header_row", "duplicate_ids")
# What an id used twice in the export does: the first row is kept and later ones reported (as Excel's Remove
# Duplicates keeps the first), or the import is refused, naming every copy.
DUPLICATE_RULES = ("keep_first", "refuse")
# A blank close date may be estimated from another date of the row, or from the import's report date.
DATE_DEFAULT_FIELDS = ("close_date",)
REPORT_DATE = "report_date"
SALES_CYCLE = "sales_cycle"
_UNCONFIRMED = re.compile(r"^#\s*(?:id|stage)\s*=", re.MULTILINE)  # a guess of import --init left commented  # add the mean days from created to close of the export's won deals
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

    def describe(self) -> str:
        return f"the rep's {self.field}"


@dataclass(frozen=True)
class DateDefault:
    """A default for a blank date: the row's ``base`` date (or the report date) plus ``add_days`` days, or plus the
    export's own sales cycle (``SALES_CYCLE``). What it fills is marked estimated."""

    base: str
    add_days: int | str


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
    """A parsed, validated import mapping. Column names match the export's headers after trimming spaces and folding
    full-width characters; stage and status names also ignore inner spaces and case. Nothing else is guessed."""

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
    header_row: int | None = None    # the export's header row (1 = first); None: the first row naming the columns
    duplicate_ids: str = "keep_first"
    # field -> constant, FromReps or DateDefault; a mapped field takes its default only where the export is blank
    defaults: dict[str, Any] = field(default_factory=dict)
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
    header_row = source.get("header_row")
    if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1):
        faults.add("[source]", f"header_row {header_row!r}: expected the number of the header row, 1 or more")
        header_row = None
    duplicate_ids = source.get("duplicate_ids", DUPLICATE_RULES[0])
    if duplicate_ids not in DUPLICATE_RULES:
        faults.add("[source]", f"duplicate_ids {duplicate_ids!r}: expected one of {', '.join(DUPLICATE_RULES)}")

    columns = _text_table(faults.table(data, "columns", "top level"), "[columns]", faults)
    for name in columns:
        if name not in (*OPPORTUNITY_COLUMNS, "status"):
            faults.add("[columns]", f"{name!r}: not an opportunity field; expected one of "
                                    f"{', '.join(OPPORTUNITY_COLUMNS)}")
    for name in REQUIRED_MAPPED:
        if name not in columns:
            faults.add("[columns]", f"{name} is missing: the export column holding the {name} is needed")

    # [stages] may be left out when the export names stages as the methodology does (key, label or synonym).
    stages = _text_table(faults.table(data, "stages", "top level"), "[stages]", faults)
    status = _text_table(faults.table(data, "status", "top level"), "[status]", faults)
    if not status and "status" not in columns:
        faults.add("[status]", "missing or empty: map each export stage name to open, won or lost (or map a "
                               "status column in [columns])")
    for key, value in status.items():
        if value not in STATUSES:
            faults.add("[status]", f"{key!r} = {value!r}: expected one of {', '.join(STATUSES)}")
    if "status" not in columns:
        for key in stages:
            if key not in status:
                faults.add("[status]", f"lacks {key!r}, which [stages] lists: say whether it is open, won or lost")

    defaults = {name: default for name, raw in faults.table(data, "defaults", "top level").items()
                if (default := _default(name, raw, faults)) is not None}

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

    if len(faults) and _UNCONFIRMED.search(text):
        faults.add("", "the guesses `import --init` wrote are still commented out: remove the '#' before each line "
                       "you confirm (id and stage under [columns] at least)")
    faults.raise_if_any()
    return Mapping(
        path=path, methodology=methodology, columns=columns, stages=stages, status=status,
        pipeline=pipeline, sheet=sheet, encoding=encoding, delimiter=delimiter, date_formats=formats,
        header_row=header_row, duplicate_ids=duplicate_ids, defaults=defaults, price_list=price_list, reps=reps,
    )


def _default(name: str, value: object, faults: Faults) -> object | None:
    """One [defaults] entry as a constant, a FromReps or a DateDefault; None (with a fault) when it is none."""
    if name not in OPPORTUNITY_COLUMNS:
        faults.add("[defaults]", f"{name!r}: not an opportunity field")
        return None
    if isinstance(value, dict) and "from_reps" in value:
        if set(value) != {"from_reps"} or value["from_reps"] not in joinable_rep_fields():
            faults.add("[defaults]", f"{name!r} = {value!r}: expected {{ from_reps = \"region\" }} with "
                                     f"one of {', '.join(joinable_rep_fields())}")
            return None
        return FromReps(value["from_reps"])
    if isinstance(value, dict):
        bases = (*(f for f in DATE_FIELDS if f != name), REPORT_DATE)
        base, days = value.get("from"), value.get("add_days", 0)
        fine = (name in DATE_DEFAULT_FIELDS and set(value) <= {"from", "add_days"} and base in bases
                and (days == SALES_CYCLE or (isinstance(days, int) and not isinstance(days, bool) and days >= 0)))
        if not fine:
            faults.add("[defaults]", f"{name!r} = {value!r}: expected {{ from = \"created_date\", add_days = 90 }} "
                                     f"(from one of {', '.join(bases)}; add_days a whole number of days or "
                                     f"\"{SALES_CYCLE}\"), for {', '.join(DATE_DEFAULT_FIELDS)} only")
            return None
        return DateDefault(base, days)
    if isinstance(value, (str, int, float, bool)):
        return value
    faults.add("[defaults]", f"{name!r} = {value!r}: expected a text, number, true/false, {{ from_reps = ... }} "
                             "or, for a date, { from = ..., add_days = ... }")
    return None


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
