"""The company roll-up (公司汇总): each team's workbook read without writing it, its figures computed alone exactly as
its own recalculation computes them (``recalculate.team_figures``), then added up and written as values only.

Team workbooks are read in parallel processes where the machine has more than one core; each process returns
the team's figures, so the parent only adds them up and writes.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from funnel_xl.domain import rollup
from funnel_xl.domain.adjustments import beside_computed, empty_adjustments, read_adjustments
from funnel_xl.domain.columns import ADJUSTMENTS, columns
from funnel_xl.domain.figures import TEAM_ONLY, Figures
from funnel_xl.domain.rollup import TeamFigures
from funnel_xl.errors import InputError
from funnel_xl.history import default_team, history_path, open_history, read_history
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.reports.adjustments_sheet import HEADER_ROW as ADJUSTMENT_HEADER_ROW
from funnel_xl.reports.adjustments_sheet import TABLE as ADJUSTMENT_TABLE
from funnel_xl.reports.adjustments_sheet import adjustments_sheet
from funnel_xl.reports.company_sheet import company_sheet
from funnel_xl.reports.forecast_sheet import forecast_sheet
from funnel_xl.reports.funnel_sheet import funnel_sheet
from funnel_xl.reports.problems_sheet import TeamProblems, company_problems_sheet
from funnel_xl.reports.progress_sheet import progress_sheet
from funnel_xl.reports.quota_sheet import quota_sheet
from funnel_xl.reports.widths import fit_columns
from funnel_xl.services.master import read_master
from funnel_xl.services.recalculate import RecalcResult, team_figures, weekly_history
from funnel_xl.workbook.contract import TABLE_OPPORTUNITIES, sheet_name
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.layout import OWNED_ROW
from funnel_xl.workbook.values_book import BookTable, write_values_book

WORKBOOK_SUFFIXES = (".xlsm", ".xlsx")


@dataclass(frozen=True)
class Hierarchy:
    """Levels above the teams, nearest first (``levels``), and each team's place on them (``teams``)."""

    levels: tuple[str, ...] = ()
    teams: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class TeamRead:
    """One team as read: its figures for the roll-up, its own recalc JSON, the file and methodology it came from."""

    figures: TeamFigures
    summary: dict
    file: str
    methodology: str
    language: str
    problems: TeamProblems  # each problem with its deal and rep, for the company's 数据问题
    units: pd.DataFrame     # ``rollup.rep_units``, worked out in the worker that read the team


@dataclass
class RollupResult:
    """The company's figures beside every team's, and what the checks across teams found."""

    figures: Figures
    teams: list[TeamRead]
    differences: pd.DataFrame
    duplicates: pd.DataFrame
    tables: dict[str, pd.DataFrame]   # by team, region, manager and each hierarchy level
    language: str
    run_at: dt.datetime
    adjustments: pd.DataFrame = field(default_factory=empty_adjustments)  # typed, with the computed beside
    adjustment_problems: list = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # company workbooks found in a folder given, left out
    weekly: pd.DataFrame | None = None  # the company's weekly line, the teams added up week by week (进展)
    weeks_missing: list = field(default_factory=list)  # (week, teams without a snapshot in it)
    output: Path | None = None

    def summary(self) -> dict:
        """``recalc --json``'s shape for the company, plus ``by_team`` (each team's own recalc JSON), the ids found
        in more than one team and where the methodologies differ."""
        problems = [{"team": t.figures.team, **p} for t in self.teams for p in t.summary["problems"]]
        company = RecalcResult(self.figures, [], pd.DataFrame(), self.language, self.run_at,
                               rejected_count=sum(t.figures.rejected_count for t in self.teams)).summary()
        company["problems"] = problems
        company["methodology"] = sorted({t.summary["methodology"] for t in self.teams})
        company["teams"] = [t.figures.team for t in self.teams]
        company["duplicate_ids"] = [{"id": d.id, "teams": d.teams.split(", ")} for d in self.duplicates.itertuples()]
        company["methodology_differences"] = [
            {"item": d.item, "stage": d.stage, "team": d.team, "value": d.value} for d in self.differences.itertuples()]
        company["adjustments"] = [
            {"team": a.team, "rep": a.rep, "quarter": a.quarter, "adjusted": round(a.adjusted, 2),
             "computed": round(a.computed, 2), "difference": round(a.difference, 2), "reason": a.reason, "by": a.by,
             "entered": None if a.entered is None else pd.Timestamp(a.entered).date().isoformat()}
            for a in self.adjustments[self.adjustments["counted"]].itertuples()]
        company["problems"] += [{"team": None, **p.as_dict()} for p in self.adjustment_problems]
        company["weeks_missing_teams"] = [{"week": w.date().isoformat(), "teams": teams}
                                          for w, teams in self.weeks_missing]
        company["skipped"] = [{"file": str(p), "reason": "company_workbook"} for p in self.skipped]
        company["by_team"] = [{"team": t.figures.team, **t.summary} for t in self.teams]
        return company


@dataclass(frozen=True)
class TeamFiles:
    """The workbooks to roll up, and the company workbooks an earlier roll-up left in a folder given (left out)."""

    teams: list[Path]
    skipped: list[Path] = field(default_factory=list)


def is_company_workbook(book: FileWorkbook) -> bool:
    """A workbook ``funnel-xl rollup`` wrote, told by what the roll-up writes into it rather than by its name: no
    商机 table, and its first sheet says on its owned row that the roll-up rewrites it (in either language)."""
    first = book.index.sheets[0] if book.index.sheets else None
    if TABLE_OPPORTUNITIES in book.index.tables or first is None or "/worksheets/" not in first.part:
        return False  # the roll-up's first sheet is a worksheet, never a chart sheet
    rows = book.read_sheet(first.name)
    owned = rows[OWNED_ROW - 1][0] if len(rows) >= OWNED_ROW and rows[OWNED_ROW - 1] else None
    return owned in {label("rollup.owned", lang) for lang in LANGUAGES}


def _team_or_company(path: Path, *, in_folder: bool) -> bool:
    """True for a team workbook, False for a company workbook; anything else is refused naming what was expected."""
    with FileWorkbook(path, read_only=True, quiet=True) as book:
        if TABLE_OPPORTUNITIES in book.index.tables:
            return True
        if is_company_workbook(book):
            return False
    what = f"{path.name} is not a team workbook: it has no {sheet_name('opportunities')} table ({TABLE_OPPORTUNITIES})"
    if in_folder:
        raise InputError(f"{what}; the folder {path.parent} should hold only the teams' funnel workbooks: "
                         f"move it out, or name the teams' workbooks instead of the folder")
    raise InputError(f"{what}; roll up the teams' funnel workbooks (Funnel.xlsm, or a copy saved as .xlsx)")


def team_paths(paths: Iterable[str | Path]) -> TeamFiles:
    """The workbooks named, a folder standing for the workbooks in it (not Excel's lock files, backups or hidden
    files). A company workbook in a folder (an earlier roll-up's output) is left out and listed in ``skipped``; one
    named on its own is refused, as is any workbook that is neither."""
    found: list[Path] = []
    skipped: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if (f.suffix.lower() not in WORKBOOK_SUFFIXES or f.name.startswith(("~$", "."))
                        or ".bak." in f.name):
                    continue
                (found if _team_or_company(f, in_folder=True) else skipped).append(f)
        elif p.is_file():
            if not _team_or_company(p, in_folder=False):
                raise InputError(f"{p.name} is a company workbook written by funnel-xl rollup "
                                 f"({sheet_name('company')}), not a team's: name the teams' workbooks (or their "
                                 f"folder) instead")
            found.append(p)
        else:
            raise InputError(f"{p}: no such workbook or folder")
    if not found:
        raise InputError("no team workbook to roll up (.xlsm or .xlsx files, or folders holding them)")
    return TeamFiles(found, skipped)


def team_names(paths: Sequence[Path]) -> list[str]:
    """Each workbook's team (its file name, as its history is filed), numbered where two files share a name."""
    names: list[str] = []
    for p in paths:
        base, name, n = default_team(p), default_team(p), 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def read_hierarchy(path: str | Path) -> Hierarchy:
    """A hierarchy file (TOML): ``levels = ["大区", "事业部"]`` names the levels above a team, nearest first, and
    ``[teams]`` places each team on them (``华东销售 = ["华东大区", "南方事业部"]``)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path.name}: cannot read the hierarchy: {exc}") from exc
    levels = data.get("levels")
    teams = data.get("teams", {})
    if not isinstance(levels, list) or not levels or not all(isinstance(x, str) for x in levels):
        raise InputError(f'{path.name}: expected levels = ["region", ...], the names of the levels above a team')
    bad = [t for t, v in teams.items() if not (isinstance(v, list) and len(v) == len(levels)
                                                 and all(isinstance(x, str) for x in v))]
    if not isinstance(teams, dict) or bad:
        raise InputError(f"{path.name}: under [teams] each team needs a list of {len(levels)} names "
                         f"({', '.join(levels)}); check {', '.join(bad)}")
    return Hierarchy(tuple(levels), {t: tuple(v) for t, v in teams.items()})


def read_team(job: tuple[Path, str, dt.date, str | None, dt.datetime]) -> TeamRead:
    """One team's workbook, opened read-only, and its history (the file beside it, read-only, or ``url``'s
    database), computed as its own recalculation computes it. Module level: the process pool runs it."""
    path, team, as_of, url, run_at = job
    with FileWorkbook(path, read_only=True, quiet=True) as book:
        master = read_master(book)
    history = read_history(path, url, team=team if url else None)
    try:
        figures = team_figures(master, as_of, history=history, skip=TEAM_ONLY)
        # A team without a history still has this week: the company's latest point counts it like every other.
        weekly = figures.weekly if history is None else weekly_history(history, figures)
    finally:
        if history is not None:
            history.close()
    reps, opps = master.reps, master.opportunities
    problems = master.problems
    result = RecalcResult(figures, problems, reps.clean, master.language, run_at, rejected_count=len(opps.rejected))
    # The company stores no snapshot of its own: a team's is left here, a quarter of what a worker sends back.
    tf = TeamFigures(team, replace(figures, snapshot=figures.snapshot.iloc[:0]), reps.clean, weekly,
                     problem_count=len(problems), rejected_count=len(opps.rejected))
    return TeamRead(tf, result.summary(), path.name, master.methodology.name(master.language), master.language,
                    TeamProblems(team, problems, master.problem_owners(problems), list(reps.clean["rep"])),
                    rollup.rep_units(tf))


def read_teams(paths: Sequence[Path], as_of: dt.date, *, url: str | None = None, run_at: dt.datetime,
               workers: int | None = None) -> list[TeamRead]:
    """Every team, in the order given; in a process pool of one worker per core when there is more than one."""
    jobs = [(p, name, as_of, url, run_at) for p, name in zip(paths, team_names(paths))]
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(read_team, jobs))
    return [read_team(j) for j in jobs]


def typed_adjustments(output: Path) -> pd.DataFrame | None:
    """The rows typed into 预测调整 of an earlier company workbook at ``output`` (canonical columns), if there is one:
    the roll-up keeps them and sets this week's computed forecast beside them."""
    if not output.is_file():
        return None
    with FileWorkbook(output, read_only=True, quiet=True) as book:
        if ADJUSTMENT_TABLE not in book.index.tables:
            return None
        raw = book.read_table(ADJUSTMENT_TABLE).frame
    headers = {label(c.label, lang): c.key for c in columns(ADJUSTMENTS) for lang in LANGUAGES}
    return raw.rename(columns=headers)


def rollup_teams(teams: list[TeamRead], *, hierarchy: Hierarchy | None = None, lang: str | None = None,
                 run_at: dt.datetime, adjustments: pd.DataFrame | None = None) -> RollupResult:
    """Add the teams up: the company's figures, the KPI tables, the checks across teams and, given the rows typed
    into 预测调整, each adjustment beside the computed forecast."""
    lang = lang or teams[0].language
    parts = [t.figures for t in teams]
    unassigned = label("rep.unassigned", lang)
    company = rollup.combine(parts, unassigned=unassigned)
    units = pd.concat([t.units for t in teams], ignore_index=True)
    tables = {by: rollup.kpi_by(units, by) for by in ("team", "region", "manager")}
    missing = [t.team for t in parts if t.team not in tables["team"].index]  # a team with no rep and no deal
    if missing:
        empty = pd.DataFrame(0.0, index=pd.Index(missing, name="team"), columns=tables["team"].columns)
        empty[["quota", "progress", "attainment", "coverage"]] = float("nan")
        tables["team"] = pd.concat([tables["team"], empty])
    hierarchy = hierarchy or Hierarchy()
    for i, level in enumerate(hierarchy.levels):
        units[level] = [hierarchy.teams.get(t, (None,) * len(hierarchy.levels))[i] for t in units["team"]]
        tables[level] = rollup.kpi_by(units, level)
    weekly = rollup.company_weekly(parts, unassigned)
    gaps = rollup.missing_weeks(weekly, [t.team for t in parts])
    result = RollupResult(company, teams, rollup.methodology_differences(parts), rollup.duplicate_ids(parts), tables,
                          lang, run_at, weekly=weekly, weeks_missing=gaps)
    if adjustments is not None:
        reps = {t.team: set(t.reps["rep"].dropna()) for t in parts}
        labels = {c.key: label(c.label, lang) for c in columns(ADJUSTMENTS)}
        typed, result.adjustment_problems = read_adjustments(adjustments, reps, sheet=label("adjust.sheet", lang),
                                                             column_labels=labels)
        opps = pd.concat([t.figures.opps.assign(team=t.team) for t in parts], ignore_index=True)
        result.adjustments = beside_computed(typed, opps)
    return result


def write_company_workbook(result: RollupResult, output: str | Path) -> Path:
    """公司汇总 first, then 预测, 漏斗, 配额, 进展 and 数据问题 by the writers a team's recalculation uses, values only."""
    fig, lang, parts = result.figures, result.language, [t.figures for t in result.teams]
    unassigned = label("rep.unassigned", lang)
    stamp = label("rollup.stamp", lang).format(
        run_at=result.run_at.strftime("%Y-%m-%d %H:%M"), as_of=fig.as_of.isoformat(), count=len(parts),
        methodology=" / ".join(dict.fromkeys(t.methodology for t in result.teams)),
        basis=" / ".join(dict.fromkeys(label(f"basis.{t.figures.settings.basis}", lang) for t in parts)))
    teams = pd.DataFrame([{"team": t.figures.team, "file": t.file, "methodology": t.methodology,
                           "problem_count": t.figures.problem_count, "rejected_count": t.figures.rejected_count}
                          for t in result.teams])
    tables = result.tables
    kpi_tables = [(f"by_{by}", by, tables[by]) for by in ("team", "region", "manager")]
    levels = [(name, table) for name, table in tables.items() if name not in ("team", "region", "manager")]
    no_last_week = [t.team for t in parts if t.figures.progress.last_date is None]
    sheets = {
        "company": company_sheet(fig, lang, stamp, tables=kpi_tables, levels=levels, differences=result.differences,
                                 duplicates=result.duplicates, teams=teams,
                                 no_last_week=no_last_week if len(no_last_week) < len(parts) else (),
                                 skipped=[p.name for p in result.skipped]),
        "forecast": forecast_sheet(fig, lang, stamp, sum(t.problem_count for t in parts)
                                   + len(result.adjustment_problems)),
        "funnel": funnel_sheet(fig, lang, stamp, None),
        "quota": quota_sheet(fig, rollup.company_reps(parts, unassigned), lang, stamp),
        "progress": progress_sheet(fig, lang, stamp, result.weekly, result.weeks_missing),
        # The typed adjustments' problems first, under this workbook's own name: they are fixed here, not in a team.
        "problems": company_problems_sheet(
            [TeamProblems(sheet_name("company", lang), list(result.adjustment_problems)),
             *(t.problems for t in result.teams)], lang, stamp),
    }
    for s in sheets.values():  # rewritten by the next roll-up, not by a Recalculate
        s.sheet.put(OWNED_ROW, 1, label("rollup.owned", lang), "note")
    fit_columns(sheets["problems"].sheet)  # team names, customers and values of any length, as a team's sheet does
    named = [(sheet_name(k, lang), s.sheet) for k, s in sheets.items()]
    adjust, rows = adjustments_sheet(result.adjustments, lang, stamp)
    named.insert(1, (label("adjust.sheet", lang), adjust.sheet))
    table = BookTable(label("adjust.sheet", lang), ADJUSTMENT_TABLE, ADJUSTMENT_HEADER_ROW,
                      tuple(label(c.label, lang) for c in columns(ADJUSTMENTS)), rows)
    result.output = write_values_book(output, named, lang, tables=(table,))
    return result.output


def store_adjustments(result: RollupResult, output: Path, url: str | None) -> None:
    """Keep this week's adjustments, adjusted and computed, in the company's history: the file beside the company
    workbook, or ``url``'s database under the workbook's name (never in a team's history)."""
    if result.adjustments.empty and not url and not history_path(output).exists():
        return
    with open_history(output, url, team=default_team(output)) as store:
        store.save_adjustments(result.figures.as_of, result.adjustments[result.adjustments["counted"]])


def rollup_workbooks(paths: Iterable[str | Path], as_of: dt.date, *, output: str | Path | None = None,
                     url: str | None = None, hierarchy: Hierarchy | None = None, workers: int | None = None,
                     run_at: dt.datetime | None = None) -> RollupResult:
    """The use case: read every team (never writing a team's file), add them up, write ``output`` if given."""
    run_at = run_at or dt.datetime.now().replace(microsecond=0)
    files = team_paths(paths)
    if output is not None and any(Path(output).resolve() == p.resolve() for p in files.teams):
        raise InputError(f"{Path(output).name} is a team workbook: write the roll-up to another file")
    teams = read_teams(files.teams, as_of, url=url, run_at=run_at, workers=workers)
    typed = typed_adjustments(Path(output)) if output is not None else None
    result = rollup_teams(teams, hierarchy=hierarchy, run_at=run_at, adjustments=typed)
    result.skipped = files.skipped
    if output is not None:
        write_company_workbook(result, output)
        store_adjustments(result, Path(output), url)
    return result
