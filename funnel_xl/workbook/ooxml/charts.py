"""Chart series: their references and the values cached beside them, rewritten to the cells they now cover.

A series' values (``<c:val>``, ``<c:yVal>``, bubble sizes) are always a ``numRef`` with a number cache: text there
is no number, so it is left out of the cache as a blank point (Excel repairs a ``strRef`` in a value). Names and
categories (``<c:tx>``, ``<c:cat>``, ``<c:xVal>``) become a ``strRef`` as soon as one of their cells holds text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from funnel_xl.workbook.ooxml.refs import SheetRef, parse_sheet_ref
from funnel_xl.workbook.ooxml.text import xml_text, xml_unescape

VALUE_ROLES = frozenset({"val", "yVal", "bubbleSize"})
_SERIES_DATA = re.compile(
    r"<c:(?P<role>tx|cat|val|xVal|yVal|bubbleSize)>\s*"
    r"(?P<ref><c:(?P<kind>strRef|numRef)>\s*<c:f>(?P<f>[^<]*)</c:f>.*?</c:(?P=kind)>)"
    r"\s*</c:(?P=role)>",
    re.S,
)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def series_ref_xml(role: str, kind: str, formula: str, values: Sequence[object]) -> str:
    """One ``<c:numRef>``/``<c:strRef>`` for a series part (``role``: tx, cat, val, ...) over ``formula`` (e.g.
    ``'漏斗'!$D$6:$D$12``) caching ``values``; ``kind`` is what the chart had, kept where the values allow."""
    if role in VALUE_ROLES:
        kind = "numRef"
    elif any(isinstance(v, str) for v in values):
        kind = "strRef"  # the builder drew the chart over empty cells, which it took for numbers
    n = len(values)
    if kind == "strRef":
        pts = "".join(f'<c:pt idx="{i}"><c:v>{xml_text(v)}</c:v></c:pt>' for i, v in enumerate(values)
                      if v is not None)
        cache = f'<c:strCache><c:ptCount val="{n}"/>{pts}</c:strCache>'
    else:
        pts = "".join(f'<c:pt idx="{i}"><c:v>{float(v)!r}</c:v></c:pt>' for i, v in enumerate(values)
                      if _is_number(v))
        cache = f'<c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="{n}"/>{pts}</c:numCache>'
    return f"<c:{kind}><c:f>{xml_text(formula)}</c:f>{cache}</c:{kind}>"


def refresh_series(chart_xml: str, sheet: str, value_at: Callable[[int, int], object],
                   stretch: Callable[[SheetRef], SheetRef] | None = None) -> str:
    """Every series reference of a chart part into ``sheet`` rewritten to ``stretch(reference)`` (as it was
    without ``stretch``), its cache refilled with ``value_at(row, col)`` of each cell; other references stay."""

    def repl(m: re.Match) -> str:
        ref = parse_sheet_ref(xml_unescape(m.group("f")))
        if ref is None or ref.sheet != sheet:
            return m.group(0)
        if stretch is not None:
            ref = stretch(ref)
        values = [value_at(r, c) for r in range(ref.r1, ref.r2 + 1) for c in range(ref.c1, ref.c2 + 1)]
        new = series_ref_xml(m.group("role"), m.group("kind"), ref.text(quoted=True), values)
        start, end = m.start("ref") - m.start(), m.end("ref") - m.start()
        return m.group(0)[:start] + new + m.group(0)[end:]

    return _SERIES_DATA.sub(repl, chart_xml)
