"""The product's macros: each VBA Sub of FunnelMacros.bas, the Python function of ``macros`` it runs, and the
ribbon's groups and icons.

Plain data, importable without xlwings: the workbook builder reads it to check the VBA source and to lay out
the ribbon, so the list of entry points is written once, here, beside the entry points themselves.
"""

from __future__ import annotations

#: The Python module every macro calls; written out in full in the VBA (see FunnelMacros.bas).
MACROS_PYTHON_MODULE = "funnel_xl.excel.macros"

#: Macro (VBA Sub) name -> Python function in ``MACROS_PYTHON_MODULE`` that does its job.
MACRO_COMMANDS: dict[str, str] = {
    "RecalculateForecast": "recalculate_forecast",
    "GenerateAssessmentForms": "generate_assessment_forms",
    "CollectAssessments": "collect_assessments",
    "BuildQuotaSheets": "build_quota_sheets",
    "ExportForReaders": "export_for_readers",
    "ImportCrmExport": "import_crm_export",
    "UpgradeWorkbook": "upgrade_workbook",
}

#: Ribbon groups in order: (label key, macros in button order).
RIBBON_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ribbon.group_forecast", ("RecalculateForecast", "BuildQuotaSheets")),
    ("ribbon.group_forms", ("GenerateAssessmentForms", "CollectAssessments")),
    ("ribbon.group_data", ("ImportCrmExport", "ExportForReaders", "UpgradeWorkbook")),
)

#: Macro -> the built-in Office icon (imageMso) its ribbon button shows.
RIBBON_ICONS: dict[str, str] = {
    "RecalculateForecast": "CalculateNow",
    "BuildQuotaSheets": "TableInsert",
    "GenerateAssessmentForms": "FileNew",
    "CollectAssessments": "FileOpen",
    "ImportCrmExport": "ImportTextFile",
    "ExportForReaders": "FileSaveAs",
    "UpgradeWorkbook": "Refresh",
}


def run_python_call(macro: str) -> str:
    """The ``RunPython`` argument of ``macro``'s Sub: the macros module named in full, then its function."""
    return f"import {MACROS_PYTHON_MODULE} as m; m.{MACRO_COMMANDS[_known(macro)]}()"


def ribbon_callback(macro: str) -> str:
    """The ``onAction`` callback a ribbon button uses to run ``macro`` (it takes the clicked control)."""
    return f"Ribbon_{_known(macro)}"


def _known(macro: str) -> str:
    if macro not in MACRO_COMMANDS:
        raise KeyError(f"{macro!r} is not a funnel macro; expected one of {', '.join(MACRO_COMMANDS)}")
    return macro
