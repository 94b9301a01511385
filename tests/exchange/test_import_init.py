"""`funnel-xl import --init EXPORT`: a starting mapping from the export's headers and values, every guess a commented
line to confirm. Confirmed, the guesses give the mapping a user would write; unconfirmed, the mapping says so."""

from __future__ import annotations

import re
import shutil
import tomllib

import pytest

from funnel_xl.cli import main as cli_main
from funnel_xl.errors import MappingError
from funnel_xl.exchange.mapping import parse_mapping
from tests.exchange.tracking_sheet import MAPPING, TITLE_ROWS, write_sheet

_GUESS = re.compile(r'^# ((?:[a-z_]+|"[^"]*") = .*?)\s+# ')


def confirmed(text: str, *, skip_blank: bool = True) -> str:
    """The draft with every guess line's '#' removed, as a user who agrees with them would (a guess left for the
    user to fill in, ``= ""``, stays commented when ``skip_blank``)."""
    out = []
    for line in text.splitlines():
        m = _GUESS.match(line)
        if m and not (skip_blank and m.group(1).endswith('= ""')) and not m.group(1).startswith("duplicate_ids"):
            out.append(m.group(1))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def sheet(tmp_path):
    return write_sheet(tmp_path / "跟踪表.xlsx")


def _draft(tmp_path, capsys, *args) -> str:
    assert cli_main(["import", *args]) == 0
    written = capsys.readouterr().out.strip()
    return open(written, encoding="utf-8").read()


def test_every_guess_is_a_commented_line_and_the_draft_is_refused_until_confirmed(sheet, empty_big_project,
                                                                                   tmp_path, capsys):
    text = _draft(tmp_path, capsys, str(empty_big_project), "--init", str(sheet))
    active = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert active == ['methodology = "big_project"  # the workbook\'s: [stages] below names its stages',
                      "[source]", 'sheet = "跟踪表"', "[columns]", "[stages]", "[status]", "[defaults]"]
    with pytest.raises(MappingError, match=r"still commented out: remove the '#'"):
        parse_mapping(text, tmp_path / "draft.toml")


def test_the_confirmed_guesses_of_the_tracking_sheet_are_the_mapping_a_user_writes(sheet, empty_big_project,
                                                                                  tmp_path, capsys):
    text = _draft(tmp_path, capsys, str(empty_big_project), "--init", str(sheet))
    drafted = tomllib.loads(confirmed(text))
    # The sheet's own spelling (full-width brackets), which matches as well as the half-width one.
    assert drafted["columns"] == tomllib.loads(MAPPING)["columns"] | {"amount": "预计金额（元）"}
    assert drafted["source"]["header_row"] == TITLE_ROWS + 1
    assert drafted["stages"] == {"商务 谈判": "negotiation"}  # the one name not the methodology's own spelling
    assert drafted["status"] == {"进行中": "open", "赢单": "won", "丢单": "lost"}
    assert "# \"待定\" = \"\"" in text  # a stage it cannot place is left for the user, unconfirmable as it is


def test_a_confirmed_draft_imports_the_sheet_in_a_dry_run(sheet, empty_big_project, tmp_path, capsys):
    text = _draft(tmp_path, capsys, str(empty_big_project), "--init", str(sheet))
    mapping = tmp_path / "mine.toml"
    mapping.write_text(confirmed(text), encoding="utf-8")
    path = shutil.copy2(empty_big_project, tmp_path / "Funnel.xlsm")
    before = path.read_bytes()
    assert cli_main(["import", str(path), str(sheet), "--mapping", str(mapping), "--dry-run", "--json"]) == 0
    assert capsys.readouterr().out.count('"imported": 13') == 1
    assert path.read_bytes() == before


def test_the_maven_draft_guesses_the_shipped_mappings_columns_and_date_pattern(crm_export_dir, maven_mapping_path,
                                                                                tmp_path, capsys):
    text = _draft(tmp_path, capsys, "--init", str(crm_export_dir / "sales_pipeline.csv"), "--methodology",
                  "product_sales", "--mapping", str(tmp_path / "maven.toml"))
    drafted, shipped = tomllib.loads(confirmed(text)), tomllib.loads(maven_mapping_path.read_text(encoding="utf-8"))
    assert drafted["columns"] == shipped["columns"]
    assert drafted["source"]["date_format"] == shipped["source"]["date_format"]
    assert drafted["status"] == {k: v for k, v in shipped["status"].items()}


def test_init_never_writes_over_a_mapping(sheet, tmp_path, capsys):
    existing = tmp_path / "跟踪表.mapping.toml"
    existing.write_text("# mine\n", encoding="utf-8")
    assert cli_main(["import", "--init", str(sheet)]) == 2
    assert "exists" in capsys.readouterr().err and existing.read_text(encoding="utf-8") == "# mine\n"
