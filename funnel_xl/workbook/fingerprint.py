"""Fingerprints of the output sheets as the tool wrote them, so a recalculation notices what a user typed there.

The output sheets are the tool's: every recalculation rewrites them whole. When it writes one, it keeps a short
hash of the sheet's cell values in a hidden name of that sheet (``_funnel_xl_written``), with the CRC-32 of the part's
bytes; the next save finds the part's CRC in the zip directory, and only when the bytes changed hashes the sheet it
is about to replace the same way: a difference means someone typed on it. The hash reads values as
a spreadsheet program keeps them, not the XML's spelling, so a workbook Excel or LibreOffice has saved (shared
strings, numbers to 15 significant digits, ``_x0007_`` escapes) hashes the same as the part the tool wrote.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Callable

from funnel_xl.workbook.contract import TOOL_NAME_PREFIX
from funnel_xl.workbook.ooxml import xml_unescape

NAME = TOOL_NAME_PREFIX + "written"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_ITEM = re.compile(r"<si>(.*?)</si>|<si/>", re.S)
_PHONETIC = re.compile(r"<rPh\b.*?</rPh>", re.S)
_TEXT = re.compile(r"<t(?:\s[^>]*)?(?<!/)>(.*?)</t>", re.S)
_TEXT_KINDS = ("s", "str", "inlineStr")
# A cell: its reference and type (attributes in any order), the text of its formula, its <v>, its inline string.
_CELL = re.compile(r'<c(?=[^>]*?\sr="([^"]*)")(?:(?=[^>]*?\st="([^"]*)"))?[^>]*?'
                   r'(?:/>|>(?:<f\b[^>]*?(?:/>|>(.*?)</f>))?(?:<v>(.*?)</v>|<is>(.*?)</is>)?</c>)', re.S)  # a shared string, a formula's text, an inline string: all text


# The cells as the tool writes them, tried first: a text with nothing to unescape or decode (no &, no _), a number,
# an empty styled cell. Anything else (shared strings, formulas, attributes in another order) falls to _CELL.
_REF = r'<c r="([A-Z]+[0-9]+)"(?: s="[0-9]+")?'
_ANY_CELL = re.compile(_REF + r' t="inlineStr"><is><t xml:space="preserve">([^<&_]*)</t></is></c>|'
                       + _REF + r'><v>([-+.0-9eE]+)</v></c>|'
                       + r'(<c r="[A-Z]+[0-9]+"(?: s="[0-9]+")?/>)|' + _CELL.pattern, re.S)


def _inline_text(inline: str) -> str:
    """The text of an inline string: one run as the tool writes it (sliced), else every run's text joined."""
    if inline.endswith("</t>") and inline.count("<t") == 1:
        return inline[inline.index(">") + 1:-4]
    return "".join(_TEXT.findall(inline))


def _decoded(text: str) -> str:
    """Excel's ``_xHHHH_`` escapes read as the characters they stand for (``_x005F_`` keeps a literal one)."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


def _number(text: str) -> str:
    """A number as 15 significant digits, rounded half up from its shortest spelling: how LibreOffice writes one,
    and what Excel's 17 digits read back as (so a number round-trips through either to the same text)."""
    value = float(text)
    short = "%.15g" % value
    if float(short) == value:  # most numbers: 15 digits hold them exactly
        return short
    d = Decimal(repr(value))
    return "%.15g" % float(d.quantize(Decimal(1).scaleb(d.adjusted() - 14), rounding=ROUND_HALF_UP))


def shared_strings(sst_xml: str) -> list[str]:
    """The texts of a shared-strings part, phonetic runs left out."""
    return [xml_unescape("".join(_TEXT.findall(_PHONETIC.sub("", m.group(1) or "")))) for m in _ITEM.finditer(sst_xml)]


def fingerprint(sheet_xml: str, strings: Callable[[], list[str]]) -> str:
    """A hash of the values of a worksheet part's cells (blank cells left out); ``strings`` gives the shared
    strings, asked for only when a cell refers to one. One regular-expression scan of the part: the cells as the
    tool writes them (a plain text or number) are read by the first branches, any other by the general one."""
    table: list[str] | None = None
    items = []
    append = items.append
    for m in _ANY_CELL.finditer(sheet_xml):
        ref, text, number_ref, number, empty, *general = m.groups("")
        if ref:
            if text:
                append(f"{ref}=s:{text}")
            continue
        if number_ref:
            try:
                append(f"{number_ref}=n:{_number(number)}")
            except ValueError:  # not a number after all ("1e"): as the general branch keeps it
                append(f"{number_ref}=n:{number}")
            continue
        if empty:
            continue
        ref, kind, formula, v, inline = general
        kind = kind or "n"
        if formula:
            append(f"{ref}=f:{xml_unescape(formula)}")
        value = xml_unescape(_inline_text(inline)) if kind == "inlineStr" else xml_unescape(v)
        if kind == "s" and value:
            if table is None:
                table = strings()
            try:
                value = table[int(value)]
            except (ValueError, IndexError):
                value = f"?{value}"
        if not value:
            continue
        if kind == "n":
            try:
                value = _number(value)
            except ValueError:
                pass
        elif kind in _TEXT_KINDS:
            kind, value = "s", _decoded(value)
        append(f"{ref}={kind}:{value}")
    return hashlib.sha256("\n".join(items).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def stamp(part: bytes) -> str:
    """What the tool keeps of an output sheet it wrote: the hash of its values and the CRC-32 of its bytes."""
    return f"{fingerprint(part.decode('utf-8'), list)}:{zlib.crc32(part):08x}"


def typed_on(kept: str, crc: int, sheet_xml: str, strings: Callable[[], list[str]]) -> bool:
    """Whether the part (``crc`` from the zip directory, ``sheet_xml`` its text) holds values other than those the
    tool wrote (``kept``, its stamp). The same bytes need no reading (a 48,000-row 数据问题 sheet took 1.5 s to
    hash); bytes Excel or LibreOffice wrote are compared by their values."""
    hashed, _, written_crc = kept.partition(":")
    if written_crc and written_crc == f"{crc:08x}":
        return False
    return hashed != fingerprint(sheet_xml, strings)
