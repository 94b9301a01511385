"""Where the shipped templates live: the repo's ``templates/`` or, in a wheel, ``funnel_xl/_templates``."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The folder holding methodologies, labels, sample data and VBA sources."""
    for candidate in (_PACKAGE.parent / "templates", _PACKAGE / "_templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("funnel_xl templates folder not found next to the package")


def methodologies_dir() -> Path:
    return templates_dir() / "methodologies"


def sample_dir() -> Path:
    return templates_dir() / "sample"
