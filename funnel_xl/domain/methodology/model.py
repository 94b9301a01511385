"""Methodologies (漏斗设置): ordered stages with win rates and checklist criteria, as plain data.

The seed calls the stages the funnel's body (身体) and the win rates its brain (大脑).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Criterion:
    """One observable exit criterion (阶段特征 / 评估标准) of a stage: a yes/no checklist item."""

    key: str
    zh: str
    en: str
    required: bool = True

    def text(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en


@dataclass(frozen=True)
class Stage:
    """One stage of a methodology; ``win_rate`` is a fraction 0-1 (the file writes percent)."""

    key: str
    order: int
    zh: str
    en: str
    win_rate: float
    criteria: tuple[Criterion, ...] = ()
    synonyms: tuple[str, ...] = ()
    main_work_zh: str = ""
    main_work_en: str = ""
    owner_zh: str = ""
    owner_en: str = ""
    ideal_share: float | None = None  # planned share of open opportunities in this stage (理想漏斗)

    def name(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en

    @property
    def required_criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.required)


@dataclass(frozen=True)
class Methodology:
    """An ordered list of stages. Stage order is the tuple order (order 1 first)."""

    key: str
    zh: str
    en: str
    stages: tuple[Stage, ...]
    description_zh: str = ""
    description_en: str = ""
    source: str = field(default="", compare=False)

    def name(self, lang: str = "zh-CN") -> str:
        return self.zh if lang == "zh-CN" else self.en

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    def stage(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"stage {key!r} is not in methodology {self.key!r}")

    def rates(self) -> dict[str, float]:
        """Win rate (fraction) by stage key."""
        return {s.key: s.win_rate for s in self.stages}

    def position(self, key: str) -> int:
        """0-based position of a stage key in the funnel."""
        return self.stage_keys.index(key)

    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion of every stage, in stage order."""
        return tuple(c for s in self.stages for c in s.criteria)

    def resolve_stage(self, name: object) -> str | None:
        """The stage key a user's text means (key, zh or en label, or a synonym), or None.

        Matching ignores case and surrounding/inner white space; it never guesses beyond that.
        """
        if name is None:
            return None
        wanted = fold(str(name))
        if not wanted:
            return None
        for s in self.stages:
            names = (s.key, s.zh, s.en, *s.synonyms)
            if any(fold(n) == wanted for n in names):
                return s.key
        return None


def fold(text: str) -> str:
    """A stage name as compared: no white space anywhere, case-folded."""
    return "".join(text.split()).casefold()
