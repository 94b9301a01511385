"""Defined names of ``xl/workbook.xml``: read them, set one, drop some.

The tool keeps what it owns in a workbook (the form key, a fingerprint of each output sheet it wrote) as hidden
defined names holding a text constant: Excel keeps them through every save, Name Manager does not list them, and
both the file and the live adapter can reach them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from funnel_xl.workbook.ooxml.parts import attr
from funnel_xl.workbook.ooxml.text import xml_attr, xml_text, xml_unescape

_NAME = re.compile(r"<definedName\b([^>]*?)(?:/>|>(.*?)</definedName>)", re.S)
_NAMES = re.compile(r"<definedNames\s*/>|<definedNames>.*?</definedNames>", re.S)
# definedNames follows these elements of CT_Workbook (the last one present) and precedes calcPr.
_BEFORE = ("</externalReferences>", "</functionGroups>", "</sheets>")


@dataclass(frozen=True)
class DefinedName:
    name: str
    text: str                  # the formula or constant, unescaped, without '='
    local_sheet: int | None    # localSheetId: the sheet's position in <sheets>, or None for the whole workbook
    hidden: bool


def defined_names(workbook_xml: str) -> list[DefinedName]:
    out = []
    for m in _NAME.finditer(workbook_xml):
        tag = f"<definedName{m.group(1)}>"
        local = attr(tag, "localSheetId")
        out.append(DefinedName(attr(tag, "name") or "", xml_unescape(m.group(2) or ""),
                               None if local is None else int(local), attr(tag, "hidden") in ("1", "true")))
    return out


def text_constant(value: str) -> str:
    """A text constant as a defined name holds it (``"abc"``, quotes doubled)."""
    return '"' + value.replace('"', '""') + '"'


def constant_text(text: str) -> str | None:
    """The text of a constant ``"abc"`` (None when ``text`` is a formula, not a text constant)."""
    text = text.strip().removeprefix("=")
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return None
    return text[1:-1].replace('""', '"')


def drop_defined_names(workbook_xml: str, drop: Callable[[DefinedName], bool]) -> str:
    """The workbook part without the names ``drop`` picks (an emptied <definedNames> goes too)."""
    found = iter(defined_names(workbook_xml))  # the same matches, in the same order, as the substitution sees

    def repl(m: re.Match) -> str:
        return "" if drop(next(found)) else m.group(0)

    out = _NAME.sub(repl, workbook_xml)
    return re.sub(r"<definedNames>\s*</definedNames>|<definedNames\s*/>", "", out)


def set_defined_name(workbook_xml: str, name: str, text: str, *, local_sheet: int | None = None,
                     hidden: bool = True) -> str:
    """The workbook part with ``name`` (of the whole workbook, or of one sheet) set to ``text``, added if missing."""
    out = drop_defined_names(workbook_xml, lambda n: n.name == name and n.local_sheet == local_sheet)
    local = "" if local_sheet is None else f' localSheetId="{local_sheet}"'
    flag = ' hidden="1"' if hidden else ""
    entry = f'<definedName name="{xml_attr(name)}"{local}{flag}>{xml_text(text)}</definedName>'
    m = _NAMES.search(out)
    if m:
        block = m.group(0)
        inner = "" if block.endswith("/>") else block[len("<definedNames>"):-len("</definedNames>")]
        return out[: m.start()] + f"<definedNames>{inner}{entry}</definedNames>" + out[m.end():]
    for anchor in _BEFORE:
        at = out.find(anchor)
        if at >= 0:
            at += len(anchor)
            return out[:at] + f"<definedNames>{entry}</definedNames>" + out[at:]
    raise ValueError("workbook part has no <sheets>")
