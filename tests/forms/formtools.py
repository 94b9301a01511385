"""Helpers the form tests share (imported as a module: tests/forms is on the path, as in tests/domain)."""

from __future__ import annotations


def refs(ws) -> dict[str, str]:
    """The hidden machine-readable block of a form sheet (key in column AN, value in AO), as a dict."""
    out, row = {}, 1
    while ws.cell(row=row, column=40).value:
        out[ws.cell(row=row, column=40).value] = ws.cell(row=row, column=41).value
        row += 1
    return out
