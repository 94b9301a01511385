"""The week's activity (本周工作): the sheet a rep fills in, and reading it back.

The standards a rep reports against are their tenure phase's work standards in ``templates/roadmap.toml`` (每周至少
收集5家客户资料 …). The rep's sheet names the week (its Monday) and carries a hidden block like a form's, sealed over
the rep and the week with the master's form key, so collect takes each value as the rep's own for that week. The
master keeps one value per rep, week and measure in its 工作记录 table (``reports/activity_log.py``), written by
collect and read by recalc for 配额.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from funnel_xl.domain.parsing import is_blank, parse_text
from funnel_xl.domain.roadmap import Standard
from funnel_xl.forms.settings import FormSettings
from funnel_xl.forms.version import seal, seal_verifies
from funnel_xl.labels import LANGUAGES, label

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from funnel_xl.forms.cells import Styles

ACTIVITY_MARKER = "funnel_xl.activity"   # first value of the 本周工作 sheet's hidden block
FIRST_ROW = 6                            # the first standard on the rep's sheet


@dataclass(frozen=True)
class ActivitySheet:
    """What a rep's 本周工作 sheet asks: the week (its Monday), their phase's standards, sealed for rep and week."""

    rep: str
    week: dt.date
    phase: str | None
    standards: tuple[Standard, ...]
    seal: str


def activity_identity(rep: str, week: dt.date) -> tuple[str, str, str]:
    """What the seal of an activity sheet covers: (a tag with the week, the rep, no version)."""
    return f"activity:{week.isoformat()}", rep, ""


def activity_for(rep: str, week: dt.date, phase: str | None, standards: tuple[Standard, ...],
                 key: bytes) -> ActivitySheet:
    return ActivitySheet(rep, week, phase, standards, seal(key, *activity_identity(rep, week)))


def write_activity_sheet(ws: Worksheet, sheet: ActivitySheet, lang: str, settings: FormSettings,
                         st: Styles) -> None:
    """Title, the week and what to do, a row per standard (what, the standard, this week's value in yellow), the
    hidden block collect reads."""
    # openpyxl only where a sheet is written: collect and recalc read this module, and openpyxl's import is 0.2 s.
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from funnel_xl.forms.cells import keep_as_text, print_setup, protect, put

    put(ws, 1, 1, label("form.activity.title", lang), font=st.title)
    ws.row_dimensions[1].height = 28
    week_end = sheet.week + dt.timedelta(days=6)
    put(ws, 2, 1, label("form.activity.week", lang).format(rep=sheet.rep, start=sheet.week.isoformat(),
                                                          end=week_end.isoformat()), font=st.label)
    how = label("form.activity.how" if sheet.standards else "form.activity.none", lang)
    put(ws, 3, 1, how, font=st.text, align=st.top_left, fill=st.note_fill)
    heads = ("measure", "standard", "value")
    ws.merge_cells(start_row=3, start_column=1, end_row=3, end_column=len(heads))
    ws.row_dimensions[3].height = 48
    for col, key in enumerate(heads, start=1):
        put(ws, FIRST_ROW - 1, col, label(f"form.activity.{key}", lang), font=st.header, fill=st.header_fill,
            align=st.centre, border=st.border)
    cells: dict[str, str] = {}
    dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1000", allow_blank=True,
                        showInputMessage=True, showErrorMessage=True,
                        promptTitle=label("form.activity.value", lang)[:32],
                        prompt=label("form.activity.prompt", lang), error=label("form.activity.error", lang))
    for i, std in enumerate(sheet.standards):
        row = FIRST_ROW + i
        put(ws, row, 1, std.name(lang), font=st.text, align=st.wrap, border=st.border)
        put(ws, row, 2, label("form.activity.at_least", lang).format(n=f"{std.threshold:g}"), font=st.text,
            align=st.centre, border=st.border)
        put(ws, row, 3, None, font=st.text, align=st.centre, border=st.border, fill=st.input_fill,
            protect=st.unlocked)
        ws.row_dimensions[row].height = 22
        cells[std.key] = f"C{row}"
        dv.add(cells[std.key])
    if cells:  # an empty <dataValidations> breaks Office's schema
        ws.add_data_validation(dv)
    block = [("format", ACTIVITY_MARKER), ("format_version", str(settings.format_version)), ("rep", sheet.rep),
             ("week", sheet.week.isoformat()), ("seal", sheet.seal), ("language", lang),
             *((f"value:{s.key}", ref) for s, ref in zip(sheet.standards, cells.values())),
             *((f"name:{s.key}", s.name(lang)) for s in sheet.standards)]
    kc = int(settings.layout["block_column"])
    for i, (k, v) in enumerate(block, start=1):
        ws.cell(row=i, column=kc, value=k)
        keep_as_text(ws.cell(row=i, column=kc + 1, value=v))
    for c in (kc, kc + 1):
        ws.column_dimensions[get_column_letter(c)].hidden = True
    for col, width in zip("ABC", (44, 20, 14)):
        ws.column_dimensions[col].width = width
    protect(ws)
    ws.sheet_view.showGridLines = False
    print_setup(ws, FIRST_ROW + max(len(sheet.standards), 1), len(heads), settings)


# --- reading it back --------------------------------------------------------------------------------------------

@dataclass
class ActivityReport:
    """A 本周工作 sheet read back: rep, week, the values reported (measure -> value, name) and what is wrong."""

    source: str
    sheet: str
    rep: str
    week: dt.date | None
    seal: str
    language: str
    values: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_activity(source: str, sheet: str, block: Mapping[str, str], cell_value, settings: FormSettings
                  ) -> ActivityReport:
    """The report of one sheet whose hidden block is an activity block; ``cell_value(ref)`` gives (value, formula)."""
    lang = block.get("language", "zh-CN")
    lang = lang if lang in LANGUAGES else "zh-CN"
    try:
        week = dt.date.fromisoformat(block.get("week", ""))
    except ValueError:
        week = None
    report = ActivityReport(source, sheet, block.get("rep", ""), week, block.get("seal", ""), lang)
    where = f"{source}, {sheet}"
    if block.get("format_version") != str(settings.format_version) or week is None or not report.rep:
        report.problems.append(label("form.activity.damaged", lang).format(where=where))
        return report
    for key, ref in block.items():
        if not key.startswith("value:"):
            continue
        measure = key[len("value:"):]
        report.names[measure] = block.get(f"name:{measure}", measure)
        value, formula = cell_value(ref)
        if formula is None and is_blank(value):
            continue
        if formula is not None or isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            number = _number(value) if formula is None else None
            if number is None:
                report.problems.append(label("form.activity.bad_value", lang).format(
                    where=where, cell=ref, name=report.names[measure], value=value if formula is None else
                    "=" + formula))
                continue
            value = number
        report.values[measure] = float(value)
    return report


def _number(value: Any) -> float | None:
    """A count or hours typed as text ("6", "7.5"), or None."""
    text = parse_text(value)
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return number if number is not None and number >= 0 else None


def activity_refusal(report: ActivityReport, key: bytes | None, reps: set[str], lang: str) -> str | None:
    """Why a report cannot be taken (in the workbook's language), or None."""
    if not report.ok:
        return "; ".join(report.problems)
    if key is None or not seal_verifies(key, *activity_identity(report.rep, report.week), report.seal):
        return label("form.activity.seal", lang).format(rep=report.rep)
    if report.rep not in reps:
        return label("form.activity.unknown_rep", lang).format(rep=report.rep)
    return None
