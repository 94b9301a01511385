"""The form template settings (page, fonts, colours, layout, limits) read from ``templates/forms/form.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from funnel_xl.errors import FormError
from funnel_xl.paths import templates_dir


@dataclass(frozen=True)
class FormSettings:
    """Everything about a form that a user may restyle without touching code."""

    format_version: int
    page: dict[str, Any]
    fonts: dict[str, Any]
    colours: dict[str, str]
    layout: dict[str, Any]
    limits: dict[str, int]


def settings_path() -> Path:
    return templates_dir() / "forms" / "form.toml"


@cache
def form_settings(path: Path | None = None) -> FormSettings:
    """The settings file parsed; a missing section is named in the error rather than guessed."""
    path = path or settings_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise FormError(f"{path}: the form settings cannot be read: {exc}") from exc
    missing = [k for k in ("format_version", "page", "fonts", "colours", "layout", "limits") if k not in raw]
    if missing:
        raise FormError(f"{path}: missing {', '.join(missing)}")
    return FormSettings(int(raw["format_version"]), raw["page"], raw["fonts"], raw["colours"], raw["layout"],
                        {k: int(v) for k, v in raw["limits"].items()})
