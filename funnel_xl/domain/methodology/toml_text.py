"""A methodology written back as TOML text in the format of the shipped files; ``parse_methodology`` reads it
back equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from funnel_xl.domain.methodology.model import Methodology
from funnel_xl.domain.methodology.validate import to_percent


def methodology_to_toml(m: Methodology) -> str:
    """TOML text for a methodology in the format of the shipped files; ``parse_methodology`` reads it back equal.

    Written by hand rather than with a TOML writer so criteria come out as ``[[stages.criteria]]`` tables
    the way a person writes them, and the domain needs no extra library.
    """
    out = [
        f"# {_comment(m.zh)} / {_comment(m.en)}",
        "# win_rate is in percent (0-100); ideal_share is a fraction (0-1) of the open opportunities.",
        "# A criterion with required = false is shown on the form but does not hold a project back.",
        "",
        *_toml_pairs({"key": m.key, "zh": m.zh, "en": m.en,
                      "description_zh": m.description_zh, "description_en": m.description_en}),
    ]
    for s in m.stages:
        out += ["", "[[stages]]"]
        out += _toml_pairs({
            "key": s.key, "zh": s.zh, "en": s.en, "win_rate": to_percent(s.win_rate),
            "ideal_share": s.ideal_share, "synonyms": list(s.synonyms),
            "main_work_zh": s.main_work_zh, "main_work_en": s.main_work_en,
            "owner_zh": s.owner_zh, "owner_en": s.owner_en,
        })
        for c in s.criteria:
            out.append("  [[stages.criteria]]")
            fields = {"key": c.key, "zh": c.zh, "en": c.en}
            if not c.required:
                fields["required"] = False
            out += [f"  {line}" for line in _toml_pairs(fields)]
    return "\n".join(out) + "\n"



# --- TOML writing -----------------------------------------------------------------------------------------


def _toml_pairs(fields: Mapping[str, Any]) -> list[str]:
    """'key = value' lines, leaving out empty optional values so the file stays short."""
    return [f"{k} = {_toml_value(v)}" for k, v in fields.items() if v not in ("", None, [])]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as a TOML value")


def _toml_string(text: str) -> str:
    """A TOML basic string: escape backslash, quote and every control character TOML forbids raw."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    """Text safe for a one-line TOML comment, which may hold no line breaks or control characters."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())
