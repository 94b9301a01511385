"""The forecast as a manager reads it in a terminal: aligned tables, amounts in 万元, Chinese-width aware."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from funnel_xl.domain.attention import attention_summary
from funnel_xl.domain.outlook import RATIO_KEYS, STRIP_KEYS
from funnel_xl.labels import label
from funnel_xl.reports.problem_text import problem_line
from funnel_xl.reports.widths import display_width


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(width - display_width(text), 0)
    return gap + text if right else text + gap


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([display_width(h)] + [display_width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w, i > 0) for i, (h, w) in enumerate(zip(headers, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w, i > 0) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


def wan(v) -> str:
    """CNY as 万元 with one decimal, rounded as the sheets' 0.0 format shows it: half away from zero, on the
    decimal value (3,076.65 shows 3,076.7 there, as here)."""
    if v is None or pd.isna(v):
        return "-"
    shown = Decimal(repr(float(v) / 10_000)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown:,.1f}"


def pct(v) -> str:
    return "-" if v is None or pd.isna(v) else f"{v:.0%}"


def change(v, ratio: bool = False) -> str:
    """A change since last week as the sheet's strip shows it: ▲/▼ and the amount (万元, or percentage points)."""
    if v is None or pd.isna(v):
        return "-"
    shown = pct(abs(v)) if ratio else wan(abs(v))
    return "±0" if shown in ("0%", "0.0") else ("▲ " if v > 0 else "▼ ") + shown


def strip_lines(strip: dict, changes: dict | None, lang: str) -> list[str]:
    """The KPI strip as the terminal shows it: a title, then one line per figure with its change since last week."""
    L = lambda key: label(key, lang)  # noqa: E731
    rows = [[L(f"strip.{k}"), pct(strip[k]) if k in RATIO_KEYS else wan(strip[k]),
             change((changes or {}).get(k), k in RATIO_KEYS)] for k in STRIP_KEYS]
    lines = [L("block.strip"), table([L("outcol.kpi"), L("outcol.value"), L("strip.change")], rows)]
    if not changes or all(v is None for v in changes.values()):
        lines.append(L("strip.no_previous"))
    return lines


def render(result) -> str:
    """The summary printed by ``funnel-xl recalc``: the KPI strip first, then the details."""
    f, lang = result.figures, result.language
    L = lambda key: label(key, lang)  # noqa: E731
    out = [f"{L('title.forecast')}  ({f.as_of.isoformat()}, {f.methodology.name(lang)})", ""]
    out += [*strip_lines(f.strip, f.strip_change, lang), ""]
    summary = attention_summary(f.attention)
    rows = [[L(f"attention.{key}"), str(int(r["count"])), wan(r["amount"])] for key, r in summary.iterrows()]
    rows.append([L("attention.data_problems"), str(len(result.problems)), wan(f.kpi["left_out_amount"])])
    out += [L("attention.title"),
            table([L("outcol.attention"), L("outcol.count"), L("outcol.amount_wan")], rows), ""]
    k = f.kpi
    kpis = [("kpi.basis", L(f"basis.{f.settings.basis}")), ("kpi.weighted_forecast", wan(k["weighted_forecast"])),
            ("kpi.claimed_weighted_forecast", wan(k["claimed_weighted_forecast"])),
            ("kpi.claim_difference", wan(k["claim_difference"])), ("kpi.achieved", wan(k["achieved"])),
            ("kpi.open_pipeline", wan(k["open_pipeline"])), ("kpi.open_count", str(k["open_count"])),
            ("kpi.not_assessed_count", str(k["not_assessed_count"])),
            ("kpi.won_count", str(k["won_count"])), ("kpi.lost_count", str(k["lost_count"]))]
    if k["left_out_count"]:
        kpis += [("kpi.left_out_count", str(k["left_out_count"])), ("kpi.left_out_weighted", wan(k["left_out_weighted"]))]
    if k["closed_after_count"]:
        kpis.append(("kpi.closed_after_count", str(k["closed_after_count"])))
    if f.progress.last_date is not None:
        kpis.append(("kpi.progress", wan(f.progress.totals["progress"])))
    kpis.append(("kpi.problem_count", str(len(result.problems))))
    out.append(table([L("outcol.kpi"), L("outcol.value")], [[L(k), v] for k, v in kpis]))
    out.append("")
    rows = [[L(f"category.{k}"), str(int(r["count"])), wan(r["amount"]), wan(r["weighted"])]
            for k, r in f.by_category.iterrows()]
    out.append(table([L("outcol.category"), L("outcol.count"), L("outcol.amount_wan"), L("outcol.weighted_wan")], rows))
    out.append("")
    claimed = f.claims_by_rep["claimed_weighted"]
    rows = [[L("rep.unassigned") if pd.isna(rep) else str(rep), wan(r.quota), wan(r.achieved), wan(r.weighted),
             wan(claimed.get(rep, 0.0)), pct(r.attainment), pct(r.coverage)]
            for rep, r in f.quota.iterrows()]
    out.append(table([L("outcol.rep"), L("outcol.quota_wan"), L("outcol.achieved_wan"), L("outcol.weighted_wan"),
                      L("outcol.claimed_weighted_wan"), L("outcol.attainment"), L("outcol.coverage")], rows))
    if result.problems:
        out += ["", f"{L('title.problems')}: {len(result.problems)}"]
        out += [f"  - {problem_line(p, lang)}" for p in result.problems[:10]]
        if len(result.problems) > 10:
            out.append(f"  ... (+{len(result.problems) - 10})")
    return "\n".join(out)


def render_rollup(result) -> str:
    """The summary printed by ``funnel-xl rollup``: the company's totals, the KPI table by team, the checks."""
    f, lang = result.figures, result.language
    L = lambda key: label(key, lang)  # noqa: E731
    k = f.kpi
    out = [f"{L('title.company')}  ({f.as_of.isoformat()}, {len(result.teams)})", ""]
    kpis = [("kpi.weighted_forecast", wan(k["weighted_forecast"])),
            ("kpi.claimed_weighted_forecast", wan(k["claimed_weighted_forecast"])),
            ("kpi.achieved", wan(k["achieved"])), ("kpi.open_pipeline", wan(k["open_pipeline"])),
            ("kpi.team_quota", wan(k["team_quota"])), ("kpi.open_count", str(k["open_count"]))]
    out.append(table([L("outcol.kpi"), L("outcol.value")], [[L(key), v] for key, v in kpis]))
    out.append("")
    rows = [[str(team), wan(r.quota), wan(r.achieved), wan(r.weighted), wan(r.claimed_weighted), pct(r.coverage)]
            for team, r in result.tables["team"].iterrows()]
    out.append(table([L("outcol.team"), L("outcol.quota_wan"), L("outcol.achieved_wan"), L("outcol.weighted_wan"),
                      L("outcol.claimed_weighted_wan"), L("outcol.coverage")], rows))
    out.append("")
    out.append(L("rollup.methodologies_agree") if result.differences.empty
               else f"{L('block.methodology_differences')}: "
                    + ", ".join(sorted(set(result.differences["team"]))))
    if result.duplicates.empty:
        out.append(L("rollup.no_duplicates"))
    else:
        out.append(f"{L('block.duplicate_ids')}: {len(result.duplicates)}")
        out += [f"  - {d.id}: {d.teams}" for d in result.duplicates.head(10).itertuples()]
    if result.skipped:
        out.append(L("rollup.skipped").format(files=", ".join(str(p) for p in result.skipped)))
    listed = [(L("sheet.company"), p) for p in result.adjustment_problems]  # as 数据问题 lists them: these first
    listed += [(t.figures.team, p) for t in result.teams for p in t.problems.problems]
    if listed:  # the first few, each with the team whose workbook to correct; all of them on 数据问题
        out += ["", f"{L('title.problems')}: {len(listed)}"]
        out += [f"  - {team}: {problem_line(p, lang)}" for team, p in listed[:10]]
        if len(listed) > 10:
            out.append(f"  ... (+{len(listed) - 10})")
    return "\n".join(out)
