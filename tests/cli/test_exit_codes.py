"""The command line's answer to a failure: one line on stderr and an exit code that says whose fault it is."""

from __future__ import annotations

import subprocess
import sys

import pytest

from funnel_xl import cli
from funnel_xl.cli import recalc
from funnel_xl.cli.exits import exit_code
from funnel_xl.errors import InputError, LibreOfficeError, UsageError, WorkbookLockedError


@pytest.mark.parametrize("error, code", [
    (InputError("bad amount"), 1), (WorkbookLockedError("open in Excel"), 1), (LibreOfficeError("no soffice"), 1),
    (FileNotFoundError("no such file"), 1), (PermissionError("read-only folder"), 1),
    (UsageError("give --smtp"), 2), (KeyError("oops"), 3), (ZeroDivisionError(), 3),
])
def test_each_error_class_maps_to_one_exit_code(error, code):
    assert exit_code(error) == code


def test_a_missing_renderer_is_a_fault_of_the_environment_naming_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither soffice nor pdftoppm can be found
    monkeypatch.delenv("SOFFICE", raising=False)
    assert cli.main(["render", str(tmp_path / "Funnel.xlsm"), "-o", str(tmp_path / "png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "install" in err and "internal error" not in err


def test_send_without_a_server_or_a_dry_run_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["send", str(tmp_path), "--from", "manager@example.com"]) == 2
    assert capsys.readouterr().err.strip() == "funnel-xl: send: give --smtp HOST:PORT, or --dry-run"


def test_a_bug_is_exit_3_in_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(recalc, "run", broken)
    assert cli.main(["recalc", "Funnel.xlsm"]) == 3
    err = capsys.readouterr().err
    assert err == "funnel-xl: internal error ZeroDivisionError: division by zero (run with --debug for details)\n"
    with pytest.raises(ZeroDivisionError):
        cli.main(["--debug", "recalc", "Funnel.xlsm"])


def test_an_unknown_command_is_refused_by_the_parser_with_exit_2():
    with pytest.raises(SystemExit) as exit_:
        cli.main(["recalculate", "Funnel.xlsm"])
    assert exit_.value.code == 2


def test_every_command_is_listed_by_the_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "funnel_xl.cli", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    for command in ("recalc", "build-workbook", "calibrate", "render", "forms", "send", "collect", "export",
                    "quota-sheets", "import"):
        assert command in done.stdout


def test_an_export_over_its_own_master_is_refused_before_anything_is_read(tmp_path, capsys):
    master = tmp_path / "Funnel.xlsx"
    assert cli.main(["export", str(master), "-o", str(master)]) == 1
    assert "must not overwrite the master" in capsys.readouterr().err
