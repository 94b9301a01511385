"""The 说明 sheet, in the order a manager needs it: the buttons and the weekly routine, what each button does and
what each sheet is, working without Python and the worksheet functions, and installing the Python side last.

All text comes from ``templates/labels/guide.toml`` (sections ``guide_*``, shown in file order), so the guide
is edited as text and a new entry appears at the next build. Buttons for every macro sit at the top.
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from funnel_xl.excel.commands import MACRO_COMMANDS
from funnel_xl.labels import labels_with_prefix
from funnel_xl.workbook.contract import CONFIG_SHEET, SHEET_KEYS, sheet_name
from funnel_xl.workbook.sheets.context import BuildContext
from funnel_xl.workbook.sheets.styles import text_width

COMMANDS: tuple[str, ...] = tuple(MACRO_COMMANDS)  # the product's macro list, in its order
BUTTON_ROW = 4  # 0-based
KEY_WIDTH, TEXT_WIDTH = 22, 110


def write_guide_sheet(ctx: BuildContext) -> Worksheet:
    """Write 说明: title, introduction, one button per command, then the sections."""
    sheet = ctx.add_sheet("guide", sheet_name("guide", ctx.lang))
    f = ctx.formats
    sheet.write_string(0, 0, ctx.label("guide.title"), f["title"])
    sheet.set_row(0, 30)
    sheet.write_string(1, 0, ctx.label("guide.subtitle", methodology=ctx.methodology.name(ctx.lang)), f["stamp"])
    sheet.merge_range(2, 0, 2, 1, ctx.label("guide.intro"), f["guide_text"])
    sheet.set_row(2, 48)
    sheet.write_string(3, 0, ctx.label("guide.buttons"), f["section"])
    if ctx.vba:
        for i, macro in enumerate(COMMANDS):
            sheet.insert_button(BUTTON_ROW, 0, {
                "macro": macro, "caption": ctx.label(f"command.{macro}"),
                "width": 132, "height": 34, "x_offset": 4 + i * 140, "y_offset": 4,
            })
    sheet.set_row(BUTTON_ROW, 32)

    row = BUTTON_ROW + 2
    weekly = [("", text) for text in labels_with_prefix("guide_weekly.", ctx.lang).values()]
    row = _section(ctx, sheet, row, "guide.section_weekly", weekly)
    commands = [(ctx.label(f"command.{m}"), ctx.label(f"command_help.{m}")) for m in COMMANDS]
    row = _section(ctx, sheet, row, "guide.section_commands", commands)
    sheets = [(sheet_name(k, ctx.lang), ctx.label(f"guide_sheet.{k}")) for k in SHEET_KEYS
              if k != "examples" or ctx.examples]
    row = _section(ctx, sheet, row, "guide.section_sheets", sheets)
    offline = [("", text) for text in labels_with_prefix("guide_offline.", ctx.lang).values()]
    row = _section(ctx, sheet, row, "guide.section_without_python", offline)
    # The worksheet functions, each with what it does and an example (labels udf.<NAME>.doc / .example).
    docs = labels_with_prefix("udf.", ctx.lang)
    names = sorted({k.split(".")[0] for k in docs})
    udfs = [(name, f"{docs[f'{name}.doc']}\n{docs[f'{name}.example']}") for name in names]
    row = _section(ctx, sheet, row, "guide.section_udfs", udfs)
    # Installation is done once, by whoever sets the workbook up: it comes last.
    install = [("", text) for text in labels_with_prefix("guide_install.", ctx.lang).values()]
    install.append((CONFIG_SHEET, ctx.label("guide_sheet.conf")))
    row = _section(ctx, sheet, row, "guide.section_install", install)

    sheet.set_column(0, 0, KEY_WIDTH)
    sheet.set_column(1, 1, TEXT_WIDTH)
    sheet.hide_gridlines(2)
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.print_area(0, 0, row, 1)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
    sheet.activate()
    return sheet


def _section(ctx: BuildContext, sheet: Worksheet, row: int, title_key: str, items) -> int:
    """A section title and its (item, text) lines; returns the next free row (one blank row after)."""
    sheet.write_string(row, 0, ctx.label(title_key), ctx.formats["section"])
    sheet.set_row(row, 22)
    row += 1
    for item, text in items:
        sheet.write_string(row, 0, item, ctx.formats["guide_key"])
        sheet.write_string(row, 1, text, ctx.formats["guide_text"])
        lines = max(1, -(-int(text_width(text)) // TEXT_WIDTH))
        sheet.set_row(row, 15 * lines + 3)
        row += 1
    return row + 1
