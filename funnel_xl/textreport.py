"""The forecast as a manager reads it in a terminal: aligned tables, amounts in 万元, Chinese-width aware."""

from __future__ import annotations

import unicodedata

import pandas as pd

from funnel_xl.labels import label
from funnel_xl.reports.problem_text import problem_line


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w, i > 0) for i, (h, w) in enumerate(zip(headers, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w, i > 0) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


def wan(v) -> str:
    return "-" if v is None or pd.isna(v) else f"{v / 10_000:,.1f}"


def pct(v) -> str:
    return "-" if v is None or pd.isna(v) else f"{v:.0%}"


def render(result) -> str:
    """The summary printed by ``funnel-xl recalc``."""
    f, lang = result.figures, result.language
    L = lambda key: label(key, lang)  # noqa: E731
    out = [f"{L('title.forecast')}  ({f.as_of.isoformat()}, {f.methodology.name(lang)})", ""]
    kpis = [("kpi.weighted_forecast", wan(f.kpi["weighted_forecast"])), ("kpi.achieved", wan(f.kpi["achieved"])),
            ("kpi.open_pipeline", wan(f.kpi["open_pipeline"])), ("kpi.open_count", str(f.kpi["open_count"])),
            ("kpi.won_count", str(f.kpi["won_count"])), ("kpi.lost_count", str(f.kpi["lost_count"]))]
    if f.progress.last_date is not None:
        kpis.append(("kpi.progress", wan(f.progress.totals["progress"])))
    kpis.append(("kpi.problem_count", str(len(result.problems))))
    out.append(table([L("outcol.kpi"), L("outcol.value")], [[L(k), v] for k, v in kpis]))
    out.append("")
    rows = [[L(f"category.{k}"), str(int(r["count"])), wan(r["amount"]), wan(r["weighted"])]
            for k, r in f.by_category.iterrows()]
    out.append(table([L("outcol.category"), L("outcol.count"), L("outcol.amount_wan"), L("outcol.weighted_wan")], rows))
    out.append("")
    rows = [[str(rep), wan(r.quota), wan(r.achieved), wan(r.weighted), pct(r.attainment), pct(r.coverage)]
            for rep, r in f.quota.iterrows()]
    out.append(table([L("outcol.rep"), L("outcol.quota_wan"), L("outcol.achieved_wan"), L("outcol.weighted_wan"),
                      L("outcol.attainment"), L("outcol.coverage")], rows))
    if result.problems:
        out += ["", f"{L('title.problems')}: {len(result.problems)}"]
        out += [f"  - {problem_line(p, lang)}" for p in result.problems[:10]]
        if len(result.problems) > 10:
            out.append(f"  ... (+{len(result.problems) - 10})")
    return "\n".join(out)
