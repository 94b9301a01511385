"""The ``xlwings.conf`` sheet: xlwings' settings, key in column A and value in column B from A1 down.

xlwings reads this sheet (its VBA ``GetConfigFromSheet``) from A1 to the first blank cell of column A, with
the key names its own ``xlwings release`` writes; notes for the user sit in column D, which xlwings ignores.
A blank value means xlwings' default (for the interpreter: python on PATH).
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from funnel_xl.workbook.contract import CONFIG_SHEET
from funnel_xl.workbook.sheets.context import BuildContext

UDF_MODULES = "funnel_xl.excel.udfs"
# (key, value) in the order xlwings writes them; None leaves the value blank.
SETTINGS: tuple[tuple[str, object], ...] = (
    ("Interpreter_Win", None),
    ("Interpreter_Mac", None),
    ("PYTHONPATH", None),
    ("Conda Path", None),
    ("Conda Env", None),
    ("UDF Modules", UDF_MODULES),
    ("Debug UDFs", False),
    ("Use UDF Server", True),  # Python started once per Excel session and kept: a later press costs its work only
    ("Show Console", False),
)


def write_config_sheet(ctx: BuildContext) -> Worksheet:
    sheet = ctx.add_sheet("conf", CONFIG_SHEET)
    key_fmt, note_fmt = ctx.formats["conf_key"], ctx.formats["note"]
    value_fmt = ctx.workbook.add_format({"align": "left"})
    for row, (key, value) in enumerate(SETTINGS):
        sheet.write_string(row, 0, key, key_fmt)
        if isinstance(value, bool):
            sheet.write_boolean(row, 1, value, value_fmt)
        elif value is not None:
            sheet.write_string(row, 1, str(value), value_fmt)
        sheet.write_string(row, 3, ctx.label(f"conf.{key}"), note_fmt)
    sheet.write_string(len(SETTINGS) + 1, 3, ctx.label("conf.header_note"), ctx.formats["stamp"])
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 36)
    sheet.set_column(2, 2, 2)
    sheet.set_column(3, 3, 80)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    # Very hidden: not in a manager's tabs nor in Unhide; xlwings' VBA finds it by name all the same (its
    # GetConfigFromSheet reads wb.Sheets("xlwings.conf"), which sees every sheet whatever its visibility).
    sheet.very_hidden()
    return sheet
