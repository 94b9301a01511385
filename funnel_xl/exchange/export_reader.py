"""Read one export file (CSV or XLSX) as its cells stand: the header found, and every row with its line number.

Exports come from people as much as from CRMs: a title above the headers, blank rows, headers with stray spaces or
full-width characters (（元）for (元)). The header is the row ``header_row`` names, or else the first row that holds
every column the caller wants, compared after folding (``fold_header``). Columns that fold to a wanted name take the
caller's spelling, so what the mapping names is what the frame has, and messages name a column as the user wrote it.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from funnel_xl.domain.parsing import is_blank, parse_text
from funnel_xl.domain.schema import Problem
from funnel_xl.errors import MappingError

LINE = "_line"  # the export line (or sheet row) a raw record came from
HEADER_SEARCH_ROWS = 30  # a header below this many filled rows is not guessed: [source].header_row says where
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def fold_header(text: object) -> str:
    """A header as compared: NFKC (full-width letters, digits, brackets and spaces to ASCII), spaces trimmed and
    runs of white space made one."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).split())


def _blank_record(record: Iterable[object]) -> bool:
    return all(is_blank(c) for c in record)


def _csv_records(path: Path, encoding: str, delimiter: str) -> list[tuple[int, list[object]]]:
    """(line, fields) of every record that holds something; a record spanning lines is numbered by its first."""
    records = []
    try:
        with path.open(newline="", encoding=encoding) as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            start = 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if record and "".join(record).strip():  # CSV fields are text: blank when only white space
                    records.append((line, list(record)))
    except UnicodeDecodeError as exc:
        raise MappingError(f"export {path.name} is not {encoding} text ({exc}); set [source].encoding "
                           "in the mapping (e.g. 'gbk')") from None
    return records


def _sheet_records(path: Path, sheet: str | None) -> list[tuple[int, list[object]]]:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    name = sheet or book.sheet_names[0]
    if name not in book.sheet_names:
        raise MappingError(f"export {path.name} has no sheet {name!r}; it has {', '.join(book.sheet_names)}")
    cells = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return [(n, list(record)) for n, record in enumerate(cells, start=1) if not _blank_record(record)]


def read_records(path: Path, *, encoding: str = "utf-8-sig", delimiter: str = ",",
                 sheet: str | None = None) -> list[tuple[int, list[object]]]:
    """(line or sheet row, cells) of every row of the file that holds something, header and title rows included."""
    if not path.is_file():
        raise MappingError(f"export file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        records = _csv_records(path, encoding, delimiter)
    elif suffix in SHEET_SUFFIXES:
        records = _sheet_records(path, sheet)
    else:
        raise MappingError(f"export {path.name}: expected a .csv or .xlsx file, not {suffix or 'no suffix'!r}")
    if not records:
        raise MappingError(f"export {path.name} is empty: expected a header row")
    return records


def _header_index(records: list[tuple[int, list[object]]], wanted: set[str], header_row: int | None,
                  source: str) -> int:
    """The position in ``records`` of the header: the row ``header_row`` names; else the first holding every wanted
    column (folded); else the one holding most of them (the caller then names what is missing); else the first."""
    if header_row is not None:
        for i, (line, _) in enumerate(records):
            if line == header_row:
                return i
        raise MappingError(f"export {source}: [source].header_row = {header_row}, but that row is blank or beyond "
                           f"the end of the file (its last filled row is {records[-1][0]})")
    best, best_count = 0, 0
    for i, (_, record) in enumerate(records[:HEADER_SEARCH_ROWS]):
        count = len(wanted & {fold_header(c) for c in record if not is_blank(c)})
        if count == len(wanted) and wanted:
            return i
        if count > best_count:
            best, best_count = i, count
    return best


def _header_names(record: list[object], wanted: Iterable[str]) -> list[str]:
    """The header cells as text, a cell that folds to a wanted name spelt as the caller spells it."""
    spelling = {fold_header(w): w for w in wanted}
    names = []
    for cell in record:
        text = parse_text(cell) or ""
        names.append(spelling.get(fold_header(text), text))
    return names


def read_table(path: Path, *, encoding: str = "utf-8-sig", delimiter: str = ",", sheet: str | None = None,
               header_row: int | None = None, wanted: Iterable[str] = (),
               problems: list[Problem] | None = None) -> pd.DataFrame:
    """One export file as raw cells (text from CSV; native values from XLSX) plus each row's line (``LINE``).

    Rows above the header (a title) and blank rows are skipped; ``attrs`` holds the file name (``source``) and the
    header's line (``header_line``). A CSV record with more or fewer fields than the header is reported in
    ``problems`` and left out.
    """
    problems = [] if problems is None else problems
    records = read_records(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
    is_csv = path.suffix.lower() in CSV_SUFFIXES
    wanted = list(dict.fromkeys(wanted))
    at = _header_index(records, {fold_header(w) for w in wanted}, header_row, path.name)
    header_line, header = records[at][0], _header_names(records[at][1], wanted)
    rows, lines = [], []
    for line, record in records[at + 1:]:
        if is_csv and len(record) != len(header):
            problems.append(Problem(path.name, line, None, delimiter.join(record),
                                    f"expected {len(header)} fields as in the header (line {header_line}), found "
                                    f"{len(record)}; the row is left out", code="import_field_count",
                                    params=(("expected", len(header)), ("found", len(record)),
                                            ("header_line", header_line))))
            continue
        rows.append((record + [""] * len(header))[: len(header)])
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    frame.attrs.update(source=path.name, header_line=header_line)
    return frame


def columns_of(frame: pd.DataFrame) -> list[str]:
    """The export's own columns, as its header names them."""
    return [c for c in frame.columns if c != LINE]
