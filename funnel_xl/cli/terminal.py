"""What reaches the terminal is text, never a command to it: cell text goes through ``visible`` on its way out.

A value typed into a workbook can hold an escape sequence (ESC [ ... that recolours, retitles or clears a
terminal, C1 controls, bidirectional overrides that reorder what is shown). Every line the command line prints
passes through ``SafeStream``, which writes each such character as a visible ``\\u001b`` escape; line feeds and
tabs stay (the tool's own layout), and so does a carriage return that starts a write (the progress line).
"""

from __future__ import annotations

import re
from typing import Any, TextIO

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with every control character (but line feed and tab) written as a ``\\uXXXX`` escape; inside a
    JSON string that escape means the same character, so JSON output stays valid and equal."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _CONTROL.search(text) else text


class SafeStream:
    """A text stream that writes through ``visible``; everything else is the wrapped stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if text.startswith("\r"):  # the progress line rewrites itself in place
            return self.stream.write("\r" + visible(text[1:]))
        return self.stream.write(visible(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
