"""The outgoing form use cases, one function each over a workbook port and an output sink: generate the
stage-assessment forms, build the reps' quota sheets; and send the generated forms by mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from funnel_xl.domain.activity import standards_of, week_of
from funnel_xl.domain.figures import Figures, compute_figures
from funnel_xl.domain.parsing import is_blank, parse_status, parse_text
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import InputError
from funnel_xl.forms.activity import ActivitySheet, activity_for
from funnel_xl.forms.model import FormData, Milestone, QuotaData, form_data
from funnel_xl.forms.version import new_form_key, version_token
from funnel_xl.labels import catalogue, label
from funnel_xl.outputs import FormWorkbook, OutputSink, Progress
from funnel_xl.reports.problem_text import problem_message
from funnel_xl.services.master import Master, read_master
from funnel_xl.workbook.port import WorkbookPort

MANIFEST = "manifest.json"
_FILE_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


# --- generate ---------------------------------------------------------------------------------------------------

def _form_data(raw: dict, clean: pd.Series, m, key: bytes, derived: str | None,
               problems: tuple[str, ...] = ()) -> FormData:
    return form_data(clean, m, version_token(raw), key, derived, problems=problems)


def ensure_form_key(book: WorkbookPort) -> bytes:
    """The master's form key; the first forms of a master create it and save it into the workbook (so the door
    opens a master without one for writing)."""
    key = book.form_key()
    if key is None:
        key = new_form_key()
        book.set_form_key(key)
        book.save()
    return key


def _quota_data(rep: str, figures, lang: str, as_of: dt.date) -> QuotaData | None:
    q = figures.quota
    if rep not in q.index:
        return None
    r = q.loc[rep]
    num = lambda v: None if v is None or pd.isna(v) else float(v)  # noqa: E731
    milestones = []
    for _, ms in figures.roadmap[figures.roadmap["rep"] == rep].iterrows():
        phase_key, ms_key = f"roadmap.phase.{ms['phase']}", f"roadmap.milestone.{ms['milestone']}"
        # A rep without a hire date has no milestone; the line says why instead.
        shown = ms["milestone"] if isinstance(ms["milestone"], str) else f"roadmap.reason.{ms['reason']}"
        ms_key = ms_key if isinstance(ms["milestone"], str) else shown
        milestones.append(Milestone(
            label(phase_key, lang) if phase_key in catalogue() else str(ms["phase"]),
            label(ms_key, lang) if ms_key in catalogue() else str(shown),
            num(ms["target"]), num(ms["actual"]), None if pd.isna(ms["met"]) else bool(ms["met"]),
            str(ms["measure"]).startswith(("coverage", "attainment"))))
    return QuotaData(rep, as_of, num(r.get("quota")), num(r.get("achieved")), num(r.get("attainment")),
                     num(r.get("weighted_this_year")), num(r.get("coverage")), num(r.get("proposal")),
                     tuple(milestones))


def _figures(master: Master, as_of: dt.date) -> Figures:
    from funnel_xl.services.recalculate import default_roadmap

    return compute_figures(master.opportunities.clean, master.reps.clean, master.methodology, as_of,
                           default_roadmap(), settings=master.inputs.settings)


def workbook_file_names(reps: Iterable[str], lang: str, suffix: str = "") -> dict[str, str]:
    """Each rep's workbook file name (评估表_张伟.xlsx), unique per rep before anything is written: where two names
    fold to the same file (张/伟 and 张:伟 both give 张_伟; Windows and macOS ignore case), each gets a short tag
    of its own rep's name, so no rep's workbook replaces another's and the manifest never mixes them."""
    prefix = label("form.file_prefix", lang)
    base = {rep: _FILE_UNSAFE.sub("_", f"{prefix}_{rep}{suffix}").rstrip(". ") for rep in dict.fromkeys(reps)}
    clashes = Counter(_folded(b) for b in base.values())
    names = {rep: (b if clashes[_folded(b)] == 1 else f"{b}-{_tag(rep)}") + ".xlsx" for rep, b in base.items()}
    folded = Counter(_folded(n) for n in names.values())
    same = sorted(rep for rep, n in names.items() if folded[_folded(n)] > 1)
    if same:
        raise InputError(f"the reps {', '.join(map(repr, same))} would get the same file name; rename one of them "
                         "in the reps table")
    return names


def _folded(name: str) -> str:
    """A file name as a file system that ignores case and Unicode composition compares it."""
    return unicodedata.normalize("NFC", name).casefold()


def _tag(rep: str) -> str:
    return hashlib.sha256(rep.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def generate_forms(book: WorkbookPort, out: OutputSink, *, rep: str | None = None, opportunity: str | None = None,
                   as_of: dt.date | None = None, progress: Progress | None = None, workers: int = 1,
                   skipped: list[str] | None = None) -> list[Path]:
    """One workbook per rep into ``out``: the index, a form sheet per open opportunity, then the rep's quota sheet.

    A deal recalc cannot use (an amount, a date or a status that does not read) gets its form too, with the problem
    shown on it and the fields to fix unlocked, so the rep can correct it; every problem recalc reports on a deal
    is shown on its form. Also writes ``manifest.json`` (rep, e-mail, file, opportunities, and the rows that got no
    form: no rep, or closed) for ``send_forms``; pass a list as ``skipped`` to receive those lines too. ``rep`` and
    ``opportunity`` narrow the selection; a filter that matches nothing is an error, not an empty run. ``workers``
    > 1 lets the sink write the workbooks in a process pool.
    """
    as_of = as_of or dt.date.today()
    master = read_master(book)
    m, lang = master.methodology, master.language
    raw = master.inputs.opportunities
    clean = master.opportunities.clean
    opps = _selected(clean[(clean["status"] == "open") & clean["rep"].notna()], rep, opportunity)
    to_fix = _selected(_fixable(master), rep, opportunity)
    if opps.empty and to_fix.empty:
        wanted = ", ".join(f"{k} {v!r}" for k, v in (("rep", rep), ("opportunity", opportunity)) if v) or "any"
        raise InputError(f"{book.name}: no open opportunity matches {wanted} in the opportunities "
                         f"table; nothing to generate")
    figures = _figures(master, as_of)
    reps = master.reps.clean
    emails = dict(zip(reps["rep"], reps.get("email", pd.Series(dtype=object))))
    derived = derive_stages(opps, m)["derived_stage"]
    shown = _problems_by_row(master, lang)
    key = ensure_form_key(book)
    per_rep: dict[str, list[tuple[object, FormData]]] = {}
    for idx, row in opps.iterrows():
        data = _form_data(raw.loc[idx].to_dict(), row, m, key, derived.at[idx], shown.get(idx, ()))
        per_rep.setdefault(row["rep"], []).append((idx, data))
    for idx, row in to_fix.iterrows():
        values = raw.loc[idx].to_dict()
        data = form_data(values, m, version_token(values), key, derived_given=False, problems=shown.get(idx, ()))
        per_rep.setdefault(row["rep"], []).append((idx, data))
    file_names = workbook_file_names(sorted(per_rep), lang)
    rep_rows = {r["rep"]: r for _, r in reps.iterrows()}
    books = []
    for rep_name in sorted(per_rep):
        forms = [data for _, data in sorted(per_rep[rep_name], key=lambda item: item[0])]
        books.append(FormWorkbook(file_names[rep_name], forms, _quota_data(rep_name, figures, lang, as_of),
                                  m, lang, as_of, _activity(rep_rows.get(rep_name), as_of, key)))
    written = out.form_workbooks(books, workers=workers, progress=progress)
    left_out = _left_out(master, rep, opportunity, {f.opportunity_id for b in books for f in b.forms})
    if skipped is not None:
        skipped.extend(left_out)
    manifest = {
        "master": book.name, "language": lang, "as_of": as_of.isoformat(), "methodology": m.key,
        "workbooks": [{"rep": b.quota.rep if b.quota else b.forms[0].rep, "email": _email(emails.get(b.forms[0].rep)),
                       "file": b.name, "opportunities": [x.opportunity_id for x in b.forms]} for b in books],
        "skipped": left_out,
    }
    out.write(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return written


def _activity(rep_row: pd.Series | None, as_of: dt.date, key: bytes) -> ActivitySheet | None:
    """The 本周工作 sheet of a rep of 销售人员: their phase's weekly standards for the report date's week."""
    if rep_row is None:
        return None
    from funnel_xl.services.recalculate import default_roadmap

    phase, standards = standards_of(rep_row, default_roadmap(), as_of)
    return activity_for(rep_row["rep"], week_of(as_of), phase, standards, key)


def _selected(rows: pd.DataFrame, rep: str | None, opportunity: str | None) -> pd.DataFrame:
    if rep is not None:
        rows = rows[rows["rep"] == rep.strip()]
    if opportunity is not None:
        rows = rows[rows["id"] == opportunity.strip()]
    return rows


def _fixable(master: Master) -> pd.DataFrame:
    """The rows recalc leaves out that a rep can fix on a form: an id and a rep that read, and a status that is
    open or does not read (a closed deal is the manager's, not a form's). Columns id and rep as text."""
    raw = master.inputs.opportunities
    rows = raw.loc[[i for i in master.opportunities.rejected.index if i in raw.index]]
    out = pd.DataFrame({"id": rows["id"].map(parse_text), "rep": rows["rep"].map(parse_text)}, index=rows.index)

    def closed(value) -> bool:
        try:
            return parse_status(value) != "open"
        except InputError:
            return False

    keep = out["id"].notna() & out["rep"].notna() & ~rows["status"].map(closed).astype(bool)
    return out[keep]


def _problems_by_row(master: Master, lang: str) -> dict[object, tuple[str, ...]]:
    """Every problem recalc reports on a row of 商机 (errors and warnings), in the workbook's language."""
    out: dict[object, list[str]] = {}
    for p in master.opportunities.problems:
        if p.row is None:
            continue
        text = problem_message(p, lang)
        out.setdefault(p.row, []).append(f"{p.column}: {text}" if p.column else text)
    return {row: tuple(dict.fromkeys(texts)) for row, texts in out.items()}


def _left_out(master: Master, rep: str | None, opportunity: str | None, sent: set[str]) -> list[str]:
    """'no form for <row>: <problem>' for every master row the filters would take that gets none: a row that is
    neither open nor fixable on a form, and a deal without a rep (it counts, under 未分配, but nobody is there to
    fill its form in)."""
    raw = master.inputs.opportunities
    out = []
    for p in master.opportunities.problems:
        if p.severity != "error" and p.code != "rep_missing":
            continue
        if p.row in raw.index:
            r = raw.loc[p.row]
            if parse_text(r.get("id")) in sent:
                continue
            if rep is not None and parse_text(r.get("rep")) != rep.strip():
                continue
            if opportunity is not None and parse_text(r.get("id")) != opportunity.strip():
                continue
        out.append(f"no form for {p}")
    return out


def _email(value) -> str:
    return "" if is_blank(value) else str(value).strip()


def build_quota_sheets(book: WorkbookPort, out: OutputSink, as_of: dt.date | None = None,
                       progress: Progress | None = None) -> list[Path]:
    """One values-only quota workbook per rep into ``out`` (the same sheet the form workbooks carry), for reps with
    no open opportunity too."""
    as_of = as_of or dt.date.today()
    master = read_master(book)
    figures = _figures(master, as_of)
    m, lang = master.methodology, master.language
    reps = list(master.reps.clean["rep"])
    names = workbook_file_names(reps, lang, "_" + label("form.quota_sheet", lang))
    books = [FormWorkbook(names[rep], [], _quota_data(rep, figures, lang, as_of), m, lang, as_of) for rep in reps]
    return out.form_workbooks(books, progress=progress)


# --- send -------------------------------------------------------------------------------------------------------

@dataclass
class SendReport:
    """What a send did: the recipients mailed now, and those skipped because the sent-log holds their message."""

    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def send_forms(forms_dir: str | Path, *, sender: str, smtp=None, password: str | None = None,
               outbox: str | Path | None = None, progress: Progress | None = None, resume: bool = False) -> SendReport:
    """Mail each rep their workbook (addresses from the manifest, i.e. the reps table). With ``outbox`` the
    messages are written there as .eml files instead (dry run, no sent-log).

    Every message the server accepts goes into ``sent-log.csv`` in the forms folder at once. A message the log
    already holds (same recipient, same file, same content) is skipped with ``resume`` and refused without it, so
    a re-run never mails a rep twice by accident."""
    from funnel_xl.exchange.mail import check_address, check_tls, form_message, send_messages, write_outbox
    from funnel_xl.exchange.sent_log import SENT_LOG, SentLog, file_digest

    forms_dir = Path(forms_dir)
    manifest_path = forms_dir / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"{forms_dir}: no {MANIFEST}; generate the forms into this folder first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    lang = manifest.get("language", "zh-CN")
    check_address(sender, "--from")
    files = [wb["file"] for wb in manifest["workbooks"]]
    if len({_folded(f) for f in files}) != len(files):
        raise InputError(f"{manifest_path}: two reps share a workbook file; generate the forms again")
    if outbox is None:
        if smtp is None:
            raise InputError("no SMTP server given: use --smtp HOST:PORT, or --dry-run to write .eml files")
        check_tls(smtp)
    planned = []
    for wb in manifest["workbooks"]:
        to = check_address(wb["email"], f"rep {wb['rep']}")
        planned.append((wb, to, file_digest(forms_dir / wb["file"])))
    messages = lambda items: [form_message(to=to, sender=sender, rep=wb["rep"], count=len(wb["opportunities"]),  # noqa: E731
                                           attachment=forms_dir / wb["file"], lang=lang) for wb, to, _ in items]
    if outbox is not None:
        write_outbox(messages(planned), Path(outbox))
        return SendReport(sent=[to for _, to, _ in planned])
    log = SentLog(forms_dir / SENT_LOG)
    done = [item for item in planned if log.holds(item[1], item[0]["file"], item[2])]
    if done and not resume:
        raise InputError(f"{len(done)} of the {len(planned)} messages of {forms_dir} were sent already ({SENT_LOG}: "
                         f"{', '.join(to for _, to, _ in done)}): run with --resume to send only the other "
                         f"{len(planned) - len(done)}, or remove {SENT_LOG} to send them all again")
    todo = [item for item in planned if item not in done]
    accepted = iter(todo)  # the server accepts the messages in the order they are sent

    def sent(msg) -> None:
        wb, to, digest = next(accepted)
        log.record(to, wb["rep"], wb["file"], digest, str(msg["Message-ID"]))

    send_messages(messages(todo), smtp, password, progress, on_sent=sent)
    return SendReport(sent=[to for _, to, _ in todo], skipped=[to for _, to, _ in done])
