"""The domain stays pure at run time: importing all of it loads no workbook library. (What each layer may import
is checked statically in tests/test_layers.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DOMAIN = PACKAGE_ROOT / "funnel_xl" / "domain"
WORKBOOK_LIBRARIES = ("openpyxl", "xlwings", "xlsxwriter", "python_calamine", "fastexcel")


def test_importing_the_whole_domain_loads_neither_openpyxl_nor_xlwings():
    names = [".".join(p.relative_to(PACKAGE_ROOT).with_suffix("").parts) for p in sorted(DOMAIN.rglob("*.py"))]
    modules = ", ".join(name.removesuffix(".__init__") for name in names)
    code = (f"import sys, {modules}\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WORKBOOK_LIBRARIES!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
