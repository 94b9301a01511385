"""The import benchmark (issue 18): ``funnel-xl import`` of the real CRM export scaled up, against XlsxWriter writing
the same rows, and the recalculation of the imported workbook against fastexcel reading its tables.

The export is ``../shared/data/crm-export`` (Maven's 8,800 deals) copied ``k`` times with distinct ids (the first copy
keeps the ids, copy ``c`` appends ``-c``), built here; without the export the benchmark stops and says why. Every
figure is a whole process, the median of ``--runs`` runs, with the peak RSS of that process alone (the launcher of
``bench_recalc``); each anchor is measured in the same run as the figure it anchors. From the repository root:

    .venv/bin/python -m benchmarks.bench_import                   # the export x3 and x12, 3 runs each
    .venv/bin/python -m benchmarks.bench_import --copies 1 3 12 --runs 5
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import shutil
import sys
from pathlib import Path

from benchmarks import synth
from benchmarks.bench_recalc import (
    _FASTEXCEL_FRAMES, FUNNEL_XL, PYTHON, TABLES, RUN_DIR, median_run, save_results,
)

REPO = Path(__file__).resolve().parents[1]
EXPORT = REPO.parent / "shared" / "data" / "crm-export"
PIPELINE = "sales_pipeline.csv"
MAPPING = REPO / "templates" / "crm" / "maven_mapping.toml"
DEALS = 8800
OPPORTUNITIES_TABLE = "tblOpportunities"

# The anchor: XlsxWriter in constant_memory mode writing the imported 商机 table's rows (header and every data row,
# each cell as the import left it: text, numbers, dates, booleans, styled blanks, and the formula columns with their
# cached values) into one sheet. XlsxWriter runs ~30 regular expressions over each formula it writes; the formulas
# are one text per column, so that preparation is memoised, as synth.formula_cache does (same bytes, 3x faster).
_XLSXWRITER = """
import pickle, sys, xlsxwriter
from xlsxwriter.worksheet import Worksheet
prepare, prepared = Worksheet._prepare_formula, {}
def memoised(self, formula, expand_future_functions=False):
    key = (formula, expand_future_functions)
    if key not in prepared:
        prepared[key] = prepare(self, formula, expand_future_functions)
    return prepared[key]
Worksheet._prepare_formula = memoised
with open(sys.argv[1], "rb") as fh:
    table = pickle.load(fh)
book = xlsxwriter.Workbook(sys.argv[2], {"constant_memory": True})
sheet = book.add_worksheet("商机")
formats = {kind: book.add_format(spec) for kind, spec in table["formats"].items()}
styles = [formats[kind] for kind in table["column_formats"]]
formulas = table["formulas"]
sheet.write_row(0, 0, table["header"])
for r, row in enumerate(table["rows"], start=1):
    for c, value in enumerate(row):
        if c in formulas:
            sheet.write_formula(r, c, formulas[c], styles[c], value)
        elif value is None:
            sheet.write_blank(r, c, None, styles[c])
        elif isinstance(value, str):
            sheet.write_string(r, c, value, styles[c])
        elif isinstance(value, bool):
            sheet.write_boolean(r, c, value, styles[c])
        elif isinstance(value, (int, float)):
            sheet.write_number(r, c, value, styles[c])
        else:
            sheet.write_datetime(r, c, value, styles[c])
book.close()
print(len(table["rows"]))
"""
_FORMATS = {"text": {}, "number": {"num_format": "#,##0.00"}, "date": {"num_format": "yyyy-mm-dd"}}


def scaled_export(copies: int) -> Path:
    """The CRM export with its pipeline repeated ``copies`` times, distinct ids (cached under benchmarks/.cache)."""
    if not (EXPORT / PIPELINE).is_file():
        raise SystemExit(f"skipped: the real CRM export is not at {EXPORT} (it lives outside the repository, in "
                         "shared/data/crm-export); the import benchmark needs it")
    folder = synth.CACHE_DIR / f"crm_export_x{copies}"
    pipeline = folder / PIPELINE
    if pipeline.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for other in EXPORT.glob("*.csv"):
        if other.name != PIPELINE:
            shutil.copyfile(other, folder / other.name)
    with open(EXPORT / PIPELINE, newline="", encoding="utf-8") as fh:
        header, *records = list(csv.reader(fh))
    tmp = pipeline.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for c in range(copies):
            for record in records:
                out.writerow([record[0] if c == 0 else f"{record[0]}-{c}", *record[1:]])
    tmp.replace(pipeline)
    return folder


def empty_workbook() -> Path:
    """An empty workbook of the export's methodology (product_sales), built once."""
    path = synth.CACHE_DIR / "empty_product_sales.xlsm"
    if not path.is_file():
        from funnel_xl.services.build import build_workbook

        synth.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        build_workbook(path, data="empty", methodology="product_sales")
    return path


def imported_path(copies: int) -> Path:
    return synth.CACHE_DIR / f"imported_x{copies}.xlsm"


def anchor_rows(workbook: Path, target: Path) -> int:
    """The imported 商机 table as the anchor writes it (header, rows of cell values, the formula text and a format
    kind per column), pickled into ``target``; the number of data rows."""
    import zipfile

    import python_calamine

    from funnel_xl.workbook.ooxml import row_template, split_ref
    from funnel_xl.workbook.package import PackageIndex

    with zipfile.ZipFile(workbook) as zf:
        index = PackageIndex.read(zf)
        info = index.tables[OPPORTUNITIES_TABLE]
        r1, c1, r2, c2 = split_ref(info.ref)
        sheet_xml = zf.read(index.sheet(info.sheet).part).decode("utf-8")
    template = row_template(sheet_xml, r1 + 1, "")
    del sheet_xml
    values = python_calamine.CalamineWorkbook.from_path(str(workbook)).get_sheet_by_name(info.sheet).to_python(
        skip_empty_area=False, nrows=r2)
    block = [list(row[c1 - 1:c2]) + [None] * max(0, c2 - len(row)) for row in values[r1 - 1:r2]]
    header, rows = block[0], [[None if v == "" else v for v in row] for row in block[1:]]
    kinds = []
    for c in range(len(header)):
        sample = next((row[c] for row in rows if row[c] is not None), None)
        kinds.append("date" if hasattr(sample, "year") else "number" if isinstance(sample, float) else "text")
    formulas = {col - c1: "=" + text for col, text in template.formulas.items() if c1 <= col <= c2}
    with open(target, "wb") as fh:
        pickle.dump({"header": header, "rows": rows, "formulas": formulas, "formats": _FORMATS,
                     "column_formats": kinds}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return len(rows)


def bench_copies(copies: int, runs: int, as_of: str) -> dict:
    export = scaled_export(copies)
    rows = DEALS * copies
    empty = empty_workbook()
    out = RUN_DIR.parent / f"import_x{copies}.json"
    load_before = os.getloadavg()[0]

    def import_cmd():
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        RUN_DIR.mkdir(parents=True)
        copy = RUN_DIR / "Funnel.xlsm"
        shutil.copyfile(empty, copy)
        return [FUNNEL_XL, "import", str(copy), str(export), "--mapping", str(MAPPING), "--as-of", as_of,
                "--json"], out

    def import_check(stdout: Path) -> None:
        summary = json.loads(stdout.read_text(encoding="utf-8"))
        if summary["added"] != rows or not summary["written"]:
            raise RuntimeError(f"import of x{copies} added {summary['added']} of {rows} rows")

    imported = median_run(import_cmd, runs, import_check)
    shutil.copyfile(RUN_DIR / "Funnel.xlsm", imported_path(copies))

    pickled = synth.CACHE_DIR / f"anchor_rows_x{copies}.pickle"
    if anchor_rows(imported_path(copies), pickled) != rows:
        raise RuntimeError(f"the imported table of x{copies} does not hold {rows} rows")
    target = RUN_DIR.parent / "xlsxwriter.xlsx"
    xlsxwriter = median_run(lambda: ([PYTHON, "-c", _XLSXWRITER, str(pickled), str(target)], None), runs)

    frames = median_run(lambda: ([PYTHON, "-c", _FASTEXCEL_FRAMES, str(imported_path(copies)), *TABLES], None),
                        runs)
    recalc_out = RUN_DIR.parent / f"recalc_imported_x{copies}.json"

    def recalc_cmd():
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        RUN_DIR.mkdir(parents=True)
        copy = RUN_DIR / "Funnel.xlsm"
        shutil.copyfile(imported_path(copies), copy)
        return [FUNNEL_XL, "recalc", str(copy), "--as-of", as_of, "--json"], recalc_out

    def recalc_check(stdout: Path) -> None:
        summary = json.loads(stdout.read_text(encoding="utf-8"))
        counted = summary["open_count"] + summary["won_count"] + summary["lost_count"] + summary["rejected_count"]
        if counted != rows:
            raise RuntimeError(f"recalc of the imported x{copies} counted {counted} of {rows} rows")

    recalc = median_run(recalc_cmd, runs, recalc_check)
    return {
        "copies": copies, "rows": rows, "file_mb": imported_path(copies).stat().st_size / 2**20,
        "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2),
        "import": imported, "xlsxwriter": xlsxwriter, "import_ratio": imported["s"] / xlsxwriter["s"],
        "recalc": recalc, "fastexcel_frames": frames, "recalc_ratio": recalc["s"] / frames["s"],
    }


def print_table(results: list[dict]) -> None:
    head = ("deals", "import s (peak MB)", "XlsxWriter s (peak MB)", "import / XlsxWriter", "recalc s (peak MB)",
            "fastexcel→frames s (peak MB)", "recalc / frames", "import s per 1k", "import MB per 1k", "file MB",
            "load")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in results:
        print(" | ".join([
            f"{r['rows']:,}", f"{r['import']['s']:.2f} ({r['import']['peak_mb']:.0f})",
            f"{r['xlsxwriter']['s']:.2f} ({r['xlsxwriter']['peak_mb']:.0f})", f"{r['import_ratio']:.2f}",
            f"{r['recalc']['s']:.2f} ({r['recalc']['peak_mb']:.0f})",
            f"{r['fastexcel_frames']['s']:.2f} ({r['fastexcel_frames']['peak_mb']:.0f})", f"{r['recalc_ratio']:.2f}",
            f"{1000 * r['import']['s'] / r['rows']:.3f}", f"{1000 * r['import']['peak_mb'] / r['rows']:.1f}",
            f"{r['file_mb']:.1f}", f"{r['load_before']:.1f}-{r['load_after']:.1f}",
        ]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, nargs="+", default=[3, 12], help="copies of the export (8,800 deals each)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--as-of", default=synth.AS_OF.isoformat())
    args = p.parse_args(argv)
    results = []
    for copies in args.copies:
        print(f"export x{copies} ({DEALS * copies:,} deals) ...", file=sys.stderr)
        results.append(bench_copies(copies, args.runs, args.as_of))
    print_table(results)
    save_results("import", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
