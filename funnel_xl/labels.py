"""The label catalogue: every user-facing word, in zh-CN and en, read from ``templates/labels/*.toml``.

Code uses English keys (``label("sheet.forecast", "zh-CN")``); Chinese lives only in the catalogue,
so a translation or a renamed sheet is one edit in one place. Each TOML file holds tables of
``key = { zh = "...", en = "..." }`` grouped by section (``[sheet]`` gives keys ``sheet.*``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from funnel_xl.paths import templates_dir

LANGUAGES = ("zh-CN", "en")


def _flatten(table: dict, prefix: str, source: Path, out: dict[str, dict[str, str]]) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and isinstance(value.get("zh"), str) and isinstance(value.get("en"), str):
            if key in out:
                raise KeyError(f"{source.name}: label {key!r} is defined twice in the catalogue")
            out[key] = {"zh-CN": value["zh"], "en": value["en"]}
        elif isinstance(value, dict):
            _flatten(value, f"{key}.", source, out)
        else:
            raise ValueError(f"{source.name}: label {key!r} needs zh and en texts, got {value!r}")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """All labels, keyed by dotted key, each with a text per language."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted((templates_dir() / "labels").glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(tomllib.load(fh), "", path, out)
    return out


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported; expected one of {', '.join(LANGUAGES)}")
    return lang


def label(key: str, lang: str = "zh-CN") -> str:
    """The text of one label in one language."""
    check_language(lang)
    try:
        return catalogue()[key][lang]
    except KeyError:
        raise KeyError(f"label {key!r} is not in the catalogue (templates/labels/*.toml)") from None


def labels_with_prefix(prefix: str, lang: str = "zh-CN") -> dict[str, str]:
    """Every label under a prefix, keyed by the rest of the key (``'status.'`` -> ``{'open': '进行中', ...}``)."""
    check_language(lang)
    return {k[len(prefix):]: v[lang] for k, v in catalogue().items() if k.startswith(prefix)}
