"""The faults of a settings file a user edits (a methodology, the roadmap, a CRM mapping), collected so the user
sees every one at once instead of fixing them one run at a time.

Each fault is one line, ``<source>: <where>: <what>``; ``raise_if_any`` raises the caller's error with a heading
and every line.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from typing import Any

# Keys become column names, table headers, label keys and file names, so they stay plain ASCII identifiers.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")
_BARE_KEY = re.compile(r"[A-Za-z0-9_.-]+")  # what TOML accepts as a key without quotes (dots join keys)


class Faults:
    """Collects the faults of one settings file; ``subject`` names what it holds ("methodology", "mapping")."""

    def __init__(self, source: str, subject: str, error: type[Exception]) -> None:
        self.source = source
        self.subject = subject
        self.error = error
        self.lines: list[str] = []

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, where: str, what: str) -> None:
        """One fault: ``where`` names the place (a table, a stage, a row; may be empty), ``what`` is wrong there."""
        self.lines.append(f"{self.source}: {where}: {what}" if where else f"{self.source}: {what}")

    def raise_if_any(self) -> None:
        if self.lines:
            n = len(self.lines)
            head = f"{self.source}: the {self.subject} is not valid ({n} mistake{'s' if n > 1 else ''}):"
            raise self.error("\n".join([head, *self.lines]))

    # --- reading ------------------------------------------------------------------------------------------------

    def load_toml(self, text: str) -> dict[str, Any]:
        """The TOML document in ``text``; a syntax error is raised at once as a fault naming its line and column,
        and the likely fix where the mistake is a common one (an unquoted Chinese key, a text without quotes)."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_PLACE.search(str(exc))
            what = _TOML_PLACE.sub("", str(exc)).replace("(at end of document)", "").strip()
            line = int(found.group(1)) if found else _unbalanced_quote_line(text) if "Unterminated" in what else None
            where = f"line {line}, column {found.group(2)}" if found else f"line {line}" if line else ""
            lines = text.splitlines()
            hint = toml_hint(what, lines[line - 1] if line and line <= len(lines) else "")
            self.add(where, f"TOML syntax error: {what}" + (f"; {hint}" if hint else ""))
            self.raise_if_any()
            raise  # unreachable: raise_if_any raised

    def unknown_keys(self, table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        """A fault for each key of ``table`` not in ``allowed``, with the likely meaning of a misspelt one."""
        allowed = tuple(allowed)
        for key in table:
            if key not in allowed:
                near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean {near[0]!r}?)" if near else f" (allowed: {', '.join(allowed)})"
                self.add(where, f"unknown key {key!r}{hint}")

    def text(self, table: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
        """The trimmed text under ``key``, or "" when it is absent (a fault if ``required``) or not text (a fault)."""
        value = table.get(key)
        if value is None:
            if required:
                self.add(where, f"{key} text is missing")
            return ""
        if not isinstance(value, str):
            self.add(where, f"{key} must be text, got {value!r}")
            return ""
        if required and not value.strip():
            self.add(where, f"{key} text is empty")
        return value.strip()

    def identifier(self, table: Mapping[str, Any], key: str, where: str, what: str) -> str:
        """The key under ``key`` (letters, digits and _, not starting with a digit), or "" with a fault."""
        value = table.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.add(where, f"{what} ({key}) is missing")
            return ""
        if not isinstance(value, str) or not _IDENTIFIER.match(value):
            self.add(where, f"{what} {value!r} is not a valid key: use letters, digits and _ "
                            "(not starting with a digit), e.g. 'first_contact'")
            return value if isinstance(value, str) else ""
        return value

    def table(self, data: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
        """The table ``[key]`` of ``data`` ({} when absent, or with a fault when it is not a table)."""
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.add(where, f"{key} must be a table ([{key}]), got {value!r}")
            return {}
        return value

    def tables(self, data: Mapping[str, Any], key: str, where: str, header: str) -> list[dict[str, Any]]:
        """The array of tables ``[[header]]`` under ``key`` ([] when absent, or with a fault when it is not one)."""
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.add(where, f"{key} must be a list of [[{header}]] tables")
            return []
        return value


def toml_hint(error: str, line: str) -> str:
    """The likely fix of a TOML syntax error, from tomllib's message and the text of the line it names ("" if none)."""
    key, _, value = line.partition("=")
    key, value = key.strip(), value.split("#", 1)[0].strip()
    if error.startswith(("Invalid statement", "Expected '=' after a key")) and key and "=" in line \
            and not (key[0] in "\"'" or _BARE_KEY.fullmatch(key)):
        return (f"a key with characters other than A-Z, a-z, 0-9, _ and - (Chinese, spaces, brackets) must be "
                f"quoted: write \"{key}\" = {value or '...'}")
    if error.startswith("Invalid value") and value and value[0] not in "\"'[{" and not value[0].isdigit():
        return f"a text value must be quoted: write {key} = \"{value}\""
    if error.startswith("Unescaped '\\'"):
        return "write a Windows path in single quotes ('C:\\data\\export.csv') or with / instead of \\"
    if error.startswith("Unterminated string"):
        return "a text is missing its closing quote"
    if error.startswith(("Cannot overwrite", "Cannot declare")):
        return "a key or [table] is written twice; keep one"
    if error.startswith("Expected ']'"):
        return "close the table name with ], e.g. [columns]"
    return ""


def _unbalanced_quote_line(text: str) -> int | None:
    """The first line with an odd number of double quotes (outside a comment): where a text was left open."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.split("#", 1)[0].count('"') % 2:
            return n
    return None
