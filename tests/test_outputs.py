"""The folder the use cases write their outputs into: files replaced whole, left alone when unchanged, never
written over one that is open in Excel."""

from __future__ import annotations

import pytest

from funnel_xl.errors import InputError
from funnel_xl.outputs import Folder


def test_a_file_is_written_into_a_new_folder_and_left_untouched_when_its_content_is_the_same(tmp_path):
    folder = Folder(tmp_path / "out")
    path = folder.write("list.csv", b"a,b\n")
    stamp = path.stat().st_mtime_ns
    assert folder.write("list.csv", b"a,b\n") == path and path.stat().st_mtime_ns == stamp
    assert folder.write("list.csv", b"c\n").read_bytes() == b"c\n"
    assert [p.name for p in path.parent.iterdir()] == ["list.csv"]  # no temporary file left behind


def test_a_file_open_in_excel_is_not_written_over(tmp_path):
    (tmp_path / "Funnel.xlsx").write_bytes(b"old")
    (tmp_path / "~$Funnel.xlsx").write_bytes(b"owner")
    with pytest.raises(InputError, match="open in Excel"):
        Folder(tmp_path).write("Funnel.xlsx", b"new")
    assert (tmp_path / "Funnel.xlsx").read_bytes() == b"old"


def test_removing_a_file_that_is_not_there_is_no_error(tmp_path):
    folder = Folder(tmp_path)
    folder.write("list.csv", b"x")
    folder.remove("list.csv")
    folder.remove("list.csv")
    assert list(tmp_path.iterdir()) == []
