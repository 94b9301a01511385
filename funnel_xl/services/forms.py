"""The form use cases, one function each, called by the CLI and by the macros with a workbook path:
generate the forms, send them, collect them back, build the reps' quota sheets, export a values-only copy.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import python_calamine

from funnel_xl.domain.figures import compute_figures
from funnel_xl.domain.normalize import normalize_opportunities, normalize_reps
from funnel_xl.domain.parsing import is_blank, parse_text
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import InputError, WorkbookFormatError
from funnel_xl.forms import collect as fc
from funnel_xl.forms.generate import write_form_workbook
from funnel_xl.forms.model import FormData, Milestone, QuotaData, form_data
from funnel_xl.forms.settings import form_settings
from funnel_xl.forms.version import version_token
from funnel_xl.labels import catalogue, label
from funnel_xl.workbook import contract
from funnel_xl.workbook.cell_patch import Write, formula_of, patch_cells
from funnel_xl.workbook.file_adapter import FileWorkbook
from funnel_xl.workbook.package import split_ref
from funnel_xl.workbook.reader import Inputs, read_inputs
from funnel_xl.workbook.sheet_xml import splice_sheet
from funnel_xl.workbook.zip_patch import atomic_patch

Progress = Callable[[int, int, str], None]
MANIFEST = "manifest.json"
_FILE_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


# --- reading the master -----------------------------------------------------------------------------------------

@dataclass
class Master:
    """The master's inputs, read once: raw tables (for tokens and patching) and clean ones (for figures)."""

    inputs: Inputs
    opps: pd.DataFrame      # clean
    reps: pd.DataFrame      # clean
    problems: list = field(default_factory=list)   # rows left out of the clean table, and why

    @property
    def lang(self) -> str:
        return self.inputs.language


def _read_master(book: FileWorkbook, source: str) -> Master:
    inputs = read_inputs(book, source)
    reps = normalize_reps(inputs.reps, sheet=inputs.rep_sheet, column_labels=inputs.rep_labels)
    opps = normalize_opportunities(inputs.opportunities, inputs.methodology, reps=list(reps.clean["rep"]),
                                   sheet=inputs.opportunity_sheet, column_labels=inputs.opportunity_labels)
    return Master(inputs, opps.clean, reps.clean, [p for p in opps.problems if p.severity == "error"])


def _read_only_master(path: Path) -> Master:
    """Read a snapshot copy, so a master that is open in Excel (its lock file beside it) can still be read."""
    with tempfile.TemporaryDirectory(prefix="funnel_xl_") as tmp:
        copy = Path(tmp) / Path(path).name
        shutil.copy2(path, copy)
        book = FileWorkbook(copy, quiet=True)
        return _read_master(book, Path(path).name)


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
        milestones.append(Milestone(
            label(phase_key, lang) if phase_key in catalogue() else str(ms["phase"]),
            label(ms_key, lang) if ms_key in catalogue() else str(ms["milestone"]),
            num(ms["target"]), num(ms["actual"]), None if pd.isna(ms["met"]) else bool(ms["met"]),
            str(ms["measure"]).startswith(("coverage", "attainment"))))
    return QuotaData(rep, as_of, num(r.get("quota")), num(r.get("achieved")), num(r.get("attainment")),
                     num(r.get("weighted")), num(r.get("coverage")), num(r.get("proposal")), tuple(milestones))


def _figures(master: Master, as_of: dt.date):
    from funnel_xl.services.recalculate import default_roadmap

    return compute_figures(master.opps, master.reps, master.inputs.methodology, as_of, default_roadmap())


def workbook_file_name(rep: str, lang: str, suffix: str = "") -> str:
    return _FILE_UNSAFE.sub("_", f"{label('form.file_prefix', lang)}_{rep}{suffix}") + ".xlsx"


def generate_forms(master_path: str | Path, out_dir: str | Path, *, rep: str | None = None,
                   opportunity: str | None = None, as_of: dt.date | None = None,
                   progress: Progress | None = None, workers: int = 1,
                   skipped: list[str] | None = None) -> list[Path]:
    """One workbook per rep in ``out_dir``: a form sheet per open opportunity, then the rep's quota sheet.

    Also writes ``manifest.json`` (rep, e-mail, file, opportunities, and the rows that got no form because the
    master row is not valid) for ``send_forms``; pass a list as ``skipped`` to receive those lines too. ``rep``
    and ``opportunity`` narrow the selection; a filter that matches nothing is an error, not an empty run.
    ``workers`` > 1 writes the workbooks in a process pool.
    """
    as_of = as_of or dt.date.today()
    master = _read_only_master(Path(master_path))
    m, lang = master.inputs.methodology, master.lang
    opps = master.opps[master.opps["status"] == "open"]
    if rep is not None:
        opps = opps[opps["rep"] == rep.strip()]
    if opportunity is not None:
        opps = opps[opps["id"] == opportunity.strip()]
    if opps.empty:
        wanted = ", ".join(f"{k} {v!r}" for k, v in (("rep", rep), ("opportunity", opportunity)) if v) or "any"
        raise InputError(f"{Path(master_path).name}: no open opportunity matches {wanted} in the opportunities "
                         f"table; nothing to generate")
    figures = _figures(master, as_of)
    emails = dict(zip(master.reps["rep"], master.reps.get("email", pd.Series(dtype=object))))
    derived = derive_stages(opps, m)["derived_stage"]
    jobs = []
    for rep_name, group in opps.groupby("rep", sort=True):
        forms = [_form_data(master.inputs.opportunities.loc[idx].to_dict(), row, m, derived.at[idx])
                 for idx, row in group.iterrows()]
        quota = _quota_data(rep_name, figures, lang, as_of)
        jobs.append((Path(out_dir) / workbook_file_name(rep_name, lang), forms, quota))
    total = sum(len(f) for _, f, _ in jobs)
    written = _write_all(jobs, m, lang, as_of, total, progress, workers)
    left_out = _left_out(master, rep, opportunity)
    if skipped is not None:
        skipped.extend(left_out)
    manifest = {
        "master": Path(master_path).name, "language": lang, "as_of": as_of.isoformat(), "methodology": m.key,
        "workbooks": [{"rep": q.rep if q else f[0].rep, "email": _email(emails.get(f[0].rep)), "file": p.name,
                       "opportunities": [x.opportunity_id for x in f]} for p, f, q in jobs],
        "skipped": left_out,
    }
    (Path(out_dir) / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    return written


def _left_out(master: Master, rep: str | None, opportunity: str | None) -> list[str]:
    """'no form for <row>: <problem>' for every master row the filters would take that is not valid."""
    raw = master.inputs.opportunities
    out = []
    for p in master.problems:
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


def _write_one(args) -> Path:
    path, forms, quota, m, lang, as_of = args
    return write_form_workbook(path, forms, m, lang, as_of, quota)


def _write_all(jobs, m, lang, as_of, total, progress, workers) -> list[Path]:
    done, written = 0, []
    args = [(p, f, q, m, lang, as_of) for p, f, q in jobs]
    if workers > 1 and len(jobs) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (p, f, _), path in zip(jobs, pool.map(_write_one, args)):
                done += len(f)
                written.append(path)
                if progress:
                    progress(done, total, path.name)
        return written
    for a in args:
        written.append(_write_one(a))
        done += len(a[1])
        if progress:
            progress(done, total, a[0].name)
    return written


def build_quota_sheets(master_path: str | Path, out_dir: str | Path, as_of: dt.date | None = None,
                       progress: Progress | None = None) -> list[Path]:
    """One values-only quota workbook per rep (the same sheet the form workbooks carry), for reps with no
    open opportunity too."""
    as_of = as_of or dt.date.today()
    master = _read_only_master(Path(master_path))
    figures = _figures(master, as_of)
    m, lang = master.inputs.methodology, master.lang
    written = []
    reps = list(master.reps["rep"])
    for i, rep in enumerate(reps, start=1):
        quota = _quota_data(rep, figures, lang, as_of)
        path = Path(out_dir) / workbook_file_name(rep, lang, "_" + label("form.quota_sheet", lang))
        written.append(write_form_workbook(path, [], m, lang, as_of, quota))
        if progress:
            progress(i, len(reps), path.name)
    return written


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


# --- collect ----------------------------------------------------------------------------------------------------

@dataclass
class CollectReport:
    """What one Collect run did: the log lines it added, how many forms it merged, and what it refused."""

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

    def summary(self) -> dict:
        return {"files": self.files, "forms": self.forms, "merged": self.merged, "unchanged": self.unchanged,
                "conflicts": self.conflicts, "rejected": self.rejected, "log_lines": len(self.entries),
                "written": self.written}


def collect_forms(master_path: str | Path, inbox: str | Path, *, as_of: dt.date | None = None,
                  progress: Progress | None = None, run_at: dt.datetime | None = None) -> CollectReport:
    """Read the returned forms in ``inbox`` (.xlsx files and saved .eml messages), merge what may be merged
    into 商机, log everything in 收集记录, and leave a ``.rejected.txt`` note beside each refused file.

    ``as_of`` is accepted for the macro's signature; collecting does not depend on the date. Nothing is written
    when there is nothing new (collecting the same forms twice leaves the master as it was).
    """
    master_path = Path(master_path)
    run_at = (run_at or dt.datetime.now()).replace(microsecond=0)
    when = fc.now_stamp(run_at)
    settings = form_settings()
    book = FileWorkbook(master_path, quiet=True)
    master = _read_master(book, master_path.name)
    m, lang = master.inputs.methodology, master.lang
    raw = master.inputs.opportunities
    audit_name = contract.sheet_name("audit", lang)
    if book.index.sheet(audit_name) is None:
        raise WorkbookFormatError(f"{master_path.name}: the collection log sheet {audit_name!r} is missing; "
                                  "rebuild the workbook or add a sheet of that name")

    rows: dict[str, object] = {}
    duplicated: set[str] = set()
    for idx, value in raw["id"].items():
        key = parse_text(value)
        if key is None:
            continue
        if key in rows:
            duplicated.add(key)
        rows[key] = idx
    working = {idx: raw.loc[idx].to_dict() for idx in raw.index}

    candidates = fc.find_candidates(Path(inbox), settings)
    by_source = {c.source: c for c in candidates}
    report = CollectReport(files=len(candidates))
    field_names = dict(master.inputs.opportunity_labels)
    changed_rows: dict[object, dict[str, object]] = {}
    rejected_reasons: dict[Path, list[str]] = {}
    for item in fc.read_candidates(candidates, m, settings, progress):
        if isinstance(item, fc.FormPlan):
            plan = item
        else:
            report.forms += 1
            opp = item.opportunity_id
            if opp in duplicated:
                plan = fc.FormPlan(item, item.source, "rejected",
                                   reason=f"opportunity {opp!r} appears more than once in the opportunities table")
            else:
                idx = rows.get(opp)
                plan = fc.plan_form(item, None if idx is None else working[idx], m, lang)
                plan.row = idx
        if plan.action == "merge":
            report.merged += 1
            for ch in plan.changes:
                working[plan.row][ch.column] = ch.new_value
                changed_rows.setdefault(plan.row, {})[ch.column] = ch.new_value
        elif plan.action == "unchanged":
            report.unchanged += 1
        elif plan.action == "conflict":
            report.conflicts += 1
        else:
            report.rejected += 1
            path = by_source[plan.source.split("/")[0] if plan.source not in by_source else plan.source].path
            rejected_reasons.setdefault(path, []).append(plan.reason)
        report.entries += fc.audit_entries(plan, when, field_names, lang)

    for path, reasons in rejected_reasons.items():
        report.rejection_notes.append(fc.write_rejection_note(path, reasons))

    existing = _existing_audit(master_path, audit_name)
    seen = {tuple(r[1:]) for r in existing}
    report.entries = [e for e in report.entries if e.identity(lang) not in seen]
    if not changed_rows and not report.entries:
        return report
    if progress:
        progress(report.files, report.files, label("form.progress.writing", lang))
    replaced = _patched_parts(book, master, changed_rows, working, existing, report.entries, audit_name, when)
    report.backup = atomic_patch(master_path, master_path, replaced)
    report.written = True
    return report


def _existing_audit(path: Path, sheet: str) -> list[list[str]]:
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    return fc.existing_audit_rows([list(r) for r in rows])


def _patched_parts(book: FileWorkbook, master: Master, changed_rows: dict, working: dict, existing: list,
                   entries: list, audit_name: str, when: str) -> dict[str, bytes]:
    """The new 商机 sheet part (changed cells plus the derived columns' cached values of those rows) and the new
    收集记录 part; every other part of the package is copied raw by the caller."""
    m, lang = master.inputs.methodology, master.lang
    table = book.index.tables[contract.TABLE_OPPORTUNITIES]
    _, c1, _, _ = split_ref(table.ref)
    headers = list(book.read_table(contract.TABLE_OPPORTUNITIES).frame.columns)
    col_of = {h: c1 + i for i, h in enumerate(headers)}
    labels = master.inputs.opportunity_labels
    part = book.index.sheet(table.sheet).part
    with zipfile.ZipFile(book.path) as zf:
        sheet_xml = zf.read(part).decode("utf-8")
        styles = book.styles(zf)
        audit_part = book.index.sheet(audit_name).part
        audit_xml = zf.read(audit_part).decode("utf-8")
    writes: dict[tuple[int, int], Write] = {}
    for row, cols in changed_rows.items():
        for column, value in cols.items():
            writes[(int(row), col_of[labels[column]])] = Write(value)
    writes.update(_derived_writes(sheet_xml, changed_rows, working, master, headers, col_of))
    replaced = {}
    if writes:
        replaced[part] = patch_cells(sheet_xml, writes).encode("utf-8")
    sheet = fc.audit_sheet(existing, entries, lang)
    replaced[audit_part] = splice_sheet(audit_xml, sheet, styles).encode("utf-8")
    return replaced


def _derived_writes(sheet_xml: str, changed_rows: dict, working: dict, master: Master, headers: list[str],
                    col_of: dict[str, int]) -> dict[tuple[int, int], Write]:
    """Cached values of win rate, weighted amount, assessed stage and gap for the changed rows, recomputed with
    the domain, kept under their live formulas."""
    if not changed_rows:
        return {}
    m, lang = master.inputs.methodology, master.lang
    frame = pd.DataFrame([working[r] for r in changed_rows], index=list(changed_rows), dtype=object)
    clean = normalize_opportunities(frame, m, sheet=master.inputs.opportunity_sheet,
                                    column_labels=master.inputs.opportunity_labels).clean
    figures = pd.DataFrame(index=clean.index)
    if not clean.empty:
        rated = with_rates(clean, m)
        derived = derive_stages(clean, m)
        figures = pd.DataFrame({"win_rate": rated["win_rate"], "weighted": rated["weighted"],
                                "derived_stage": derived["derived_stage"], "stage_gap": derived["stage_gap"]},
                               index=clean.index)
    writes = {}
    for key in ("win_rate", "weighted", "derived_stage", "stage_gap"):
        header = next((h for h in headers if h in {contract.opportunity_header(key, l) for l in ("zh-CN", "en")}),
                      None)
        if header is None:
            continue
        col = col_of[header]
        for row in changed_rows:
            value = None
            if row in figures.index:
                v = figures.at[row, key]
                if key == "derived_stage":
                    value = "" if is_blank(v) else m.stage(v).name(lang)
                else:
                    value = "" if is_blank(v) else float(v)
            writes[(int(row), col)] = Write(value, formula_of(sheet_xml, int(row), col))
    return writes


# --- export -----------------------------------------------------------------------------------------------------

def export_for_readers(master_path: str | Path, out_path: str | Path) -> Path:
    """A values-only .xlsx copy of the master for readers without Python (see ``exchange.export``)."""
    from funnel_xl.exchange.export import export_values_only

    return export_values_only(Path(master_path), Path(out_path))
