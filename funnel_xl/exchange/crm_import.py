"""Import from a CRM export (CSV or XLSX) into the 商机 and 销售人员 tables, through a mapping file.

Reading yields text cells exactly as the export holds them; translating applies the mapping and
lists everything it cannot use, with the export's line (header = line 1), column and value. A row
is left out only when it cannot be placed in the funnel (no id, an unmapped stage or status, an id
used twice); any other bad or blank cell is kept blank and reported as a warning. Nothing is written
here: ``plan_import`` returns the merged tables and the change set, which a workbook writer applies.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from funnel_xl.domain.columns import AMOUNT, EXPECTED, OPPORTUNITIES, REPS, YES_NO, ColumnKeys
from funnel_xl.domain.merge import MergeResult, merge_by_id
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import (
    NEEDED_OPPORTUNITY_COLUMNS, OPPORTUNITY_COLUMNS, REP_COLUMNS, Problem,
)
from funnel_xl.domain.parsing import is_blank, parse_amount, parse_bool
from funnel_xl.errors import InputError, MappingError
from funnel_xl.exchange.mapping import DATE_FIELDS, FromReps, Mapping, REPS_DATE_FIELDS, load_mapping
from funnel_xl.labels import label

LINE = "_line"  # the export line (or sheet row) a raw record came from
ESTIMATED = "estimated"  # True where the amount was filled from the price list
# How each field is read follows its kind in the column registry (live views); any other field is text.
NUMBER_FIELDS = ColumnKeys(OPPORTUNITIES, kinds=(AMOUNT,))
REP_NUMBER_FIELDS = ColumnKeys(REPS, kinds=(AMOUNT,))
BOOL_FIELDS = ColumnKeys(OPPORTUNITIES, kinds=(YES_NO,))
# What the roadmap and quota figures need of every rep, though a blank is allowed.
REP_EXPECTED_FIELDS = ColumnKeys(REPS, needs=(EXPECTED,))


# ---------------------------------------------------------------- reading

def _read_csv(path: Path, encoding: str, delimiter: str, problems: list[Problem]) -> pd.DataFrame:
    try:
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise MappingError(f"export {path.name} is empty: expected a header line")
            header = [h.strip() for h in header]
            rows, lines = [], []
            start = reader.line_num + 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue  # a blank line carries no row
                if len(record) != len(header):
                    problems.append(Problem(path.name, line, None, delimiter.join(record),
                                            f"expected {len(header)} fields as in the header, found "
                                            f"{len(record)}; the row is left out"))
                    continue
                rows.append(record)
                lines.append(line)
    except UnicodeDecodeError as exc:
        raise MappingError(f"export {path.name} is not {encoding} text ({exc}); set [source].encoding "
                           "in the mapping (e.g. 'gbk')") from None
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    return frame


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    name = sheet or book.sheet_names[0]
    if name not in book.sheet_names:
        raise MappingError(f"export {path.name} has no sheet {name!r}; it has {', '.join(book.sheet_names)}")
    cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    if not cells:
        raise MappingError(f"export {path.name}, sheet {name!r} is empty: expected a header row")
    header = [str(h).strip() for h in cells[0]]
    rows, lines = [], []
    for n, record in enumerate(cells[1:], start=2):
        if all(c == "" or c is None for c in record):
            continue
        rows.append(list(record) + [""] * (len(header) - len(record)))
        lines.append(n)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    return frame


def read_table(path: Path, *, encoding: str = "utf-8-sig", delimiter: str = ",",
               sheet: str | None = None, problems: list[Problem] | None = None) -> pd.DataFrame:
    """One export file as raw cells (text from CSV; native values from XLSX) plus its line numbers."""
    problems = [] if problems is None else problems
    if not path.is_file():
        raise MappingError(f"export file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        frame = _read_csv(path, encoding, delimiter, problems)
    elif suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        frame = _read_xlsx(path, sheet)
    else:
        raise MappingError(f"export {path.name}: expected a .csv or .xlsx file, not {suffix or 'no suffix'!r}")
    frame.attrs["source"] = path.name
    return frame


def _as_mapping(mapping: Mapping | Path | str) -> Mapping:
    return mapping if isinstance(mapping, Mapping) else load_mapping(mapping)


def pipeline_path(mapping: Mapping, export_path: Path | str) -> Path:
    """The pipeline file: ``export_path`` itself, or ``[source].pipeline`` inside an export folder."""
    export_path = Path(export_path)
    if export_path.is_dir():
        if not mapping.pipeline:
            raise MappingError(f"mapping {mapping.path.name}: {export_path} is a folder, so [source].pipeline "
                               "must name the pipeline file in it")
        return mapping.locate(mapping.pipeline, export_path)
    return export_path


def read_export(mapping: Mapping | Path | str, export_path: Path | str,
                problems: list[Problem] | None = None) -> pd.DataFrame:
    """The export's pipeline table as raw cells, checked to hold every column the mapping names."""
    mapping = _as_mapping(mapping)
    path = pipeline_path(mapping, export_path)
    raw = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter, sheet=mapping.sheet,
                     problems=problems)
    _require_columns(raw, set(mapping.columns.values()) | {mapping.status_column}, mapping, "[columns]")
    return raw


def _require_columns(raw: pd.DataFrame, wanted: set[str], mapping: Mapping, where: str) -> None:
    missing = sorted(wanted - set(raw.columns))
    if missing:
        raise MappingError(
            f"mapping {mapping.path.name}: {where} names column(s) {', '.join(map(repr, missing))} that "
            f"{raw.attrs.get('source', 'the export')} lacks; its columns are "
            f"{', '.join(c for c in raw.columns if c != LINE)}"
        )


# ---------------------------------------------------------------- cell parsing

def _parse_number(value: object) -> float | None:
    """An amount as the workbook reads one (1,054.50, 120万, ¥1,200,000), or None when it is not one."""
    try:
        return parse_amount(value)
    except InputError:
        return None


def _parse_date(value: object, formats: tuple[str, ...] = ()) -> pd.Timestamp | None:
    if isinstance(value, (datetime, date)):
        return pd.Timestamp(value)
    text = str(value).strip()
    for fmt in formats or ("%Y-%m-%d",):
        try:
            return pd.Timestamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _parse_bool(value: object) -> bool | None:
    """A yes/no answer as the workbook reads one (是/否, yes/no, true/false, 1/0, ...), or None when it is not one."""
    try:
        return parse_bool(value)
    except InputError:
        return None


# ---------------------------------------------------------------- result types

@dataclass(frozen=True)
class ImportResult:
    """The export translated: canonical opportunities (plus ``estimated``), reps, and every problem."""

    opportunities: pd.DataFrame
    reps: pd.DataFrame
    problems: tuple[Problem, ...]
    source_rows: int

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    def problem_table(self) -> pd.DataFrame:
        return problem_table(self.problems)


def problem_table(problems) -> pd.DataFrame:
    """Problems as a table (sheet/file, row, column, value, message, severity) for a sheet or a screen."""
    return pd.DataFrame([p.as_dict() for p in problems],
                        columns=["sheet", "row", "column", "value", "message", "severity"])


def summarize_problems(problems) -> pd.DataFrame:
    """Problems grouped by severity, file, column and message: count and first rows, for a short report."""
    table = problem_table(problems)
    if table.empty:
        return pd.DataFrame(columns=["severity", "sheet", "column", "message", "count", "first_rows"])
    table["column"] = table["column"].fillna("")
    grouped = table.groupby(["severity", "sheet", "column", "message"], sort=False, dropna=False)
    out = grouped.agg(count=("row", "size"),
                      first_rows=("row", lambda r: ", ".join(str(int(x)) for x in r.dropna().head(5))))
    return out.reset_index()


# ---------------------------------------------------------------- translating

class _Translator:
    """Applies one mapping to one export, collecting problems as it goes."""

    def __init__(self, mapping: Mapping, methodology: Methodology, source: str, problems: list[Problem]):
        self.mapping = mapping
        self.stage_keys = mapping.check_against(methodology)
        self.source = source
        self.problems = problems

    def warn(self, line, column, value, message, severity="warning"):
        self.problems.append(Problem(self.source, line, column, value, message, severity))

    def _blank(self, record, field, column) -> bool:
        """True for a blank cell; a blank where the schema needs a value is reported (and left blank)."""
        if not is_blank(record[column]):
            return False
        if field in NEEDED_OPPORTUNITY_COLUMNS:
            self.warn(record[LINE], column, None, f"blank; the {field} is needed, so it is left blank "
                                                  "for you to fill in")
        return True

    def text(self, record, field):
        column = self.mapping.columns[field]
        value = record[column]
        if self._blank(record, field, column):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # an XLSX id typed as a number reads as 1234.0
        return str(value).strip()

    def parsed(self, record, field, parse, expected, formats=()):
        column = self.mapping.columns[field]
        value = record[column]
        if self._blank(record, field, column):
            return None
        result = parse(value, formats) if formats else parse(value)
        if result is None:
            self.warn(record[LINE], column, value, f"expected {expected}; left blank")
        return result


def _expected_dates(mapping: Mapping) -> str:
    formats = mapping.date_formats or ("%Y-%m-%d",)
    return "a date as " + " or ".join(formats) + " ([source].date_format in the mapping)"


def _translate_rows(raw: pd.DataFrame, tr: _Translator, prices: dict[str, float] | None,
                    price_file: str) -> pd.DataFrame:
    mapping = tr.mapping
    cols = mapping.columns
    out = []
    for record in raw.to_dict("records"):
        line = record[LINE]
        ident = record[cols["id"]]
        if is_blank(ident):
            tr.warn(line, cols["id"], None, "blank; every opportunity needs an id, so the row is left out",
                    "error")
            continue
        source_stage = str(record[cols["stage"]]).strip()
        stage = tr.stage_keys.get(source_stage)
        if stage is None:
            tr.warn(line, cols["stage"], record[cols["stage"]],
                    f"not in [stages] of {mapping.path.name}; expected one of "
                    f"{', '.join(mapping.stages)}; the row is left out", "error")
            continue
        source_status = str(record[mapping.status_column]).strip()
        status = mapping.status.get(source_status)
        if status is None:
            tr.warn(line, mapping.status_column, record[mapping.status_column],
                    f"not in [status] of {mapping.path.name}; expected one of "
                    f"{', '.join(mapping.status)}; the row is left out", "error")
            continue
        row = {"_line": line, "stage": stage, "status": status, ESTIMATED: False}
        amount_blank = is_blank(record[cols["amount"]]) if "amount" in cols else True
        for field in cols:
            if field in ("stage", "status") or (field == "amount" and amount_blank):
                continue
            if field in NUMBER_FIELDS:
                value = tr.parsed(record, field, _parse_number, "an amount such as 1054 or 1,054.50")
                if value is not None and value < 0:
                    tr.warn(line, cols[field], record[cols[field]], "expected an amount of 0 or more; left blank")
                    value = None
            elif field in DATE_FIELDS:
                value = tr.parsed(record, field, _parse_date, _expected_dates(mapping), mapping.date_formats)
            elif field in BOOL_FIELDS:
                value = tr.parsed(record, field, _parse_bool, "yes or no (是/否, true/false, 1/0)")
            else:
                value = tr.text(record, field)
            row[field] = value
        if mapping.price_list is not None and row.get("product") is not None:
            row["product"] = mapping.price_list.canonical_product(row["product"])
        if amount_blank:
            _fill_amount(row, record, tr, prices, price_file)
        out.append(row)
    return pd.DataFrame(out)


def _fill_amount(row: dict, record: dict, tr: _Translator, prices: dict[str, float] | None,
                 price_file: str) -> None:
    """A blank amount takes the product's list price (marked estimated), or is reported as blank."""
    cols, line = tr.mapping.columns, record[LINE]
    product = row.get("product")
    if prices is not None and product in prices:
        row["amount"] = prices[product]
        row[ESTIMATED] = True
    elif prices is not None and product is not None:
        tr.warn(line, cols["product"], record[cols["product"]],
                f"no list price for this product in {price_file} (it lists {', '.join(prices)}); add an "
                "alias under [price_list.aliases]; amount left blank")
    elif "amount" in cols:
        why = "and no product to price it by" if prices is not None else "and the mapping has no [price_list]"
        tr.warn(line, cols["amount"], None, f"blank {why}; amount left blank for you to fill in")


def _drop_duplicate_ids(frame: pd.DataFrame, tr: _Translator) -> pd.DataFrame:
    if frame.empty:
        return frame
    dup = frame["id"].duplicated(keep=False)
    for line, ident in zip(frame.loc[dup, "_line"], frame.loc[dup, "id"]):
        lines = frame.loc[frame["id"].eq(ident), "_line"].tolist()
        tr.warn(line, tr.mapping.columns["id"], ident,
                f"id used on lines {', '.join(map(str, lines))}; which one is right cannot be told, so "
                "each is left out", "error")
    return frame[~dup]


def _load_prices(mapping: Mapping, export_path: Path, problems: list[Problem]) -> dict[str, float] | None:
    spec = mapping.price_list
    if spec is None:
        return None
    path = mapping.locate(spec.file, export_path)
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter, sheet=spec.sheet,
                       problems=problems)
    _require_columns(table, {spec.product, spec.price}, mapping, "[price_list]")
    prices: dict[str, float] = {}
    for record in table.to_dict("records"):
        name, price = str(record[spec.product]).strip(), _parse_number(record[spec.price])
        if not name or price is None:
            problems.append(Problem(path.name, record[LINE], spec.price, record[spec.price],
                                    "expected a product name and a number; the price is not used", "warning"))
            continue
        prices[name] = price
    for alias, target in spec.aliases.items():
        if target not in prices:
            raise MappingError(f"mapping {mapping.path.name}: [price_list.aliases] {alias!r} = {target!r}, but "
                               f"{path.name} has no product {target!r}; it lists {', '.join(prices)}")
    return prices


def _load_reps(mapping: Mapping, export_path: Path, problems: list[Problem]) -> pd.DataFrame:
    spec = mapping.reps
    if spec is None:
        return pd.DataFrame(columns=["rep"])
    path = mapping.locate(spec.file, export_path)
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter, sheet=spec.sheet,
                       problems=problems)
    _require_columns(table, set(spec.columns.values()), mapping, "[reps]")
    rows = []
    for record in table.to_dict("records"):
        row = {}
        for field, column in spec.columns.items():
            value = record[column]
            if is_blank(value):
                row[field] = None
            elif field in REPS_DATE_FIELDS:
                row[field] = _parse_date(value, mapping.date_formats)
                if row[field] is None:
                    problems.append(Problem(path.name, record[LINE], column, value,
                                            f"{_expected_dates(mapping)}; left blank", "warning"))
            elif field in REP_NUMBER_FIELDS:
                row[field] = _parse_number(value)
                if row[field] is None:
                    problems.append(Problem(path.name, record[LINE], column, value,
                                            "expected a number; left blank", "warning"))
            else:
                row[field] = str(value).strip()
        if row.get("rep") is None:
            problems.append(Problem(path.name, record[LINE], spec.columns["rep"], None,
                                    "blank; a rep needs a name, so the row is left out", "error"))
            continue
        row["_line"] = record[LINE]
        rows.append(row)
    reps = pd.DataFrame(rows, columns=["_line", *spec.columns])
    dup = reps["rep"].duplicated(keep=False)
    for line, name in zip(reps.loc[dup, "_line"], reps.loc[dup, "rep"]):
        problems.append(Problem(path.name, line, spec.columns["rep"], name,
                                "this rep is listed more than once; each is left out", "error"))
    reps = reps[~dup].drop(columns="_line")
    reps.attrs["source"] = path.name
    return reps


def _finish_reps(reps: pd.DataFrame, opps: pd.DataFrame, mapping: Mapping, source: str,
                 problems: list[Problem]) -> pd.DataFrame:
    """Every rep the file lists, then every rep only the pipeline names (reported), in canonical columns."""
    known = set(reps["rep"])
    extra = []
    if not opps.empty:
        for name, line in opps.groupby("rep", sort=False)["_line"].first().items():
            if name not in known:
                extra.append({"rep": name})
                if mapping.reps is not None:
                    problems.append(Problem(source, line, mapping.columns["rep"], name,
                                            f"rep is not in {reps.attrs.get('source', 'the reps file')}; "
                                            "added to the reps with blank details", "warning"))
    out = pd.concat([reps, pd.DataFrame(extra, columns=["rep"])], ignore_index=True) if extra else reps
    supplied = set(mapping.reps.columns) if mapping.reps else {"rep"}
    for field in REP_EXPECTED_FIELDS:
        if field not in supplied and len(out):
            problems.append(Problem(reps.attrs.get("source", source), None, None, None,
                                    f"the export gives no {field} for the reps; left blank for all "
                                    f"{len(out)} reps, to be filled in the reps table", "warning"))
    for field in REPS_DATE_FIELDS:
        out[field] = (pd.to_datetime(out[field]) if field in out else pd.Series(pd.NaT, index=out.index)
                      ).astype("datetime64[ns]")
    return out.reindex(columns=list(REP_COLUMNS)).reset_index(drop=True)


def _apply_defaults(opps: pd.DataFrame, reps: pd.DataFrame, mapping: Mapping) -> None:
    for field, value in mapping.defaults.items():
        if isinstance(value, FromReps):
            lookup = dict(zip(reps["rep"], reps[value.field])) if value.field in reps else {}
            opps[field] = opps["rep"].map(lookup) if len(opps) else None
        else:
            opps[field] = value


def _canonical_frame(rows: pd.DataFrame) -> pd.DataFrame:
    out = rows.reindex(columns=list(dict.fromkeys([*OPPORTUNITY_COLUMNS, ESTIMATED])))
    for field in DATE_FIELDS:
        out[field] = pd.to_datetime(out[field]).astype("datetime64[ns]")  # the schema's resolution
    for field in NUMBER_FIELDS:
        out[field] = pd.to_numeric(out[field]).astype("float64")
    out[ESTIMATED] = out[ESTIMATED].astype(bool)
    typed = (*DATE_FIELDS, *NUMBER_FIELDS)
    out = out.astype({c: "object" for c in out.columns if out[c].isna().all() and c not in typed})
    return out.reset_index(drop=True)


def import_export(mapping: Mapping | Path | str, export_path: Path | str,
                  methodology: Methodology) -> ImportResult:
    """Translate the export into canonical opportunities and reps, listing everything it could not use."""
    mapping = _as_mapping(mapping)
    export_path = Path(export_path)
    problems: list[Problem] = []
    raw = read_export(mapping, export_path, problems)
    source = raw.attrs["source"]
    tr = _Translator(mapping, methodology, source, problems)
    prices = _load_prices(mapping, export_path, problems)
    price_file = mapping.price_list.file if mapping.price_list else ""
    for field in NEEDED_OPPORTUNITY_COLUMNS:
        if field not in mapping.columns and field not in mapping.defaults and field not in ("stage", "status") \
                and not (field == "amount" and prices is not None):
            problems.append(Problem(source, None, None, None,
                                    f"[columns] does not map the {field}; left blank on every row", "warning"))
    rows = _translate_rows(raw, tr, prices, price_file)
    if rows.empty:
        rows = pd.DataFrame(columns=list(dict.fromkeys(["_line", *OPPORTUNITY_COLUMNS, ESTIMATED])))
    rows = _drop_duplicate_ids(rows, tr)
    reps = _finish_reps(_load_reps(mapping, export_path, problems), rows, mapping, source, problems)
    _apply_defaults(rows, reps, mapping)
    opps = _canonical_frame(rows)
    problems.sort(key=lambda p: (p.sheet != source, p.sheet, p.row if p.row is not None else 0))
    return ImportResult(opportunities=opps, reps=reps, problems=tuple(problems), source_rows=len(raw))


# ---------------------------------------------------------------- planning

@dataclass(frozen=True)
class ImportPlan:
    """What an import would do to the workbook: merged tables, the change sets and the problems."""

    result: ImportResult
    opportunities: MergeResult
    reps: MergeResult

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.result.problems

    @property
    def changes_anything(self) -> bool:
        return self.opportunities.changes_anything or self.reps.changes_anything

    def summary(self) -> dict[str, int]:
        """Counts a dry run prints and a test can check."""
        severities = Counter(p.severity for p in self.problems)
        return {
            "source_rows": self.result.source_rows,
            "imported": len(self.result.opportunities),
            "estimated": int(self.result.opportunities[ESTIMATED].sum()),
            "added": len(self.opportunities.added_ids),
            "updated": len(self.opportunities.updated_ids),
            "updated_cells": len(self.opportunities.updated),
            "unchanged": self.opportunities.unchanged_count,
            "reps_added": len(self.reps.added_ids),
            "reps_updated": len(self.reps.updated_ids),
            "errors": severities["error"],
            "warnings": severities["warning"],
        }

    def describe(self, lang: str = "zh-CN", max_groups: int = 20) -> str:
        """The dry-run report: counts, then the problems grouped (the full list goes to 数据问题)."""
        counts = self.summary()
        lines = [f"{label('import.' + key, lang)}: {value}" for key, value in counts.items()]
        groups = summarize_problems(self.problems)
        for rec in groups.head(max_groups).to_dict("records"):
            where = f"{rec['sheet']}" + (f" [{rec['column']}]" if rec["column"] else "")
            rows = f" ({label('import.rows', lang)} {rec['first_rows']}...)" if rec["first_rows"] else ""
            lines.append(f"{label('import.' + rec['severity'], lang)} ×{rec['count']} {where}: "
                         f"{rec['message']}{rows}")
        if len(groups) > max_groups:
            lines.append(f"... {len(groups) - max_groups} {label('import.more_groups', lang)}")
        return "\n".join(lines)


def _existing(frame: pd.DataFrame | None, key: str) -> pd.DataFrame:
    if frame is None or (frame.empty and key not in frame.columns):
        return pd.DataFrame(columns=[key])
    return frame


def plan_import(mapping_path: Mapping | Path | str, export_path: Path | str,
                existing_opps: pd.DataFrame | None, existing_reps: pd.DataFrame | None,
                methodology: Methodology | None = None) -> ImportPlan:
    """Import the export and merge it into the tables the workbook holds, without writing anything.

    ``methodology`` defaults to the one the mapping names (a built-in key or a file path).
    """
    mapping = _as_mapping(mapping_path)
    if methodology is None:
        from funnel_xl.methodologies import load_methodology

        methodology = load_methodology(mapping.methodology)
    result = import_export(mapping, export_path, methodology)
    opps = merge_by_id(_existing(existing_opps, "id"), result.opportunities, key="id")
    reps = merge_by_id(_existing(existing_reps, "rep"), result.reps, key="rep")
    return ImportPlan(result=result, opportunities=opps, reps=reps)
