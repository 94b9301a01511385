"""The same result through both doors: a press of 重新计算预测 (the live adapter on xlwings' own objects) leaves the
output sheets as ``funnel-xl recalc`` (the file adapter) writes them, cell for cell, styles included.

The live door runs on xlwings' remote-engine ``Book`` opened on the workbook's JSON; the actions it queues are
carried out on an openpyxl copy of the same workbook (``tests/remote_book.py``) and the result is compared with the
file the command line wrote: values, number formats, fonts, fills, borders, alignment, column widths, row heights,
merged ranges, hyperlinks and chart ranges (a user's merge or link on an output sheet goes in both). On the sample and on a 5,000-row workbook with weekly history.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from benchmarks.synth import formula_cache, make_opportunities, make_reps, seed_history
from funnel_xl.history import SnapshotStore, history_path
from funnel_xl.methodologies import load_methodology
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook import contract
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.live_adapter import LiveWorkbook
from funnel_xl.workbook.ooxml import parse_sheet_ref
from tests.remote_book import ExcelReplay, book_json, remote_xlwings

RUN_AT = dt.datetime(2026, 11, 20, 9, 0)
OUTPUTS = [contract.sheet_name(k) for k in ("forecast", "funnel", "quota", "progress", "problems")]


def press_both_doors(original, folder, as_of: dt.date, *, with_history: bool = False):
    """Recalculate ``original`` through the file door (a copy, as the command line does) and the live door (the
    remote book, its actions carried out on the original); returns (file result, live result, file, replay)."""
    (folder / "file").mkdir()
    file_copy = Path(shutil.copy(original, folder / "file" / original.name))
    live_history = None
    if with_history:
        (folder / "live").mkdir()
        shutil.copy(history_path(original), history_path(file_copy))
        live_history = SnapshotStore(shutil.copy(history_path(original), folder / "live" / "Funnel.history.sqlite"))
    with FileWorkbook(file_copy, quiet=True) as door:
        file_history = SnapshotStore.for_workbook(file_copy) if with_history else None
        file_result = recalculate(door, as_of, run_at=RUN_AT, history=file_history)
    book = remote_xlwings().Book(json=book_json(original))
    live_result = recalculate(LiveWorkbook(book), as_of, run_at=RUN_AT, history=live_history)
    for store in (file_history, live_history):
        if store is not None:
            store.close()
    return file_result, live_result, file_copy, ExcelReplay(original).apply(book.json()["actions"])


@pytest.fixture(scope="module")
def sample_pressed(built_sample, tmp_path_factory):
    return press_both_doors(built_sample, tmp_path_factory.mktemp("doors"), dt.date(2026, 11, 20))


@pytest.fixture(scope="module")
def big_pressed(tmp_path_factory):
    """5,000 opportunities of the benchmark's synthetic mix (its reps, stages and checklists), 8 weeks of history."""
    folder = tmp_path_factory.mktemp("doors5000")
    m = load_methodology("big_project")
    reps = make_reps(5000)
    opps = make_opportunities(5000, m, reps)
    with formula_cache():
        original = write_workbook(folder / "Funnel.xlsm", lang="zh-CN", methodology=m, opportunities=opps, reps=reps)
    seed_history(original, opps, m, weeks=8)
    from benchmarks.synth import AS_OF

    return press_both_doors(original, folder, AS_OF, with_history=True)


# -- what a user sees of a sheet ------------------------------------------------------------------------------------

def _value(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 9)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return value


def _colour(colour):
    return None if colour is None else (colour.type, colour.rgb if colour.type == "rgb" else colour.value)


def cell_look(cell) -> tuple:
    """A cell as a user sees it: value, number format, font, fill, borders, alignment."""
    f, fill, b, a = cell.font, cell.fill, cell.border, cell.alignment
    return (
        _value(cell.value), cell.number_format,
        (f.name, f.sz, bool(f.b), bool(f.i), f.u, _colour(f.color)),
        (fill.fill_type, _colour(fill.fgColor) if fill.fill_type else None),
        tuple((side.style, _colour(side.color) if side.style else None)
              for side in (b.left, b.right, b.top, b.bottom)),
        (a.horizontal, a.vertical, bool(a.wrap_text)),
    )


def column_widths(ws) -> dict[int, float]:
    out = {}
    for dim in ws.column_dimensions.values():
        if dim.width and dim.customWidth or dim.width:
            for c in range(dim.min or 1, (dim.max or dim.min or 1) + 1):
                out[c] = round(dim.width, 2)
    return out


def row_heights(ws) -> dict[int, float]:
    return {r: d.height for r, d in ws.row_dimensions.items() if d.height is not None}


def sheet_look(ws) -> dict:
    # A cell holding nothing in the workbook's default style is the same as no cell at all.
    keys = {k for k, cell in ws._cells.items() if cell.value is not None or cell.has_style}
    return {
        "cells": {(r, c): cell_look(ws.cell(r, c)) for r, c in sorted(keys)},
        "widths": column_widths(ws),
        "heights": row_heights(ws),
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "hyperlinks": sorted((c.coordinate, c.hyperlink.target, c.hyperlink.location)
                             for row in ws.iter_rows() for c in row if c.hyperlink is not None),
    }


def _ref(text):
    if text is None:
        return None
    ref = parse_sheet_ref(text)
    return ref.sheet, ref.r1, ref.c1, ref.r2, ref.c2


def chart_look(charts, wb) -> list:
    """Each chart's series: the name it shows, its category range and its value range."""
    out = []
    for chart in charts:
        series = []
        for s in chart:
            name = s.name
            if s.name_ref is not None:
                ref = parse_sheet_ref(s.name_ref)
                name = wb[ref.sheet].cell(ref.r1, ref.c1).value
            series.append((name, _ref(s.cat), _ref(s.val)))
        out.append(series)
    return out


def assert_same_sheets(file_path, replay: ExcelReplay) -> None:
    from tests.remote_book import chart_series

    saved = openpyxl.load_workbook(file_path)
    file_charts = chart_series(file_path)
    for name in OUTPUTS:
        file_look, live_look = sheet_look(saved[name]), sheet_look(replay.wb[name])
        a, b = file_look.pop("cells"), live_look.pop("cells")
        assert a.keys() == b.keys(), (name, sorted(a.keys() ^ b.keys())[:10])
        differing = [(key, a[key], b[key]) for key in sorted(a) if a[key] != b[key]]
        assert not differing, (name, differing[:5])
        assert file_look == live_look, name
        assert chart_look(file_charts[name], saved) == chart_look(replay.charts[name], replay.wb), name


# -- the sample ---------------------------------------------------------------------------------------------------

def test_the_button_leaves_the_sample_as_the_command_line_writes_it_styles_and_charts_included(sample_pressed):
    file_result, live_result, file_path, replay = sample_pressed
    assert file_result.summary() == live_result.summary()
    assert replay.saved == 1
    assert_same_sheets(file_path, replay)


def test_the_comparison_sees_fonts_fills_and_borders_not_only_values(sample_pressed):
    """The sheets compared are styled: a header cell is bold white on blue with a border, a money cell has its
    format; so equal looks mean the live door set them, not that both are plain."""
    _, _, file_path, replay = sample_pressed
    ws = replay.wb[contract.sheet_name("funnel")]
    from funnel_xl.workbook.layout import FUNNEL_STAGES, PALETTE

    header = ws.cell(FUNNEL_STAGES.header_row, 1)
    assert header.font.b and header.fill.fgColor.rgb.endswith(PALETTE["header"]["bg_color"].lstrip("#"))
    assert header.border.left.style == "thin"
    money = ws.cell(FUNNEL_STAGES.first_data_row, FUNNEL_STAGES.col("pipeline_wan"))
    assert money.number_format == PALETTE["money_wan"]["num_format"]


def test_the_stretched_charts_point_at_the_rows_written(sample_pressed):
    file_result, _, _, replay = sample_pressed
    from funnel_xl.workbook.layout import FUNNEL_STAGES

    funnel = replay.charts[contract.sheet_name("funnel")][0]
    stages = len(file_result.figures.methodology.stages)
    last = FUNNEL_STAGES.first_data_row + stages - 1
    assert [_ref(s.val)[1::2] for s in funnel] == [(FUNNEL_STAGES.first_data_row, last)] * 2
    assert {_ref(s.cat)[1::2] for s in funnel} == {(FUNNEL_STAGES.first_data_row, last)}


def _edit_like_a_user(path: Path, sheet: str, *, col: int, width: float, row: int, height: float) -> None:
    """Edit a sheet's part as Excel saves a user's changes: a custom column width, a custom row height, two merged
    cells and a hyperlink."""
    from funnel_xl.workbook.package import PackageIndex

    with zipfile.ZipFile(path) as zf:
        part = PackageIndex.read(zf).sheet(sheet).part
        members = {i.filename: zf.read(i.filename) for i in zf.infolist()}
    xml = members[part].decode("utf-8")
    xml = xml.replace("</cols>", f'<col min="{col}" max="{col}" width="{width}" customWidth="1"/></cols>', 1)
    xml = re.sub(rf'<row r="{row}"', f'<row r="{row}" ht="{height}" customHeight="1"', xml, count=1)
    xml = xml.replace("</sheetData>", f'</sheetData><mergeCells count="1"><mergeCell ref="B{row}:C{row}"/></mergeCells>')
    xml = xml.replace("<pageMargins", f'<hyperlinks><hyperlink ref="A{row}" location="{sheet}!A1" display="top"/>'
                                      "</hyperlinks><pageMargins", 1)
    members[part] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def test_what_a_user_did_to_an_output_sheet_is_treated_alike(built_sample, tmp_path):
    """A column the report does not size keeps its width in both doors; a row height, merged cells and a hyperlink
    on cells the report rewrites go with last week's content in both."""
    original = Path(shutil.copy(built_sample, tmp_path / "Funnel.xlsm"))
    progress = contract.sheet_name("progress")
    data_row = 7
    _edit_like_a_user(original, progress, col=20, width=31.0, row=data_row, height=44.0)
    before = sheet_look(openpyxl.load_workbook(original)[progress])
    assert before["heights"][data_row] == 44.0 and before["merged"] and before["hyperlinks"]
    (tmp_path / "doors").mkdir()
    _, _, file_path, replay = press_both_doors(original, tmp_path / "doors", dt.date(2026, 11, 20))
    after = sheet_look(openpyxl.load_workbook(file_path)[progress])
    assert after["widths"][20] == 31.0 and data_row not in after["heights"]
    assert not after["merged"] and not after["hyperlinks"]
    assert_same_sheets(file_path, replay)


# -- 5,000 rows ---------------------------------------------------------------------------------------------------

def test_the_button_leaves_a_5000_row_workbook_as_the_command_line_writes_it(big_pressed):
    file_result, live_result, file_path, replay = big_pressed
    assert file_result.summary() == live_result.summary()
    assert file_result.figures.kpi["open_count"] > 1000
    assert file_result.figures.progress.last_date is not None  # the weekly history took part
    assert_same_sheets(file_path, replay)
