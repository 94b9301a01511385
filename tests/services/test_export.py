"""Export for readers, on the sample master in memory: the port's values-only copy goes to the sink as .xlsx."""

from __future__ import annotations

import pytest

from funnel_xl.errors import InputError
from funnel_xl.services.export import export_for_readers
from tests.fakes import MemorySink


def test_the_values_only_copy_is_written_under_the_masters_name_as_xlsx(fake_master):
    sink = MemorySink()
    export_for_readers(fake_master, sink)
    assert sink.files == {"Funnel.xlsx": fake_master.values_only_copy()}
    assert fake_master.saves == 0


def test_an_export_named_as_a_macro_workbook_is_refused_before_anything_is_written(fake_master):
    sink = MemorySink()
    with pytest.raises(InputError, match=r"\*\.xlsx"):
        export_for_readers(fake_master, sink, "Funnel.xlsm")
    assert sink.files == {}
