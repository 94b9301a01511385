"""The 函数示例 sheet: every FUNNEL_ formula carries the same value as its native twin, and LibreOffice (which has
no Python) recalculates the native formulas to exactly those values."""

from __future__ import annotations

import datetime as dt

import openpyxl
from openpyxl.utils import get_column_letter
import pytest

from funnel_xl import libreoffice
from funnel_xl.excel import udfs
from funnel_xl.labels import label
from funnel_xl.workbook import build
from funnel_xl.workbook.contract import sheet_name
from funnel_xl.workbook.sheets import examples

AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def examples_book(tmp_path_factory):
    """The sample workbook (.xlsx) as the build writes it, examples sheet included."""
    from funnel_xl.methodologies import load_methodology
    from funnel_xl.sample import load_sample

    sample = load_sample()
    return build.write_workbook(tmp_path_factory.mktemp("examples") / "Funnel.xlsx", lang="zh-CN",
                                methodology=load_methodology("big_project"),
                                opportunities=sample.opportunities, reps=sample.reps, vba=False, as_of=AS_OF,
                                examples=True)


def _rows(ws):
    return [r for r in ws.iter_rows(min_row=examples.HEADER + 2) if r[examples.COL_UDF].value is not None]


def test_each_function_sits_beside_a_native_formula_with_the_same_cached_value(examples_book):
    formulas = openpyxl.load_workbook(examples_book)[sheet_name("examples")]
    values = openpyxl.load_workbook(examples_book, data_only=True)[sheet_name("examples")]
    rows = _rows(formulas)
    assert rows, "the examples sheet has no rows"
    used = set()
    for row in rows:
        udf, native = row[examples.COL_UDF].value, row[examples.COL_NATIVE].value
        assert udf.startswith("=FUNNEL_") or "FUNNEL_" in udf
        assert "FUNNEL_" not in native  # the native twin must work without Python
        used.update(name for name in vars(udfs) if name.startswith("FUNNEL_") and name + "(" in udf)
        r = row[0].row
        cached = [values.cell(r, c + 1).value for c in (examples.COL_UDF, examples.COL_NATIVE, examples.COL_AGREE)]
        assert cached[0] == cached[1] and cached[2] == label("examples.yes", "zh-CN"), (udf, native, cached)
    assert {"FUNNEL_AMOUNT", "FUNNEL_WINRATE", "FUNNEL_WEIGHTED", "FUNNEL_STAGE", "FUNNEL_BUCKET",
            "FUNNEL_PROGRESS", "FUNNEL_REQUIRED"} <= used


def test_the_cached_weighted_forecast_is_the_sum_of_the_opportunities_weighted_column(examples_book):
    values = openpyxl.load_workbook(examples_book, data_only=True)
    row = next(r for r in _rows(values[sheet_name("examples")])
               if r[0].value == label("examples.row_weighted", "zh-CN"))
    opps = values[sheet_name("opportunities")]
    header = [c.value for c in opps[4]]
    col = header.index(label("col.weighted", "zh-CN")) + 1
    total = sum(opps.cell(r, col).value or 0 for r in range(5, opps.max_row + 1)
                if isinstance(opps.cell(r, col).value, (int, float)))
    assert row[examples.COL_UDF].value == pytest.approx(total, abs=0.005)


@pytest.mark.libreoffice
def test_libreoffice_recalculates_every_native_formula_to_the_cached_value(examples_book, tmp_path):
    cached = openpyxl.load_workbook(examples_book, data_only=True)[sheet_name("examples")]
    recalculated = openpyxl.load_workbook(libreoffice.recalculate(examples_book, tmp_path), data_only=True)
    ws = recalculated[sheet_name("examples")]
    for row in _rows(cached):
        r = row[0].row
        want, got = row[examples.COL_NATIVE].value, ws.cell(r, examples.COL_NATIVE + 1).value
        if isinstance(want, (int, float)):
            assert got == pytest.approx(want, abs=0.005), row[0].value
        else:
            assert (got or "") == (want or ""), row[0].value


def test_the_stage_example_passes_exactly_the_checklist_columns_of_the_opportunities_sheet(examples_book):
    from openpyxl.utils import range_boundaries

    from funnel_xl.methodologies import load_methodology
    from funnel_xl.workbook.contract import checklist_header

    book = openpyxl.load_workbook(examples_book)
    row = next(r for r in _rows(book[sheet_name("examples")]) if r[0].value == label("examples.row_stage", "zh-CN"))
    cells = row[examples.COL_UDF].value.split("(", 1)[1].split(",", 1)[0].split("!", 1)[1]
    first_col, first_row, last_col, _ = range_boundaries(cells)
    header = [c.value for c in book[sheet_name("opportunities")][first_row - 1]]
    m = load_methodology("big_project")
    expected = [checklist_header(s, i, c) for s in m.stages for i, c in enumerate(s.criteria, start=1)]
    assert header[first_col - 1:last_col] == expected


def test_the_stage_example_points_at_the_first_rows_checklist_columns_wherever_the_registry_puts_them(examples_book):
    formulas = openpyxl.load_workbook(examples_book)
    opps = formulas[sheet_name("opportunities")]
    header = [c.value for c in opps[4]]
    checks = [i for i, h in enumerate(header, start=1) if isinstance(h, str) and h[:1].isdigit()]
    first = opps.cell(4, checks[0]).value
    assert first.startswith("1.1 ")  # the checklist's first column, by its header
    row = next(r for r in _rows(formulas[sheet_name("examples")])
               if r[0].value == label("examples.row_stage", "zh-CN"))
    expected = f"{get_column_letter(checks[0])}5:{get_column_letter(checks[-1])}5"
    assert f"'{sheet_name('opportunities')}'!{expected}," in row[examples.COL_UDF].value


def test_the_win_rate_example_names_the_stage_it_shows(examples_book):
    ws = openpyxl.load_workbook(examples_book)[sheet_name("examples")]
    row = next(r for r in _rows(ws) if "FUNNEL_WINRATE" in r[examples.COL_UDF].value)
    stage = row[examples.COL_UDF].value.split('"')[1]  # =FUNNEL_WINRATE("<stage>",...)
    assert row[0].value == label("examples.row_winrate", "zh-CN").format(stage=stage)
