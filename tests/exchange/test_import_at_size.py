"""The import at a company's size writes new rows column by column (each column's distinct values shown once, the
formula columns from one template each). Those rows are, cell for cell, the rows it writes one cell at a time where
the table already has rows for them: the path every appended row took before, kept for the rows a sheet has."""

from __future__ import annotations

import csv
import shutil
import zipfile

import pandas as pd
import pytest

from funnel_xl.cli import main
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.ooxml import cell_spans, split_ref
from funnel_xl.workbook.package import PackageIndex
from funnel_xl.workbook.table_writer import blank_rows_at_end

DEALS = 300   # the first deals of the real export ...
COPIES = 3    # ... repeated with distinct ids, as the benchmark scales the export


@pytest.fixture(scope="module")
def scaled_export(crm_export_dir, tmp_path_factory):
    """The export's first deals three times over, the copies' ids suffixed -1, -2; the other files as they are."""
    folder = tmp_path_factory.mktemp("scaled_export")
    for other in crm_export_dir.glob("*.csv"):
        shutil.copy(other, folder / other.name)
    with open(crm_export_dir / "sales_pipeline.csv", newline="", encoding="utf-8") as fh:
        header, *records = list(csv.reader(fh))
    with open(folder / "sales_pipeline.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for c in range(COPIES):
            out.writerows([r[0] if c == 0 else f"{r[0]}-{c}", *r[1:]] for r in records[:DEALS])
    return folder


def _imported(workbook, export, mapping) -> None:
    assert main(["import", str(workbook), str(export), "--mapping", str(mapping), "--as-of", "2026-11-20"]) == 0


def _reps(export) -> int:
    with open(export / "sales_teams.csv", newline="", encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


@pytest.fixture(scope="module")
def column_wise(empty_product_sales, scaled_export, maven_mapping_path, tmp_path_factory):
    """The empty workbook with the scaled export imported: every row new, written column by column."""
    path = tmp_path_factory.mktemp("column_wise") / "Funnel.xlsm"
    shutil.copy2(empty_product_sales, path)
    _imported(path, scaled_export, maven_mapping_path)
    return path


@pytest.fixture(scope="module")
def cell_by_cell(empty_product_sales, scaled_export, maven_mapping_path, tmp_path_factory):
    """The same import into a workbook whose tables already hold a blank row for every row the import adds, so each
    lands in a row the sheet has and is written one cell at a time."""
    path = tmp_path_factory.mktemp("cell_by_cell") / "Funnel.xlsm"
    shutil.copy2(empty_product_sales, path)
    with FileWorkbook(path, quiet=True) as book:
        # Appended rows fill the table's blank rows first, so ``rows`` blank rows leave exactly ``rows``.
        for table, rows in ((TABLE_OPPORTUNITIES, DEALS * COPIES), (TABLE_REPS, _reps(scaled_export))):
            book.append_rows(table, pd.DataFrame(index=range(rows)))
        book.save()
    with FileWorkbook(path, read_only=True, quiet=True) as book:
        for table, rows in ((TABLE_OPPORTUNITIES, DEALS * COPIES), (TABLE_REPS, _reps(scaled_export))):
            assert len(blank_rows_at_end(book.read_rows(table))) == rows
    _imported(path, scaled_export, maven_mapping_path)
    return path


def _sheet_cells(path, table: str) -> tuple[str, list[tuple]]:
    """The table's range, and every cell of the sheet it sits on: address, style, type, value, formula."""
    with zipfile.ZipFile(path) as zf:
        index = PackageIndex.read(zf)
        info = index.tables[table]
        xml = zf.read(index.sheet(info.sheet).part).decode("utf-8")
    return info.ref, [(c.ref, c.style, c.kind, c.value, c.formula) for c in cell_spans(xml)]


@pytest.mark.parametrize("table", [TABLE_OPPORTUNITIES, TABLE_REPS])
def test_rows_written_column_by_column_are_the_rows_written_cell_by_cell(column_wise, cell_by_cell, scaled_export,
                                                                          table):
    ref, cells = _sheet_cells(column_wise, table)
    assert (ref, cells) == _sheet_cells(cell_by_cell, table)
    first, _, last, _ = split_ref(ref)
    rows = last - first
    assert rows == (DEALS * COPIES if table == TABLE_OPPORTUNITIES else _reps(scaled_export))


def test_the_imported_rows_read_back_as_the_export_holds_them(column_wise, scaled_export):
    """A spot check beside the cell-for-cell one: ids, amounts and close dates as the CSV has them."""
    frame = FileWorkbook(column_wise, read_only=True, quiet=True).read_rows(TABLE_OPPORTUNITIES)
    export = pd.read_csv(scaled_export / "sales_pipeline.csv", dtype=str)
    assert frame["id"].tolist() == export["opportunity_id"].tolist()
    won = export["deal_stage"].eq("Won").to_numpy()
    assert frame["amount"].to_numpy()[won].tolist() == export["close_value"][won].astype(float).tolist()
    assert [d.strftime("%-m/%-d/%Y") for d in frame["close_date"].to_numpy()[won]] == \
        export["close_date"][won].tolist()
