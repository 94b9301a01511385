"""Collect assessments (收集评估表): merge the returned forms of an inbox into 商机 and log every outcome in 收集记录,
through the workbook port (cell updates and the log sheet, saved together)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from funnel_xl.domain.parsing import parse_text
from funnel_xl.errors import WorkbookFormatError
from funnel_xl.forms import collect as fc
from funnel_xl.forms.activity import ActivityReport, activity_refusal
from funnel_xl.forms.read import FilledForm
from funnel_xl.forms.settings import form_settings
from funnel_xl.labels import label
from funnel_xl.outputs import Progress
from funnel_xl.reports.activity_log import activity_log_sheet, existing_activity, merged_activity
from funnel_xl.workbook import contract
from funnel_xl.workbook.port import WorkbookPort
from funnel_xl.workbook.reader import read_inputs


FILE_OUTCOMES = ("collected", "refused", "skipped")


@dataclass
class CollectReport:
    """What one Collect run did: the log lines it added, how many forms it merged, what it refused, and what
    became of every file of the inbox (``file_outcomes``: name -> (collected | refused | skipped, reason))."""

    files: int = 0
    forms: int = 0
    merged: int = 0
    unchanged: int = 0
    conflicts: int = 0
    rejected: int = 0
    entries: list[fc.AuditEntry] = field(default_factory=list)
    rejection_notes: list[Path] = field(default_factory=list)
    written: bool = False
    backup: Path | None = None
    file_outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    activity: int = 0   # values of the week's activity written into 工作记录
    language: str = "zh-CN"   # the master's: the summary speaks it

    def count(self, outcome: str) -> int:
        return sum(1 for o, _ in self.file_outcomes.values() if o == outcome)

    def summary(self) -> dict:
        """Every file of the inbox is counted once: files = collected_files + refused_files + skipped_files."""
        return {"files": self.files, **{f"{o}_files": self.count(o) for o in FILE_OUTCOMES},
                "forms": self.forms, "merged": self.merged, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "rejected": self.rejected, "activity_values": self.activity,
                "log_lines": len(self.entries),
                "written": self.written}


def collect_forms(book: WorkbookPort, inbox: fc.Inbox, *, progress: Progress | None = None,
                  run_at: dt.datetime | None = None) -> CollectReport:
    """Read the returned forms of ``inbox`` (.xlsx files and saved .eml messages), merge what may be merged
    into 商机, log everything in 收集记录, and leave a note on each refused file.

    Nothing is written when there is nothing new (collecting the same forms twice leaves the master as it was).
    """
    run_at = (run_at or dt.datetime.now()).replace(microsecond=0)
    when = fc.now_stamp(run_at)
    settings = form_settings()
    inputs = read_inputs(book, book.name)
    m, lang = inputs.methodology, inputs.language
    raw = inputs.opportunities
    audit_name = contract.sheet_name("audit", lang)
    if audit_name not in book.sheet_names():
        raise WorkbookFormatError(f"{book.name}: the collection log sheet {audit_name!r} is missing; "
                                  "rebuild the workbook or add a sheet of that name")

    rows: dict[str, object] = {}
    duplicated: set[str] = set()
    for idx, value in zip(raw.index.tolist(), raw["id"].tolist()):  # plain lists: 105,600 ids iterate twice as fast
        key = parse_text(value)
        if key is None:
            continue
        if key in rows:
            duplicated.add(key)
        rows[key] = idx
    working = _RowsOnDemand(raw)

    key = book.form_key()
    candidates = inbox.candidates(settings, lang)
    by_source = {c.source: c for c in candidates}
    report = CollectReport(files=len({c.file for c in candidates}), language=lang)
    plans: dict[str, list[fc.FormPlan]] = {}
    field_names = dict(inputs.opportunity_labels)
    changes: dict[tuple[int, str], object] = {}
    rejected_reasons: dict[Path, list[str]] = {}
    activity: list[ActivityReport] = []
    items = list(fc.read_candidates(candidates, m, settings, progress, lang))
    working.fetch(rows[item.opportunity_id] for item in items
                  if isinstance(item, FilledForm) and item.opportunity_id in rows)
    for item in items:
        if isinstance(item, ActivityReport):
            activity.append(item)
            continue
        if isinstance(item, fc.FormPlan):
            plan = item
        else:
            report.forms += 1
            opp = item.opportunity_id
            if opp in duplicated:
                plan = fc.FormPlan(item, item.source, "rejected",
                                   reason=label("form.read.duplicate", lang).format(opportunity=opp))
            else:
                idx = rows.get(opp)
                plan = fc.plan_form(item, None if idx is None else working[idx], m, lang, key)
                plan.row = idx
        if plan.action == "merge":
            report.merged += 1
            for ch in plan.changes:
                working[plan.row][ch.column] = ch.new_value
                changes[(int(plan.row), ch.column)] = ch.value
        elif plan.action == "unchanged":
            report.unchanged += 1
        elif plan.action == "conflict":
            report.conflicts += 1
        else:
            report.rejected += 1
            path = by_source[plan.source.split("/")[0] if plan.source not in by_source else plan.source].path
            rejected_reasons.setdefault(path, []).append(plan.reason)
        plans.setdefault(plan.source.split("/")[0], []).append(plan)
        report.entries += fc.audit_entries(plan, when, field_names, lang)

    table, taken = None, []
    activity_name = contract.sheet_name("activity", lang)
    if activity:
        reps = set(parse_text(v) for v in inputs.reps["rep"]) - {None}
        table = existing_activity(book.read_sheet(activity_name)) if activity_name in book.sheet_names() else None
        for item in activity:
            refusal = activity_refusal(item, key, reps, lang) or (
                None if table is not None else label("form.activity.no_sheet", lang).format(sheet=activity_name))
            file = item.source.split("/")[0]
            if refusal:
                report.rejected += 1
                rejected_reasons.setdefault(by_source[item.source].path, []).append(refusal)
                plans.setdefault(file, []).append(fc.FormPlan(None, item.source, "rejected", reason=refusal))
                report.entries.append(fc.AuditEntry(when, f"{item.source} [{item.sheet}]", item.rep, "", "", "", "",
                                                    "rejected", refusal))
                continue
            report.entries += _activity_entries(item, table, when)
            if item.values:
                taken.append((item, f"{item.source} {when}"))
                plans.setdefault(file, []).append(fc.FormPlan(None, item.source, "merge"))

    for path, reasons in rejected_reasons.items():
        report.rejection_notes.append(inbox.refuse(path, reasons))

    existing = fc.existing_audit_rows(book.read_sheet(audit_name))
    seen = {tuple(r[1:]) for r in existing}
    report.entries = [e for e in report.entries if e.identity(lang) not in seen]
    report.file_outcomes = _file_outcomes(candidates, plans, report.entries, existing, lang)
    if not changes and not report.entries:
        return report
    if progress:
        progress(report.files, report.files, label("form.progress.writing", lang))
    if changes:
        book.update_cells(contract.TABLE_OPPORTUNITIES, changes)
    sheets = {audit_name: fc.audit_sheet(existing, report.entries, lang)}
    if taken:
        report.activity = sum(len(item.values) for item, _ in taken)
        sheets[activity_name] = activity_log_sheet(merged_activity(table, taken), lang)
    book.write_sheets(sheets)
    report.backup = book.save().backup
    report.written = True
    return report


def _activity_entries(item: ActivityReport, table, when: str) -> list[fc.AuditEntry]:
    """The log lines of a week's activity taken: one per value that is new or changed."""
    out = []
    for measure, value in item.values.items():
        before = table[(table["rep"] == item.rep) & (table["week"] == item.week) & (table["measure"] == measure)]
        old = before["value"].iloc[-1] if len(before) else None
        if old is not None and float(old) == value:
            continue
        shown = lambda v: "" if v is None else f"{v:g}"  # noqa: E731
        out.append(fc.AuditEntry(when, f"{item.source} [{item.sheet}]", item.rep, "",
                                 f"{item.names.get(measure, measure)} {item.week.isoformat()}", shown(old),
                                 shown(value), "merged"))
    return out


class _RowsOnDemand(dict):
    """The master's rows as dicts (sheet row -> {column: value}), converted only for the rows the forms name and
    then kept, edits included: converting a 100,000-row table takes seconds, and so does taking its rows one at a
    time (each a take over every column), so ``fetch`` converts the rows the forms need in one take."""

    def __init__(self, frame: pd.DataFrame) -> None:
        super().__init__()
        self._frame = frame

    def fetch(self, rows: Iterable[object]) -> None:
        """Convert ``rows`` (sheet rows) not yet held, all in one take."""
        wanted = [r for r in dict.fromkeys(rows) if r not in self]
        if wanted:
            found = self._frame.iloc[self._frame.index.get_indexer(wanted)].to_dict("records")
            self.update(zip(wanted, found))

    def __missing__(self, row: object) -> dict:
        self.fetch([row])
        return self[row]


def _file_outcomes(candidates: list[fc.Candidate], plans: dict[str, list[fc.FormPlan]],
                   new_entries: list[fc.AuditEntry], existing: list[list[str]], lang: str) -> dict[str, tuple[str, str]]:
    """What became of each inbox file: collected (a form merged, or a conflict logged this time), refused (the
    file, or a form in it, and nothing collected), or skipped (a lock or hidden file, already collected, or the
    master's values)."""
    logged_files = {_file_of(row[1]) for row in existing}
    conflicts = {_file_of(e.file) for e in new_entries if e.outcome == "conflict"}
    out: dict[str, tuple[str, str]] = {}
    for cand in candidates:
        name = cand.file
        if name in out:
            continue
        if cand.skip:
            out[name] = ("skipped", cand.skip)
            continue
        mine = plans.get(name, [])
        refused = [p.reason for p in mine if p.action == "rejected"]
        if any(p.action == "merge" for p in mine) or name in conflicts:
            out[name] = ("collected", "")
        elif refused:
            out[name] = ("refused", "; ".join(dict.fromkeys(refused)))
        else:
            why = "already_collected" if name in logged_files else "unchanged"
            out[name] = ("skipped", label(f"form.refused.{why}", lang).format(file=name))
    return out


def _file_of(source: str) -> str:
    """The inbox file of a log line's source ("reply.eml/张伟.xlsx [OPP-1]" -> "reply.eml")."""
    return source.split(" [")[0].split("/")[0]
