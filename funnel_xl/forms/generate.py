"""Write a rep's workbook with openpyxl: the index, one protected A4 form per opportunity, the week's activity and
their quota sheet.

A form runs down the page: how to fill it in, the deal's header, the fields a rep may correct (amount, close date,
status), each stage with its ● cell and its criteria with their 是/否 cells, the stage the answers support (amber or
red when ● is above it) with what the ● stage still lacks, and the notes. One small function per part, so each can
be read and changed on its own; the cells are styled through ``cells``. openpyxl cannot write a formula's cached
value, so the first form is written as a template (``template``) that every form's sheet part is rendered from, the
formulas' results carried as values too (mail previews and phones show them without recalculating).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.schema import STATUSES
from funnel_xl.domain.stages import derive_stage_from_answers
from funnel_xl.forms.cells import (
    Styles, box, keep_as_text, lines_needed, make_styles, merge, print_setup, protect, put,
)
from funnel_xl.forms.activity import ActivitySheet, write_activity_sheet
from funnel_xl.forms.index_sheet import IndexEntry, tab_name, write_index_sheet
from funnel_xl.forms.model import EDITABLE, FORM_MARKER, MARK, FormData, QuotaData, form_columns
from funnel_xl.forms.quota_sheet import write_quota_sheet
from funnel_xl.forms.read import check_returnable
from funnel_xl.forms.settings import FormSettings, form_settings
from funnel_xl.forms.template import FormTexts, SheetTemplate, shared_strings, slot
from funnel_xl.errors import FormError
from funnel_xl.labels import label
from funnel_xl.workbook.ooxml import STYLES_PART, quote_formula_parts, safe_sheet_name
from funnel_xl.workbook.zip_patch import patch_package

TITLE_ROW, INSTRUCTIONS_ROW, PROBLEM_ROW, FIRST_HEADER_ROW = 1, 2, 3, 4
# The form's header, one slot a row; each slot shows the registry columns that name it (``ColumnSpec.form``),
# joined by " / ", under the label form.<slot>. The date slot shows the report date.
HEADER_SLOTS = ("project", "customer", "rep_pm", "products", "opportunity", "date")
BLOCK_SLOTS = ("opportunity", "rep", "token", "seal", "sent")
LABEL_COL, TEXT_COL, INPUT_COL = 1, 2, 3
LAST_COL = INPUT_COL
# Helper cells beside the hidden block: the stage ● marks (its order), the stage the answers support (its order)
# and the criteria still missing for the marked stage; the assessed stage's colour and the "missing" line read them.
HELPERS = ("claimed_order", "derived_order", "missing_list")
LINE_POINTS = 14.0   # height of one wrapped line of body text (10 pt) in points


@dataclass(frozen=True)
class FormLayout:
    """Where things sit on a form for one methodology (the same for every form of it): a portrait page, one row
    per stage (its ● cell) followed by a row per criterion (its 是/否 cell), then the assessed stage, what is still
    missing and the notes."""

    stage_rows: tuple[int, ...]
    notes_rows: int
    block_column: int
    n_criteria: tuple[int, ...]
    label_width: float

    @property
    def last_col(self) -> int:
        return LAST_COL

    @property
    def field_rows(self) -> dict[str, int]:
        first = FIRST_HEADER_ROW + len(HEADER_SLOTS)
        return {key: first + i for i, key in enumerate(EDITABLE)}

    @property
    def checklist_head_row(self) -> int:
        return FIRST_HEADER_ROW + len(HEADER_SLOTS) + len(EDITABLE)

    def criterion_row(self, stage_index: int, j: int) -> int:
        return self.stage_rows[stage_index] + 1 + j

    @property
    def derived_row(self) -> int:
        return self.stage_rows[-1] + self.n_criteria[-1] + 1

    @property
    def missing_row(self) -> int:
        return self.derived_row + 1

    @property
    def notes_row(self) -> int:
        return self.missing_row + 1

    @property
    def last_row(self) -> int:
        return self.notes_row + self.notes_rows - 1

    @property
    def empty_cell(self) -> str:
        """A hidden cell that stays empty: the list a second ● is offered from."""
        return f"{get_column_letter(self.block_column + 2)}{len(HELPERS) + 2}"

    def helper_cell(self, name: str) -> str:
        return f"{get_column_letter(self.block_column + 2)}{HELPERS.index(name) + 1}"


def form_layout(m: Methodology, settings: FormSettings) -> FormLayout:
    counts = tuple(len(s.criteria) for s in m.stages)
    rows, row = [], FIRST_HEADER_ROW + len(HEADER_SLOTS) + len(EDITABLE) + 1
    for n in counts:
        rows.append(row)
        row += 1 + n
    return FormLayout(tuple(rows), int(settings.layout["notes_rows"]), int(settings.layout["block_column"]), counts,
                      float(settings.layout["label_width"]))


def fit_row(ws: Worksheet, row: int, text: str, width: float, minimum: float) -> None:
    """Make ``row`` tall enough for ``text`` wrapped in a column ``width`` units wide (at least ``minimum``)."""
    ws.row_dimensions[row].height = max(minimum, LINE_POINTS * lines_needed(text, width) + 4)


def put_label(ws: Worksheet, row: int, text: str, lay: FormLayout, st: Styles, minimum: float) -> None:
    """A row's label in column A, the row made tall enough for it."""
    put(ws, row, 1, text, font=st.label, fill=st.label_fill, align=st.wrap, border=st.border)
    fit_row(ws, row, text, lay.label_width, minimum)


def criterion_number(stage, j: int) -> str:
    return f"{stage.order}.{j + 1}"


def missing_criteria(m: Methodology, claimed: str | None, answers: dict[str, bool | None]) -> list[str]:
    """The numbers of the required criteria, up to the claimed stage, not answered 是 (what the ● still lacks)."""
    if claimed not in m.stage_keys:
        return []
    upto = m.stage(claimed).order
    return [criterion_number(s, j) for s in m.stages if s.order <= upto
            for j, c in enumerate(s.criteria) if c.required and answers.get(c.key) is not True]


# --- the parts of a form ----------------------------------------------------------------------------------------

def write_title(ws: Worksheet, lay: FormLayout, st: Styles, lang: str) -> None:
    put(ws, TITLE_ROW, 1, label("form.title", lang), font=st.title,
        align=Alignment(horizontal="center", vertical="center"))
    merge(ws, TITLE_ROW, 1, TITLE_ROW, lay.last_col)
    ws.row_dimensions[TITLE_ROW].height = 28


def write_instructions(ws: Worksheet, lay: FormLayout, st: Styles, lang: str, width: float) -> None:
    """How to fill the form in, in plain words, at the top where the rep starts reading."""
    text = label("form.instructions", lang)
    put(ws, INSTRUCTIONS_ROW, 1, text, font=st.text, align=st.top_left, fill=st.note_fill)
    box(ws, INSTRUCTIONS_ROW, 1, INSTRUCTIONS_ROW, lay.last_col, st, fill=st.note_fill, font=st.text,
        align=st.top_left)
    merge(ws, INSTRUCTIONS_ROW, 1, INSTRUCTIONS_ROW, lay.last_col)
    ws.row_dimensions[INSTRUCTIONS_ROW].height = LINE_POINTS * lines_needed(text, width) + 6


def write_problem(ws: Worksheet, lay: FormLayout, st: Styles, width: float, lines: int) -> None:
    """The row that names what recalc reported on this deal (blank on a clean one), in red."""
    put(ws, PROBLEM_ROW, 1, slot("problem"), font=st.problem, align=st.top_left)
    merge(ws, PROBLEM_ROW, 1, PROBLEM_ROW, lay.last_col)
    ws.row_dimensions[PROBLEM_ROW].height = LINE_POINTS * lines + 4


def header_texts(form: FormData) -> dict[str, str | None]:
    """The text of each header slot: the form's values of the columns shown there, in registry order."""
    shown: dict[str, list[str]] = {}
    for spec in form_columns():
        if spec.form not in HEADER_SLOTS:
            raise ValueError(f"column {spec.key!r} names form slot {spec.form!r}; the form's header has "
                             f"{', '.join(HEADER_SLOTS)}")
        if form.fields.get(spec.key):
            shown.setdefault(spec.form, []).append(form.fields[spec.key])
    return {f"h:{slot}": " / ".join(texts) for slot, texts in shown.items()}


def write_header(ws: Worksheet, lay: FormLayout, st: Styles, lang: str) -> None:
    """项目名称, 客户名称, 项目经理(销售负责人), 提供的产品, 商机编号, 日期: a label and a merged value cell each."""
    for i, key in enumerate(HEADER_SLOTS):
        row = FIRST_HEADER_ROW + i
        put(ws, row, 2, slot(f"h:{key}"))
        box(ws, row, 2, row, lay.last_col, st, font=st.text, align=st.wrap)
        merge(ws, row, 2, row, lay.last_col)
        put_label(ws, row, label(f"form.{key}", lang), lay, st, LINE_POINTS + 4)


def write_fields(ws: Worksheet, lay: FormLayout, st: Styles, lang: str, statuses: list[str]) -> dict[str, str]:
    """The deal's amount, close date and status, each a yellow input with its hint beside it and a validation,
    so a rep can correct what recalc reported; returns field -> input cell."""
    cells = {}
    for key, row in lay.field_rows.items():
        put_label(ws, row, label(f"field.{key}", lang), lay, st, LINE_POINTS + 6)
        put(ws, row, 2, label(f"form.field_hint.{key}", lang), font=st.hint, align=st.wrap, border=st.border)
        cell = put(ws, row, 3, slot(f"f:{key}"), font=st.text, align=st.centre, border=st.border,
                   fill=st.input_fill, protect=st.unlocked)
        cell.number_format = {"amount": "#,##0", "close_date": "yyyy-mm-dd"}.get(key, "@")
        ref = f"{get_column_letter(INPUT_COL)}{row}"
        cells[key] = ref
    title = label("form.field_prompt_title", lang)[:32]
    validations = (
        DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"),
        # 2000-01-01 .. 2099-12-31 as Excel date numbers: a date any sales plan can have
        DataValidation(type="date", operator="between", formula1="36526", formula2="73050"),
        DataValidation(type="list", formula1='"' + ",".join(statuses) + '"'),
    )
    for key, dv in zip(EDITABLE, validations, strict=True):
        _explain(dv, title, label(f"form.field_prompt.{key}", lang), label(f"form.field_error.{key}", lang))
        dv.add(cells[key])
        ws.add_data_validation(dv)
    return cells


def _explain(dv: DataValidation, title: str, prompt: str, error: str | None = None) -> None:
    """An input message shown on the cell (and the error message of a refused entry)."""
    dv.allow_blank = True
    dv.showInputMessage = True
    dv.promptTitle, dv.prompt = title, prompt[:255]
    if error:
        dv.showErrorMessage = True
        dv.errorTitle, dv.error = title, error[:255]


def write_checklist(ws: Worksheet, m: Methodology, lay: FormLayout, st: Styles, lang: str,
                    text_width: float) -> tuple[dict[str, str], dict[str, str]]:
    """The checklist heading, then per stage a row with its name, win rate and ● cell, and under it a row per
    criterion with its 是/否 cell; returns (stage key -> ● cell, criterion key -> answer cell)."""
    head = lay.checklist_head_row
    for col, key in ((1, "form.stage_col"), (2, "form.criteria_col"), (3, "form.answer_col")):
        put(ws, head, col, label(key, lang), font=st.header, fill=st.header_fill, align=st.centre,
            border=st.border)
    ws.row_dimensions[head].height = LINE_POINTS + 6
    yes, no = label("out.yes", lang), label("out.no", lang)
    col = get_column_letter(INPUT_COL)
    first, last = lay.stage_rows[0], lay.derived_row - 1
    markers: dict[str, str] = {}
    answers: dict[str, str] = {}
    answer_dv = DataValidation(type="list", formula1=f'"{yes},{no}"')
    _explain(answer_dv, label("form.answer_col", lang), label("form.answer_prompt", lang),
             label("form.answer_error", lang))
    for i, stage in enumerate(m.stages):
        row = lay.stage_rows[i]
        rate = label("form.win_rate", lang).format(rate=f"{stage.win_rate:.0%}")
        put(ws, row, 1, f"{label('form.stage_no', lang).format(n=stage.order)}", font=st.header, fill=st.header_fill,
            align=st.centre, border=st.border)
        put(ws, row, 2, f"{stage.name(lang)}    {rate}", font=st.header, fill=st.header_fill, align=st.wrap,
            border=st.border)
        put(ws, row, 3, slot(f"m:{stage.key}"), font=st.marker, fill=st.input_fill, align=st.centre,
            border=st.border, protect=st.unlocked)
        ws.row_dimensions[row].height = LINE_POINTS + 8
        ref = f"{col}{row}"
        markers[stage.key] = ref
        # A ● is taken only where no other stage holds one: the list offers ● while the form has none elsewhere.
        others = f'COUNTIF(${col}${first}:${col}${last},"{MARK}")-({ref}="{MARK}")'
        dv = DataValidation(type="list", formula1=f'IF({others}>0,{_abs(lay.empty_cell)},"{MARK}")')
        _explain(dv, label("form.marker_title", lang), label("form.marker_prompt", lang),
                 label("form.marker_error", lang))
        dv.add(ref)
        ws.add_data_validation(dv)
        for j, c in enumerate(stage.criteria):
            r = lay.criterion_row(i, j)
            text = f"{criterion_number(stage, j)}  {c.text(lang)}" + ("" if c.required else label("form.optional", lang))
            put(ws, r, 1, None, border=st.border)
            put(ws, r, 2, text, font=st.text, align=st.wrap, border=st.border)
            put(ws, r, 3, slot(f"a:{c.key}"), font=st.text, align=st.centre, border=st.border, fill=st.input_fill,
                protect=st.unlocked)
            answers[c.key] = f"{col}{r}"
            answer_dv.add(answers[c.key])
            ws.row_dimensions[r].height = LINE_POINTS * lines_needed(text, text_width) + 4
    ws.add_data_validation(answer_dv)
    return markers, answers


def _abs(ref: str) -> str:
    col, row = re.match(r"([A-Z]+)(\d+)", ref).groups()
    return f"${col}${row}"


def _stage_conditions(m: Methodology, cells: dict[str, str], lang: str) -> list[str]:
    yes = label("out.yes", lang)
    out = []
    for stage in m.stages:
        checks = [f'{cells[c.key]}="{yes}"' for c in stage.required_criteria]
        out.append("AND(" + ",".join(checks) + ")" if checks else "TRUE")
    return out


def _stage_choice(m: Methodology, cells: dict[str, str], lang: str, values: list[str], none: str) -> str:
    """IF(nothing answered, none, IF(NOT(stage 1 met), v1, IF(NOT(stage 2 met), v1, ...))): the value of the
    highest stage whose required criteria, and every earlier stage's, are answered 是, at least the first — the same
    rule as the domain's derive_stages."""
    conditions = _stage_conditions(m, cells, lang)
    formula = values[-1]
    for k in range(len(m.stages) - 1, -1, -1):
        formula = f"IF(NOT({conditions[k]}),{values[max(k - 1, 0)]},{formula})"
    answered = f"COUNTA({','.join(cells[c.key] for c in m.criteria())})>0" if cells else "FALSE"
    return f"=IF({answered},{formula},{none})"


def derived_stage_formula(m: Methodology, cells: dict[str, str], lang: str) -> str:
    """The name of the stage the answers support, or 未评估 when nothing is answered."""
    return _stage_choice(m, cells, lang, [_formula_text(s.name(lang)) for s in m.stages],
                         _formula_text(label("assessment.not_assessed", lang)))


def _formula_text(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_helpers(ws: Worksheet, m: Methodology, markers: dict[str, str], cells: dict[str, str], lay: FormLayout,
                  lang: str) -> None:
    """The hidden helper cells: the ●'s stage order, the answers' stage order (0 when unassessed) and the numbers of
    the required criteria up to the ●'s stage not answered 是."""
    yes = label("out.yes", lang)
    claimed = "=MAX(" + ",".join(f'IF({markers[s.key]}="{MARK}",{s.order},0)' for s in m.stages) + ")"
    derived = _stage_choice(m, cells, lang, [str(s.order) for s in m.stages], "0")
    claimed_ref = _abs(lay.helper_cell("claimed_order"))
    parts = [f'IF(AND({claimed_ref}>={s.order},{cells[c.key]}<>"{yes}"),"{criterion_number(s, j)} ","")'
             for s in m.stages for j, c in enumerate(s.criteria) if c.required]
    missing = "=TRIM(" + "&".join(parts) + ")" if parts else '=""'
    for name, formula in zip(HELPERS, (claimed, derived, missing)):
        ws[lay.helper_cell(name)] = formula


def write_assessed(ws: Worksheet, m: Methodology, cells: dict[str, str], lay: FormLayout, st: Styles,
                   settings: FormSettings, lang: str) -> tuple[str, str]:
    """The stage the answers support (amber when the ● is one stage above it, red when more) and, below it, the
    criteria the ●'s stage still lacks; returns both cells."""
    row = lay.derived_row
    put_label(ws, row, label("form.derived_row", lang), lay, st, LINE_POINTS + 10)
    put(ws, row, 2, derived_stage_formula(m, cells, lang), formula=True)
    box(ws, row, 2, row, lay.last_col, st, fill=st.derived_fill, font=st.label, align=st.centre)
    merge(ws, row, 2, row, lay.last_col)
    claimed, derived = (_abs(lay.helper_cell(n)) for n in ("claimed_order", "derived_order"))
    c = settings.colours
    target = f"B{row}:{get_column_letter(lay.last_col)}{row}"
    ws.conditional_formatting.add(target, FormulaRule(
        formula=[f"AND({derived}>0,{claimed}-{derived}>=2)"], stopIfTrue=True,
        fill=PatternFill("solid", fgColor=c["gap_red"], bgColor=c["gap_red"]), font=Font(color=c["gap_red_font"])))
    ws.conditional_formatting.add(target, FormulaRule(
        formula=[f"AND({derived}>0,{claimed}-{derived}=1)"], stopIfTrue=True,
        fill=PatternFill("solid", fgColor=c["gap_amber"], bgColor=c["gap_amber"])))
    row = lay.missing_row
    put_label(ws, row, label("form.missing_row", lang), lay, st, LINE_POINTS * 2 + 4)
    missing = _abs(lay.helper_cell("missing_list"))
    put(ws, row, 2, f'=IF({claimed}=0,{_formula_text(label("form.missing_no_mark", lang))},IF({missing}="",'
                    f'{_formula_text(label("form.missing_none", lang))},'
                    f'{_formula_text(label("form.missing_some", lang))}&{missing}))', formula=True)
    box(ws, row, 2, row, lay.last_col, st, font=st.text, align=st.wrap)
    merge(ws, row, 2, row, lay.last_col)
    return f"B{lay.derived_row}", f"B{row}"


def missing_text(m: Methodology, form: FormData, lang: str) -> str:
    """What the "missing" line shows for a form as sent (the cached value of its formula)."""
    if form.stage not in m.stage_keys:
        return label("form.missing_no_mark", lang)
    missing = missing_criteria(m, form.stage, form.answers)
    return label("form.missing_some", lang) + " ".join(missing) if missing else label("form.missing_none", lang)


def write_notes_box(ws: Worksheet, lay: FormLayout, st: Styles, settings: FormSettings, lang: str) -> str:
    """备注: one merged, unlocked, wrapping box the rep writes into."""
    first, last = lay.notes_row, lay.last_row
    put(ws, first, 1, label("form.notes_row", lang))
    box(ws, first, 1, last, 1, st, fill=st.label_fill, font=st.label, align=st.wrap)
    merge(ws, first, 1, last, 1)
    put(ws, first, 2, slot("notes"))
    box(ws, first, 2, last, lay.last_col, st, fill=st.input_fill, protect=st.unlocked, font=st.text,
        align=st.top_left)
    merge(ws, first, 2, last, lay.last_col)
    for r in range(first, last + 1):
        ws.row_dimensions[r].height = LINE_POINTS + 4
    limit = int(settings.limits["max_notes_chars"])
    dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(limit))
    _explain(dv, label("form.notes_row", lang), label("form.notes_prompt", lang),
             label("form.notes_error", lang).format(limit=limit))
    dv.add(f"B{first}")
    ws.add_data_validation(dv)
    return f"B{first}"


def write_hidden_block(ws: Worksheet, entries: list[tuple[str, str]], lay: FormLayout) -> None:
    """Key/value rows in hidden columns beyond the print area: what collect needs to read the form back."""
    kc, vc = lay.block_column, lay.block_column + 1
    for i, (key, value) in enumerate(entries, start=1):
        ws.cell(row=i, column=kc, value=key)
        keep_as_text(ws.cell(row=i, column=vc, value=value))
    for c in (kc, vc, vc + 1):
        ws.column_dimensions[get_column_letter(c)].hidden = True


def set_widths(ws: Worksheet, settings: FormSettings) -> None:
    lw = settings.layout
    for col, key in ((LABEL_COL, "label_width"), (TEXT_COL, "criterion_width"), (INPUT_COL, "answer_width")):
        ws.column_dimensions[get_column_letter(col)].width = lw[key]


# --- one form: the template and the texts of each form ----------------------------------------------------------

def form_texts(form: FormData, m: Methodology, lang: str, as_of: dt.date) -> FormTexts:
    """A form's variable cells as the rep sees them: header texts, the deal's fields, ● under the current stage,
    是/否, notes, the problem line; and the cached values of its formulas."""
    yes, no = label("out.yes", lang), label("out.no", lang)
    status = form.status
    if status in STATUSES:
        status = label(f"status.{status}", lang)
    cells: dict[str, object] = {
        **header_texts(form), "h:date": as_of.isoformat(), "notes": form.notes or None,
        "problem": problem_line(form.problems, lang),
        "f:amount": form.amount, "f:close_date": form.close_date, "f:status": status,
        "b:opportunity": form.opportunity_id, "b:rep": form.rep, "b:token": form.token, "b:seal": form.seal,
        "b:sent": as_of.isoformat(),
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
    claimed = m.stage(form.stage).order if form.stage in m.stage_keys else 0
    computed = {
        "derived": label("assessment.not_assessed", lang) if derived is None else m.stage(derived).name(lang),
        "missing": missing_text(m, form, lang),
        "claimed_order": claimed, "derived_order": 0 if derived is None else m.stage(derived).order,
        "missing_list": " ".join(missing_criteria(m, form.stage, form.answers)) if claimed else "",
    }
    return FormTexts(cells, computed)


def problem_line(problems: tuple[str, ...], lang: str) -> str | None:
    if not problems:
        return None
    return label("form.problem", lang) + label("form.problem_separator", lang).join(problems)


def write_form_sheet(ws: Worksheet, m: Methodology, lang: str, settings: FormSettings, st: Styles,
                     problem_lines: int = 2) -> dict[str, str]:
    """Fill one sheet with the template form (a placeholder in every variable cell); returns formula cell -> the
    name of its cached value."""
    lay = form_layout(m, settings)
    text_width = float(settings.layout["criterion_width"])
    full_width = text_width + float(settings.layout["label_width"]) + float(settings.layout["answer_width"])
    set_widths(ws, settings)
    write_title(ws, lay, st, lang)
    write_instructions(ws, lay, st, lang, full_width)
    write_problem(ws, lay, st, full_width, problem_lines)
    write_header(ws, lay, st, lang)
    fields = write_fields(ws, lay, st, lang, [label(f"status.{k}", lang) for k in STATUSES])
    markers, cells = write_checklist(ws, m, lay, st, lang, text_width)
    write_helpers(ws, m, markers, cells, lay, lang)
    derived_cell, missing_cell = write_assessed(ws, m, cells, lay, st, settings, lang)
    notes_cell = write_notes_box(ws, lay, st, settings, lang)
    block = [
        ("format", FORM_MARKER), ("format_version", str(settings.format_version)),
        ("opportunity", slot("b:opportunity")), ("methodology", m.key), ("rep", slot("b:rep")),
        ("token", slot("b:token")), ("seal", slot("b:seal")), ("language", lang), ("sent", slot("b:sent")),
        ("notes", notes_cell),
        *((f"field:{k}", ref) for k, ref in fields.items()),
        *((f"marker:{k}", ref) for k, ref in markers.items()),
        *((f"chk:{k}", ref) for k, ref in cells.items()),
    ]
    write_hidden_block(ws, block, lay)
    protect(ws)
    page_setup(ws, lay, settings)
    ws.sheet_view.showGridLines = False
    return {derived_cell: "derived", missing_cell: "missing",
            **{lay.helper_cell(n): n for n in HELPERS}}


def page_setup(ws: Worksheet, lay: FormLayout, settings: FormSettings) -> None:
    """A4 portrait at full size across the page's width; a long checklist runs onto a second page with the
    checklist's heading repeated."""
    print_setup(ws, lay.last_row, lay.last_col, settings, fit_height=False)
    ws.print_title_rows = f"{lay.checklist_head_row}:{lay.checklist_head_row}"


# --- the workbook ---------------------------------------------------------------------------------------------

def write_form_workbook(path: Path, forms: list[FormData], m: Methodology, lang: str, as_of: dt.date,
                        quota: QuotaData | None = None, settings: FormSettings | None = None, *,
                        activity: ActivitySheet | None = None) -> Path:
    """One workbook: the index of the rep's deals, a form sheet per opportunity (in the order given, each tab named
    by customer and id), the week's activity sheet and the quota sheet when given.

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
    index = wb.create_sheet(safe_sheet_name(label("form.index.sheet", lang), taken=taken)) if forms else None
    tabs = [safe_sheet_name(tab_name(form, settings), taken=taken, fallback="form") for form in forms]
    formula_cells: dict[str, str] = {}
    lines = max((problem_lines(f.problems, lang, settings) for f in forms), default=1)
    for i, tab in enumerate(tabs):
        ws = wb.create_sheet(tab)
        if i == 0:
            formula_cells = write_form_sheet(ws, m, lang, settings, st, lines)
        else:
            ws.print_area = f"A1:{get_column_letter(lay.last_col)}{lay.last_row}"
            ws.print_title_rows = f"{lay.checklist_head_row}:{lay.checklist_head_row}"
    if index is not None:
        write_index_sheet(index, [index_entry(f, tab, m, lang) for f, tab in zip(forms, tabs)], lang, settings, st)
    if activity is not None:
        title = safe_sheet_name(label("form.activity.sheet", lang), taken=taken)
        write_activity_sheet(wb.create_sheet(title), activity, lang, settings, st)
    if quota is not None:
        title = safe_sheet_name(label("form.quota_sheet", lang), taken=taken)
        write_quota_sheet(wb.create_sheet(title), quota, lang, settings, st)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".form.", suffix=".xlsx", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        wb.save(tmp)
        replaced: dict[str, bytes] = {}
        if forms:
            first = 2  # the index is sheet 1
            with zipfile.ZipFile(tmp) as zf:
                template = SheetTemplate.compile(zf.read(f"xl/worksheets/sheet{first}.xml").decode("utf-8"),
                                                 shared_strings(zf), formula_cells)
                styles = zf.read(STYLES_PART).decode("utf-8")
            for i, form in enumerate(forms, start=first):
                text = template.render(form_texts(form, m, lang, as_of))
                replaced[f"xl/worksheets/sheet{i}.xml"] = text.encode("utf-8")
            # A customer or project name that starts like a formula stays text that F2-Enter cannot run.
            replaced = quote_formula_parts(styles, replaced)
        patch_package(tmp, path, replaced)
    finally:
        tmp.unlink(missing_ok=True)
    try:
        check_returnable(path.read_bytes(), path.name, settings)
    except FormError as exc:
        path.unlink()
        raise FormError(label("form.unreturnable", lang).format(file=path.name, forms=len(forms)) + f" ({exc})",
                        code=exc.code) from exc
    return path


def problem_lines(problems: tuple[str, ...], lang: str, settings: FormSettings) -> int:
    """Lines the problem row needs for these problems (at least one, so every form is laid out alike)."""
    text = problem_line(problems, lang)
    if not text:
        return 1
    width = sum(float(settings.layout[k]) for k in ("label_width", "criterion_width", "answer_width"))
    return lines_needed(text, width)


def index_entry(form: FormData, tab: str, m: Methodology, lang: str) -> IndexEntry:
    """One line of the index: the deal as the rep knows it, its stages, and what is missing or wrong."""
    texts = form_texts(form, m, lang, dt.date.today())
    claimed = m.stage(form.stage).name(lang) if form.stage in m.stage_keys else ""
    missing = " ".join(missing_criteria(m, form.stage, form.answers))
    return IndexEntry(tab, form.fields.get("customer", ""), form.fields.get("project", ""),
                      form.amount / 10_000 if isinstance(form.amount, float) else form.amount,
                      claimed, str(texts.computed["derived"]), form.close_date, missing, form.problems)
