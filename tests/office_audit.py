"""Office's rules on every workbook and form the tests write: after each test, every .xlsx/.xlsm that is new or
changed under pytest's temporary folders is checked with openxml-audit (a pure-Python port of the Open XML SDK
validator, the rules Excel's own code is written against), besides LibreOffice where a test opens it there.

A schema or semantic error fails the test that wrote the file (warnings, e.g. inline strings Excel would move into
a shared-strings table on its next save, are not errors). No test has to remember to ask: the check runs for
every test, once per distinct file content. A test that writes a broken package on purpose says so with
``@pytest.mark.office_invalid("why")``; files that are not zip packages at all (a junk file named .xlsx) are no
package to check, and files LibreOffice wrote (its recalculated copies, which the tests read back) are LibreOffice's
output, not the tool's: they are recognised by the application LibreOffice names in docProps/app.xml.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest

SUFFIXES = (".xlsx", ".xlsm")
# A worksheet part larger than this is audited on a sample of its rows (the first and the last ones): every row of a
# table is written by the same code, so a sample finds what the whole would, and auditing 8,800 rows × 40 columns in
# pure Python would cost minutes per file. Everything else in the package is audited whole.
SAMPLE_ABOVE_BYTES = 256 * 1024
SAMPLE_HEAD_ROWS, SAMPLE_TAIL_ROWS = 300, 50
_ROWS = re.compile(r"<row\b[^>]*/>|<row\b.*?</row>", re.S)

# The one finding filtered. openpyxl writes a font's children in its own order (e.g. <name> before <b>), and the
# Open XML SDK's schema reads CT_Font as a sequence, so it flags the first child out of that order. ISO/IEC 29500-1
# §18.8.22 declares CT_Font's children as a choice (any order, each at most once) and Excel opens such files without
# a repair, so this finding - and only it: an element of a font, in styles.xml - is not an error of ours.
FONT_CHILDREN = frozenset({"b", "i", "strike", "condense", "extend", "outline", "shadow", "u", "vertAlign", "sz",
                           "color", "name", "family", "charset", "scheme"})
_FONT_CHILD_OUT_OF_ORDER = re.compile(r"/font\[\d+\]: Unexpected element '(\w+)' found")


def filtered(error) -> bool:
    """Whether ``error`` is the font-order finding in styles.xml (see FONT_CHILDREN)."""
    text = str(error)
    found = _FONT_CHILD_OUT_OF_ORDER.search(text)
    return bool(found and found.group(1) in FONT_CHILDREN and "/xl/styles.xml" in text
                and "schema" in str(getattr(error, "error_type", "")).lower())


class OfficeAudit:
    """Audits files once per content; remembers which files it has seen."""

    def __init__(self) -> None:
        self._validator = None
        self._seen: dict[Path, tuple[int, int]] = {}
        self._by_digest: dict[str, list[str]] = {}
        self.audited = 0

    def _validate(self, path: Path) -> list[str]:
        if self._validator is None:
            from openxml_audit import FileFormat, OpenXmlValidator

            self._validator = OpenXmlValidator(file_format=FileFormat.OFFICE_2019, max_errors=50)
        with tempfile.TemporaryDirectory(prefix="office_audit_") as tmp:
            result = self._validator.validate(str(sampled(path, Path(tmp))))
        self.audited += 1
        return [str(e) for e in result.errors
                if "error" in str(getattr(e, "severity", "error")).lower() and not filtered(e)]

    def check(self, path: Path) -> list[str]:
        """The errors of one file (cached by content)."""
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self._by_digest:
            self._by_digest[digest] = self._validate(path)
        return self._by_digest[digest]

    def new_files(self, root: Path) -> list[Path]:
        """Workbook files under ``root`` written or changed since the last look (zip packages only)."""
        out = []
        for folder, _, names in os.walk(root):
            for name in names:
                if not name.endswith(SUFFIXES) or name.startswith("~$"):
                    continue
                path = Path(folder) / name
                try:
                    stat = path.stat()
                except FileNotFoundError:
                    continue
                key = (stat.st_mtime_ns, stat.st_size)
                if self._seen.get(path) == key:
                    continue
                self._seen[path] = key
                if zipfile.is_zipfile(path) and not written_by_libreoffice(path):
                    out.append(path)
        return out


def sampled(path: Path, folder: Path) -> Path:
    """``path`` itself, or a copy in ``folder`` whose large worksheet parts keep only their first and last rows."""
    with zipfile.ZipFile(path) as zf:
        big = [i for i in zf.infolist() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")
               and i.file_size > SAMPLE_ABOVE_BYTES]
        if not big:
            return path
        copy = folder / path.name
        with zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as out:
            for info in zf.infolist():
                data = zf.read(info)
                if info in big:
                    data = _sample_rows(data.decode("utf-8")).encode("utf-8")
                out.writestr(info, data)
    return copy


def _sample_rows(xml: str) -> str:
    head, found, rest = xml.partition("<sheetData>")
    body, closed, tail = rest.partition("</sheetData>")
    if not (found and closed):
        return xml
    rows = _ROWS.findall(body)
    if len(rows) <= SAMPLE_HEAD_ROWS + SAMPLE_TAIL_ROWS:
        return xml
    return head + found + "".join(rows[:SAMPLE_HEAD_ROWS] + rows[-SAMPLE_TAIL_ROWS:]) + closed + tail


def written_by_libreoffice(path: Path) -> bool:
    """Whether LibreOffice saved the package (a test's recalculated or converted copy, read back, never shipped)."""
    try:
        with zipfile.ZipFile(path) as zf:
            app = zf.read("docProps/app.xml").decode("utf-8", "replace") if "docProps/app.xml" in zf.namelist() else ""
    except (zipfile.BadZipFile, OSError):
        return False
    return "LibreOffice" in app


_AUDIT = OfficeAudit()


def pytest_configure(config):
    config.addinivalue_line("markers", "office_invalid(reason): the test writes a package that breaks Office's rules "
                                       "on purpose; openxml-audit does not fail it")


@pytest.fixture(autouse=True)
def office_rules(request, tmp_path_factory):
    """After each test: every workbook written under the temporary folders passes openxml-audit."""
    yield
    files = _AUDIT.new_files(tmp_path_factory.getbasetemp())
    if request.node.get_closest_marker("office_invalid") is not None:
        return
    failures = {path: errors for path in files if (errors := _AUDIT.check(path))}
    if failures:
        lines = [f"{path.name} ({path.parent.name}): {len(errors)} error(s)\n  " + "\n  ".join(errors[:8])
                 for path, errors in failures.items()]
        pytest.fail("openxml-audit: Office's rules are broken by a file this test wrote:\n" + "\n".join(lines),
                    pytrace=False)
