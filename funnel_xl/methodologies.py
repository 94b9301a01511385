"""Loading methodologies: the built-in TOML files shipped in templates/methodologies, or a user's own file.

The I/O edge for ``funnel_xl.domain.methodology``: this module reads the file, the domain parses and
validates the text, and every error names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from funnel_xl.domain.methodology import Methodology, parse_methodology
from funnel_xl.errors import MethodologyError
from funnel_xl.paths import methodologies_dir


def builtin_keys() -> list[str]:
    """Keys of the shipped methodologies (their file names without .toml), sorted."""
    return sorted(p.stem for p in methodologies_dir().glob("*.toml"))


def load_methodology(key_or_path: str | os.PathLike[str]) -> Methodology:
    """A built-in methodology by key ("big_project") or a user's .toml file by path, parsed and validated.

    A bare name that is a built-in key wins over a file of that name in the working directory, so a shipped
    key always means the shipped file.
    """
    text_key = os.fspath(key_or_path)
    if isinstance(key_or_path, str) and text_key in builtin_keys():
        path = methodologies_dir() / f"{text_key}.toml"
        source = path.name
    else:
        path = Path(key_or_path)
        source = str(path)
        if not path.is_file():
            raise MethodologyError(
                f"{source}: no such methodology file, and not a built-in methodology "
                f"(built-ins: {', '.join(builtin_keys())})"
            )
    try:
        # utf-8-sig: a file saved by Windows Notepad starts with a byte-order mark
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MethodologyError(
            f"{source}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise MethodologyError(f"{source}: cannot be read: {exc.strerror or exc}") from None
    return parse_methodology(text, source=source)
