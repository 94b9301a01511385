"""Cells and rows of a worksheet part: write a cell, patch cells in place, insert rows, splice a whole sheetData.

A cell is written one way everywhere: numbers as ``<v>``, booleans ``t="b"``, dates as Excel serials, text as an
inline string (so sharedStrings.xml is never touched), a formula with its cached value. Patching keeps every
other cell, style, validation and comment as it was; a new row takes its styles from a template row.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from funnel_xl.workbook.ooxml.text import MAX_CELL_TEXT, cell_text, xml_attr, xml_text, xml_unescape
from funnel_xl.workbook.ooxml.refs import col_letter, col_number, split_ref
from funnel_xl.workbook.ooxml.row_block import ROW_MARK

_EPOCH = dt.datetime(1899, 12, 30)
_SURELY_WITHIN = MAX_CELL_TEXT // 2  # this many characters are within the limit however many UTF-16 units each takes
_ROW = re.compile(r'<row\b[^>]*\br="(\d+)"[^>]*?(?:/>|>.*?</row>)', re.S)
_CELL = re.compile(r'<c\b[^>]*\br="([A-Z]+)(\d+)"[^>]*?(?:/>|>.*?</c>)', re.S)
_STYLE = re.compile(r'\ss="(\d+)"')
_FORMULA = re.compile(r"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
_ROW_R = re.compile(r'\br="\d+"')
_SPANS = re.compile(r'\s*spans="[^"]*"')
_DIMENSION = re.compile(r'<dimension\b(?:[^>]*?\bref="([^"]*)")?[^>]*/>')
_COLS = re.compile(r"<cols>.*?</cols>", re.S)
_COL = re.compile(r'<col\b((?=[^>]*\bmin="(\d+)")(?=[^>]*\bmax="(\d+)")[^>]*?)/?>(?:</col>)?')
_COL_SPAN = re.compile(r'\s(?:min|max)="\d+"')
_MAX_SPLIT = 256  # wider <col> runs (to column XFD) are kept as they are rather than split per column
_VALUE = re.compile(r"<v>(.*?)</v>", re.S)
_KIND = re.compile(r'\st="(\w+)"')
_TEXT = re.compile(r"<t(?:\s[^>]*)?(?<!/)>(.*?)</t>", re.S)
# What an address could look like once strings and structured references are left out: A1, $B$7, R1C1, 5:5.
# Wide on purpose (a function such as LOG10 matches too, and is then moved by the tokenizer, unchanged).
# A formula element; the attribute that says a formula cell's result is text, with the text (an inline string in a
# values-only sheet), or without (the cell shows blank): first as every writer spaces attributes (one space, which
# the search starts from), then with any white space before it.
_FORMULA_ELEMENT = re.compile(r"<f\b[^>]*?(?:/>|>[^<]*</f>)")
_TEXT_RESULT = (
    (re.compile(r' t="str"([^>/]*)><v>([^<]+)</v></c>'), r'\1 t="inlineStr"><is><t xml:space="preserve">\2</t></is></c>'),
    (re.compile(r' t="str"([^>/]*?)\s*(?:/>|>(?:<v>\s*</v>|<v/>)?</c>)'), r"\1/>"),
)
_ANY_SPACE_TEXT_RESULT = (
    (re.compile(r'\st="str"([^>/]*)><v>([^<]+)</v></c>'), r'\1 t="inlineStr"><is><t xml:space="preserve">\2</t></is></c>'),
    (re.compile(r'\st="str"([^>/]*?)\s*(?:/>|>(?:<v>\s*</v>|<v/>)?</c>)'), r"\1/>"),
)
_MAY_ADDRESS = re.compile(r"[A-Za-z]\$?\d|\d\s*:\s*\$?\d|![A-Za-z$]|[Rr]\[?-?\d*\]?[Cc]")
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]')


def excel_serial(value: dt.date | dt.datetime) -> float:
    """Excel's 1900 date serial (valid from 1900-03-01, which is all a sales funnel needs)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - _EPOCH
    return delta.days + delta.seconds / 86400


def _number(value: int | float) -> str | None:
    """A number as ``<v>`` text; None for NaN and infinities, which Excel cannot store."""
    if isinstance(value, int):
        return repr(int(value))
    value = float(value)
    return float.__repr__(value) if math.isfinite(value) else None


def cell_xml(ref: str, value: Any, style: int = 0, formula: str | None = None) -> str:
    """One ``<c>`` element: ``value`` (None for an empty cell) in style ``style``; with ``formula`` (the formula
    text without '=', unescaped) a formula cell caching ``value``. Text goes through the one escaping rule and
    Excel's 32,767-character limit. An empty text is an empty cell, as Excel keeps a cell set to ""."""
    return f'<c r="{ref}"' + cell_body(value, style, formula)


def cell_body(value: Any, style: int = 0, formula: str | None = None) -> str:
    """A ``<c>`` element after its address (``<c r="B7"`` + this): the rule ``cell_xml`` writes by, which a writer
    of whole columns renders once per distinct value."""
    s = f' s="{style}"' if style else ""
    f = "" if formula is None else f"<f>{xml_text(formula)}</f>"
    if value == "" and not f:
        return f"{s}/>"
    if value.__class__ is not str:  # text, the common case, goes straight to the escaping
        if value is None:
            return f"{s}>{f}</c>" if f else f"{s}/>"
        if isinstance(value, bool):
            return f'{s} t="b">{f}<v>{int(value)}</v></c>'
        if isinstance(value, (int, float, dt.date)):
            if value.__class__ is float:
                v = float.__repr__(value) if math.isfinite(value) else None
            else:
                v = _number(value if isinstance(value, (int, float)) else excel_serial(value))
            if v is None:
                return f"{s}>{f}</c>" if f else f"{s}/>"
            return f"{s}>{f}<v>{v}</v></c>"
        value = str(value)
    text = xml_text(value if len(value) <= _SURELY_WITHIN else cell_text(value))
    if f:
        return f'{s} t="str">{f}<v>{text}</v></c>'
    return f'{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


@dataclass(frozen=True)
class Write:
    """A value for one cell; with ``formula`` (without '='), a formula whose cached value is ``value``."""

    value: Any
    formula: str | None = None


@dataclass(frozen=True)
class CellSpan:
    """Where one ``<c>`` element sits in a worksheet part, and what it holds (text unescaped)."""

    start: int
    end: int
    ref: str
    style: int
    kind: str | None          # the t attribute: s, str, b, inlineStr, e, or None for a number
    value: str | None         # <v> text, or the inline string's text
    formula: str | None       # plain <f> text


def cell_spans(sheet_xml: str) -> Iterator[CellSpan]:
    """Every cell of a worksheet part, in document order."""
    for m in _CELL.finditer(sheet_xml):
        xml = m.group(0)
        head = xml[: xml.find(">")]
        kind = _KIND.search(head)
        kind = kind.group(1) if kind else None
        if kind == "inlineStr":
            value = text_of(xml)
        else:
            v = _VALUE.search(xml)
            value = xml_unescape(v.group(1)) if v else None
        yield CellSpan(m.start(), m.end(), m.group(1) + m.group(2), _style(xml), kind, value, _plain_formula(xml))


def _plain_formula(cell: str) -> str | None:
    """The text of a cell's plain ``<f>`` (shared and array formulas carry attributes and are left out)."""
    f = _FORMULA.search(cell)
    return xml_unescape(f.group(2)) if f and f.group(2) is not None and not f.group(1).strip() else None


def text_of(fragment: str) -> str:
    """The text of the ``<t>`` runs of a string item or inline string, joined and unescaped."""
    return xml_unescape("".join(_TEXT.findall(fragment)))


def _style(cell: str) -> int:
    m = _STYLE.search(cell, 0, cell.find(">"))
    return int(m.group(1)) if m else 0


def _cells(row_xml: str) -> dict[int, str]:
    return {col_number(m.group(1)): m.group(0) for m in _CELL.finditer(row_xml)}


def cell_styles(sheet_xml: str) -> dict[tuple[int, int], int]:
    """(row, column) -> style index of every cell of a worksheet part (0 where the cell has none)."""
    return {(int(m.group(2)), col_number(m.group(1))): _style(m.group(0)) for m in _CELL.finditer(sheet_xml)}


def _row_open_tag(row_xml: str, row: int | str) -> str:
    tag = row_xml[: row_xml.index(">") + 1]
    tag = _SPANS.sub("", _ROW_R.sub(f'r="{row}"', tag, count=1))
    return tag[:-2] + ">" if tag.endswith("/>") else tag


def patch_cells(sheet_xml: str, writes: dict[tuple[int, int], Write], *, template_row: int | None = None) -> str:
    """Apply ``writes`` ((row, col) -> Write); a written cell keeps its style. Rows that do not exist are created
    from ``template_row``: its styles for the written cells, and its other styled cells carried along empty."""
    by_row = writes_by_row(writes)
    rows = {int(m.group(1)): m for m in _ROW.finditer(sheet_xml)}
    template = rows.get(template_row) if template_row else None
    template_xml = template.group(0) if template else None

    pieces: list[tuple[int, int, str]] = []  # (start, end, replacement)
    new_rows: list[tuple[int, str]] = []
    for r, cols in sorted(by_row.items()):
        existing = rows.get(r)
        xml = patch_row(existing.group(0) if existing else None, r, cols, template_xml)
        if existing:
            pieces.append((existing.start(), existing.end(), xml))
        else:
            new_rows.append((r, xml))

    out, pos = [], 0
    for start, end, xml in pieces:
        out += [sheet_xml[pos:start], xml]
        pos = end
    out.append(sheet_xml[pos:])
    result = "".join(out)
    return insert_rows(result, new_rows) if new_rows else result


def writes_by_row(writes: dict[tuple[int, int], Write]) -> dict[int, dict[int, Write]]:
    """(row, col) -> Write regrouped as row -> {col: Write}."""
    by_row: dict[int, dict[int, Write]] = {}
    for (r, c), w in writes.items():
        by_row.setdefault(r, {})[c] = w
    return by_row


def patch_row(row_xml: str | None, row: int, cols: dict[int, Write], template_xml: str | None = None) -> str:
    """Row ``row`` (its ``<row>`` XML, None when the sheet has no such row) with ``cols`` written: a written cell
    keeps its style; a new row takes the template row's start tag and styles, its other styled cells carried along
    empty."""
    cells = _cells(row_xml) if row_xml else {}
    template_cells = _cells(template_xml) if template_xml and not row_xml else {}
    template_styles = {c: _style(x) for c, x in template_cells.items()}
    merged: dict[int, str] = dict(cells)
    for c, w in cols.items():
        old = cells.get(c)
        style = _style(old) if old else template_styles.get(c, 0)
        merged[c] = cell_xml(f"{col_letter(c)}{row}", w.value, style, w.formula)
    if row_xml:
        open_tag = _row_open_tag(row_xml, row)
    else:
        open_tag = _row_open_tag(template_xml, row) if template_xml else f'<row r="{row}">'
        for c in template_cells:  # carry the template row's styled empty cells along
            if c not in merged:
                merged[c] = cell_xml(f"{col_letter(c)}{row}", None, template_styles.get(c, 0))
    return open_tag + "".join(merged[c] for c in sorted(merged)) + "</row>"


@dataclass(frozen=True)
class RowTemplate:
    """What new rows copy from an existing row: its start tag (``row_mark`` for the number, no spans), each cell's
    style and each plain formula (without '=', unescaped), by column number."""

    open_tag: str
    styles: dict[int, int]
    formulas: dict[int, str]


def row_template(sheet_xml: str, row: int, row_mark: str) -> RowTemplate | None:
    """Row ``row`` of a worksheet part as a template for new rows, or None when the part has no such row."""
    found = re.search(rf'<row\b[^>]*\br="{row}"[^>]*?(?:/>|>.*?</row>)', sheet_xml, re.S)
    return template_of(found.group(0), row_mark) if found else None


def template_of(row_xml: str, row_mark: str) -> RowTemplate:
    """One ``<row>`` as a template for new rows (``row_mark`` standing for their number)."""
    cells = _cells(row_xml)
    formulas = {c: f for c, f in ((c, _plain_formula(x)) for c, x in cells.items()) if f is not None}
    return RowTemplate(_row_open_tag(row_xml, row_mark), {c: _style(x) for c, x in cells.items()}, formulas)


def has_row(sheet_xml: str, row: int) -> bool:
    """Whether the worksheet part has a ``<row>`` element for ``row``."""
    return re.search(rf'<row\b[^>]*\br="{row}"', sheet_xml) is not None


def row_xml(row: int, cells: Iterable[tuple[int, Any, int]], height: float | None = None,
            texts: dict[tuple[str, int], str] | None = None) -> str:
    """A whole ``<row>`` of (column, value, style) cells, in column order; ``height`` in points, if custom.
    ``texts`` keeps the body of each text cell already written (a sheet repeats its texts row after row)."""
    ht = _height(height)
    body = "".join([f'<c r="{col_letter(c)}{row}"' + _body(v, s, texts)
                    for c, v, s in sorted(cells)])  # columns are unique
    return f'<row r="{row}"{ht}>{body}</row>'


def _body(value: Any, style: int, texts: dict[tuple[str, int], str] | None) -> str:
    if texts is None or value.__class__ is not str:
        return cell_body(value, style)
    found = texts.get((value, style))
    if found is None:
        found = texts[(value, style)] = cell_body(value, style)
    return found


def insert_rows(sheet_xml: str, new_rows: list[tuple[int, str]]) -> str:
    """Insert whole new rows (row number, ``<row>`` XML) at their place in row order inside <sheetData>, in one
    pass."""
    existing = [(int(m.group(1)), m.end()) for m in _ROW.finditer(sheet_xml)]
    numbers = [n for n, _ in existing]
    if "<sheetData/>" in sheet_xml:
        sheet_xml = sheet_xml.replace("<sheetData/>", "<sheetData></sheetData>", 1)
    start = sheet_xml.index("<sheetData>") + len("<sheetData>")
    inserts: dict[int, list[str]] = {}
    for r, xml in sorted(new_rows):
        i = bisect.bisect_left(numbers, r)
        inserts.setdefault(existing[i - 1][1] if i else start, []).append(xml)
    out, pos = [], 0
    for at in sorted(inserts):
        out += [sheet_xml[pos:at], *inserts[at]]
        pos = at
    out.append(sheet_xml[pos:])
    return "".join(out)


def row_formulas(sheet_xml: str, rows: set[int], cols: set[int] | None = None) -> dict[int, dict[int, str]]:
    """Formula text (without '=', unescaped) of the plain formula cells of ``rows`` (limited to ``cols``), found
    in one pass; shared and array formulas are left out."""
    return {int(m.group(1)): formulas_in_row(m.group(0), cols) for m in _ROW.finditer(sheet_xml)
            if int(m.group(1)) in rows}


def formulas_in_row(row_xml: str, cols: set[int] | None = None) -> dict[int, str]:
    """Column -> formula text (without '=', unescaped) of the plain formula cells of one ``<row>``."""
    found = {}
    for c in _CELL.finditer(row_xml):
        col = col_number(c.group(1))
        if cols is not None and col not in cols:
            continue
        formula = _plain_formula(c.group(0))
        if formula is not None:
            found[col] = formula
    return found


def formula_of(sheet_xml: str, row: int, col: int) -> str | None:
    """The formula text (without '=') of one cell, or None."""
    return row_formulas(sheet_xml, {row}, {col}).get(row, {}).get(col)


def move_formula(formula: str, from_row: int, to_row: int, col: int) -> str:
    """A formula copied from one row to another, relative references moved as Excel would. One that cannot hold an
    address (structured references, names, numbers only) is the same text on every row."""
    if not _MAY_ADDRESS.search(_QUOTED_OR_BRACKETED.sub("", formula)):
        return formula
    from openpyxl.formula.translate import Translator  # only for a formula that may refer to cells by address

    origin = f"{col_letter(col)}{from_row}"
    return Translator("=" + formula, origin=origin).translate_formula(f"{col_letter(col)}{to_row}")[1:]


# --- the whole sheet ----------------------------------------------------------------------------------------------

def sheet_data_xml(cells: Iterable[tuple[int, int, Any, int]], heights: Mapping[int, float],
                   blocks: Iterable[tuple[int, int, Sequence[Sequence[Any]], Sequence[int | Sequence[int]]]] = ()
                   ) -> str:
    """A ``<sheetData>`` of (row, column, value, style) cells, rows in order, with custom row heights. ``blocks``
    are (first row, first column, columns of values, each column's style or a style per row) that share no row
    with one another: each is rendered column by column into the same rows ``cells`` of theirs would make."""
    by_row: dict[int, list[tuple[int, Any, int]]] = {}
    for r, c, value, style in cells:
        by_row.setdefault(r, []).append((c, value, style))
    texts: dict[tuple[str, int], str] = {}
    runs: list[tuple[int, str]] = []  # (first row, the XML of a run of a block's rows)
    for first_row, first_col, columns, styles in blocks:
        length = len(columns[0]) if columns else 0
        pieces = [_column_pieces(first_col + j, values, style, length, texts)
                  for j, (values, style) in enumerate(zip(columns, styles))]
        rows = [first_row + i for i in range(length)]
        shared = [i for i, r in enumerate(rows) if r in by_row]  # rows that also hold cells outside the block
        for i in shared:
            by_row[rows[i]] += [(first_col + j, columns[j][i], _style_at(styles[j], i)) for j in range(len(columns))]
        for start, stop in _runs_between(length, shared):
            runs.append((rows[start], "".join([
                (f'<row r="{r}"{_height(heights.get(r))}>' + "".join(row) + "</row>").replace(ROW_MARK, str(r))
                for r, row in zip(rows[start:stop], zip(*(p[start:stop] for p in pieces)))])))
    rendered = [(r, row_xml(r, by_row[r], heights.get(r), texts)) for r in by_row] + runs
    rendered.sort(key=lambda x: x[0])
    return "<sheetData>" + "".join([xml for _, xml in rendered]) + "</sheetData>"


def _column_pieces(col: int, values: Sequence[Any], style: int | Sequence[int], length: int,
                   texts: dict[tuple[str, int], str]) -> list[str]:
    """Each row's cell of one column of a block, the row number written as ``ROW_MARK``; a text or whole number in
    a style is rendered once."""
    head = f'<c r="{col_letter(col)}{ROW_MARK}"'
    styles = [style] * length if isinstance(style, int) else style
    seen: dict[tuple, str] = {}
    out = []
    for value, s in zip(values, styles):
        cls = value.__class__
        if cls is str or cls is int or value is None:
            key = (cls, value, s)
            piece = seen.get(key)
            if piece is None:
                piece = seen[key] = head + _body(value, s, texts)
        else:  # floats (0.0 and -0.0 are written apart), dates and the rest
            piece = head + cell_body(value, s)
        out.append(piece)
    return out


def _style_at(style: int | Sequence[int], i: int) -> int:
    return style if isinstance(style, int) else style[i]


def _runs_between(length: int, cut: list[int]) -> list[tuple[int, int]]:
    """The runs of positions 0…length-1 between the positions ``cut`` (ascending)."""
    runs, start = [], 0
    for i in cut:
        if i > start:
            runs.append((start, i))
        start = i + 1
    if start < length:
        runs.append((start, length))
    return runs


def _height(height: float | None) -> str:
    return f' ht="{height:.1f}" customHeight="1"' if height else ""


def cols_xml(widths: Mapping[int, float], original: str = "") -> str:
    """A ``<cols>`` element with a custom width per column of ``widths`` ("" when there is none), keeping the
    ``<col>`` settings of the other columns in the worksheet part ``original`` (the builder's or the user's widths,
    as a live Excel keeps them when only some columns are set)."""
    kept: dict[int, str] = {}
    found = _COLS.search(original)
    for col in _COL.finditer(found.group(0) if found else ""):
        attrs = _COL_SPAN.sub("", col.group(1))
        first, last = int(col.group(2)), int(col.group(3))
        if last - first > _MAX_SPLIT:  # a "rest of the sheet" run: kept whole unless a set width falls inside it
            if not any(first <= c <= last for c in widths):
                kept[first] = f'<col min="{first}" max="{last}"{attrs}/>'
                continue
        for c in range(first, last + 1):
            kept[c] = attrs
    for c, w in widths.items():
        kept[c] = f' width="{w:.2f}" customWidth="1"'
    if not kept:
        return ""
    out: list[list] = []  # [first, last, attrs]
    for c in sorted(kept):
        attrs = kept[c]
        if attrs.startswith("<col"):
            out.append([c, c, attrs])
        elif out and out[-1][2] == attrs and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c, attrs])
    cols = "".join(a if a.startswith("<col") else f'<col min="{f}" max="{t}"{a}/>' for f, t, a in out)
    return f"<cols>{cols}</cols>"


def set_dimension(sheet_xml: str, ref: str) -> str:
    """The worksheet part with its ``<dimension>`` (when it has one) set to ``ref``."""
    dim = f'<dimension ref="{ref}"/>'
    return _DIMENSION.sub(lambda _: dim, sheet_xml, count=1)


def grow_dimension(sheet_xml: str, last_row: int) -> str:
    """The ``<dimension>`` stretched down to ``last_row`` (never shrunk)."""
    def repl(m: re.Match) -> str:
        try:
            r1, c1, r2, c2 = split_ref(m.group(1) or "")
        except ValueError:
            return m.group(0)
        return f'<dimension ref="{col_letter(c1)}{r1}:{col_letter(c2)}{max(r2, last_row)}"/>'

    return _DIMENSION.sub(repl, sheet_xml, count=1)


def sheet_data_span(sheet_xml: str) -> tuple[int, int] | None:
    """Where the first ``<sheetData>…</sheetData>`` or ``<sheetData/>`` starts and ends (None: there is none), by
    plain searches: the lazy regular expression it replaces walked a 30 MB 数据问题 part at 10 ms a megabyte."""
    start = sheet_xml.find("<sheetData")
    while start != -1:
        after = start + len("<sheetData")
        rest = after
        while rest < len(sheet_xml) and sheet_xml[rest] in " \t\r\n":
            rest += 1
        if sheet_xml.startswith("/>", rest):
            return start, rest + 2
        if rest == after and sheet_xml.startswith(">", after):
            end = sheet_xml.find("</sheetData>", after)
            if end != -1:
                return start, end + len("</sheetData>")
        start = sheet_xml.find("<sheetData", start + 1)
    return None


def splice_sheet_data(original: str, sheet_data: str, *, dimension: str, cols: str = "") -> str:
    """``original`` with its <sheetData>, dimension and column widths replaced; views, page setup, print settings
    and drawings stay byte for byte."""
    span = sheet_data_span(original)
    if span is None:
        raise ValueError("worksheet part has no <sheetData>")
    out = set_dimension(original[:span[0]] + sheet_data + original[span[1]:], dimension)
    if cols:
        if _COLS.search(out):
            out = _COLS.sub(lambda _: cols, out, count=1)
        else:
            out = out.replace("<sheetData>", cols + "<sheetData>", 1)
    return out


def drop_elements(sheet_xml: str, tags: Iterable[str]) -> str:
    """The worksheet part without its ``tags`` elements (e.g. mergeCells, hyperlinks), each with its content."""
    for tag in tags:
        sheet_xml = re.sub(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", "", sheet_xml, count=1, flags=re.S)
    return sheet_xml


def hyperlinks_xml(links: Mapping[tuple[int, int], str], value_at: Callable[[int, int], Any]) -> str:
    """A <hyperlinks> element of in-workbook links (cell -> ``'Sheet'!A1``): a location needs no relationship."""
    items = "".join(
        f'<hyperlink ref="{col_letter(c)}{r}" location="{xml_attr(target)}"'
        + ("" if value_at(r, c) is None else f' display="{xml_attr(str(value_at(r, c)))}"') + "/>"
        for (r, c), target in sorted(links.items()))
    return f"<hyperlinks>{items}</hyperlinks>"


# The elements a worksheet may hold after <hyperlinks>, in schema order: the links go before the first present.
_AFTER_HYPERLINKS = ("printOptions", "pageMargins", "pageSetup", "headerFooter", "rowBreaks", "colBreaks",
                     "customProperties", "cellWatches", "ignoredErrors", "smartTags", "drawing", "legacyDrawing",
                     "legacyDrawingHF", "picture", "oleObjects", "controls", "webPublishItems", "tableParts", "extLst")


def insert_hyperlinks(sheet_xml: str, hyperlinks: str) -> str:
    """The worksheet part with ``hyperlinks`` (a whole <hyperlinks> element) in its schema place."""
    for tag in _AFTER_HYPERLINKS:
        m = re.search(rf"<{tag}\b", sheet_xml)
        if m:
            return sheet_xml[:m.start()] + hyperlinks + sheet_xml[m.start():]
    return sheet_xml.replace("</worksheet>", hyperlinks + "</worksheet>", 1)


def values_only(sheet_xml: str) -> str:
    """A worksheet part with every cell formula removed and its cached value kept (formula text becomes an inline
    string); formatting rules outside <sheetData> keep theirs. A few substitutions over <sheetData>, each a fixed
    template starting at a literal (a 100,000-row sheet holds half a million formula cells)."""
    start, end = sheet_xml.find("<sheetData"), sheet_xml.find("</sheetData>")
    if start < 0 or end < 0:
        return sheet_xml
    return sheet_xml[:start] + values_only_rows(sheet_xml[start:end]) + sheet_xml[end:]


def _as_bytes(rule: tuple[re.Pattern, str]) -> tuple[re.Pattern, bytes]:
    pattern, template = rule
    return re.compile(pattern.pattern.encode("ascii"), pattern.flags & ~re.UNICODE), template.encode("ascii")


# The same substitutions over UTF-8 bytes (every pattern is ASCII, and no byte of a multi-byte character is):
# a part streamed a stretch of rows at a time is never decoded.
_RULES = {str: (_FORMULA_ELEMENT, (_TEXT_RESULT, _ANY_SPACE_TEXT_RESULT), 't="str"'),
          bytes: (re.compile(_FORMULA_ELEMENT.pattern.encode("ascii")),
                  tuple(tuple(_as_bytes(rule) for rule in rules) for rules in (_TEXT_RESULT, _ANY_SPACE_TEXT_RESULT)),
                  b't="str"')}


def values_only_rows(rows: str | bytes) -> str | bytes:
    """``values_only`` of a stretch of <sheetData> cut between rows (text, or UTF-8 bytes)."""
    formula, results, text_kind = _RULES[bytes if isinstance(rows, bytes) else str]
    body = formula.sub(rows[:0], rows)
    for text_result, no_text_result in results:
        if text_kind not in body:
            break
        body = text_result[0].sub(text_result[1], body)
        body = no_text_result[0].sub(no_text_result[1], body)
    return body
