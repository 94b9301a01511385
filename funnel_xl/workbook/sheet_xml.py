"""Render an OutputSheet into a worksheet part by splicing its <sheetData>, keeping everything else.

Only <dimension>, <cols> and <sheetData> change; sheet views, page setup, print settings and the drawing that
holds the charts stay byte for byte. Strings are written inline, so sharedStrings.xml is left alone.
"""

from __future__ import annotations

import datetime as dt
import re
from xml.sax.saxutils import escape

from funnel_xl.workbook.model import OutputSheet
from funnel_xl.workbook.package import col_letter

_EPOCH = dt.datetime(1899, 12, 30)
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def excel_serial(value: dt.date | dt.datetime) -> float:
    """Excel's 1900 date serial (valid from 1900-03-01, which is all a sales funnel needs)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - _EPOCH
    return delta.days + delta.seconds / 86400


def _cell_xml(ref: str, value, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    if isinstance(value, (dt.date, dt.datetime)):
        return f'<c r="{ref}"{s}><v>{excel_serial(value)!r}</v></c>'
    text = escape(_ILLEGAL_XML.sub("\ufffd", str(value)))
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def render_sheet_data(sheet: OutputSheet, styles: dict[str, int]) -> str:
    by_row: dict[int, list[tuple[int, object, int]]] = {}
    for (r, c), cell in sheet.cells.items():
        by_row.setdefault(r, []).append((c, cell.value, styles.get(cell.style, 0)))
    parts = ["<sheetData>"]
    for r in sorted(by_row):
        cells = "".join(_cell_xml(f"{col_letter(c)}{r}", v, s) for c, v, s in sorted(by_row[r], key=lambda t: t[0]))
        height = sheet.heights.get(r)
        ht = f' ht="{height:.1f}" customHeight="1"' if height else ""
        parts.append(f'<row r="{r}"{ht}>{cells}</row>')
    parts.append("</sheetData>")
    return "".join(parts)


def render_cols(sheet: OutputSheet) -> str:
    if not sheet.widths:
        return ""
    cols = "".join(
        f'<col min="{c}" max="{c}" width="{w:.2f}" customWidth="1"/>' for c, w in sorted(sheet.widths.items())
    )
    return f"<cols>{cols}</cols>"


_SHEETDATA = re.compile(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", re.S)
_DIMENSION = re.compile(r"<dimension\b[^>]*/>")
_COLS = re.compile(r"<cols>.*?</cols>", re.S)


def splice_sheet(original: str, sheet: OutputSheet, styles: dict[str, int]) -> str:
    """The original worksheet XML with its cells, dimension and column widths replaced by ``sheet``'s."""
    if not _SHEETDATA.search(original):
        raise ValueError("worksheet part has no <sheetData>")
    out = _SHEETDATA.sub(lambda _: render_sheet_data(sheet, styles), original, count=1)
    dim = f'<dimension ref="A1:{col_letter(sheet.max_col)}{sheet.max_row}"/>'
    out = _DIMENSION.sub(dim, out, count=1) if _DIMENSION.search(out) else out
    cols = render_cols(sheet)
    if cols:
        if _COLS.search(out):
            out = _COLS.sub(lambda _: cols, out, count=1)
        else:
            out = out.replace("<sheetData>", cols + "<sheetData>", 1)
    return out
