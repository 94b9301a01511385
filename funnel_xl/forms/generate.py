"""Write a rep's form workbook with openpyxl: one protected A4 sheet per opportunity, plus their quota sheet.

One small function per part of a form (header, stage columns, criteria, derived-stage formula, notes box, hidden
machine-readable block) so each can be read and changed on its own; the cells are styled through ``cells``, the
quota sheet is ``quota_sheet``'s. openpyxl cannot write a formula's cached value, so the first form is written as
a template (``template``) that every form's sheet part is rendered from, the derived stage carried as a value
too (mail previews and phones show it without recalculating).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.stages import derive_stage_from_answers
from funnel_xl.forms.cells import Styles, box, keep_as_text, make_styles, merge, print_setup, protect, put
from funnel_xl.forms.model import FORM_MARKER, MARK, FormData, QuotaData, form_columns
from funnel_xl.forms.quota_sheet import write_quota_sheet
from funnel_xl.forms.settings import FormSettings, form_settings
from funnel_xl.forms.template import FormTexts, SheetTemplate, shared_strings, slot
from funnel_xl.labels import label
from funnel_xl.workbook.ooxml import STYLES_PART, quote_formula_parts, safe_sheet_name
from funnel_xl.workbook.zip_patch import patch_package

HEADER_ROWS = (2, 3, 4)
STAGE_ROW, RATE_ROW, MARKER_ROW, FIRST_CRITERION_ROW = 6, 7, 8, 9


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


# --- the parts of a form ----------------------------------------------------------------------------------------

def write_title(ws: Worksheet, lay: FormLayout, st: Styles, lang: str) -> None:
    put(ws, 1, 1, label("form.title", lang), font=st.title, align=Alignment(horizontal="center", vertical="center"))
    merge(ws, 1, 1, 1, lay.last_col)
    ws.row_dimensions[1].height = 30


# The form's header grid, two slots a row; each slot shows the registry columns that name it (``ColumnSpec.form``),
# joined by " / ", under the label form.<slot>. The date slot shows the report date.
HEADER_SLOTS = ("project", "customer", "rep_pm", "products", "opportunity", "date")
BLOCK_SLOTS = ("opportunity", "rep", "token", "seal", "sent")


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


def form_texts(form: FormData, m: Methodology, lang: str, as_of: dt.date) -> FormTexts:
    """A form's variable cells as the rep sees them: header texts, ● under the current stage, 是/否, notes."""
    yes, no = label("out.yes", lang), label("out.no", lang)
    cells: dict[str, str | None] = {
        **header_texts(form), "h:date": as_of.isoformat(), "notes": form.notes or None,
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
    return FormTexts(cells, label("assessment.not_assessed", lang) if derived is None else m.stage(derived).name(lang))


def slot_texts(m: Methodology) -> FormTexts:
    """Placeholders in every variable cell, for the template that every form of a workbook is copied from."""
    names = [*(f"h:{k}" for k in HEADER_SLOTS), "notes", *(f"b:{k}" for k in BLOCK_SLOTS),
             *(f"m:{s.key}" for s in m.stages), *(f"a:{c.key}" for c in m.criteria())]
    return FormTexts({n: slot(n) for n in names})


def write_header(ws: Worksheet, texts: FormTexts, lay: FormLayout, st: Styles, lang: str) -> None:
    """项目名称 / 客户, 项目经理(销售负责人) / 提供的产品, 商机编号 / 日期: label cells and merged value cells."""
    pairs = [((f"form.{a}", f"h:{a}"), (f"form.{b}", f"h:{b}")) for a, b in zip(HEADER_SLOTS[::2], HEADER_SLOTS[1::2])]
    for row, ((k1, v1), (k2, v2)) in zip(HEADER_ROWS, pairs, strict=True):
        for col, last, key, value in ((1, lay.mid_col - 1, k1, v1), (lay.mid_col, lay.last_col, k2, v2)):
            put(ws, row, col, label(key, lang), font=st.label, fill=st.label_fill, align=st.wrap, border=st.border)
            put(ws, row, col + 1, texts.get(value))
            box(ws, row, col + 1, row, last, st, font=st.text, align=st.wrap)
            merge(ws, row, col + 1, row, last)
        ws.row_dimensions[row].height = 20
    ws.row_dimensions[5].height = 6


def write_stage_columns(ws: Worksheet, texts: FormTexts, m: Methodology, lay: FormLayout, st: Styles,
                        lang: str) -> dict[str, str]:
    """One column pair per stage: its name, its win rate and the ● marker cell; returns stage key -> marker cell."""
    for key, row in (("form.stage_row", STAGE_ROW), ("form.win_rate_row", RATE_ROW), ("form.marker_row", MARKER_ROW)):
        put(ws, row, 1, label(key, lang), font=st.label, fill=st.label_fill, align=st.wrap, border=st.border)
    markers = {}
    for i, stage in enumerate(m.stages):
        c1, c2 = lay.text_col(i), lay.answer_col(i)
        put(ws, STAGE_ROW, c1, f"{stage.order} {stage.name(lang)}")
        box(ws, STAGE_ROW, c1, STAGE_ROW, c2, st, fill=st.header_fill, font=st.header, align=st.centre)
        merge(ws, STAGE_ROW, c1, STAGE_ROW, c2)
        put(ws, RATE_ROW, c1, stage.win_rate)
        box(ws, RATE_ROW, c1, RATE_ROW, c2, st, font=st.text, align=st.centre)
        ws.cell(row=RATE_ROW, column=c1).number_format = "0%"
        merge(ws, RATE_ROW, c1, RATE_ROW, c2)
        put(ws, MARKER_ROW, c1, texts.get(f"m:{stage.key}"))
        box(ws, MARKER_ROW, c1, MARKER_ROW, c2, st, fill=st.input_fill, protect=st.unlocked, font=st.marker,
            align=st.centre)
        merge(ws, MARKER_ROW, c1, MARKER_ROW, c2)
        markers[stage.key] = f"{get_column_letter(c1)}{MARKER_ROW}"
    ws.row_dimensions[STAGE_ROW].height = 30
    ws.row_dimensions[MARKER_ROW].height = 22
    marker = DataValidation(type="list", formula1=f'"{MARK}"', allow_blank=True,
                            promptTitle=label("form.marker_row", lang)[:32], prompt=label("form.marker_prompt", lang))
    marker.add(f"{get_column_letter(lay.text_col(0))}{MARKER_ROW}:{get_column_letter(lay.last_col)}{MARKER_ROW}")
    ws.add_data_validation(marker)
    return markers


def write_criteria(ws: Worksheet, texts: FormTexts, m: Methodology, lay: FormLayout, st: Styles, lang: str,
                   text_width: float) -> dict[str, str]:
    """Each stage's criteria under it, the answer cell a 是/否 dropdown; returns criterion key -> answer cell."""
    yes, no = label("out.yes", lang), label("out.no", lang)
    first, last = lay.criterion_row(0), lay.criterion_row(lay.max_criteria - 1)
    put(ws, first, 1, label("form.criteria_row", lang))
    box(ws, first, 1, last, 1, st, fill=st.label_fill, font=st.label, align=st.wrap)
    merge(ws, first, 1, last, 1)
    cells: dict[str, str] = {}
    lines = [1] * lay.max_criteria
    for i, stage in enumerate(m.stages):
        tc, ac = lay.text_col(i), lay.answer_col(i)
        for j in range(lay.max_criteria):
            row = lay.criterion_row(j)
            if j >= len(stage.criteria):
                box(ws, row, tc, row, ac, st)
                continue
            c = stage.criteria[j]
            text = f"{stage.order}.{j + 1} {c.text(lang)}" + ("" if c.required else label("form.optional", lang))
            lines[j] = max(lines[j], lines_needed(text, text_width))
            put(ws, row, tc, text, font=st.text, align=st.wrap, border=st.border)
            put(ws, row, ac, texts.get(f"a:{c.key}"), font=st.text, align=st.centre,
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
    """IF(nothing answered,"未评估",IF(NOT(stage 1 met),"<stage 1>",IF(NOT(stage 2 met),"<stage 1>",...))): the
    highest stage whose required criteria, and every earlier stage's, are answered 是, at least the first — the same
    rule as the domain's derive_stages."""
    yes = label("out.yes", lang)
    conditions = []
    for stage in m.stages:
        checks = [f'{cells[c.key]}="{yes}"' for c in stage.required_criteria]
        conditions.append("AND(" + ",".join(checks) + ")" if checks else "TRUE")
    names = [_formula_text(s.name(lang)) for s in m.stages]
    formula = names[-1]
    for k in range(len(m.stages) - 1, -1, -1):
        formula = f"IF(NOT({conditions[k]}),{names[max(k - 1, 0)]},{formula})"
    answered = f"COUNTA({','.join(cells[c.key] for c in m.criteria())})>0" if cells else "FALSE"
    return f"=IF({answered},{formula},{_formula_text(label('assessment.not_assessed', lang))})"


def _formula_text(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def write_derived_stage(ws: Worksheet, m: Methodology, cells: dict[str, str], lay: FormLayout, st: Styles,
                        lang: str) -> str:
    row = lay.derived_row
    put(ws, row, 1, label("form.derived_row", lang), font=st.label, fill=st.label_fill, align=st.wrap,
        border=st.border)
    put(ws, row, 2, derived_stage_formula(m, cells, lang), formula=True)
    box(ws, row, 2, row, lay.last_col, st, fill=st.derived_fill, font=st.label, align=st.centre)
    merge(ws, row, 2, row, lay.last_col)
    ws.row_dimensions[row].height = 24
    return f"B{row}"


def write_notes_box(ws: Worksheet, texts: FormTexts, lay: FormLayout, st: Styles, lang: str) -> str:
    """其他(请文字描述): one merged, unlocked, wrapping box the rep writes into."""
    first, last = lay.notes_row, lay.notes_row + lay.notes_rows - 1
    put(ws, first, 1, label("form.notes_row", lang))
    box(ws, first, 1, last, 1, st, fill=st.label_fill, font=st.label, align=st.wrap)
    merge(ws, first, 1, last, 1)
    put(ws, first, 2, texts.get("notes"))
    box(ws, first, 2, last, lay.last_col, st, fill=st.input_fill, protect=st.unlocked, font=st.text,
        align=st.top_left)
    merge(ws, first, 2, last, lay.last_col)
    for r in range(first, last + 1):
        ws.row_dimensions[r].height = 18
    return f"B{first}"


def write_instructions(ws: Worksheet, lay: FormLayout, st: Styles, lang: str) -> None:
    row = lay.instructions_row
    put(ws, row, 1, label("form.instructions", lang), font=st.small, align=st.top_left)
    merge(ws, row, 1, row, lay.last_col)
    ws.row_dimensions[row].height = 26


def write_hidden_block(ws: Worksheet, entries: list[tuple[str, str]], lay: FormLayout) -> None:
    """Key/value rows in hidden columns beyond the print area: what collect needs to read the form back."""
    kc, vc = lay.block_column, lay.block_column + 1
    for i, (key, value) in enumerate(entries, start=1):
        ws.cell(row=i, column=kc, value=key)
        keep_as_text(ws.cell(row=i, column=vc, value=value))
    for c in (kc, vc):
        ws.column_dimensions[get_column_letter(c)].hidden = True


def set_widths(ws: Worksheet, lay: FormLayout, settings: FormSettings) -> None:
    lw = settings.layout
    ws.column_dimensions["A"].width = lw["label_width"]
    for i in range(lay.n_stages):
        ws.column_dimensions[get_column_letter(lay.text_col(i))].width = lw["criterion_width"]
        ws.column_dimensions[get_column_letter(lay.answer_col(i))].width = lw["answer_width"]


def write_form_sheet(ws: Worksheet, texts: FormTexts, m: Methodology, lang: str, settings: FormSettings,
                     st: Styles) -> str:
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
        ("token", texts.get("b:token")), ("seal", texts.get("b:seal")), ("language", lang), ("sent", texts.get("b:sent")), ("notes", notes_cell),
        *((f"marker:{k}", ref) for k, ref in markers.items()),
        *((f"chk:{k}", ref) for k, ref in cells.items()),
    ]
    write_hidden_block(ws, block, lay)
    protect(ws)
    print_setup(ws, lay.instructions_row, lay.last_col, settings)
    ws.sheet_view.showGridLines = False
    return derived_cell


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
        ws = wb.create_sheet(safe_sheet_name(form.opportunity_id, taken=taken, fallback="form"))
        if i == 0:
            derived_cell = write_form_sheet(ws, slot_texts(m), m, lang, settings, st)
        else:
            ws.print_area = f"A1:{get_column_letter(lay.last_col)}{lay.instructions_row}"
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
            with zipfile.ZipFile(tmp) as zf:
                template = SheetTemplate.compile(zf.read("xl/worksheets/sheet1.xml").decode("utf-8"),
                                                 shared_strings(zf), derived_cell)
                styles = zf.read(STYLES_PART).decode("utf-8")
            for i, form in enumerate(forms, start=1):
                text = template.render(form_texts(form, m, lang, as_of))
                replaced[f"xl/worksheets/sheet{i}.xml"] = text.encode("utf-8")
            # A customer or project name that starts like a formula stays text that F2-Enter cannot run.
            replaced = quote_formula_parts(styles, replaced)
        patch_package(tmp, path, replaced)
    finally:
        tmp.unlink(missing_ok=True)
    return path


