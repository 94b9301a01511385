"""LibreOffice headless as an independent engine: recalculate a workbook, print it to PDF, render sheets to PNG.

LibreOffice is used only to check and to look: a file it saved is never shipped (it drops code names and rewrites
the VBA project). It keeps the cached values a file carries unless told otherwise, so every call runs on a private
profile whose settings force a full recalculation on load. One profile serves one soffice at a time, so calls are
serialised by a lock (a thread lock inside this process, a file lock across processes). A missing or failing
soffice or pdftoppm raises ``LibreOfficeError`` (in the error tree: the command line answers it with exit 1).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

from funnel_xl.errors import LibreOfficeError

_TIMEOUT_SECONDS = 300
_PROCESS_LOCK = threading.Lock()

# OOXMLRecalcMode / ODFRecalcMode: 0 = always recalculate on load, 1 = never, 2 = ask.
_RECALC_ALWAYS_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse">\
<value>0</value></prop></item>
</oor:items>
"""

# One page per sheet, whatever its size: what a person wants when looking at a rendered sheet.
_PDF_FILTER = "pdf:calc_pdf_Export:" + json.dumps({"SinglePageSheets": {"type": "boolean", "value": "true"}})


def soffice_path() -> Path:
    """The soffice executable (``$SOFFICE`` wins over PATH), or LibreOfficeError saying how to install it."""
    candidate = os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")
    if not candidate:
        raise LibreOfficeError(
            "LibreOffice (soffice) is not installed or not on PATH; install it, e.g. "
            "'apt-get install libreoffice-calc-nogui', or set SOFFICE to its path"
        )
    return Path(candidate)


def profile_dir() -> Path:
    """The private LibreOffice profile used by this module (one per user, in the temp folder)."""
    return Path(tempfile.gettempdir()) / f"funnel_xl_lo_profile_{os.getuid()}"


def _prepare_profile() -> Path:
    """Create the private profile with 'always recalculate' set; rewrite the setting if LO changed it."""
    profile = profile_dir()
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = user / "registrymodifications.xcu"
    if not xcu.exists() or "OOXMLRecalcMode" not in xcu.read_text(encoding="utf-8", errors="replace"):
        xcu.write_text(_RECALC_ALWAYS_XCU, encoding="utf-8")
    else:
        _force_recalc_settings(xcu)
    return profile


def _force_recalc_settings(xcu: Path) -> None:
    """Keep both recalc modes at 0 in a profile LibreOffice has already rewritten."""
    text = xcu.read_text(encoding="utf-8")
    tree = ElementTree.fromstring(text)
    ns = "{http://openoffice.org/2001/registry}"
    changed = False
    for item in tree:
        for prop in item:
            if prop.get(f"{ns}name") in ("OOXMLRecalcMode", "ODFRecalcMode"):
                value = prop.find("value")
                if value is not None and value.text != "0":
                    value.text = "0"
                    changed = True
    if changed:
        xcu.write_text(_RECALC_ALWAYS_XCU, encoding="utf-8")


@contextmanager
def _soffice_lock():
    """Serialise soffice runs on the private profile, within and across processes."""
    profile = profile_dir()
    profile.parent.mkdir(parents=True, exist_ok=True)
    with _PROCESS_LOCK:
        with open(str(profile) + ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _convert(path: Path, outdir: Path, target: str) -> Path:
    """Run ``soffice --convert-to target`` on one file and return the file it wrote."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file to open in LibreOffice")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    extension = target.split(":", 1)[0]
    expected = outdir / f"{path.stem}.{extension}"
    with _soffice_lock():
        profile = _prepare_profile()
        if expected.exists():
            expected.unlink()
        cmd = [
            str(soffice_path()), f"-env:UserInstallation={profile.as_uri()}",
            "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
            "--convert-to", target, "--outdir", str(outdir), str(path),
        ]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise LibreOfficeError(f"{path.name}: LibreOffice did not finish within {_TIMEOUT_SECONDS} s") from exc
    if run.returncode != 0 or not expected.is_file():
        raise LibreOfficeError(
            f"{path.name}: LibreOffice could not convert to {extension} (exit {run.returncode}): "
            f"{(run.stderr or run.stdout).strip()[:500]}"
        )
    return expected


def recalculate(path: Path, outdir: Path) -> Path:
    """A copy of the workbook as .xlsx, every formula recalculated by LibreOffice (for checking only)."""
    return _convert(Path(path), Path(outdir), "xlsx:Calc MS Excel 2007 XML")


def to_pdf(path: Path, outdir: Path) -> Path:
    """The workbook printed to PDF, one page per visible sheet, formulas recalculated."""
    return _convert(Path(path), Path(outdir), _PDF_FILTER)


def visible_sheet_names(path: Path, *, include_hidden: bool = False) -> list[str]:
    """The names of the visible (or all) sheets of an .xlsx/.xlsm, in workbook order (read from the package)."""
    with zipfile.ZipFile(path) as zf:
        root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    names = []
    for sheet in root.iter(f"{ns}sheet"):
        if not include_hidden and sheet.get("state") in ("hidden", "veryHidden"):
            continue
        names.append(sheet.get("name"))
    return names


def render_pngs(path: Path, outdir: Path, dpi: int = 80) -> list[Path]:
    """One PNG per visible sheet (``NN_<sheet name>.png``), rendered by LibreOffice and pdftoppm."""
    path, outdir = Path(path), Path(outdir)
    pdftoppm = shutil.which("pdftoppm")
    if not pdftoppm:
        raise LibreOfficeError("pdftoppm is not installed; install poppler-utils to render PNGs")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="funnel_xl_render_") as tmp:
        pdf = to_pdf(path, Path(tmp))
        prefix = Path(tmp) / "page"
        run = subprocess.run([pdftoppm, "-r", str(dpi), "-png", str(pdf), str(prefix)],
                             capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False)
        if run.returncode != 0:
            raise LibreOfficeError(f"{pdf.name}: pdftoppm failed: {run.stderr.strip()[:500]}")
        # pdftoppm pads page numbers to the width of the page count, so a plain sort keeps page order.
        pages = sorted(Path(tmp).glob("page-*.png"))
        names: list[str] = []
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            # LibreOffice prints hidden sheets too on some versions; match whichever count fits.
            for candidate in (visible_sheet_names(path), visible_sheet_names(path, include_hidden=True)):
                if len(candidate) == len(pages):
                    names = candidate
                    break
        if len(names) != len(pages):
            names = [f"page{i}" for i in range(1, len(pages) + 1)]
        written = []
        for i, (page, name) in enumerate(zip(pages, names, strict=True), start=1):
            safe = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in name)
            target = outdir / f"{i:02d}_{safe}.png"
            shutil.move(str(page), target)
            written.append(target)
    return written
