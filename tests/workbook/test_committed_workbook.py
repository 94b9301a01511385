"""The committed workbook/Funnel.xlsm is exactly what the build command produces from today's sources."""

from __future__ import annotations

import zipfile
from pathlib import Path

from funnel_xl.services.build import build_workbook

COMMITTED = Path(__file__).resolve().parents[2] / "workbook" / "Funnel.xlsm"
# Parts that legitimately vary between builds: none today (document dates and the recalculation stamp are
# fixed); keep the list here so a future timestamp has one place to go.
VARYING: frozenset[str] = frozenset()


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name not in VARYING}


def test_the_committed_workbook_is_what_the_build_command_produces_now(tmp_path):
    fresh = build_workbook(tmp_path / "Funnel.xlsm", data="sample")
    committed, rebuilt = _parts(COMMITTED), _parts(fresh)
    assert sorted(committed) == sorted(rebuilt)
    stale = [name for name in committed if committed[name] != rebuilt[name]]
    assert not stale, f"workbook/Funnel.xlsm is stale in {stale}: run `funnel-xl build-workbook` and commit it"
