"""The one escaping rule for every text the tool writes into a package, and Excel's limits on text.

Every writer (cells, inline strings, formulas, chart caches and references, defined names, attributes) escapes
through ``xml_text`` (or ``xml_attr`` inside an attribute): characters XML 1.0 forbids (C0 controls other than
tab, LF and CR, lone surrogates, U+FFFE, U+FFFF) become U+FFFD, so a rep typed as ``周磊_x0007_`` (read back as
"周磊\\x07") shows as "周磊\ufffd" instead of making a part no XML parser opens. Cell text is cut to Excel's
32,767 characters (``cell_text``), and sheet names follow Excel's rules (``check_sheet_name``, ``safe_sheet_name``).
"""

from __future__ import annotations

import re

from funnel_xl.errors import SheetNameError

REPLACEMENT = "\ufffd"
MAX_CELL_TEXT = 32_767           # characters (UTF-16 code units) Excel keeps in one cell
TRUNCATION_NOTE = "…(truncated)"  # ends a cell text that was cut, so a reader sees that something is missing
MAX_SHEET_NAME = 31              # UTF-16 code units
RESERVED_SHEET_NAMES = frozenset({"history"})  # Excel keeps "History" for its change tracking
SHEET_NAME_FORBIDDEN = "[]:*?/\\"

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#(\d+)|#x([0-9A-Fa-f]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def clean_text(value: object) -> str:
    """``value`` as text without the characters XML 1.0 forbids (each becomes U+FFFD)."""
    text = str(value)
    return _FORBIDDEN.sub(REPLACEMENT, text) if _FORBIDDEN.search(text) else text


def xml_text(value: object) -> str:
    """``value`` as XML character data: forbidden characters replaced, ``&``, ``<`` and ``>`` escaped, a carriage
    return written as a reference (a parser would turn a raw one into a line feed)."""
    text = value if value.__class__ is str else str(value)
    if not _SPECIAL.search(text):  # most texts: one scan, nothing to change
        return text
    if _FORBIDDEN.search(text):
        text = _FORBIDDEN.sub(REPLACEMENT, text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def xml_attr(value: object) -> str:
    """``value`` for a double-quoted attribute: ``xml_text``, plus quotes and the whitespace an attribute folds."""
    return xml_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def xml_unescape(text: str) -> str:
    """XML character data back to text: the five named entities and numeric character references."""
    if "&" not in text:
        return text

    def repl(m: re.Match) -> str:
        if m.group(1):
            return _NAMED[m.group(1)]
        return chr(int(m.group(2))) if m.group(2) else chr(int(m.group(3), 16))

    return _ENTITY.sub(repl, text)


def utf16_len(text: str) -> int:
    """Length as Excel counts it: UTF-16 code units (a character beyond U+FFFF counts twice)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut_utf16(text: str, units: int) -> str:
    """The longest prefix of ``text`` of at most ``units`` UTF-16 code units, never half a surrogate pair."""
    out, used = [], 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            break
        out.append(ch)
    return "".join(out)


def cell_text(text: str) -> str:
    """Cell text within Excel's 32,767 characters: a longer text is cut and ends with ``TRUNCATION_NOTE``
    ("…(truncated)"), the whole within the limit, so Excel neither refuses the file nor cuts it silently."""
    if len(text) <= MAX_CELL_TEXT // 2 or utf16_len(text) <= MAX_CELL_TEXT:
        return text
    return _cut_utf16(text, MAX_CELL_TEXT - utf16_len(TRUNCATION_NOTE)) + TRUNCATION_NOTE


def sheet_name_problem(name: str) -> str | None:
    """Why Excel would refuse ``name`` as a sheet name, or None when it is valid."""
    if not name or not name.strip():
        return "a sheet name cannot be blank"
    if _FORBIDDEN.search(name):
        return "a sheet name cannot hold control characters"
    if utf16_len(name) > MAX_SHEET_NAME:
        return f"a sheet name has at most {MAX_SHEET_NAME} characters ({utf16_len(name)} given)"
    if _SHEET_UNSAFE.search(name):
        return f"a sheet name cannot contain any of {' '.join(SHEET_NAME_FORBIDDEN)}"
    if name.startswith("'") or name.endswith("'"):
        return "a sheet name cannot begin or end with an apostrophe"
    if name.casefold() in RESERVED_SHEET_NAMES:
        return f"{name!r} is a name Excel reserves"
    return None


def check_sheet_name(name: str) -> str:
    """``name`` when Excel accepts it as a sheet name; otherwise ``SheetNameError`` saying why."""
    problem = sheet_name_problem(name)
    if problem:
        raise SheetNameError(f"sheet name {name!r}: {problem}")
    return name


def safe_sheet_name(text: str, *, taken: set[str] | None = None, fallback: str = "Sheet") -> str:
    """A valid sheet name made from ``text``: forbidden characters become "_", apostrophes at either end go, a
    reserved name gets "_" appended, the result is cut to 31 UTF-16 units. With ``taken`` (case-folded names
    already used, updated here) a clash gets a "~2", "~3" ... suffix, as Excel compares names without case."""
    base = _SHEET_UNSAFE.sub("_", clean_text(text).replace(REPLACEMENT, "_")).strip("'")
    if not base.strip():
        base = fallback
    if base.casefold() in RESERVED_SHEET_NAMES:
        base += "_"
    base = _cut_utf16(base, MAX_SHEET_NAME).rstrip("'") or fallback
    title, n = base, 2
    while taken is not None and title.casefold() in taken:
        suffix = f"~{n}"
        title, n = _cut_utf16(base, MAX_SHEET_NAME - len(suffix)).rstrip("'") + suffix, n + 1
    if taken is not None:
        taken.add(title.casefold())
    return check_sheet_name(title)

