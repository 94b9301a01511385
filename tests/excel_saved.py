"""Workbooks as Excel saves them, for the tests of every writer: with a calculation chain."""

from __future__ import annotations

import zipfile
from pathlib import Path

from funnel_xl.workbook.ooxml import CALC_CHAIN, CONTENT_TYPES, add_relationship, set_override
from funnel_xl.workbook.zip_patch import patch_package

CALC_CHAIN_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
CALC_CHAIN_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain"
NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def with_calc_chain(source: Path, target: Path) -> Path:
    """A copy of ``source`` carrying a calculation chain the way Excel saves one: part, relationship, override."""
    with zipfile.ZipFile(source) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels").decode()
        types = zf.read(CONTENT_TYPES).decode()
    replaced = {"xl/_rels/workbook.xml.rels": add_relationship(rels, "rIdCalc", CALC_CHAIN_REL, "calcChain.xml").encode(),
                CONTENT_TYPES: set_override(types, CALC_CHAIN, CALC_CHAIN_TYPE).encode()}
    chain = f'<calcChain xmlns="{NS_MAIN}"><c r="B2" i="1"/></calcChain>'
    patch_package(source, target, replaced, added={CALC_CHAIN: chain.encode()})
    return target


def calc_chain_traces(path: Path) -> list[str]:
    """Where a package still names a calculation chain: the part, the workbook's relationship, the override."""
    with zipfile.ZipFile(path) as zf:
        traces = [CALC_CHAIN] if CALC_CHAIN in zf.namelist() else []
        traces += [n for n in ("xl/_rels/workbook.xml.rels", CONTENT_TYPES) if b"calcChain" in zf.read(n)]
    return traces
