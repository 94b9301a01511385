"""The domain stays pure: no workbook library, no Excel, nothing above it in the layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[2] / "funnel_xl" / "domain"
ALLOWED_THIRD_PARTY = {"pandas", "numpy", "pandera", "cn2an"}
ALLOWED_OWN = {"funnel_xl.domain", "funnel_xl.errors"}
WORKBOOK_LIBRARIES = ("openpyxl", "xlwings", "xlsxwriter", "python_calamine", "fastexcel")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_domain_imports_only_the_standard_library_pandas_and_its_own_layer():
    offending = {}
    for path in sorted(DOMAIN.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
                continue
            if any(name == own or name.startswith(own + ".") for own in ALLOWED_OWN):
                continue
            offending.setdefault(path.name, []).append(name)
    assert offending == {}


def test_importing_the_whole_domain_loads_neither_openpyxl_nor_xlwings():
    modules = ", ".join(f"funnel_xl.domain.{p.stem}" for p in sorted(DOMAIN.glob("*.py")) if p.stem != "__init__")
    code = (f"import sys, {modules}\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WORKBOOK_LIBRARIES!r}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
