"""Render the pictures of docs/excel-checklist.md: what each button should leave in the workbook, as LibreOffice
draws it (the command line gives what the buttons give; tests/workbook/test_both_doors.py and
tests/excel/test_macros.py prove it).

    .venv/bin/python tools/checklist_renders.py            # writes docs/excel-checklist/*.png

The sample workbook is built, recalculated (build-workbook does it), then one of 李强's returned forms is collected
(a criterion met, a note, and a junk file refused) and the sheets are rendered at a small size.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "excel-checklist"
SHEETS = {"说明": "guide", "预测": "forecast", "漏斗": "funnel", "配额": "quota", "进展": "progress",
          "数据问题": "problems", "收集记录": "collection-log", "xlwings.conf": "xlwings-conf"}
DPI = 45


def main() -> int:
    sys.path.insert(0, str(ROOT))
    import openpyxl

    from funnel_xl.forms.collect import FolderInbox
    from funnel_xl.libreoffice import render_pngs
    from funnel_xl.outputs import Folder
    from funnel_xl.services.build import build_workbook
    from funnel_xl.services.collect import collect_forms
    from funnel_xl.services.forms import generate_forms
    from funnel_xl.workbook.file_adapter import FileWorkbook
    from tests.forms.formtools import refs

    with tempfile.TemporaryDirectory(prefix="checklist_") as tmp:
        tmp = Path(tmp)
        master = build_workbook(tmp / "Funnel.xlsm", data="sample")
        (form,) = generate_forms(FileWorkbook(master, read_only=True), Folder(tmp / "sent"), rep="李强")
        wb = openpyxl.load_workbook(form)
        ws = wb.worksheets[0]
        ws[refs(ws)["chk:recognition_meets_requirements"]] = "是"
        ws[refs(ws)["notes"]] = "客户已确认预算"
        (tmp / "inbox").mkdir()
        wb.save(tmp / "inbox" / form.name)
        (tmp / "inbox" / "报价.xlsx").write_bytes(b"not a workbook")
        with FileWorkbook(master, quiet=True) as book:
            collect_forms(book, FolderInbox(tmp / "inbox"))
        pngs = render_pngs(master, tmp / "png", dpi=DPI)
        OUT.mkdir(parents=True, exist_ok=True)
        for png in pngs:
            name = png.stem.split("_", 1)[1]
            if name in SHEETS:
                shutil.copy(png, OUT / f"{SHEETS[name]}.png")
                print(OUT / f"{SHEETS[name]}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
