"""Text that starts like a formula, written so Excel never runs it: the cell style gains ``quotePrefix``.

The tool writes every text as an inline string, which Excel shows as text; but a user who presses F2 and Enter on a
cell holding ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` would make it a live formula. Excel's own answer is the
quote prefix (what typing a leading apostrophe sets): a cell format flag, so each style a formula-like text is written
in gets a twin in ``cellXfs`` with ``quotePrefix="1"`` (added once, then reused), and the cell takes the twin.
"""

from __future__ import annotations

import re
from typing import Any

from funnel_xl.domain.parsing import FORMULA_START, looks_like_formula
from funnel_xl.workbook.ooxml.row_block import StreamedXml
from funnel_xl.workbook.ooxml.text import xml_text

_CELL_XFS = re.compile(r"<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)", re.S)
_XF = re.compile(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", re.S)
_COUNT = re.compile(r'\scount="\d+"')
# An inline-string cell (as ``cells.cell_xml`` writes it) whose text starts like a formula, escaped as written.
_STARTS = "|".join(re.escape(xml_text(c)) for c in FORMULA_START)
_FORMULA_TEXT = re.compile(
    rf'<c r="([A-Z]+\d+)"(?: s="(\d+)")? t="inlineStr"><is><t xml:space="preserve">(?={_STARTS})')
# What such a cell holds whatever its address and style: looked for first, as most sheets hold none.
_MARKERS = tuple(f'<t xml:space="preserve">{xml_text(c)}' for c in FORMULA_START)


def _xfs(styles_xml: str) -> tuple[re.Match, list[str]]:
    block = _CELL_XFS.search(styles_xml)
    if block is None:
        raise ValueError("styles.xml has no <cellXfs>")
    return block, _XF.findall(block.group(1) or "")


_QUOTE_ATTR = re.compile(r'\squotePrefix="[^"]*"')


def _quoted(xf: str) -> str:
    """The xf with quotePrefix="1" (an existing quotePrefix="0", as openpyxl writes, is set, not doubled)."""
    head_end = xf.index(">")
    head, rest = xf[:head_end], xf[head_end:]
    if _QUOTE_ATTR.search(head):
        return _QUOTE_ATTR.sub(' quotePrefix="1"', head, count=1) + rest
    return re.sub(r"^<xf\b", '<xf quotePrefix="1"', head, count=1) + rest


class QuotePrefixStyles:
    """The workbook's ``cellXfs``, growing a quote-prefixed twin of each style a formula-like text is written in."""

    def __init__(self, styles_xml: str) -> None:
        self.original = styles_xml
        _, self.xfs = _xfs(styles_xml)
        self.added = 0

    def twin(self, style: int) -> int:
        """The index of ``style`` with quotePrefix="1": itself if it has it, an existing twin, or a new one."""
        base = self.xfs[style] if style < len(self.xfs) else self.xfs[0]
        wanted = _quoted(base)
        if wanted in self.xfs:
            return self.xfs.index(wanted)
        self.xfs.append(wanted)
        self.added += 1
        return len(self.xfs) - 1

    def xml(self) -> str:
        """styles.xml with the twins appended (the original text when none was needed)."""
        if not self.added:
            return self.original
        block, _ = _xfs(self.original)
        head = _COUNT.sub(f' count="{len(self.xfs)}"', self.original[block.start():block.start()
                                                                      + block.group(0).index(">") + 1], count=1)
        if head.endswith("/>"):
            head = head[:-2] + ">"
        new = head + "".join(self.xfs) + "</cellXfs>"
        return self.original[:block.start()] + new + self.original[block.end():]

    def style_for(self, value: object, style: int) -> int:
        """The style a cell holding ``value`` as text is written in: the twin when the text starts like a formula."""
        return self.twin(style) if looks_like_formula(value) else style

    def quote_formula_text(self, sheet_xml: str) -> str:
        """The worksheet part with each formula-like inline string in its style's quote-prefixed twin."""
        def repl(m: re.Match) -> str:
            return (f'<c r="{m.group(1)}" s="{self.twin(int(m.group(2) or 0))}" t="inlineStr"><is>'
                    '<t xml:space="preserve">')

        if not any(marker in sheet_xml for marker in _MARKERS):
            return sheet_xml
        return _FORMULA_TEXT.sub(repl, sheet_xml)


STYLES_PART = "xl/styles.xml"


def quote_formula_parts(styles: QuotePrefixStyles | str, replaced: dict[str, Any]) -> dict[str, Any]:
    """``replaced`` (part name -> bytes, or a ``StreamedXml`` whose text pieces are quoted here and whose rows were
    rendered with ``styles``'s twins) with the formula-like text of each worksheet part quote-prefixed, plus
    styles.xml when it gained a twin style."""
    styles = styles if isinstance(styles, QuotePrefixStyles) else QuotePrefixStyles(styles)
    out = dict(replaced)
    for name, data in replaced.items():
        if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            continue
        if isinstance(data, StreamedXml):
            out[name] = data.map_text(styles.quote_formula_text)
            continue
        text = data.decode("utf-8")
        quoted = styles.quote_formula_text(text)
        if quoted != text:
            out[name] = quoted.encode("utf-8")
    if styles.added:
        out[STYLES_PART] = styles.xml().encode("utf-8")
    return out
