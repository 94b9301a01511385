"""Nothing clipped in either language: every number and every label that cannot run on fits its column, every
header fits its two lines, on every sheet Recalculate writes (widths from the character widths the fonts render)."""

from __future__ import annotations

import pytest

from funnel_xl.reports.widths import DEFAULT_WIDTH, HEADER_LINES, RUNS_ON, needed_width
from funnel_xl.sample import SAMPLE_AS_OF
from funnel_xl.services.build import build_workbook
from funnel_xl.services.recalculate import recalculate
from funnel_xl.workbook.file_adapter import FileWorkbook
from tests.fakes import FakeWorkbook


@pytest.fixture(scope="module", params=["zh-CN", "en"])
def written(request, tmp_path_factory):
    path = build_workbook(tmp_path_factory.mktemp(request.param) / "Funnel.xlsm", lang=request.param)
    book = FakeWorkbook.copy_of(FileWorkbook(path, read_only=True, quiet=True))
    recalculate(book, SAMPLE_AS_OF, save=False)
    return book.written


def _clipped(sheet) -> list[str]:
    out = []
    for (r, c), cell in sorted(sheet.cells.items()):
        if cell.value is None or cell.style in RUNS_ON:
            continue
        width = sheet.widths.get(c, DEFAULT_WIDTH)
        need = needed_width(cell.value, cell.style)
        if cell.style in ("header", "kpi_label"):
            lines = HEADER_LINES if cell.style == "header" else int((sheet.heights.get(r, 15) - 4) // 15)
            if need > (width - 1) * max(lines, 1):
                out.append(f"{sheet.key}!R{r}C{c} header {cell.value!r}: needs {need:.0f} > {lines} × {width}")
        elif isinstance(cell.value, str) and sheet.value(r, c + 1) is None:
            continue  # text runs on over the empty cell to its right
        elif need > width:
            out.append(f"{sheet.key}!R{r}C{c} {cell.value!r}: needs {need:.0f} > {width}")
    return out


def test_no_label_or_value_is_wider_than_its_column(written):
    clipped = [line for sheet in written.values() for line in _clipped(sheet)]
    assert not clipped, "\n".join(clipped[:20])


def test_a_column_too_narrow_for_its_words_is_caught():
    from funnel_xl.workbook.model import OutputSheet

    sheet = OutputSheet("forecast")
    sheet.put(5, 1, "Forecast at the claimed stages (10k CNY)", "text")
    sheet.put(5, 2, 3489.7, "money_wan")
    sheet.widths[1] = 24
    assert _clipped(sheet)


@pytest.fixture(scope="module", params=["zh-CN", "en"])
def progress_with_history(request, tmp_path_factory):
    """进展 as Recalculate writes it with the sample's weekly history beside the workbook."""
    from funnel_xl.history import SnapshotStore

    path = build_workbook(tmp_path_factory.mktemp(request.param) / "Funnel.xlsm", lang=request.param)
    book = FakeWorkbook.copy_of(FileWorkbook(path, read_only=True, quiet=True))
    with SnapshotStore.for_workbook(path) as store:
        recalculate(book, SAMPLE_AS_OF, history=store, save=False)
    return next(s for s in book.written.values() if s.key == "progress")


def test_no_week_of_the_weekly_history_is_stretched_by_a_header_beside_it(progress_with_history):
    from funnel_xl.workbook.layout import PROGRESS_HISTORY

    sheet = progress_with_history
    first = PROGRESS_HISTORY.section_row + 2
    weeks = [r for (r, c) in sheet.cells if c == PROGRESS_HISTORY.first_col and r >= first]
    assert len(weeks) >= 10  # the sample's history
    beside = [(r, c, cell.value) for (r, c), cell in sheet.cells.items()
              if cell.style == "header" and c < PROGRESS_HISTORY.first_col and first <= r <= max(weeks)]
    assert beside  # the by-rep table's header sits beside the weeks
    assert not [r for r in weeks if r in sheet.heights]
    for r, c, value in beside:  # its header on one line, so the row keeps the height of every other week
        assert needed_width(value, "header") <= sheet.widths[c], (r, c, value)
