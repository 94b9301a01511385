"""The modules of the VBA project: read from ``.bas``/``.cls`` export files, from the installed xlwings, or made
as document modules, and the text VBA stores for each (attribute block completed, CRLF line ends).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from funnel_xl.excel.commands import MACRO_COMMANDS, ribbon_callback, run_python_call
from funnel_xl.paths import templates_dir
from funnel_xl.workbook.vba.errors import VbaProjectError

ModuleKind = Literal["standard", "class", "document"]

MACROS_MODULE_NAME = "FunnelMacros"
WORKBOOK_CODE_NAME = "ThisWorkbook"
CODEPAGE = 1252
ENCODING = "cp1252"


@dataclass(frozen=True)
class VbaModule:
    """One VBA module: its name, its source as the VBA editor exports it, and its kind.

    ``source`` may carry the export header (``VERSION 1.0 CLASS`` ... ``END``) and ``Attribute`` lines;
    both are normalised when stored. A document module (the workbook or a sheet) needs a ``VB_Base``
    attribute saying which; ``document_module()`` writes it.
    """

    name: str
    source: str
    kind: ModuleKind = "standard"

    def __post_init__(self) -> None:
        check_identifier(self.name, "module name")
        if self.kind not in ("standard", "class", "document"):
            raise VbaProjectError(
                f"VBA module {self.name}: kind {self.kind!r} is not one of 'standard', 'class', 'document'"
            )


_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_ATTRIBUTE = re.compile(r"Attribute\s+(\w+)\s*=\s*(.*)")
# The base class of a document module: the workbook object or a worksheet (Excel's type library GUIDs).
_DOCUMENT_BASES = {
    "workbook": '"0{00020819-0000-0000-C000-000000000046}"',
    "worksheet": '"0{00020820-0000-0000-C000-000000000046}"',
}
_CLASS_BASE = '"0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"'
# The attribute block VBA stores at the top of each kind of module, in its order, with its defaults.
_STORED_ATTRIBUTES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "standard": (("VB_Name", None),),
    "class": (
        ("VB_Name", None), ("VB_Base", _CLASS_BASE), ("VB_GlobalNameSpace", "False"),
        ("VB_Creatable", "False"), ("VB_PredeclaredId", "False"), ("VB_Exposed", "False"),
        ("VB_TemplateDerived", "False"), ("VB_Customizable", "False"),
    ),
    "document": (
        ("VB_Name", None), ("VB_Base", None), ("VB_GlobalNameSpace", "False"),
        ("VB_Creatable", "False"), ("VB_PredeclaredId", "True"), ("VB_Exposed", "True"),
        ("VB_TemplateDerived", "False"), ("VB_Customizable", "True"),
    ),
}


def check_identifier(name: str, what: str) -> None:
    """Refuse a module, project or code name that VBA cannot use, saying VBA's rule."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise VbaProjectError(
            f"VBA {what} {name!r} is not usable: expected a letter then up to 30 letters, digits or "
            "underscores (VBA's rule; a sheet's code name follows it too)"
        )


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def stored_source(module: VbaModule) -> str:
    """The text VBA keeps for a module: export header dropped, attribute block completed, CRLF line ends.

    This is what Excel's editor shows after ``Attribute`` lines, and what olevba extracts back.
    """
    lines = _lines(module.source)
    if lines and lines[0].strip().upper().startswith("VERSION ") and "BEGIN" in (s.strip() for s in lines[:3]):
        end = next((i for i, s in enumerate(lines) if s.strip() == "END"), None)
        if end is None:
            raise VbaProjectError(f"VBA module {module.name}: export header 'VERSION ... BEGIN' has no 'END' line")
        lines = lines[end + 1:]
    given: dict[str, str] = {}
    extra: list[str] = []
    body_start = 0
    for body_start, line in enumerate(lines):
        match = _ATTRIBUTE.fullmatch(line.strip())
        if not match:
            break
        key, value = match.group(1), match.group(2).strip()
        given[key] = value
        if key not in dict(_STORED_ATTRIBUTES[module.kind]):
            extra.append(f"Attribute {key} = {value}")
    else:
        body_start = len(lines)
    body = lines[body_start:]

    quoted_name = f'"{module.name}"'
    if given.setdefault("VB_Name", quoted_name) != quoted_name:
        raise VbaProjectError(
            f"VBA module {module.name}: its source says Attribute VB_Name = {given['VB_Name']}, "
            f"expected {quoted_name} (the module name and the source must agree)"
        )
    head: list[str] = []
    for key, default in _STORED_ATTRIBUTES[module.kind]:
        value = given.get(key, default)
        if value is None:
            raise VbaProjectError(
                f"VBA document module {module.name}: no Attribute {key} in its source; expected the "
                "workbook's or a worksheet's base (use document_module())"
            )
        head.append(f"Attribute {key} = {value}")
    while body and body[-1] == "":
        body.pop()
    return "\r\n".join(head + extra + body) + "\r\n"


def document_module(name: str, of: Literal["workbook", "worksheet"] = "worksheet", code: str = "") -> VbaModule:
    """The code module behind the workbook or one sheet; ``name`` must equal that object's code name."""
    if of not in _DOCUMENT_BASES:
        raise VbaProjectError(f"document module {name}: 'of' must be 'workbook' or 'worksheet', got {of!r}")
    source = f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = {_DOCUMENT_BASES[of]}\r\n{code}'
    return VbaModule(name, source, "document")


def _read_source(path: Path) -> str:
    # VBA export files are in the ANSI code page; newline="" keeps CRLF as written.
    try:
        with path.open(encoding=ENCODING, newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise VbaProjectError(f"VBA source file {path} is missing") from None
    except UnicodeDecodeError as exc:
        raise VbaProjectError(f"VBA source file {path}: byte {exc.start} is not {ENCODING} text") from None


def module_from_file(path: Path) -> VbaModule:
    """A module read from a ``.bas`` (standard) or ``.cls`` (class) export file, named after the file."""
    kinds = {".bas": "standard", ".cls": "class"}
    if path.suffix.lower() not in kinds:
        raise VbaProjectError(f"VBA source file {path}: expected a .bas or .cls file")
    return VbaModule(path.stem, _read_source(path), kinds[path.suffix.lower()])  # type: ignore[arg-type]


_VERSION_COMMENT = re.compile(r"^'Version:\s*(\S+)\s*$", re.MULTILINE)
_VERSION_CONSTANT = re.compile(r'^\s*Public Const XLWINGS_VERSION As String = "([^"]+)"', re.MULTILINE)


def xlwings_vba_version(source: str) -> str:
    """The xlwings version written in xlwings' VBA module (its ``'Version:`` line and XLWINGS_VERSION)."""
    found = {m.group(1) for pattern in (_VERSION_COMMENT, _VERSION_CONSTANT) for m in pattern.finditer(source)}
    if len(found) != 1:
        raise VbaProjectError(
            "xlwings VBA module: expected one version in its 'Version: line and XLWINGS_VERSION constant, "
            f"found {sorted(found) or 'none'}"
        )
    return found.pop()


def xlwings_modules(package_dir: Path | None = None, expected_version: str | None = None) -> list[VbaModule]:
    """xlwings' standalone VBA (the ``xlwings`` module and its ``Dictionary`` class), as ``xlwings
    quickstart --standalone`` embeds them, read from the installed package and checked against its version.
    """
    if package_dir is None or expected_version is None:
        import xlwings  # imported here: only the build needs it, and it is slow to import

        package_dir = package_dir or Path(xlwings.__file__).resolve().parent
        expected_version = expected_version or xlwings.__version__
    main = module_from_file(package_dir / "xlwings.bas")
    found = xlwings_vba_version(main.source)
    if found != expected_version:
        raise VbaProjectError(
            f"{package_dir / 'xlwings.bas'}: the VBA module says xlwings {found}, but xlwings "
            f"{expected_version} is installed; reinstall the pinned xlwings before building the workbook"
        )
    return [main, module_from_file(package_dir / "addin" / "Dictionary.cls")]


_SUB = re.compile(r"^Public Sub (\w+)\(([^)]*)\)[ \t]*\n(.*?)^End Sub", re.MULTILINE | re.DOTALL)


def check_macro_module(module: VbaModule) -> None:
    """Refuse a macros module that lacks a product macro (``excel/commands.py``): each must be a Sub running its
    Python function by ``RunPython``, with a ribbon callback that takes the clicked control and runs the Sub."""
    subs = {
        name: (params.strip(), [line.strip() for line in body.splitlines() if line.strip()])
        for name, params, body in _SUB.findall("\n".join(_lines(module.source)))
    }
    for macro in MACRO_COMMANDS:
        expected = {
            macro: ("", [f'RunPython "{run_python_call(macro)}"']),
            ribbon_callback(macro): ("control As IRibbonControl", [macro]),
        }
        for sub, (params, body) in expected.items():
            if subs.get(sub) != (params, body):
                raise VbaProjectError(
                    f"VBA module {module.name}: expected 'Public Sub {sub}({params})' doing only "
                    f"{body[0]!r}, the macro list of funnel_xl/excel/commands.py names it"
                )


def funnel_modules(
    sheet_code_names: Sequence[str] = (), *, workbook_code_name: str = WORKBOOK_CODE_NAME
) -> list[VbaModule]:
    """Every module of Funnel.xlsm: document modules for the workbook and each sheet (by code name, in
    sheet order), the funnel macros, and xlwings' standalone modules."""
    seen: dict[str, str] = {}
    for name in (workbook_code_name, *sheet_code_names):
        check_identifier(name, "code name")
        if name.lower() in seen:
            raise VbaProjectError(f"code name {name!r} is given twice (as {seen[name.lower()]!r} too)")
        seen[name.lower()] = name
    documents = [document_module(workbook_code_name, "workbook")]
    documents += [document_module(name, "worksheet") for name in sheet_code_names]
    macros = module_from_file(templates_dir() / "vba" / f"{MACROS_MODULE_NAME}.bas")
    check_macro_module(macros)
    return [*documents, macros, *xlwings_modules()]
