"""Write a rep's form workbook with openpyxl: one protected A4 sheet per opportunity, plus their quota sheet.

One small function per part of a form (header, stage columns, criteria, derived-stage formula, notes box, hidden
machine-readable block, protection, print setup) so each can be read and changed on its own. openpyxl cannot
write a formula's cached value, so the saved package is patched afterwards to carry the derived stage as a value
too (mail previews and phones show it without recalculating).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from copy import copy

from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from xml.sax.saxutils import escape

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.stages import derive_stage_from_answers
from funnel_xl.forms.model import FORM_MARKER, MARK, FormData, QuotaData
from funnel_xl.forms.settings import FormSettings, form_settings
from funnel_xl.labels import label
from funnel_xl.workbook.zip_patch import patch_package

CM_PER_INCH = 2.54
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")
HEADER_ROWS = (2, 3, 4)
STAGE_ROW, RATE_ROW, MARKER_ROW, FIRST_CRITERION_ROW = 6, 7, 8, 9


@dataclass
class _Styles:
    """The fonts, fills and borders of one workbook, made once and shared by every cell (openpyxl is faster so)."""

    title: Font
    label: Font
    text: Font
    header: Font
    marker: Font
    small: Font
    header_fill: PatternFill
    label_fill: PatternFill
    input_fill: PatternFill
    derived_fill: PatternFill
    border: Border
    wrap: Alignment
    centre: Alignment
    top_left: Alignment
    unlocked: Protection


def make_styles(settings: FormSettings, lang: str) -> _Styles:
    c, f = settings.colours, settings.fonts
    name = f["zh"] if lang == "zh-CN" else f["en"]
    size = f["size"]
    side = Side(style="thin", color=c["border"])
    return _Styles(
        title=Font(name=name, size=f["title_size"], bold=True, color=c["title"]),
        label=Font(name=name, size=size, bold=True),
        text=Font(name=name, size=size),
        header=Font(name=name, size=size, bold=True, color=c["header_font"]),
        marker=Font(name=name, size=size + 5, bold=True, color=c["marker"]),
        small=Font(name=name, size=size - 1, italic=True, color="595959"),
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


@dataclass(frozen=True)
class FormLayout:
    """Where things sit on a form for one methodology: the same for every form of it."""

    n_stages: int
    max_criteria: int
    notes_rows: int
    block_column: int

    @property
    def last_col(self) -> int:
        return 1 + 2 * self.n_stages

    @property
    def mid_col(self) -> int:
        """Column of the second label of each header row."""
        return 2 * math.ceil(self.n_stages / 2)

    def text_col(self, stage_index: int) -> int:
        return 2 + 2 * stage_index

    def answer_col(self, stage_index: int) -> int:
        return 3 + 2 * stage_index

    @property
    def derived_row(self) -> int:
        return FIRST_CRITERION_ROW + self.max_criteria

    @property
    def notes_row(self) -> int:
        return self.derived_row + 1

    @property
    def instructions_row(self) -> int:
        return self.notes_row + self.notes_rows

    def criterion_row(self, j: int) -> int:
        return FIRST_CRITERION_ROW + j


def form_layout(m: Methodology, settings: FormSettings) -> FormLayout:
    return FormLayout(len(m.stages), max((len(s.criteria) for s in m.stages), default=0) or 1,
                      int(settings.layout["notes_rows"]), int(settings.layout["block_column"]))


def text_units(text: str) -> float:
    """Width of a text in Excel column units: a CJK character takes about two."""
    return sum(2.0 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def lines_needed(text: str, width: float) -> int:
    return max(1, math.ceil(text_units(text) * 1.05 / max(width - 1, 1)))


def sheet_title(text: str, taken: set[str]) -> str:
    """A valid, unique worksheet name (31 characters, none of []:*?/\\) for an opportunity id."""
    base = _SHEET_UNSAFE.sub("_", text).strip("'") or "form"
    base = base[:31]
    title, n = base, 2
    while title.casefold() in taken:
        suffix = f"~{n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.casefold())
    return title


def _merge(ws: Worksheet, row: int, col: int, last_row: int, last_col: int) -> None:
    """Register a merged range without openpyxl's per-cell clean-up (slow); ``_box`` has styled its cells."""
    if (row, col) != (last_row, last_col):
        ws.merged_cells.add(CellRange(min_col=col, min_row=row, max_col=last_col, max_row=last_row))


# openpyxl hashes every style object on each assignment, which makes styling the slow part of writing a form.
# A cell's style is an array of indices into the workbook's style lists, so each combination is worked out once
# per workbook and copied onto the next cell that wants it.
_STYLE_CACHE: dict[tuple, tuple[int, object]] = {}


def _style(cell, font=None, fill=None, align=None, border=None, protect=None) -> None:
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


def _put(ws: Worksheet, row: int, col: int, value, *, font=None, fill=None, align=None, border=None, protect=None):
    cell = ws.cell(row=row, column=col, value=value)
    _style(cell, font, fill, align, border, protect)
    return cell


def _box(ws: Worksheet, row: int, col: int, last_row: int, last_col: int, st: _Styles, fill=None, protect=None,
         *, font=None, align=None) -> None:
    """Border (and fill) on every cell of a merged range, so the whole box prints framed; ``font`` and ``align``
    are the top-left cell's, which shows the range's value."""
    for r in range(row, last_row + 1):
        for c in range(col, last_col + 1):
            top_left = (r, c) == (row, col)
            _style(ws.cell(row=r, column=c), font if top_left else None, fill, align if top_left else None,
                   st.border, protect)


# --- the parts of a form ----------------------------------------------------------------------------------------

def write_title(ws: Worksheet, lay: FormLayout, st: _Styles, lang: str) -> None:
    _put(ws, 1, 1, label("form.title", lang), font=st.title, align=Alignment(horizontal="center", vertical="center"))
    _merge(ws, 1, 1, 1, lay.last_col)
    ws.row_dimensions[1].height = 30


@dataclass(frozen=True)
class FormTexts:
    """The text of every cell that differs from one form to the next, keyed by slot name; None leaves it blank."""

    cells: dict[str, str | None]
    derived: str = ""

    def get(self, slot: str) -> str | None:
        return self.cells.get(slot)


HEADER_SLOTS = ("project", "customer", "rep_pm", "products", "opportunity", "date")
BLOCK_SLOTS = ("opportunity", "rep", "token", "sent")


def form_texts(form: FormData, m: Methodology, lang: str, as_of: dt.date) -> FormTexts:
    """A form's variable cells as the rep sees them: header texts, ● under the current stage, 是/否, notes."""
    yes, no = label("out.yes", lang), label("out.no", lang)
    cells: dict[str, str | None] = {
        "h:project": form.project, "h:customer": form.customer,
        "h:rep_pm": form.rep + (f" / {form.project_manager}" if form.project_manager else ""),
        "h:products": form.product, "h:opportunity": form.opportunity_id, "h:date": as_of.isoformat(),
        "notes": form.notes or None,
        "b:opportunity": form.opportunity_id, "b:rep": form.rep, "b:token": form.token, "b:sent": as_of.isoformat(),
    }
    for s in m.stages:
        cells[f"m:{s.key}"] = MARK if form.stage == s.key else None
    for c in m.criteria():
        answer = form.answers.get(c.key)
        cells[f"a:{c.key}"] = None if answer is None else (yes if answer else no)
    if form.derived_given:
        derived = form.derived_stage
    else:
        derived = derive_stage_from_answers({c.key: form.answers.get(c.key) for c in m.criteria()}, m)
    return FormTexts(cells, "" if derived is None else m.stage(derived).name(lang))


def slot(name: str) -> str:
    return f"\u27e6{name}\u27e7"


def slot_texts(m: Methodology) -> FormTexts:
    """Placeholders in every variable cell, for the template that every form of a workbook is copied from."""
    names = [*(f"h:{k}" for k in HEADER_SLOTS), "notes", *(f"b:{k}" for k in BLOCK_SLOTS),
             *(f"m:{s.key}" for s in m.stages), *(f"a:{c.key}" for c in m.criteria())]
    return FormTexts({n: slot(n) for n in names})


def write_header(ws: Worksheet, texts: FormTexts, lay: FormLayout, st: _Styles, lang: str) -> None:
    """项目名称 / 客户, 项目经理(销售负责人) / 提供的产品, 商机编号 / 日期: label cells and merged value cells."""
    pairs = ((("form.project", "h:project"), ("form.customer", "h:customer")),
             (("form.rep_pm", "h:rep_pm"), ("form.products", "h:products")),
             (("form.opportunity", "h:opportunity"), ("form.date", "h:date")))
    for row, ((k1, v1), (k2, v2)) in zip(HEADER_ROWS, pairs):
        for col, last, key, value in ((1, lay.mid_col - 1, k1, v1), (lay.mid_col, lay.last_col, k2, v2)):
            _put(ws, row, col, label(key, lang), font=st.label, fill=st.label_fill, align=st.wrap, border=st.border)
            _put(ws, row, col + 1, texts.get(value))
            _box(ws, row, col + 1, row, last, st, font=st.text, align=st.wrap)
            _merge(ws, row, col + 1, row, last)
        ws.row_dimensions[row].height = 20
    ws.row_dimensions[5].height = 6


def write_stage_columns(ws: Worksheet, texts: FormTexts, m: Methodology, lay: FormLayout, st: _Styles,
                        lang: str) -> dict[str, str]:
    """One column pair per stage: its name, its win rate and the ● marker cell; returns stage key -> marker cell."""
    for key, row in (("form.stage_row", STAGE_ROW), ("form.win_rate_row", RATE_ROW), ("form.marker_row", MARKER_ROW)):
        _put(ws, row, 1, label(key, lang), font=st.label, fill=st.label_fill, align=st.wrap, border=st.border)
    markers = {}
    for i, stage in enumerate(m.stages):
        c1, c2 = lay.text_col(i), lay.answer_col(i)
        _put(ws, STAGE_ROW, c1, f"{stage.order} {stage.name(lang)}")
        _box(ws, STAGE_ROW, c1, STAGE_ROW, c2, st, fill=st.header_fill, font=st.header, align=st.centre)
        _merge(ws, STAGE_ROW, c1, STAGE_ROW, c2)
        _put(ws, RATE_ROW, c1, stage.win_rate)
        _box(ws, RATE_ROW, c1, RATE_ROW, c2, st, font=st.text, align=st.centre)
        ws.cell(row=RATE_ROW, column=c1).number_format = "0%"
        _merge(ws, RATE_ROW, c1, RATE_ROW, c2)
        _put(ws, MARKER_ROW, c1, texts.get(f"m:{stage.key}"))
        _box(ws, MARKER_ROW, c1, MARKER_ROW, c2, st, fill=st.input_fill, protect=st.unlocked, font=st.marker,
             align=st.centre)
        _merge(ws, MARKER_ROW, c1, MARKER_ROW, c2)
        markers[stage.key] = f"{get_column_letter(c1)}{MARKER_ROW}"
    ws.row_dimensions[STAGE_ROW].height = 30
    ws.row_dimensions[MARKER_ROW].height = 22
    marker = DataValidation(type="list", formula1=f'"{MARK}"', allow_blank=True,
                            promptTitle=label("form.marker_row", lang)[:32], prompt=label("form.marker_prompt", lang))
    marker.add(f"{get_column_letter(lay.text_col(0))}{MARKER_ROW}:{get_column_letter(lay.last_col)}{MARKER_ROW}")
    ws.add_data_validation(marker)
    return markers


def write_criteria(ws: Worksheet, texts: FormTexts, m: Methodology, lay: FormLayout, st: _Styles, lang: str,
                   text_width: float) -> dict[str, str]:
    """Each stage's criteria under it, the answer cell a 是/否 dropdown; returns criterion key -> answer cell."""
    yes, no = label("out.yes", lang), label("out.no", lang)
    first, last = lay.criterion_row(0), lay.criterion_row(lay.max_criteria - 1)
    _put(ws, first, 1, label("form.criteria_row", lang))
    _box(ws, first, 1, last, 1, st, fill=st.label_fill, font=st.label, align=st.wrap)
    _merge(ws, first, 1, last, 1)
    cells: dict[str, str] = {}
    lines = [1] * lay.max_criteria
    for i, stage in enumerate(m.stages):
        tc, ac = lay.text_col(i), lay.answer_col(i)
        for j in range(lay.max_criteria):
            row = lay.criterion_row(j)
            if j >= len(stage.criteria):
                _box(ws, row, tc, row, ac, st)
                continue
            c = stage.criteria[j]
            text = f"{stage.order}.{j + 1} {c.text(lang)}" + ("" if c.required else label("form.optional", lang))
            lines[j] = max(lines[j], lines_needed(text, text_width))
            _put(ws, row, tc, text, font=st.text, align=st.wrap, border=st.border)
            _put(ws, row, ac, texts.get(f"a:{c.key}"), font=st.text, align=st.centre,
                 border=st.border, fill=st.input_fill, protect=st.unlocked)
            cells[c.key] = f"{get_column_letter(ac)}{row}"
    for j, n in enumerate(lines):
        ws.row_dimensions[lay.criterion_row(j)].height = 12.5 * n + 3
    dv = DataValidation(type="list", formula1=f'"{yes},{no}"', allow_blank=True, showErrorMessage=True,
                        error=label("form.answer_error", lang), prompt=label("form.answer_prompt", lang))
    for ref in cells.values():
        dv.add(ref)
    ws.add_data_validation(dv)
    return cells


def derived_stage_formula(m: Methodology, cells: dict[str, str], lang: str) -> str:
    """IF(NOT(stage 1 met),"",IF(NOT(stage 2 met),"<stage 1>",...)): the highest stage whose required criteria,
    and every earlier stage's, are answered 是 — the same rule as the domain's derive_stages."""
    yes = label("out.yes", lang)
    conditions = []
    for stage in m.stages:
        checks = [f'{cells[c.key]}="{yes}"' for c in stage.required_criteria]
        conditions.append("AND(" + ",".join(checks) + ")" if checks else "TRUE")
    names = [_formula_text(s.name(lang)) for s in m.stages]
    formula = names[-1]
    for k in range(len(m.stages) - 1, -1, -1):
        below = '""' if k == 0 else names[k - 1]
        formula = f"IF(NOT({conditions[k]}),{below},{formula})"
    return "=" + formula


def _formula_text(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_derived_stage(ws: Worksheet, m: Methodology, cells: dict[str, str], lay: FormLayout, st: _Styles,
                        lang: str) -> str:
    row = lay.derived_row
    _put(ws, row, 1, label("form.derived_row", lang), font=st.label, fill=st.label_fill, align=st.wrap,
         border=st.border)
    _put(ws, row, 2, derived_stage_formula(m, cells, lang))
    _box(ws, row, 2, row, lay.last_col, st, fill=st.derived_fill, font=st.label, align=st.centre)
    _merge(ws, row, 2, row, lay.last_col)
    ws.row_dimensions[row].height = 24
    return f"B{row}"


def write_notes_box(ws: Worksheet, texts: FormTexts, lay: FormLayout, st: _Styles, lang: str) -> str:
    """其他(请文字描述): one merged, unlocked, wrapping box the rep writes into."""
    first, last = lay.notes_row, lay.notes_row + lay.notes_rows - 1
    _put(ws, first, 1, label("form.notes_row", lang))
    _box(ws, first, 1, last, 1, st, fill=st.label_fill, font=st.label, align=st.wrap)
    _merge(ws, first, 1, last, 1)
    _put(ws, first, 2, texts.get("notes"))
    _box(ws, first, 2, last, lay.last_col, st, fill=st.input_fill, protect=st.unlocked, font=st.text,
         align=st.top_left)
    _merge(ws, first, 2, last, lay.last_col)
    for r in range(first, last + 1):
        ws.row_dimensions[r].height = 18
    return f"B{first}"


def write_instructions(ws: Worksheet, lay: FormLayout, st: _Styles, lang: str) -> None:
    row = lay.instructions_row
    _put(ws, row, 1, label("form.instructions", lang), font=st.small, align=st.top_left)
    _merge(ws, row, 1, row, lay.last_col)
    ws.row_dimensions[row].height = 26


def write_hidden_block(ws: Worksheet, entries: list[tuple[str, str]], lay: FormLayout) -> None:
    """Key/value rows in hidden columns beyond the print area: what collect needs to read the form back."""
    kc, vc = lay.block_column, lay.block_column + 1
    for i, (key, value) in enumerate(entries, start=1):
        ws.cell(row=i, column=kc, value=key)
        ws.cell(row=i, column=vc, value=value)
    for c in (kc, vc):
        ws.column_dimensions[get_column_letter(c)].hidden = True


def protect(ws: Worksheet) -> None:
    """Sheet protection without a password: only the unlocked (yellow) cells take input; a password would only
    stop an honest rep, since collect checks everything it reads anyway."""
    ws.protection.sheet = True
    ws.protection.formatCells = True
    ws.protection.formatColumns = True
    ws.protection.formatRows = True


def print_setup(ws: Worksheet, last_row: int, last_col: int, settings: FormSettings) -> None:
    """One A4 page: fit to one page wide and tall, centred, the print area limited to the visible form."""
    p = settings.page
    ws.page_setup.paperSize = int(p["paper_size"])
    ws.page_setup.orientation = p["orientation"]
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = p["margin_left_cm"] / CM_PER_INCH
    ws.page_margins.right = p["margin_right_cm"] / CM_PER_INCH
    ws.page_margins.top = p["margin_top_cm"] / CM_PER_INCH
    ws.page_margins.bottom = p["margin_bottom_cm"] / CM_PER_INCH
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"


def set_widths(ws: Worksheet, lay: FormLayout, settings: FormSettings) -> None:
    lw = settings.layout
    ws.column_dimensions["A"].width = lw["label_width"]
    for i in range(lay.n_stages):
        ws.column_dimensions[get_column_letter(lay.text_col(i))].width = lw["criterion_width"]
        ws.column_dimensions[get_column_letter(lay.answer_col(i))].width = lw["answer_width"]


def write_form_sheet(ws: Worksheet, texts: FormTexts, m: Methodology, lang: str, settings: FormSettings,
                     st: _Styles) -> str:
    """Fill one sheet with one form; returns the derived-stage cell (whose cached value is patched in later)."""
    lay = form_layout(m, settings)
    set_widths(ws, lay, settings)
    write_title(ws, lay, st, lang)
    write_header(ws, texts, lay, st, lang)
    markers = write_stage_columns(ws, texts, m, lay, st, lang)
    cells = write_criteria(ws, texts, m, lay, st, lang, float(settings.layout["criterion_width"]))
    derived_cell = write_derived_stage(ws, m, cells, lay, st, lang)
    notes_cell = write_notes_box(ws, texts, lay, st, lang)
    write_instructions(ws, lay, st, lang)
    block = [
        ("format", FORM_MARKER), ("format_version", str(settings.format_version)),
        ("opportunity", texts.get("b:opportunity")), ("methodology", m.key), ("rep", texts.get("b:rep")),
        ("token", texts.get("b:token")), ("language", lang), ("sent", texts.get("b:sent")), ("notes", notes_cell),
        *((f"marker:{k}", ref) for k, ref in markers.items()),
        *((f"chk:{k}", ref) for k, ref in cells.items()),
    ]
    write_hidden_block(ws, block, lay)
    protect(ws)
    print_setup(ws, lay.instructions_row, lay.last_col, settings)
    ws.sheet_view.showGridLines = False
    return derived_cell


# --- the quota sheet ------------------------------------------------------------------------------------------

def write_quota_sheet(ws: Worksheet, quota: QuotaData, lang: str, settings: FormSettings, st: _Styles) -> None:
    """The rep's own figures and roadmap milestones, as values (it is a snapshot, not a live report)."""
    _put(ws, 1, 1, label("form.quota.title", lang), font=st.title)
    ws.row_dimensions[1].height = 28
    _put(ws, 2, 1, f'{label("form.quota.rep", lang)}: {quota.rep}    '
                   f'{label("form.quota.as_of", lang)}: {quota.as_of.isoformat()}', font=st.text)
    _put(ws, 3, 1, label("form.quota.values_only", lang), font=st.small)
    row = 5
    for col, key in enumerate(("item", "value"), start=1):
        _put(ws, row, col, label(f"form.quota.{key}", lang), font=st.header, fill=st.header_fill, align=st.centre,
             border=st.border)
    figures = (("quota", quota.quota, "#,##0"), ("achieved", quota.achieved, "#,##0"),
               ("attainment", quota.attainment, "0.0%"), ("weighted", quota.weighted, "#,##0"),
               ("coverage", quota.coverage, "0.0%"), ("proposal", quota.proposal, "#,##0"))
    for key, value, fmt in figures:
        row += 1
        _put(ws, row, 1, label(f"form.quota.{key}", lang), font=st.text, border=st.border, align=st.wrap)
        _put(ws, row, 2, value, font=st.text, border=st.border).number_format = fmt
    row += 2
    _put(ws, row, 1, label("form.quota.roadmap", lang), font=st.label)
    row += 1
    heads = ("phase", "milestone", "target", "actual", "met")
    for col, key in enumerate(heads, start=1):
        _put(ws, row, col, label(f"form.quota.{key}", lang), font=st.header, fill=st.header_fill, align=st.centre,
             border=st.border)
    for ms in quota.milestones:
        row += 1
        met = label("form.quota.unknown" if ms.met is None else "form.quota.met_yes" if ms.met
                    else "form.quota.met_no", lang)
        values = (ms.phase, ms.milestone, ms.target, ms.actual, met)
        for col, value in enumerate(values, start=1):
            cell = _put(ws, row, col, value, font=st.text, border=st.border, align=st.wrap)
            if col in (3, 4):
                cell.number_format = "0%" if ms.is_ratio else "#,##0"
    for col, width in zip("ABCDE", (34, 30, 14, 14, 12)):
        ws.column_dimensions[col].width = width
    protect(ws)
    ws.sheet_view.showGridLines = False
    print_setup(ws, row, 5, settings)
    ws.page_setup.orientation = "portrait"


# --- the workbook ---------------------------------------------------------------------------------------------

def write_form_workbook(path: Path, forms: list[FormData], m: Methodology, lang: str, as_of: dt.date,
                        quota: QuotaData | None = None, settings: FormSettings | None = None) -> Path:
    """One workbook: a form sheet per opportunity (in the order given), then the quota sheet when given.

    openpyxl writes the first form sheet once, with placeholders in the variable cells, and an empty sheet (with
    its print area) for every other form; each form sheet's part is then that template with the form's texts put
    in. A thousand forms so take seconds rather than minutes, and every form is laid out identically.
    """
    settings = settings or form_settings()
    st = make_styles(settings, lang)
    lay = form_layout(m, settings)
    wb = Workbook()
    wb.remove(wb.active)
    taken: set[str] = set()
    derived_cell = ""
    for i, form in enumerate(forms):
        ws = wb.create_sheet(sheet_title(form.opportunity_id, taken))
        if i == 0:
            derived_cell = write_form_sheet(ws, slot_texts(m), m, lang, settings, st)
        else:
            ws.print_area = f"A1:{get_column_letter(lay.last_col)}{lay.instructions_row}"
    if quota is not None:
        write_quota_sheet(wb.create_sheet(sheet_title(label("form.quota_sheet", lang), taken)), quota, lang,
                          settings, st)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".form.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        wb.save(tmp)
        replaced: dict[str, bytes] = {}
        if forms:
            with zipfile.ZipFile(tmp) as zf:
                template = SheetTemplate.compile(zf.read("xl/worksheets/sheet1.xml").decode("utf-8"),
                                                 shared_strings(zf), derived_cell)
            for i, form in enumerate(forms, start=1):
                text = template.render(form_texts(form, m, lang, as_of))
                replaced[f"xl/worksheets/sheet{i}.xml"] = text.encode("utf-8")
        patch_package(tmp, path, replaced)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_SI = re.compile(r"<si>(.*?)</si>", re.S)
_T = re.compile(r"<t[^>]*>(.*?)</t>", re.S)
_SLOT_TEXT = re.compile("^\u27e6(.+)\u27e7$")
_SHARED_CELL = re.compile(r'<c r="([A-Z]+\d+)"((?: s="\d+")?) t="s"><v>(\d+)</v></c>')
_INLINE_SLOT = re.compile('<c r="([A-Z]+\\d+)"((?: s="\\d+")?) t="inlineStr"><is><t[^>]*>\u27e6([^<]+)\u27e7</t></is></c>')
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def shared_strings(zf: zipfile.ZipFile) -> list[str]:
    """The shared strings of a package openpyxl just wrote (plain text items)."""
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    xml = zf.read("xl/sharedStrings.xml").decode("utf-8")
    return ["".join(_T.findall(si)) for si in _SI.findall(xml)]


@dataclass(frozen=True)
class SheetTemplate:
    """A worksheet part cut at its variable cells: fixed XML pieces and, between them, (slot, ref, style)."""

    pieces: tuple[str, ...]
    slots: tuple[tuple[str, str, str], ...]
    formula: str

    @classmethod
    def compile(cls, sheet_xml: str, strings: list[str], derived_cell: str) -> "SheetTemplate":
        slot_of = {i: m.group(1) for i, text in enumerate(strings) if (m := _SLOT_TEXT.match(text))}
        cuts: list[tuple[int, int, str, str, str]] = []
        for match in _SHARED_CELL.finditer(sheet_xml):
            name = slot_of.get(int(match.group(3)))
            if name is not None:
                cuts.append((match.start(), match.end(), name, match.group(1), match.group(2)))
        for match in _INLINE_SLOT.finditer(sheet_xml):  # openpyxl writes strings inline in some versions
            cuts.append((match.start(), match.end(), match.group(3), match.group(1), match.group(2)))
            slot_of[-len(cuts)] = match.group(3)
        formula = ""
        found = re.search(_FORMULA_CELL.format(ref=derived_cell), sheet_xml, re.S)
        if found is None:
            raise RuntimeError(f"the derived-stage formula cell {derived_cell} is not in the template sheet")
        style = re.search(r'\ss="\d+"', found.group(1))
        cuts.append((found.start(), found.end(), "", derived_cell, style.group(0) if style else ""))
        formula = found.group(2)
        cuts.sort()
        pieces, slots, pos = [], [], 0
        for start, end, name, ref, style_attr in cuts:
            pieces.append(sheet_xml[pos:start])
            slots.append((name, ref, style_attr))
            pos = end
        pieces.append(sheet_xml[pos:])
        missing = set(slot_of.values()) - {s[0] for s in slots}
        if missing:
            raise RuntimeError(f"template slots not found in the sheet: {sorted(missing)}")
        return cls(tuple(pieces), tuple(slots), formula)

    def render(self, texts: FormTexts) -> str:
        out = [self.pieces[0]]
        for (name, ref, style), piece in zip(self.slots, self.pieces[1:]):
            if name == "":
                out.append(f'<c r="{ref}"{style} t="str"><f>{self.formula}</f><v>{_xml_text(texts.derived)}</v></c>')
            else:
                value = texts.get(name)
                if value is None or value == "":
                    out.append(f'<c r="{ref}"{style}/>')
                else:
                    out.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">'
                               f"{_xml_text(value)}</t></is></c>")
            out.append(piece)
        return "".join(out)


def _xml_text(value: str) -> str:
    return escape(_ILLEGAL_XML.sub("\ufffd", str(value)))


_FORMULA_CELL = r'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*(?:/>|>[^<]*</v>)</c>'
