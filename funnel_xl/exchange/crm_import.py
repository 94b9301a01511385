"""Import from a CRM export or a hand-kept sheet (CSV or XLSX) into the 商机 and 销售人员 tables, through a mapping.

Reading (``export_reader``) yields cells as the export holds them; translating applies the mapping and lists
everything it cannot use, with the export's line (or sheet row), column and value. A row is left out only when it
cannot be placed in the funnel: no id, a stage or status that neither the mapping nor the methodology names, a later
copy of an id (the first is kept, as Excel's Remove Duplicates keeps it), or the sheet's total row. Any other bad
cell is kept blank and reported as a warning; text that starts like a formula is kept as text and reported. Nothing
is written here: ``import_plan.plan_import`` merges the result into the workbook's tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from funnel_xl.domain.columns import AMOUNT, EXPECTED, OPPORTUNITIES, REPS, YES_NO, ColumnKeys, column
from funnel_xl.domain.distinct import distinct
from funnel_xl.domain.funnel import sales_cycle_days
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank, looks_like_formula, parse_bool, parse_status, parse_text
from funnel_xl.domain.schema import NEEDED_OPPORTUNITY_COLUMNS, OPPORTUNITY_COLUMNS, REP_COLUMNS, Problem
from funnel_xl.errors import InputError, MappingError
from funnel_xl.exchange.export_cells import fold_name, is_total_word, read_amount, read_date
from funnel_xl.exchange.export_reader import LINE, columns_of, read_table
from funnel_xl.exchange.mapping import (
    DATE_FIELDS, REPORT_DATE, REPS_DATE_FIELDS, SALES_CYCLE, DateDefault, FromReps, Mapping, load_mapping,
)
from funnel_xl.labels import label

ESTIMATED = "estimated"  # True where the amount was filled from the price list
CLOSE_ESTIMATED = "close_date_estimated"  # True where a relative default filled the close date
# How each field is read follows its kind in the column registry (live views); any other field is text.
NUMBER_FIELDS = ColumnKeys(OPPORTUNITIES, kinds=(AMOUNT,))
REP_NUMBER_FIELDS = ColumnKeys(REPS, kinds=(AMOUNT,))
BOOL_FIELDS = ColumnKeys(OPPORTUNITIES, kinds=(YES_NO,))
# What the roadmap and quota figures need of every rep, though a blank is allowed.
REP_EXPECTED_FIELDS = ColumnKeys(REPS, needs=(EXPECTED,))


def as_mapping(mapping: Mapping | Path | str) -> Mapping:
    """A parsed mapping, read from its file when given a path."""
    return mapping if isinstance(mapping, Mapping) else load_mapping(mapping)


def field_header(field: str, lang: str = "zh-CN", table: str = OPPORTUNITIES) -> str:
    """The header the workbook shows for a field (预计金额(元) for amount): how a message names a field."""
    return label(column(table, field).label, lang)


# ---------------------------------------------------------------- reading

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
    mapping = as_mapping(mapping)
    wanted = [*mapping.columns.values(), mapping.status_column]
    raw = read_table(pipeline_path(mapping, export_path), encoding=mapping.encoding, delimiter=mapping.delimiter,
                     sheet=mapping.sheet, header_row=mapping.header_row, wanted=wanted, problems=problems)
    _require_columns(raw, wanted, mapping, "[columns]")
    return raw


def _require_columns(raw: pd.DataFrame, wanted, mapping: Mapping, where: str) -> None:
    """Refuse an export that lacks a column the mapping names, naming it as the mapping writes it."""
    missing = [w for w in dict.fromkeys(wanted) if w not in raw.columns]
    if missing:
        where_header = "" if mapping.header_row else " (set [source].header_row if the headers sit lower)"
        raise MappingError(
            f"mapping {mapping.path.name}: {where} names column(s) {', '.join(map(repr, missing))} that "
            f"{raw.attrs.get('source', 'the export')} lacks; its header (row {raw.attrs.get('header_line', 1)}) "
            f"holds {', '.join(repr(c) for c in columns_of(raw))}; names match after trimming spaces and folding "
            f"full-width characters{where_header}"
        )


# ---------------------------------------------------------------- result

@dataclass(frozen=True)
class ImportResult:
    """The export translated: canonical opportunities (plus ``estimated``), reps, every problem, and the export line
    each opportunity came from (``lines``, by id)."""

    opportunities: pd.DataFrame
    reps: pd.DataFrame
    problems: tuple[Problem, ...]
    source_rows: int
    source: str = ""
    lines: pd.Series | None = None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


# ---------------------------------------------------------------- translating

class _Translator:
    """Applies one mapping to one export, collecting problems as it goes."""

    def __init__(self, mapping: Mapping, methodology: Methodology, source: str, problems: list[Problem]):
        self.mapping = mapping
        self.methodology = methodology
        self.stage_keys = {fold_name(k): v for k, v in mapping.check_against(methodology).items()}
        self.status_of = {fold_name(k): v for k, v in mapping.status.items()}
        self.source = source
        self.problems = problems

    def report(self, line, column, value, message, severity="warning", code=None, params=()):
        self.problems.append(Problem(self.source, line, column, value, message, severity, code, tuple(params)))

    def stage(self, value: object, report) -> str | None:
        """The stage key: the mapping's [stages] first, then the methodology's own names (key, label, synonym)."""
        key = self.stage_keys.get(fold_name(value)) or self.methodology.resolve_stage(fold_name(value))
        if key is None:
            names = ", ".join(s.zh for s in self.methodology.stages)
            report(value, f"not a stage of methodology {self.methodology.key!r} ({names}), and [stages] of "
                          f"{self.mapping.path.name} does not list it: say there which stage it is; the row is left "
                          "out", "error", "import_stage_unknown",
                   (("value", value), ("stages", tuple(s.zh for s in self.methodology.stages))))
        return key

    def status(self, value: object, report) -> str | None:
        """The status: [status] first; a separate status column may also use the workbook's words (进行中, 赢单)."""
        status = self.status_of.get(fold_name(value))
        if status is None and "status" in self.mapping.columns:
            try:
                status = parse_status(value)
            except InputError:
                status = None
        if status is None:
            report(value, f"not in [status] of {self.mapping.path.name}; expected one of "
                          f"{', '.join(self.mapping.status) or 'open, won, lost (进行中, 赢单, 丢单)'}; the row is left "
                          "out", "error", "import_status_unknown",
                   (("value", value), ("listed", tuple(self.mapping.status) or ("进行中", "赢单", "丢单"))))
        return status

    def column(self, raw: pd.DataFrame, rows: np.ndarray, column: str, read) -> np.ndarray:
        """``read(value, report)`` of column ``column`` for the rows at ``rows``, once per distinct value; what it
        reports of a value is reported on every row holding it, with the row's line."""
        values = raw[column].to_numpy(dtype=object)[rows]
        lines = raw[LINE].to_numpy()[rows]
        uniques, codes = distinct(values)
        results, reports = [], []
        for value in [*uniques, None]:  # the last stands for a blank the codes give as -1
            found: list[tuple] = []
            results.append(read(value, _capture(found)))
            reports.append(found)
        for at in np.flatnonzero(np.array([bool(r) for r in reports])[codes]):
            for args in reports[codes[at]]:
                self.problems.append(Problem(self.source, int(lines[at]), column, *args))
        out = np.empty(len(results), dtype=object)
        out[:] = results
        return out[codes]


def _capture(found: list[tuple]):
    """A report function that keeps what is reported: (value, message, severity, code, params)."""
    def report(value, message, severity="warning", code=None, params=()):
        found.append((value, message, severity, code, tuple(params)))

    return report


def _reporter(problems: list[Problem], source: str, line: int, column: str):
    """A function that reports a problem of one cell: (value, message, severity, code, params)."""
    def report(value, message, severity="warning", code=None, params=()):
        problems.append(Problem(source, line, column, value, message, severity, code, tuple(params)))

    return report


def read_cell(value: object, field: str, table: str, formats: tuple[str, ...], report) -> object:
    """``value`` read as ``field`` of ``table`` (None when blank). An unreadable value is reported and left blank;
    text that starts like a formula is kept as text and reported (the workbook stores it so that it never runs)."""
    return cell_reader(field, table, formats)(value, report)


def cell_reader(field: str, table: str, formats: tuple[str, ...]):
    """``read_cell`` for one field, its kind looked up once: a function of (value, report)."""
    numbers, dates = (NUMBER_FIELDS, DATE_FIELDS) if table == OPPORTUNITIES else (REP_NUMBER_FIELDS, REPS_DATE_FIELDS)
    if field in numbers:
        parse = read_amount
    elif field in dates:
        def parse(value):
            return read_date(value, formats)
    elif table == OPPORTUNITIES and field in BOOL_FIELDS:
        parse = parse_bool
    else:
        parse = None

    def read(value: object, report) -> object:
        if is_blank(value):
            return None
        if parse is not None:
            try:
                return parse(value)
            except InputError as exc:
                report(value, f"{exc}; left blank", "warning", exc.code, (*exc.params, ("left_blank", True)))
                return None
        text = parse_text(value)
        if looks_like_formula(text):
            report(value, "text that starts like a formula (= + - @); kept as text, which the workbook stores so "
                          "that it never runs", "warning", "import_formula_text", (("value", value),))
        return text

    return read


def _translate_rows(raw: pd.DataFrame, tr: _Translator, prices: dict[str, float] | None,
                    price_file: str) -> pd.DataFrame:
    """The export's rows that can be deals, in canonical fields, column by column (each column's distinct values
    read once); a row is reported and left out when it is a total row, has no id, or names an unknown stage or
    status."""
    cols = tr.mapping.columns
    lines = raw[LINE].to_numpy()
    everyone = np.arange(len(raw))
    ids = tr.column(raw, everyone, cols["id"], lambda v, report: parse_text(v))
    no_id = pd.isna(ids)
    total = np.zeros(len(raw), dtype=bool)
    candidates = np.flatnonzero(no_id | _flags(tr.column(raw, everyone, cols["id"], _total_word)))
    if len(candidates):
        for name in columns_of(raw):
            total[candidates] |= _flags(tr.column(raw, candidates, name, _total_word))
    for i in np.flatnonzero(total):
        tr.report(int(lines[i]), cols["id"], ids[i], "a total row: it sums the deals above and is no deal itself, so "
                  "it is left out (the workbook adds up the deals itself)", "error", "import_total_row")
    for i in np.flatnonzero(no_id & ~total):
        tr.report(int(lines[i]), cols["id"], None, "blank; every opportunity needs an id, so the row is left out",
                  "error", "import_id_blank", (("column", cols["id"]),))
    rows = np.flatnonzero(~no_id & ~total)
    stages = tr.column(raw, rows, cols["stage"], tr.stage)
    known = ~pd.isna(stages)
    rows, stages = rows[known], stages[known]
    statuses = tr.column(raw, rows, tr.mapping.status_column, tr.status)
    known = ~pd.isna(statuses)
    rows, stages, statuses = rows[known], stages[known], statuses[known]

    out: dict[str, np.ndarray] = {LINE: lines[rows], "stage": stages, "status": statuses,
                                  ESTIMATED: np.zeros(len(rows), dtype=bool)}
    amount_blank = (_flags(tr.column(raw, rows, cols["amount"], lambda v, report: is_blank(v)))
                    if "amount" in cols else np.ones(len(rows), dtype=bool))
    for field in cols:
        if field in ("stage", "status"):
            continue

        read = cell_reader(field, OPPORTUNITIES, tr.mapping.date_formats)
        if field == "amount":  # a blank amount is filled from the price list below
            out[field] = np.full(len(rows), None, dtype=object)
            out[field][~amount_blank] = tr.column(raw, rows[~amount_blank], cols[field], read)
        else:
            out[field] = tr.column(raw, rows, cols[field], read)
    if tr.mapping.price_list is not None and "product" in out:
        out["product"] = np.array([None if p is None else tr.mapping.price_list.canonical_product(p)
                                   for p in out["product"]], dtype=object)
    if prices is not None and amount_blank.any():
        _fill_amounts(out, raw, rows, amount_blank, tr, prices, price_file)
    if not len(rows):
        return pd.DataFrame(columns=list(dict.fromkeys([LINE, *OPPORTUNITY_COLUMNS, ESTIMATED])))
    # Lists, so each column's type is inferred as from one record per row (floats and None make float64).
    return pd.DataFrame({k: v.tolist() if v.dtype == object else v for k, v in out.items()})


def _flags(values: np.ndarray) -> np.ndarray:
    """A column of True/False results as a boolean array."""
    return values.astype(bool)


def _total_word(value: object, report) -> bool:
    return is_total_word(parse_text(value))


def _fill_amounts(out: dict[str, np.ndarray], raw: pd.DataFrame, rows: np.ndarray, blank: np.ndarray,
                  tr: _Translator, prices: dict[str, float], price_file: str) -> None:
    """A blank amount takes the product's list price (marked estimated), or is left blank and reported."""
    cols = tr.mapping.columns
    products = out.get("product", np.full(len(rows), None, dtype=object))
    amounts, estimated = out["amount"] if "amount" in out else np.full(len(rows), None, dtype=object), out[ESTIMATED]
    out["amount"] = amounts
    raw_products = raw[cols["product"]].to_numpy(dtype=object) if "product" in cols else None
    lines = raw[LINE].to_numpy()
    for i in np.flatnonzero(blank):
        product = products[i]
        if product in prices:
            amounts[i], estimated[i] = prices[product], True
        elif product is not None:
            value = raw_products[rows[i]]
            tr.report(int(lines[rows[i]]), cols["product"], value,
                      f"no list price for this product in {price_file} (it lists {', '.join(prices)}); add an alias "
                      "under [price_list.aliases]; amount left blank", "warning", "import_no_price",
                      (("value", value), ("file", price_file), ("products", tuple(prices))))


def _drop_duplicate_ids(frame: pd.DataFrame, tr: _Translator) -> pd.DataFrame:
    """The first row of each id; later copies reported on the id column, or the import refused if the mapping says."""
    if frame.empty:
        return frame
    later = frame["id"].duplicated(keep="first")
    if not later.any():
        return frame
    first_line = frame.drop_duplicates("id").set_index("id")[LINE]
    column = tr.mapping.columns["id"]
    if tr.mapping.duplicate_ids == "refuse":
        copies = [f"{ident!r} (lines {first_line[ident]}, {line})"
                  for ident, line in zip(frame.loc[later, "id"], frame.loc[later, LINE])]
        raise InputError(f"export {tr.source}, column {column}: {len(copies)} id(s) used more than once: "
                         f"{'; '.join(copies[:10])}{' ...' if len(copies) > 10 else ''}; the mapping refuses "
                         "duplicates ([source].duplicate_ids = \"refuse\"): remove the copies, or set it to "
                         "\"keep_first\"")
    for ident, line in zip(frame.loc[later, "id"], frame.loc[later, LINE]):
        tr.report(line, column, ident, f"this id is already on line {first_line[ident]}, which is kept (the first "
                  "copy, as Excel's Remove Duplicates keeps it); this later copy is left out", "error",
                  "import_duplicate_id", (("value", ident), ("first_line", int(first_line[ident]))))
    return frame[~later]


def _load_prices(mapping: Mapping, export_path: Path, problems: list[Problem]) -> dict[str, float] | None:
    spec = mapping.price_list
    if spec is None:
        return None
    path = mapping.locate(spec.file, export_path)
    table = read_table(path, encoding=mapping.encoding, delimiter=mapping.delimiter, sheet=spec.sheet,
                       wanted=(spec.product, spec.price), problems=problems)
    _require_columns(table, (spec.product, spec.price), mapping, "[price_list]")
    prices: dict[str, float] = {}
    for record in table.to_dict("records"):
        name, value = parse_text(record[spec.product]), record[spec.price]
        try:
            prices[name] = read_amount(value) if name else read_amount(None)
        except InputError:
            problems.append(Problem(path.name, record[LINE], spec.price, value,
                                    "expected a product name and a price such as 550; the price is not used",
                                    "warning", "import_bad_price", (("value", value),)))
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
                       wanted=spec.columns.values(), problems=problems)
    _require_columns(table, spec.columns.values(), mapping, "[reps]")
    rows = []
    for record in table.to_dict("records"):
        row = {field: read_cell(record[column], field, REPS, mapping.date_formats,
                                _reporter(problems, path.name, record[LINE], column))
               for field, column in spec.columns.items()}
        if row.get("rep") is None:
            problems.append(Problem(path.name, record[LINE], spec.columns["rep"], None,
                                    "blank; a rep needs a name, so the row is left out", "error", "import_rep_blank"))
            continue
        rows.append({LINE: record[LINE], **row})
    reps = pd.DataFrame(rows, columns=[LINE, *spec.columns])
    dup = reps["rep"].duplicated(keep=False)
    for line, name in zip(reps.loc[dup, LINE], reps.loc[dup, "rep"]):
        problems.append(Problem(path.name, line, spec.columns["rep"], name,
                                "this rep is listed more than once; each is left out", "error", "import_rep_twice",
                                (("value", name),)))
    reps = reps[~dup].drop(columns=LINE)
    reps.attrs["source"] = path.name
    return reps


def _finish_reps(reps: pd.DataFrame, opps: pd.DataFrame, mapping: Mapping, source: str, lang: str,
                 problems: list[Problem]) -> pd.DataFrame:
    """Every rep the file lists, then every rep only the pipeline names (reported), in canonical columns."""
    known = set(reps["rep"])
    extra = []
    if not opps.empty:
        for name, line in opps.dropna(subset=["rep"]).groupby("rep", sort=False)[LINE].first().items():
            if name not in known:
                extra.append({"rep": name})
                if mapping.reps is not None:
                    file = reps.attrs.get("source", "the reps file")
                    problems.append(Problem(source, line, mapping.columns["rep"], name,
                                            f"rep is not in {file}; added to the reps with blank details",
                                            "warning", "import_rep_added", (("value", name), ("file", file))))
    out = pd.concat([reps, pd.DataFrame(extra, columns=["rep"])], ignore_index=True) if extra else reps
    supplied = set(mapping.reps.columns) if mapping.reps else {"rep"}
    for field in REP_EXPECTED_FIELDS:
        if field not in supplied and len(out):
            header = field_header(field, lang, REPS)
            problems.append(Problem(reps.attrs.get("source", source), None, None, None,
                                    f"the export gives no {header} ({field}) for the reps; left blank for all "
                                    f"{len(out)} reps, to be filled in the reps table", "warning",
                                    "import_reps_lack_field", (("field", header), ("count", len(out)))))
    for field in REPS_DATE_FIELDS:
        out[field] = (pd.to_datetime(out[field]) if field in out else pd.Series(pd.NaT, index=out.index)
                      ).astype("datetime64[ns]")
    return out.reindex(columns=list(REP_COLUMNS)).reset_index(drop=True)


def _apply_defaults(opps: pd.DataFrame, reps: pd.DataFrame, mapping: Mapping, as_of: dt.date, source: str,
                    lang: str, problems: list[Problem]) -> None:
    """Fill what the export leaves blank from [defaults]: every row of an unmapped field, the blank cells of a mapped
    one. A date estimated from another date is marked in ``CLOSE_ESTIMATED``."""
    for field, value in mapping.defaults.items():
        current = opps[field] if field in opps else pd.Series(None, index=opps.index, dtype=object)
        blank = current.map(is_blank).astype(bool)
        if isinstance(value, FromReps):
            lookup = dict(zip(reps["rep"], reps[value.field])) if value.field in reps else {}
            fill = opps["rep"].map(lookup) if len(opps) else current
        elif isinstance(value, DateDefault):
            fill, days = _estimated_dates(opps, value, as_of, source, problems)
        else:
            fill = pd.Series(value, index=opps.index, dtype=object)
        filled = blank & ~fill.map(is_blank).astype(bool)
        opps[field] = current.astype(object).where(~filled, fill)
        if isinstance(value, DateDefault):
            opps[CLOSE_ESTIMATED] = filled.where(~blank | filled, None).astype(object)
        if field in mapping.columns and filled.any():
            problems.append(_default_filled(source, mapping.columns[field], value, int(filled.sum()), lang,
                                            days if isinstance(value, DateDefault) else None))


def _default_filled(source: str, column: str, default: object, count: int, lang: str,
                    days: int | None = None) -> Problem:
    """The one line that says how many blank cells of a mapped column [defaults] filled, and with what (``days``:
    what a date default added)."""
    if isinstance(default, DateDefault):
        base = label("import.report_date", lang) if default.base == REPORT_DATE else field_header(default.base, lang)
        marker = field_header(CLOSE_ESTIMATED, lang)
        cycle = default.add_days == SALES_CYCLE
        why = " (the mean sales cycle of the export's won deals)" if cycle else ""
        return Problem(source, None, column, None,
                       f"{count} blank cell(s) estimated as {default.base} + {days} days{why}, marked in {marker}",
                       "warning", "import_default_cycle" if cycle else "import_default_date",
                       (("count", count), ("base", base), ("marker", marker), ("days", days)))
    if isinstance(default, FromReps):
        header = field_header(default.field, lang, REPS)
        return Problem(source, None, column, None, f"{count} blank cell(s) filled with {default.describe()}",
                       "warning", "import_default_from_reps", (("count", count), ("field", header)))
    return Problem(source, None, column, default, f"{count} blank cell(s) filled with {default!r} from [defaults]",
                   "warning", "import_default_filled", (("count", count),))


def _estimated_dates(opps: pd.DataFrame, default: DateDefault, as_of: dt.date, source: str,
                     problems: list[Problem]) -> tuple[pd.Series, int | None]:
    """The base date of each row (or the report date) plus the default's days or the export's mean sales cycle;
    and the days added."""
    base = (pd.Series(pd.Timestamp(as_of), index=opps.index) if default.base == REPORT_DATE
            else pd.to_datetime(opps.get(default.base, pd.Series(pd.NaT, index=opps.index))))
    days = default.add_days
    if days == SALES_CYCLE:
        dated = opps[opps["status"].eq("won") & opps["created_date"].notna() & opps["close_date"].notna()] \
            if {"created_date", "close_date"} <= set(opps.columns) else opps.iloc[0:0]
        cycle = sales_cycle_days(dated) if len(dated) else None
        if cycle is None:
            problems.append(Problem(source, None, None, None, "no won deal with both a created and a close date, "
                                    "so the sales cycle cannot be measured; blank close dates are left blank",
                                    "warning", "import_no_sales_cycle"))
            return pd.Series(None, index=opps.index, dtype=object), None
        days = round(cycle)
    return (base + pd.Timedelta(days=days)).astype(object).where(base.notna(), None), days


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


def import_export(mapping: Mapping | Path | str, export_path: Path | str, methodology: Methodology, *,
                  as_of: dt.date | None = None, lang: str = "zh-CN") -> ImportResult:
    """Translate the export into canonical opportunities and reps, listing everything it could not use.

    ``as_of`` is the report date a default ``{ from = "report_date" }`` counts from (default today); ``lang`` the
    language of the workbook headers messages name."""
    mapping = as_mapping(mapping)
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
            header = field_header(field, lang)
            problems.append(Problem(source, None, None, None,
                                    f"[columns] does not map {header} ({field}); left blank on every row", "warning",
                                    "import_unmapped_field", (("field", header), ("key", field))))
    rows = _drop_duplicate_ids(_translate_rows(raw, tr, prices, price_file), tr)
    reps = _finish_reps(_load_reps(mapping, export_path, problems), rows, mapping, source, lang, problems)
    _apply_defaults(rows, reps, mapping, as_of or dt.date.today(), source, lang, problems)
    opps = _canonical_frame(rows)
    problems.sort(key=lambda p: (p.sheet != source, p.sheet, p.row if p.row is not None else 0))
    return ImportResult(opportunities=opps, reps=reps, problems=tuple(problems), source_rows=len(raw),
                        source=source, lines=pd.Series(rows[LINE].to_numpy(), index=rows["id"].to_numpy()))
