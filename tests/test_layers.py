"""The layers import only downwards (design.md, "Layers"): every import statement of every module counts, those
inside functions included (the lazy ones too), with relative imports resolved to the module they name."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "funnel_xl"

# Third-party libraries the domain may use besides the standard library: it stays pure (no I/O, no workbook).
DOMAIN_THIRD_PARTY = {"pandas", "numpy", "pandera", "cn2an"}
DOMAIN_OWN = ("funnel_xl.domain", "funnel_xl.errors")

# Layer -> the layers above it, which it must not import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "funnel_xl.workbook": ("funnel_xl.services", "funnel_xl.cli", "funnel_xl.excel", "funnel_xl.forms",
                           "funnel_xl.exchange"),
    "funnel_xl.services": ("funnel_xl.cli", "funnel_xl.excel"),
}
# The one door downwards through a forbidden layer: the product's macro list is plain data beside the macros, and
# the workbook builder reads it to lay out the ribbon and check the VBA (the macros themselves stay out of reach).
ALLOWED: dict[str, tuple[str, ...]] = {
    "funnel_xl.workbook": ("funnel_xl.excel.commands",),
}
# Violations known and being removed elsewhere: (importing module, imported module) -> why it is still here. Each
# must still occur (a test says so), so the entry goes as soon as the import does.
PENDING: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, at any depth; ``from a import b`` gives a and a.b, since b
    may be a module."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_scanner_sees_imports_inside_functions_and_resolves_relative_ones(tmp_path, monkeypatch):
    package = tmp_path / "funnel_xl" / "workbook"
    package.mkdir(parents=True)
    module = package / "sample.py"
    module.write_text("def f():\n    from ..services import recalculate\n    from . import cell_patch\n"
                      "    import funnel_xl.cli\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "funnel_xl")
    assert [m for _, m in imports(module)] == [
        "funnel_xl.services", "funnel_xl.services.recalculate",
        "funnel_xl.workbook", "funnel_xl.workbook.cell_patch",
        "funnel_xl.cli",
    ]


def test_the_domain_imports_only_the_standard_library_pandas_and_its_own_layer():
    offending = []
    for path in _modules():
        if not _within(module_name(path), ("funnel_xl.domain",)):
            continue
        for line, name in imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in DOMAIN_THIRD_PARTY or _within(name, DOMAIN_OWN):
                continue
            if top == "funnel_xl" and _within(name.rpartition(".")[0], DOMAIN_OWN):
                continue  # ``from funnel_xl.domain.x import name``: the name is not a module
            offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert offending == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offending = []
    for path in _modules():
        if not _within(module_name(path), (layer,)):
            continue
        for line, name in imports(path):
            if any(module_name(path) == importer and _within(name, (imported,)) for importer, imported in PENDING):
                continue
            if _within(name, FORBIDDEN[layer]) and not _within(name, ALLOWED.get(layer, ())):
                offending.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert offending == []


def test_no_product_module_imports_the_commercial_xlwings_pro():
    offending = [f"{path.relative_to(PACKAGE.parent)}:{line}" for path in _modules()
                 for line, name in imports(path) if _within(name, ("xlwings.pro",))]
    assert offending == []


def test_every_pending_violation_still_occurs():
    found = {(module_name(path), name) for path in _modules() for _, name in imports(path)}
    assert {pair for pair in PENDING if pair not in found} == set()
