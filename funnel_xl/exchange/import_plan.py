"""What an import would do to the workbook: the export merged into its tables by id, and the merged rows checked the
way Recalculate checks them, so the import's counts and the recalculation's agree on what is counted.

The check is the normaliser itself (``domain.normalize``) run on the imported rows as they will stand after the merge,
numbered by their export line: each cell it would refuse is reported on the export's line and column, and the
summary says how many imported rows the figures will count.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from funnel_xl.domain.merge import MergeResult, merge_by_id
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.normalize import Normalized, normalize_opportunities
from funnel_xl.domain.schema import Problem
from funnel_xl.exchange.crm_import import ESTIMATED, ImportResult, as_mapping, import_export
from funnel_xl.exchange.mapping import Mapping
from funnel_xl.labels import label
from funnel_xl.reports.problem_text import problem_message, problem_messages

NOT_COUNTED = "Recalculate leaves the row out of the figures until this is fixed"


def problem_table(problems, lang: str | None = None) -> pd.DataFrame:
    """Problems as a table (sheet/file, row, column, value, message, severity) for a file or a screen; rows are whole
    numbers, messages in ``lang`` (the English text when None)."""
    problems = list(problems)
    messages = problem_messages(problems, lang) if lang else [p.message for p in problems]
    table = pd.DataFrame([{**p.as_dict(), "message": m} for p, m in zip(problems, messages)],
                         columns=["sheet", "row", "column", "value", "message", "severity"])
    table["row"] = table["row"].astype("Int64")
    return table


def summarize_problems(problems, lang: str | None = None) -> pd.DataFrame:
    """Problems grouped by severity, file, column and kind (their code, else their message): count, first rows and
    the first one's message (``example`` when the group holds other values too), for a short report."""
    problems = list(problems)
    table = problem_table(problems, lang)
    if table.empty:
        return pd.DataFrame(columns=["severity", "sheet", "column", "message", "count", "first_rows", "example"])
    table["column"] = table["column"].fillna("")
    kinds: dict[object, str] = {}
    table["kind"] = [_kind(p, kinds) for p in problems]
    grouped = table.groupby(["severity", "sheet", "column", "kind"], sort=False, dropna=False)
    out = grouped.agg(message=("message", "first"), count=("row", "size"),
                      first_rows=("row", lambda r: ", ".join(str(int(x)) for x in r.dropna().head(5))),
                      example=("message", lambda m: m.nunique() > 1))
    return out.reset_index().drop(columns="kind")


def _kind(problem: Problem, seen: dict[object, str]) -> str:
    """What groups problems in a summary: the same code and text but for the cell's value and row (worked out once
    per code, place and params in ``seen``)."""
    if problem.code is None:
        return problem.message
    params = tuple((k, v) for k, v in problem.params if k != "value")
    key = (problem.code, problem.sheet, problem.column, params)
    try:
        return seen[key]
    except TypeError:  # a param that cannot be a key: work it out each time
        key = None
    except KeyError:
        pass
    blank = replace(problem, value=None, row=None, params=params)
    kind = f"{problem.code}|{problem_message(blank, 'en')}"
    if key is not None:
        seen[key] = kind
    return kind


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do to the workbook: merged tables, the change sets, the problems, and the check of the
    imported rows as Recalculate will check them (``verdict``)."""

    result: ImportResult
    opportunities: MergeResult
    reps: MergeResult
    problems: tuple[Problem, ...]
    verdict: Normalized | None = None

    @property
    def changes_anything(self) -> bool:
        return self.opportunities.changes_anything or self.reps.changes_anything

    @property
    def counted(self) -> int:
        """How many of the imported rows Recalculate will count in the figures."""
        return len(self.verdict.clean) if self.verdict is not None else len(self.result.opportunities)

    def summary(self) -> dict[str, int]:
        """Counts a dry run prints and a test can check."""
        severities = Counter(p.severity for p in self.problems)
        imported = len(self.result.opportunities)
        return {
            "source_rows": self.result.source_rows,
            "imported": imported,
            "counted": self.counted,
            "not_counted": imported - self.counted,
            "estimated": int(self.result.opportunities[ESTIMATED].sum()),
            "added": len(self.opportunities.added_ids),
            "updated": len(self.opportunities.updated_ids),
            "updated_cells": len(self.opportunities.updated),
            "unchanged": self.opportunities.unchanged_count,
            "reps_added": len(self.reps.added_ids),
            "reps_updated": len(self.reps.updated_ids),
            "errors": severities["error"],
            "warnings": severities["warning"],
        }

    def describe(self, lang: str = "zh-CN", max_groups: int = 20) -> str:
        """The dry-run report: counts, then the problems grouped (the full list goes to the problem file)."""
        counts = self.summary()
        lines = [f"{label('import.' + key, lang)}: {value}" for key, value in counts.items()]
        groups = summarize_problems(self.problems, lang)
        for rec in groups.head(max_groups).to_dict("records"):
            where = f"{rec['sheet']}" + (f" [{rec['column']}]" if rec["column"] else "")
            rows = f" ({label('import.rows', lang)} {rec['first_rows']}...)" if rec["first_rows"] else ""
            example = label("import.example", lang) if rec["example"] else ""
            lines.append(f"{label('import.' + rec['severity'], lang)} ×{rec['count']} {where}: "
                         f"{example}{rec['message']}{rows}")
        if len(groups) > max_groups:
            lines.append(f"... {len(groups) - max_groups} {label('import.more_groups', lang)}")
        return "\n".join(lines)


def _existing(frame: pd.DataFrame | None, key: str) -> pd.DataFrame:
    if frame is None or (frame.empty and key not in frame.columns):
        return pd.DataFrame(columns=[key])
    return frame


def check_as_recalc(result: ImportResult, merged: pd.DataFrame, rep_names, mapping: Mapping,
                    methodology: Methodology) -> tuple[Normalized, list[Problem]]:
    """The imported rows, as they stand after the merge, normalised as Recalculate normalises them; and the problems
    that adds, on the export's lines and columns. A cell the translation already reported is not reported again, but
    if the figures cannot count its row, that report says so."""
    ids = set(result.opportunities["id"])
    rows = merged[pd.Index(merged["id"].to_numpy(dtype=object), dtype=object).isin(list(ids))]
    rows = rows.set_axis(pd.Index(rows["id"].map(result.lines).astype("int64").to_numpy()))
    verdict = normalize_opportunities(rows, methodology, reps=list(rep_names), sheet=result.source,
                                      column_labels=dict(mapping.columns))
    problems = list(result.problems)
    reported = {(p.row, p.column): i for i, p in enumerate(problems) if p.sheet == result.source and p.row is not None}
    mapped = set(mapping.columns.values())
    for p in verdict.problems:
        if p.row is None or p.column not in mapped:  # an unmapped field: "[columns] does not map" says it once
            continue
        at = reported.get((p.row, p.column))
        if at is None:
            problems.append(_counted_or_not(p))
        elif p.severity == "error":
            problems[at] = _counted_or_not(replace(problems[at], severity="error"))
    problems.sort(key=lambda p: (p.sheet != result.source, p.sheet, p.row if p.row is not None else 0))
    return verdict, problems


def _counted_or_not(problem: Problem) -> Problem:
    """A problem of an imported row (a warning: the row is written); one that keeps it out of the figures says so."""
    if problem.severity != "error":
        return problem
    return replace(problem, severity="warning", message=f"{problem.message}; {NOT_COUNTED}",
                   params=(*problem.params, ("not_counted", True)))


def plan_import(mapping_path: Mapping | Path | str, export_path: Path | str,
                existing_opps: pd.DataFrame | None, existing_reps: pd.DataFrame | None,
                methodology: Methodology | None = None, *, as_of: dt.date | None = None,
                lang: str = "zh-CN") -> ImportPlan:
    """Import the export and merge it into the tables the workbook holds, without writing anything.

    ``methodology`` defaults to the one the mapping names (a built-in key or a file path); ``as_of`` is the report
    date a relative default counts from (default today).
    """
    mapping = as_mapping(mapping_path)
    if methodology is None:
        from funnel_xl.methodologies import load_methodology

        methodology = load_methodology(mapping.methodology)
    result = import_export(mapping, export_path, methodology, as_of=as_of, lang=lang)
    opps = merge_by_id(_existing(existing_opps, "id"), result.opportunities, key="id")
    reps = merge_by_id(_existing(existing_reps, "rep"), result.reps, key="rep")
    verdict, problems = check_as_recalc(result, opps.merged, reps.merged["rep"], mapping, methodology)
    return ImportPlan(result=result, opportunities=opps, reps=reps, problems=tuple(problems), verdict=verdict)
