"""Reading tables from a file: typed columns through fastexcel, nothing lost, the same as the cell-by-cell reader."""

from __future__ import annotations

import pandas as pd
import xlsxwriter

from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.sample import load_sample
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.reader import read_inputs


def test_a_text_amount_far_below_the_first_rows_is_read_as_typed_not_dropped(tmp_path):
    # A typed reader that guesses a column's type from its first rows would turn this 120万 into a blank.
    path = tmp_path / "long.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("商机")
    ws.write_row(0, 0, ["编号", "金额"])
    for i in range(1, 1501):
        ws.write_string(i, 0, f"OPP-{i}")
        if i == 1400:
            ws.write_string(i, 1, "120万")
        else:
            ws.write_number(i, 1, 1000.0 * i)
    ws.add_table(0, 0, 1500, 1, {"name": "tblOpportunities", "columns": [{"header": "编号"}, {"header": "金额"}]})
    wb.close()
    frame = FileWorkbook(path).read_table("tblOpportunities").frame
    assert frame.index[0] == 2 and frame.index[-1] == 1501
    assert frame.loc[1401, "金额"] == "120万" and frame.loc[1401, "编号"] == "OPP-1400"
    assert pd.notna(frame["金额"]).all()


def _normalized(book, source):
    inputs = read_inputs(book, source)
    reps = normalize_reps(inputs.reps, sheet=inputs.rep_sheet, column_labels=inputs.rep_labels)
    opps = normalize_opportunities(inputs.opportunities, inputs.methodology, reps=list(reps.clean["rep"]),
                                   sheet=inputs.opportunity_sheet, column_labels=inputs.opportunity_labels)
    return opps, reps


def test_the_typed_reader_and_the_cell_by_cell_reader_give_the_same_clean_tables(monkeypatch):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "workbook" / "Funnel.xlsm"
    typed_opps, typed_reps = _normalized(FileWorkbook(sample), sample.name)
    monkeypatch.setattr(FileWorkbook, "_read_typed", lambda self, *a, **k: None)  # as without fastexcel
    plain_opps, plain_reps = _normalized(FileWorkbook(sample), sample.name)

    pd.testing.assert_frame_equal(typed_opps.clean, plain_opps.clean, check_dtype=False)
    pd.testing.assert_frame_equal(typed_reps.clean, plain_reps.clean, check_dtype=False)
    assert [str(p) for p in typed_opps.problems] == [str(p) for p in plain_opps.problems]
    # Every sample row counts: its two mistakes are warnings.
    assert len(typed_opps.clean) == len(load_sample().opportunities) and typed_opps.rejected.empty
    assert {p.severity for p in typed_opps.problems} == {"warning"}
