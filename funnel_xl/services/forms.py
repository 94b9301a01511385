"""The outgoing form use cases, one function each over a workbook port and an output sink: generate the
stage-assessment forms, build the reps' quota sheets; and send the generated forms by mail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd

from funnel_xl.domain.figures import Figures, compute_figures
from funnel_xl.domain.parsing import is_blank, parse_text
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import InputError
from funnel_xl.forms.model import FormData, Milestone, QuotaData, form_data
from funnel_xl.forms.version import version_token
from funnel_xl.labels import catalogue, label
from funnel_xl.outputs import FormWorkbook, OutputSink, Progress
from funnel_xl.services.master import Master, read_master
from funnel_xl.workbook.port import WorkbookPort

MANIFEST = "manifest.json"
_FILE_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


# --- generate ---------------------------------------------------------------------------------------------------

def _form_data(raw: dict, clean: pd.Series, m, derived: str | None) -> FormData:
    return form_data(clean, m, version_token(raw), derived)


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


def workbook_file_name(rep: str, lang: str, suffix: str = "") -> str:
    return _FILE_UNSAFE.sub("_", f"{label('form.file_prefix', lang)}_{rep}{suffix}") + ".xlsx"


def generate_forms(book: WorkbookPort, out: OutputSink, *, rep: str | None = None, opportunity: str | None = None,
                   as_of: dt.date | None = None, progress: Progress | None = None, workers: int = 1,
                   skipped: list[str] | None = None) -> list[Path]:
    """One workbook per rep into ``out``: a form sheet per open opportunity, then the rep's quota sheet.

    Also writes ``manifest.json`` (rep, e-mail, file, opportunities, and the rows that got no form because the
    master row is not valid) for ``send_forms``; pass a list as ``skipped`` to receive those lines too. ``rep``
    and ``opportunity`` narrow the selection; a filter that matches nothing is an error, not an empty run.
    ``workers`` > 1 lets the sink write the workbooks in a process pool.
    """
    as_of = as_of or dt.date.today()
    master = read_master(book)
    m, lang = master.methodology, master.language
    clean = master.opportunities.clean
    opps = clean[clean["status"] == "open"]
    if rep is not None:
        opps = opps[opps["rep"] == rep.strip()]
    if opportunity is not None:
        opps = opps[opps["id"] == opportunity.strip()]
    if opps.empty:
        wanted = ", ".join(f"{k} {v!r}" for k, v in (("rep", rep), ("opportunity", opportunity)) if v) or "any"
        raise InputError(f"{book.name}: no open opportunity matches {wanted} in the opportunities "
                         f"table; nothing to generate")
    figures = _figures(master, as_of)
    reps = master.reps.clean
    emails = dict(zip(reps["rep"], reps.get("email", pd.Series(dtype=object))))
    derived = derive_stages(opps, m)["derived_stage"]
    books = []
    for rep_name, group in opps.groupby("rep", sort=True):
        forms = [_form_data(master.inputs.opportunities.loc[idx].to_dict(), row, m, derived.at[idx])
                 for idx, row in group.iterrows()]
        books.append(FormWorkbook(workbook_file_name(rep_name, lang), forms, _quota_data(rep_name, figures, lang, as_of),
                                  m, lang, as_of))
    written = out.form_workbooks(books, workers=workers, progress=progress)
    left_out = _left_out(master, rep, opportunity)
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


def _left_out(master: Master, rep: str | None, opportunity: str | None) -> list[str]:
    """'no form for <row>: <problem>' for every master row the filters would take that gets none: a row that is not
    valid, and a deal without a rep (it counts, under 未分配, but nobody is there to fill its form in)."""
    raw = master.inputs.opportunities
    out = []
    for p in master.opportunities.problems:
        if p.severity != "error" and p.code != "rep_missing":
            continue
        if p.row in raw.index:
            r = raw.loc[p.row]
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
    suffix = "_" + label("form.quota_sheet", lang)
    books = [FormWorkbook(workbook_file_name(rep, lang, suffix), [], _quota_data(rep, figures, lang, as_of), m, lang,
                          as_of) for rep in master.reps.clean["rep"]]
    return out.form_workbooks(books, progress=progress)


# --- send -------------------------------------------------------------------------------------------------------

def send_forms(forms_dir: str | Path, *, sender: str, smtp=None, password: str | None = None,
               outbox: str | Path | None = None, progress: Progress | None = None) -> list[str]:
    """Mail each rep their workbook (addresses from the manifest, i.e. the reps table). With ``outbox`` the
    messages are written there as .eml files instead (dry run). Returns the recipients."""
    from funnel_xl.exchange.mail import check_address, form_message, send_messages, write_outbox

    forms_dir = Path(forms_dir)
    manifest_path = forms_dir / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"{forms_dir}: no {MANIFEST}; generate the forms into this folder first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    lang = manifest.get("language", "zh-CN")
    check_address(sender, "--from")
    messages = []
    for wb in manifest["workbooks"]:
        to = check_address(wb["email"], f"rep {wb['rep']}")
        messages.append(form_message(to=to, sender=sender, rep=wb["rep"], count=len(wb["opportunities"]),
                                     attachment=forms_dir / wb["file"], lang=lang))
    if outbox is not None:
        write_outbox(messages, Path(outbox))
    else:
        if smtp is None:
            raise InputError("no SMTP server given: use --smtp HOST:PORT, or --dry-run to write .eml files")
        send_messages(messages, smtp, password, progress)
    return [str(msg["To"]) for msg in messages]


