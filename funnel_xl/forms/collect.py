"""Collect returned forms: find them in an inbox, decide per form what to merge, what conflicts, what to refuse.

Deciding is kept apart from writing: ``plan_form`` compares one read-back form with its master row and returns
the changes (or a conflict, when the row changed since the form was sent), and ``audit_sheet`` lays out the
collection log. The service applies the plan to the master through the workbook port; ``FolderInbox`` is the
inbox the doors hand it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import is_blank, parse_bool, parse_text
from funnel_xl.domain.schema import STATUSES, checklist_column
from funnel_xl.errors import FormError, InputError
from funnel_xl.domain.kinds import kind_of
from funnel_xl.forms.model import EDITABLE, block_identity
from funnel_xl.forms.activity import ActivityReport
from funnel_xl.forms.read import FilledForm, check_size, read_returned_package, refusal_text
from funnel_xl.forms.settings import FormSettings, form_settings
from funnel_xl.forms.version import canonical_value, seal_verifies, version_token
from funnel_xl.labels import LANGUAGES, label
from funnel_xl.workbook.model import OutputSheet

AUDIT_COLUMNS: tuple[str, ...] = ("when", "file", "rep", "opportunity", "field", "old", "new", "outcome", "reason")
AUDIT_HEADER_ROW = 4
OUTCOMES: tuple[str, ...] = ("merged", "neutralised", "conflict", "rejected")
FORM_SUFFIXES = (".xlsx",)
MAIL_SUFFIXES = (".eml",)
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam")
REJECTED_SUFFIX = ".rejected.txt"
ZIP_MAGIC = b"PK\x03\x04"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"   # an OLE compound file: an encrypted workbook or an old .xls
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class AuditEntry:
    """One line of 收集记录: a merged change, a conflicting value, or a refused file or form."""

    when: str
    file: str
    rep: str
    opportunity: str
    field: str
    old: str
    new: str
    outcome: str
    reason: str = ""

    def values(self, lang: str) -> list[str]:
        outcome = label(f"form.audit.{self.outcome}", lang) if self.outcome in OUTCOMES else self.outcome
        return [self.when, self.file, self.rep, self.opportunity, self.field, self.old, self.new, outcome,
                self.reason]

    def identity(self, lang: str) -> tuple[str, ...]:
        """Everything but the time: the same form collected twice gives the same identities."""
        return tuple(self.values(lang)[1:])


@dataclass(frozen=True)
class Change:
    """A cell to change in 商机: canonical column, the value as the sheet shows it (``new_value``) and as the
    domain holds it (``value``: a bool, a stage key, the text), and both sides as the user reads them."""

    column: str
    new_value: Any
    old_text: str
    new_text: str
    neutralised: bool = False
    value: Any = None


@dataclass
class FormPlan:
    """What to do with one returned form: 'merge' (changes), 'unchanged', 'conflict' or 'rejected'."""

    form: FilledForm | None
    source: str
    action: str
    changes: list[Change] = field(default_factory=list)
    reason: str = ""
    row: Any = None


@dataclass
class Candidate:
    """A returned file or e-mail attachment: where it came from and its bytes (None when it is not read), with the
    reason it is refused (``error``, noted beside it) or passed over (``skip``: a lock or hidden file)."""

    source: str           # as shown in the log: "张伟.xlsx" or "reply.eml/张伟.xlsx"
    path: Path            # the file in the inbox (the .eml for an attachment)
    data: bytes | None
    error: str = ""
    skip: str = ""

    @property
    def file(self) -> str:
        """The inbox file it came from (an attachment's message)."""
        return self.path.name


def inbox_file(path: Path, size: int, read: Callable[[], bytes], settings: FormSettings, lang: str,
               attachments: Callable[[Path, int], list[tuple[str, bytes]]] | None = None) -> list[Candidate]:
    """What one file of the inbox is: a form workbook, a saved message with forms attached, or a file refused
    (wrong type, macro-enabled, encrypted, renamed, too large) or passed over (Excel's lock file, a hidden file),
    each with its reason in the workbook's language."""
    name, suffix = path.name, path.suffix.lower()
    why = lambda key: label(f"form.refused.{key}", lang).format(file=name)  # noqa: E731
    if name.startswith("~$"):
        return [Candidate(name, path, None, skip=why("lock_file"))]
    if name.startswith("."):
        return [Candidate(name, path, None, skip=why("hidden"))]
    if suffix in MACRO_SUFFIXES:
        return [Candidate(name, path, None, why("macro_enabled"))]
    if suffix in MAIL_SUFFIXES:
        if attachments is None:
            from funnel_xl.exchange.mail import xlsx_attachments as attachments
        try:
            found = attachments(path, settings.limits["max_file_bytes"])
        except FormError as exc:
            return [Candidate(name, path, None, str(exc))]
        if not found:
            return [Candidate(name, path, None, f"{name}: the message has no .xlsx attachment")]
        return [Candidate(f"{name}/{att}", path, data) for att, data in found]
    if suffix not in FORM_SUFFIXES:
        return [Candidate(name, path, None, why("wrong_type"))]
    try:
        check_size(size, name, settings)
    except FormError as exc:
        return [Candidate(name, path, None, refusal_text(exc, name, lang))]
    data = read()
    if data.startswith(CFB_MAGIC):
        return [Candidate(name, path, None, why("encrypted" if ENCRYPTED_STREAM in data else "renamed"))]
    if not data.startswith(ZIP_MAGIC):
        return [Candidate(name, path, None, why("renamed"))]
    return [Candidate(name, path, data)]


def find_candidates(inbox: Path, settings: FormSettings | None = None, lang: str = "zh-CN",
                    attachments: Callable[[Path, int], list[tuple[str, bytes]]] | None = None) -> list[Candidate]:
    """Every file of the inbox (its own notes aside), in name order, as ``inbox_file`` sees it; nothing is moved."""
    settings = settings or form_settings()
    out: list[Candidate] = []
    for path in sorted(p for p in Path(inbox).iterdir() if p.is_file()):
        if path.name.endswith(REJECTED_SUFFIX):
            continue
        out += inbox_file(path, path.stat().st_size, path.read_bytes, settings, lang, attachments)
    return out


class Inbox(Protocol):
    """Where returned forms come from: the collect use case reads candidates and leaves notes on refused ones."""

    def candidates(self, settings: FormSettings, lang: str) -> list[Candidate]: ...

    def refuse(self, path: Path, reasons: list[str]) -> Path:
        """Record why the file at ``path`` was refused (the file itself is kept); returns where the note went."""


class FolderInbox:
    """A folder of returned .xlsx files and saved .eml messages; a refused file gets a ``.rejected.txt`` beside it."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def candidates(self, settings: FormSettings, lang: str) -> list[Candidate]:
        return find_candidates(self.folder, settings, lang)

    def refuse(self, path: Path, reasons: list[str]) -> Path:
        return write_rejection_note(path, reasons)


def read_candidates(candidates: list[Candidate], m: Methodology, settings: FormSettings | None = None,
                    progress: Callable[[int, int, str], None] | None = None, lang: str = "zh-CN"
                    ) -> Iterator[FormPlan | FilledForm | ActivityReport]:
    """The forms and activity sheets in each candidate, or a 'rejected' plan (its reason in ``lang``) for a file
    that is not a readable form."""
    for i, cand in enumerate(candidates, start=1):
        if progress:
            progress(i, len(candidates), cand.source)
        if cand.skip:
            continue
        if cand.data is None:
            yield FormPlan(None, cand.source, "rejected", reason=cand.error)
            continue
        try:
            forms, activity = read_returned_package(cand.data, cand.source, m, settings)
            yield from forms
            yield from activity
        except FormError as exc:
            yield FormPlan(None, cand.source, "rejected", reason=refusal_text(exc, cand.source, lang))


def master_value(column: str, raw: Any, m: Methodology) -> Any:
    """A master cell as the form compares it: bool/None for a criterion, stage key, trimmed text."""
    if column.startswith("chk:"):
        try:
            return parse_bool(raw)
        except InputError:
            return raw  # a bad master value differs from any answer, so the form's answer replaces it
    if column == "stage":
        return m.resolve_stage(raw) or (None if is_blank(raw) else str(raw))
    if column in EDITABLE:
        if is_blank(raw):
            return None
        try:
            return kind_of(column).parse(raw)
        except (InputError, ValueError, TypeError):
            return raw  # what recalc could not read differs from any value the form gives, so the fix replaces it
    return parse_text(raw)


def _display(column: str, value: Any, m: Methodology, lang: str) -> str:
    if value is None:
        return ""
    if column.startswith("chk:") and isinstance(value, bool):
        return label("out.yes" if value else "out.no", lang)
    if column == "stage" and value in m.stage_keys:
        return m.stage(value).name(lang)
    if column == "status" and value in STATUSES:
        return label(f"status.{value}", lang)
    if column == "amount" and isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return canonical_value(value)


def _cell_value(column: str, value: Any, m: Methodology, lang: str) -> Any:
    """What goes into the master cell: 是/否 and stage names in the workbook's language, the text as is; an
    amount, a date and a status as canonical values (the table writer shows them as the builder does)."""
    if value is None:
        return None
    if column in EDITABLE:
        return value
    return _display(column, value, m, lang)


def plan_form(form: FilledForm, row: Mapping[str, Any] | None, m: Methodology, lang: str,
              key: bytes | None) -> FormPlan:
    """Compare a form with its master row: nothing to do, the changes to merge, or a conflict (row changed since
    the form was sent: token differs). A form with problems is refused whole, so no half-read form is merged; so
    is a form whose seal does not verify under the master's ``key`` or whose rep is not the row's rep."""
    if not form.ok:
        return FormPlan(form, form.source, "rejected", reason="; ".join(form.problems))
    if row is None:
        return FormPlan(form, form.source, "rejected",
                        reason=label("form.read.not_in_master", lang).format(
                            where=label("form.read.where", lang).format(source=form.source, sheet=form.sheet),
                            opportunity=form.opportunity_id))
    refusal = _not_genuine(form, row, lang, key)
    if refusal:
        return FormPlan(form, form.source, "rejected", reason=refusal)
    wanted: dict[str, Any] = {checklist_column(k): v for k, v in form.answers.items()}
    wanted["stage"] = form.stage
    wanted["notes"] = form.notes
    wanted.update(form.fields)
    changes = []
    for column, new in wanted.items():
        old = master_value(column, row.get(column), m)
        if column == "notes":
            same = (old or "") == (new or "")
        else:
            same = old == new
        if not same:
            changes.append(Change(column, _cell_value(column, new, m, lang), _display(column, old, m, lang),
                                  _display(column, new, m, lang), column == "notes" and form.notes_neutralised,
                                  value=new))
    if not changes:
        return FormPlan(form, form.source, "unchanged")
    if version_token(row) != form.token:
        return FormPlan(form, form.source, "conflict", changes, reason=label("form.audit.conflict_reason", lang))
    return FormPlan(form, form.source, "merge", changes)


def _not_genuine(form: FilledForm, row: Mapping[str, Any], lang: str, key: bytes | None) -> str | None:
    """Why a form cannot be taken as the one sent to its rep for this row (in the workbook's language), or None."""
    opp = form.opportunity_id
    if key is None:
        return label("form.refused.no_key", lang).format(opportunity=opp)
    if not seal_verifies(key, opp, form.rep, form.token, form.seal):
        return label("form.refused.seal", lang).format(opportunity=opp)
    _, owner = block_identity(opp, parse_text(row.get("rep")) or "")
    if form.rep != owner:
        return label("form.refused.rep", lang).format(opportunity=opp, rep=form.rep, owner=owner)
    return None


def audit_entries(plan: FormPlan, when: str, field_names: Mapping[str, str], lang: str) -> list[AuditEntry]:
    """The log lines of one plan (none for an unchanged form)."""
    form = plan.form
    rep = form.rep if form else ""
    opp = form.opportunity_id if form else ""
    if plan.action == "rejected":
        where = f"{plan.source} [{form.sheet}]" if form else plan.source
        return [AuditEntry(when, where, rep, opp, "", "", "", "rejected", plan.reason)]
    out = []
    for ch in plan.changes:
        if plan.action == "conflict":
            outcome, reason = "conflict", plan.reason
        elif ch.neutralised:
            outcome, reason = "neutralised", label("form.audit.neutral_reason", lang)
        else:
            outcome, reason = "merged", ""
        out.append(AuditEntry(when, f"{plan.source} [{form.sheet}]", rep, opp, field_names.get(ch.column, ch.column),
                              ch.old_text, ch.new_text, outcome, reason))
    return out


def audit_headers(lang: str) -> list[str]:
    return [label(f"form.audit.{c}", lang) for c in AUDIT_COLUMNS]


def existing_audit_rows(rows: list[list[Any]]) -> list[list[str]]:
    """The log lines already on the sheet (rows under a header in either language); none on a fresh sheet."""
    headers = {tuple(audit_headers(lang)) for lang in LANGUAGES}
    for i, row in enumerate(rows):
        cells = tuple(str(v).strip() if v is not None else "" for v in row[: len(AUDIT_COLUMNS)])
        if cells in headers:
            return [[("" if v is None else str(v)) for v in (list(r) + [None] * len(AUDIT_COLUMNS))[: len(AUDIT_COLUMNS)]]
                    for r in rows[i + 1:] if any(v not in (None, "") for v in r)]
    return []


def audit_sheet(existing: list[list[str]], new: list[AuditEntry], lang: str) -> OutputSheet:
    """收集记录: title, note, header, the old lines then the new ones (a log only grows)."""
    sheet = OutputSheet("audit")
    sheet.put(1, 1, label("form.audit.title", lang), "title")
    sheet.put(2, 1, label("form.audit.note", lang), "stamp")
    sheet.put_row(AUDIT_HEADER_ROW, 1, audit_headers(lang), "header")
    row = AUDIT_HEADER_ROW
    for values in [*existing, *(e.values(lang) for e in new)]:
        row += 1
        outcome = values[7]
        style = "bad" if outcome in (label("form.audit.conflict", lang), label("form.audit.rejected", lang)) else "text"
        sheet.put_row(row, 1, values, ["text"] * 7 + [style, "note"])
    sheet.widths.update({1: 17, 2: 28, 3: 10, 4: 14, 5: 36, 6: 16, 7: 16, 8: 14, 9: 60})
    return sheet


def write_rejection_note(path: Path, reasons: list[str]) -> Path:
    """``<file>.rejected.txt`` beside a refused file, which itself is kept where it is."""
    note = path.with_name(path.name + REJECTED_SUFFIX)
    text = "\n".join(dict.fromkeys(reasons)) + "\n"
    if not note.exists() or note.read_text(encoding="utf-8") != text:
        note.write_text(text, encoding="utf-8")
    return note


def now_stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")
