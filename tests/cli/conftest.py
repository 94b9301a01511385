"""What the command line tests share: every command that writes a workbook, as a command line."""

from __future__ import annotations

from pathlib import Path

# Every command that writes a workbook, over ``workbook`` (the import's export need not exist: the checks of the one
# save path come before any work, so a check that came later would fail these tests with another message).
WRITES = ["recalc", "collect", "import", "upgrade", "build-workbook"]


def write_command(name: str, workbook: Path) -> list[str]:
    from funnel_xl.paths import templates_dir

    return {
        "recalc": ["recalc", str(workbook), "--as-of", "2026-11-27"],
        "collect": ["collect", str(workbook), str(workbook.parent)],
        "import": ["import", str(workbook), str(workbook.parent / "export.csv"),
                   "--mapping", str(templates_dir() / "crm" / "maven_mapping.toml")],
        "upgrade": ["upgrade", str(workbook)],
        "build-workbook": ["build-workbook", "-o", str(workbook), "--force"],
    }[name]
