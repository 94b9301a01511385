"""Whether two workbooks hold the same 商机 and 销售人员 sheets, cell by cell (address, style, type, value, formula),
and the same table parts: how an import at size was checked against the import before the column-wise writer.

    .venv/bin/python -m benchmarks.same_tables OLD.xlsm NEW.xlsm      # exit status 1 when a cell differs
"""

from __future__ import annotations

import sys
import zipfile

from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, TABLE_REPS
from funnel_xl.workbook.ooxml import cell_spans
from funnel_xl.workbook.package import PackageIndex


def table_cells(path, table: str) -> tuple[str, list[tuple], bytes]:
    """The table's range, every cell of its sheet, and the table part's bytes."""
    with zipfile.ZipFile(path) as zf:
        index = PackageIndex.read(zf)
        info = index.tables[table]
        xml = zf.read(index.sheet(info.sheet).part).decode("utf-8")
        part = zf.read(info.part)
    return info.ref, [(c.ref, c.style, c.kind, c.value, c.formula) for c in cell_spans(xml)], part


def main(argv: list[str] | None = None) -> int:
    old, new = (argv if argv is not None else sys.argv[1:])[:2]
    differing = 0
    for table in (TABLE_OPPORTUNITIES, TABLE_REPS):
        (ref_a, cells_a, part_a), (ref_b, cells_b, part_b) = table_cells(old, table), table_cells(new, table)
        diff = [(a, b) for a, b in zip(cells_a, cells_b) if a != b]
        count = len(diff) + abs(len(cells_a) - len(cells_b)) + (part_a != part_b)
        print(f"{table}: {ref_a} / {ref_b}, {len(cells_a):,} / {len(cells_b):,} cells, {count} differing")
        for a, b in diff[:10]:
            print(f"  {a}\n  {b}")
        differing += count
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
