"""A column written down in two places only, the column registry and the label catalogue, reaches every layer:
the built 商机 sheet, the reader, the normaliser and its schema, the table writer, the sample loader, the CRM
mapping and the import. The columns are the ``contract_columns`` fixture's: 合同编号 (text) and 定金 (an amount)."""

from __future__ import annotations

import shutil

import openpyxl
import pandas as pd
import pytest

from funnel_xl.domain.clean_schema import opportunity_schema
from funnel_xl.domain.normalize import normalize_opportunities
from funnel_xl.domain.schema import OPPORTUNITY_COLUMNS
from funnel_xl.errors import MappingError
from funnel_xl.exchange.mapping import load_mapping, parse_mapping
from funnel_xl.labels import label
from funnel_xl.methodologies import load_methodology
from funnel_xl.paths import sample_dir
from funnel_xl.sample import load_sample
from funnel_xl.services.build import build_workbook
from funnel_xl.services.import_crm import import_crm
from funnel_xl.workbook.build import write_workbook
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.reader import read_inputs
from funnel_xl.workbook.sheets.opportunities import HEADER_ROW

CONTRACT, DEPOSIT = "HT-000123", 50_000.0


def _sheet_rows(path) -> list[dict[str, object]]:
    """The 商机 table as the user sees it: one dict per row, keyed by header."""
    ws = openpyxl.load_workbook(path)[sheet_name("opportunities")]
    rows = list(ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True))
    return [dict(zip(rows[0], r)) for r in rows[1:]]


@pytest.fixture
def built(contract_columns, tmp_path):
    """The sample pipeline with the first deal's contract number and deposit filled in, built into a workbook."""
    sample = load_sample()
    opps = sample.opportunities.copy()
    first = opps.index[0]
    opps.loc[first, "contract_no"] = CONTRACT
    opps.loc[first, "deposit"] = DEPOSIT
    path = write_workbook(tmp_path / "Funnel.xlsx", lang="zh-CN", methodology=load_methodology("big_project"),
                          opportunities=opps, reps=sample.reps, vba=False)
    return path, opps.loc[first, "id"]


def test_the_sample_loader_gives_a_new_optional_column_blank_when_the_files_lack_it(contract_columns):
    opps = load_sample().opportunities
    assert {"contract_no", "deposit"} <= set(opps.columns)
    assert opps["contract_no"].isna().all() and opps["deposit"].isna().all()
    assert opps["deposit"].dtype == "float64"


def test_the_sample_loader_reads_a_new_column_by_its_kind_where_a_file_has_it(contract_columns, tmp_path):
    folder = tmp_path / "sample"
    shutil.copytree(sample_dir(), folder)
    csv = folder / "opportunities.csv"
    frame = pd.read_csv(csv, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    frame.insert(3, "contract_no", ["HT-1"] + [""] * (len(frame) - 1))
    frame["deposit"] = ["1200"] + [""] * (len(frame) - 1)
    frame.to_csv(csv, index=False, encoding="utf-8-sig")
    opps = load_sample(folder).opportunities
    assert opps["contract_no"].iloc[0] == "HT-1" and opps["deposit"].iloc[0] == 1200.0
    # The frame keeps the registry's order, wherever the file puts the column.
    assert list(opps.columns[: len(OPPORTUNITY_COLUMNS)]) == list(OPPORTUNITY_COLUMNS)


def test_the_built_sheet_shows_the_new_columns_where_the_registry_puts_them(built):
    path, opp_id = built
    header = list(_sheet_rows(path)[0])
    assert header.index("合同编号") == header.index(label("field.project")) + 1
    assert header.index("定金(元)") == header.index(label("field.notes")) + 1
    row = next(r for r in _sheet_rows(path) if r[label("field.id")] == opp_id)
    assert (row["合同编号"], row["定金(元)"]) == (CONTRACT, DEPOSIT)


def test_the_reader_and_the_normaliser_type_the_new_columns_by_their_kinds(built):
    path, opp_id = built
    m = load_methodology("big_project")
    inputs = read_inputs(FileWorkbook(path, quiet=True), path.name)
    assert inputs.opportunity_labels["contract_no"] == "合同编号"
    clean = normalize_opportunities(inputs.opportunities, m, column_labels=inputs.opportunity_labels).clean
    deal = clean[clean["id"] == opp_id].iloc[0]
    assert (deal["contract_no"], deal["deposit"]) == (CONTRACT, DEPOSIT)
    assert clean["deposit"].dtype == "float64"
    assert {"contract_no", "deposit"} <= set(opportunity_schema(m).columns)


def test_an_unreadable_amount_in_the_new_column_is_reported_under_its_header(contract_columns):
    m = load_methodology("big_project")
    sample = load_sample()
    raw = sample.opportunities.head(1).astype(object)
    raw["deposit"] = "about 5万"
    result = normalize_opportunities(raw, m, column_labels={"deposit": "定金(元)"})
    assert [(p.row, p.column) for p in result.errors] == [(raw.index[0], "定金(元)")]


def test_the_table_writer_updates_and_appends_the_new_columns(built):
    path, opp_id = built
    book = FileWorkbook(path)
    existing = book.read_rows(TABLE_OPPORTUNITIES)
    row = existing.index[existing["id"] == opp_id][0]
    book.update_cells(TABLE_OPPORTUNITIES, {(row, "contract_no"): "HT-9"})
    new = {**existing.loc[row].to_dict(), "id": "NEW-1", "contract_no": "HT-10", "deposit": 1_000.0}
    book.append_rows(TABLE_OPPORTUNITIES, [new])
    book.save()
    rows = {r[label("field.id")]: r for r in _sheet_rows(path)}
    assert rows[opp_id]["合同编号"] == "HT-9"
    assert (rows["NEW-1"]["合同编号"], rows["NEW-1"]["定金(元)"]) == ("HT-10", 1_000.0)


MAPPING = """
methodology = "big_project"
[columns]
id = "Deal"
customer = "Account"
rep = "Owner"
amount = "Value"
close_date = "Close"
created_date = "Created"
stage = "Stage"
contract_no = "Contract"
deposit = "Deposit"
[stages]
Proposal = "approved"
[status]
Proposal = "open"
"""


def test_a_mapping_may_map_a_column_only_once_the_registry_has_it(contract_columns):
    mapping = parse_mapping(MAPPING)
    assert (mapping.columns["contract_no"], mapping.columns["deposit"]) == ("Contract", "Deposit")


def test_a_mapping_naming_a_column_the_registry_lacks_is_refused():
    with pytest.raises(MappingError, match="'contract_no': not an opportunity field"):
        parse_mapping(MAPPING)


def test_the_import_writes_the_new_columns_and_updates_them_on_a_second_import(contract_columns, tmp_path):
    book = build_workbook(tmp_path / "Funnel.xlsx", data="empty", vba=False)
    export = tmp_path / "export.csv"
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    head = "Deal,Account,Owner,Value,Close,Created,Stage,Contract,Deposit\n"
    export.write_text(head + "D-1,Acme,Li,1000000,2027-01-15,2026-05-01,Proposal,HT-1,20000\n"
                             "D-2,Beta,Li,500000,2027-02-15,2026-06-01,Proposal,,\n", encoding="utf-8")
    import_crm(FileWorkbook(book), export, load_mapping(mapping))
    rows = {r[label("field.id")]: r for r in _sheet_rows(book)}
    assert (rows["D-1"]["合同编号"], rows["D-1"]["定金(元)"]) == ("HT-1", 20_000.0)
    assert (rows["D-2"]["合同编号"], rows["D-2"]["定金(元)"]) == (None, None)

    export.write_text(head + "D-1,Acme,Li,1000000,2027-01-15,2026-05-01,Proposal,HT-1b,25000\n", encoding="utf-8")
    report = import_crm(FileWorkbook(book), export, load_mapping(mapping))
    rows = {r[label("field.id")]: r for r in _sheet_rows(book)}
    assert (rows["D-1"]["合同编号"], rows["D-1"]["定金(元)"]) == ("HT-1b", 25_000.0)
    changed = report.plan.opportunities.updated
    assert set(changed["id"]) == {"D-1"} and set(changed["column"]) == {"contract_no", "deposit"}
