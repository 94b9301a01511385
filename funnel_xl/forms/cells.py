"""Cells of a form workbook with openpyxl: the shared styles, styled writes, merged boxes, protection, printing.

openpyxl hashes every style object on each assignment, so the styles of one workbook are made once and each
combination is copied onto the next cell that wants it; the form and quota sheets both write through here.
"""

from __future__ import annotations

import math
from copy import copy
from dataclasses import dataclass

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from funnel_xl.domain.parsing import looks_like_formula
from funnel_xl.forms.settings import FormSettings

CM_PER_INCH = 2.54


@dataclass
class Styles:
    """The fonts, fills and borders of one workbook, made once and shared by every cell (openpyxl is faster so)."""

    title: Font
    label: Font
    text: Font
    header: Font
    marker: Font
    small: Font
    hint: Font
    problem: Font
    link: Font
    note_fill: PatternFill
    header_fill: PatternFill
    label_fill: PatternFill
    input_fill: PatternFill
    derived_fill: PatternFill
    border: Border
    wrap: Alignment
    centre: Alignment
    top_left: Alignment
    unlocked: Protection


def make_styles(settings: FormSettings, lang: str) -> Styles:
    c, f = settings.colours, settings.fonts
    name = f["zh"] if lang == "zh-CN" else f["en"]
    size = f["size"]
    side = Side(style="thin", color=c["border"])
    return Styles(
        title=Font(name=name, size=f["title_size"], bold=True, color=c["title"]),
        label=Font(name=name, size=size, bold=True),
        text=Font(name=name, size=size),
        header=Font(name=name, size=size, bold=True, color=c["header_font"]),
        marker=Font(name=name, size=size + 5, bold=True, color=c["marker"]),
        small=Font(name=name, size=size - 1, italic=True, color="595959"),
        hint=Font(name=name, size=size, color=c["hint"]),
        problem=Font(name=name, size=size, bold=True, color=c["problem"]),
        link=Font(name=name, size=size, color=c["link"], underline="single"),
        note_fill=PatternFill("solid", fgColor=c["note_fill"]),
        header_fill=PatternFill("solid", fgColor=c["header_fill"]),
        label_fill=PatternFill("solid", fgColor=c["label_fill"]),
        input_fill=PatternFill("solid", fgColor=c["input_fill"]),
        derived_fill=PatternFill("solid", fgColor=c["derived_fill"]),
        border=Border(left=side, right=side, top=side, bottom=side),
        wrap=Alignment(wrap_text=True, vertical="center"),
        centre=Alignment(horizontal="center", vertical="center", wrap_text=True),
        top_left=Alignment(horizontal="left", vertical="top", wrap_text=True),
        unlocked=Protection(locked=False),
    )


def merge(ws: Worksheet, row: int, col: int, last_row: int, last_col: int) -> None:
    """Register a merged range without openpyxl's per-cell clean-up (slow); ``box`` has styled its cells."""
    if (row, col) != (last_row, last_col):
        ws.merged_cells.add(CellRange(min_col=col, min_row=row, max_col=last_col, max_row=last_row))


# openpyxl hashes every style object on each assignment, which makes styling the slow part of writing a form.
# A cell's style is an array of indices into the workbook's style lists, so each combination is worked out once
# per workbook and copied onto the next cell that wants it.
_STYLE_CACHE: dict[tuple, tuple[int, object]] = {}


def _style(cell, font=None, fill=None, align=None, border=None, protect=None) -> None:
    quoted = cell.quotePrefix  # text kept from running (``keep_as_text``) stays so when restyled
    _restyle(cell, font, fill, align, border, protect)
    if quoted:
        cell.quotePrefix = True


def _restyle(cell, font=None, fill=None, align=None, border=None, protect=None) -> None:
    key = (id(cell.parent.parent), id(font), id(fill), id(align), id(border), id(protect))
    cached = _STYLE_CACHE.get(key)
    if cached is not None and cached[0] is cell.parent.parent:
        cell._style = copy(cached[1])
        return
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if align is not None:
        cell.alignment = align
    if border is not None:
        cell.border = border
    if protect is not None:
        cell.protection = protect
    if len(_STYLE_CACHE) > 10_000:
        _STYLE_CACHE.clear()
    _STYLE_CACHE[key] = (cell.parent.parent, copy(cell._style))


def put(ws: Worksheet, row: int, col: int, value, *, font=None, fill=None, align=None, border=None, protect=None,
        formula: bool = False):
    """Write and style one cell. Text that starts like a formula (a customer name imported as ``=HYPERLINK(...)``)
    stays text, with Excel's quote prefix so F2-Enter cannot run it; only ``formula=True`` writes a formula."""
    cell = ws.cell(row=row, column=col, value=value)
    _style(cell, font, fill, align, border, protect)
    if not formula:
        keep_as_text(cell)
    return cell


def keep_as_text(cell) -> None:
    """A cell whose value starts like a formula holds it as text with the quote prefix (after styling: the shared
    style arrays must not carry the flag to other cells)."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def box(ws: Worksheet, row: int, col: int, last_row: int, last_col: int, st: Styles, fill=None, protect=None,
        *, font=None, align=None) -> None:
    """Border (and fill) on every cell of a merged range, so the whole box prints framed; ``font`` and ``align``
    are the top-left cell's, which shows the range's value."""
    for r in range(row, last_row + 1):
        for c in range(col, last_col + 1):
            top_left = (r, c) == (row, col)
            _style(ws.cell(row=r, column=c), font if top_left else None, fill, align if top_left else None,
                   st.border, protect)


def protect(ws: Worksheet) -> None:
    """Sheet protection without a password: only the unlocked (yellow) cells take input; a password would only
    stop an honest rep, since collect checks everything it reads anyway."""
    ws.protection.sheet = True
    ws.protection.formatCells = True
    ws.protection.formatColumns = True
    ws.protection.formatRows = True


def print_setup(ws: Worksheet, last_row: int, last_col: int, settings: FormSettings, *,
                fit_height: bool = True) -> None:
    """A4, fit to one page wide (and, with ``fit_height``, tall; else as many pages as it takes), centred, the print
    area limited to the visible sheet."""
    p = settings.page
    ws.page_setup.paperSize = int(p["paper_size"])
    ws.page_setup.orientation = p["orientation"]
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if fit_height else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = p["margin_left_cm"] / CM_PER_INCH
    ws.page_margins.right = p["margin_right_cm"] / CM_PER_INCH
    ws.page_margins.top = p["margin_top_cm"] / CM_PER_INCH
    ws.page_margins.bottom = p["margin_bottom_cm"] / CM_PER_INCH
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"


def text_units(text: str) -> float:
    """Width of a text in Excel column units: a CJK character takes about two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def lines_needed(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column ``width`` units wide (explicit line breaks kept)."""
    return sum(max(1, math.ceil(text_units(part) * 1.1 / max(width - 1, 1))) for part in text.split("\n"))
