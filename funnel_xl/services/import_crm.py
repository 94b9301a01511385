"""Import a CRM export (导入CRM数据) into the workbook's 商机 and 销售人员 tables: plan, report, write once.

The plan (``exchange.crm_import.plan_import``) merges the export into what the workbook holds by id, so a
re-import updates rows instead of duplicating them and a second run of the same export writes nothing. Every
problem goes to the screen and, on a real run, to ``<workbook stem>.import-problems.csv`` beside the workbook
(数据问题 belongs to Recalculate, which reports what is still wrong in the tables after the import).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from funnel_xl.domain.merge import MergeResult
from funnel_xl.domain.schema import Problem
from funnel_xl.errors import InputError, MappingError
from funnel_xl.exchange.crm_import import ImportPlan, plan_import, problem_table
from funnel_xl.exchange.mapping import Mapping
from funnel_xl.labels import label
from funnel_xl.outputs import OutputSink
from funnel_xl.workbook import contract
from funnel_xl.workbook.port import Saved, WorkbookPort
from funnel_xl.workbook.reader import read_inputs

PROBLEMS_SUFFIX = ".import-problems.csv"


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, on a dry run, would do): the plan's counts, the problems, where things went."""

    plan: ImportPlan
    problems: tuple[Problem, ...]
    language: str
    dry_run: bool
    written: Saved | None = None          # None: nothing was written (dry run, or nothing changed)
    problems_path: Path | None = None

    def summary(self) -> dict:
        """The counts (the plan's), plus what was written; the JSON a script or test can check."""
        out = dict(self.plan.summary())
        out["written"] = self.written is not None
        out["dry_run"] = self.dry_run
        return out

    def describe(self, lang: str | None = None) -> str:
        """The report printed by the command line: counts, grouped problems, and where the file went."""
        lang = lang or self.language
        lines = [self.plan.describe(lang)]
        if self.dry_run:
            lines.append(label("import.dry_run", lang))
        elif self.written is None:
            lines.append(label("import_cli.nothing_to_write", lang))
        else:
            backup = f" ({label('import_cli.backup', lang)}: {self.written.backup.name})" if self.written.backup else ""
            lines.append(f"-> {self.written.target}{backup}")
        if self.problems_path is not None:
            lines.append(f"{label('import_cli.problems_file', lang)}: {self.problems_path}")
        return "\n".join(lines)


def problems_file_name(workbook_name: str) -> str:
    """The name of the full list of import problems: the workbook's, with its own suffix (it goes beside it)."""
    return Path(workbook_name).stem + PROBLEMS_SUFFIX


def import_crm(book: WorkbookPort, export_path: str | Path, mapping: Mapping, *, dry_run: bool = False,
               outputs: OutputSink | None = None, problems_name: str | None = None) -> ImportReport:
    """Import ``export_path`` (a file, or a folder holding the files ``mapping`` names) into the workbook; write
    nothing on ``dry_run``. On a real run the full problem list goes to ``outputs`` as ``problems_name`` (default:
    named after the workbook). Raises MappingError / InputError / WorkbookFormatError with a message naming the
    file and what was expected."""
    inputs = read_inputs(book, book.name)
    m, lang = inputs.methodology, inputs.language
    book.status(label("progress_msg.importing", lang))
    opp_sheet, rep_sheet = inputs.opportunity_sheet, inputs.rep_sheet
    problems: list[Problem] = []
    opp_rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
    rep_rows = book.read_rows(contract.TABLE_REPS)
    existing_opps = _with_ids(opp_rows, "id", opp_sheet, inputs.opportunity_labels, problems)
    existing_reps = _with_ids(rep_rows, "rep", rep_sheet, inputs.rep_labels, problems)
    try:
        plan = plan_import(mapping, export_path, existing_opps, existing_reps, methodology=m)
    except MappingError as exc:
        if mapping.methodology != m.key:
            raise MappingError(f"{exc} (the workbook {book.name} uses methodology {m.key!r}; the mapping "
                               f"is written for {mapping.methodology!r})") from None
        raise
    problems = [*plan.problems, *problems]
    # What the tables cannot hold is reported and left out of the plan, so its counts say what is written.
    plan = replace(plan, opportunities=_only_columns_of(set(opp_rows.columns), contract.TABLE_OPPORTUNITIES,
                                                        plan.opportunities, opp_sheet, contract.opportunity_header,
                                                        lang, problems),
                   reps=_only_columns_of(set(rep_rows.columns), contract.TABLE_REPS, plan.reps, rep_sheet,
                                         contract.rep_header, lang, problems))
    plan = replace(plan, result=replace(plan.result, problems=tuple(problems)))

    written = None
    problems_file = None
    if not dry_run:
        if plan.changes_anything:
            book.status(label("progress_msg.import_writing", lang))
            _stage_writes(book, contract.TABLE_OPPORTUNITIES, "id", plan.opportunities, existing_opps,
                          set(opp_rows.columns))
            _stage_writes(book, contract.TABLE_REPS, "rep", plan.reps, existing_reps, set(rep_rows.columns))
            written = book.save()
        if outputs is not None:
            problems_file = _write_problems(outputs, problems_name or problems_file_name(book.name), problems)
    return ImportReport(plan=plan, problems=tuple(problems), language=lang, dry_run=dry_run, written=written,
                        problems_path=problems_file)


def _with_ids(frame: pd.DataFrame, key: str, sheet: str, labels: dict[str, str],
              problems: list[Problem]) -> pd.DataFrame:
    """The rows an import can match: those with a ``key``. Blank rows are skipped; a filled row without a key is
    reported and left as it is; a key used twice stops the import, naming the rows."""
    if key not in frame.columns:
        return pd.DataFrame(columns=[key])
    blank = frame.map(lambda v: v is None).all(axis=1) if len(frame.columns) else frame.index.to_series().map(bool)
    keyed = frame[~blank & frame[key].notna()]
    header = labels.get(key, key)
    for row in frame.index[~blank & frame[key].isna()]:
        problems.append(Problem(sheet, int(row), header, None,
                                "this row has no value here, so an import cannot match it; it is left as it is",
                                "warning"))
    dup = keyed[key][keyed[key].duplicated(keep=False)]
    if not dup.empty:
        value = dup.iloc[0]
        rows = ", ".join(str(r) for r in dup.index[dup == value])
        raise InputError(f"sheet {sheet}, rows {rows}, column {header}: {value!r} appears more than once; each "
                         f"row needs its own {header} before an import can match rows")
    return keyed


def _only_columns_of(columns: set[str], table: str, merge: MergeResult, sheet: str, header, lang: str,
                     problems: list[Problem]) -> MergeResult:
    """The merge without the changes to columns the table lacks (each such column reported once)."""
    keep = merge.updated["column"].map(lambda c: c in columns).astype(bool)
    lacking = merge.updated.loc[~keep, "column"].value_counts()
    if merge.added_ids:
        key = "id" if table == contract.TABLE_OPPORTUNITIES else "rep"
        added = merge.merged[merge.merged[key].isin(set(merge.added_ids))]
        for column in added.columns:
            if column not in columns:
                filled = int((~added[column].map(_missing)).sum())
                if filled:
                    lacking[column] = lacking.get(column, 0) + filled
    for column, count in lacking.items():
        problems.append(Problem(sheet, None, header(column, lang), None,
                                f"the table {table} has no such column, so {count} value(s) from the export are not "
                                f"written; add the column (its header as shown) and import again", "warning"))
    if keep.all():
        return merge
    updated = merge.updated[keep].reset_index(drop=True)
    matched = merge.unchanged_count + len(set(merge.updated["id"]))
    return replace(merge, updated=updated, unchanged_count=matched - len(set(updated["id"])))


def _stage_writes(book: WorkbookPort, table: str, key: str, merge: MergeResult, existing: pd.DataFrame,
                  columns: set[str]) -> None:
    """Hand the merge's changed cells and new rows to the workbook."""
    row_of = dict(zip(existing[key].tolist(), existing.index.tolist()))
    book.update_cells(table, {(row_of[rec.id], rec.column): rec.new for rec in merge.updated.itertuples(index=False)})
    if merge.added_ids:
        added = merge.merged[merge.merged[key].isin(set(merge.added_ids))]
        book.append_rows(table, [{c: v for c, v in record.items() if c in columns}
                                 for record in added.to_dict("records")])


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def _write_problems(outputs: OutputSink, name: str, problems: list[Problem]) -> Path | None:
    """The full problem list as CSV (UTF-8 with BOM, so Excel shows the Chinese right); rewritten only when its
    content changes, and removed when an import leaves no problem, so a stale list never misleads."""
    if not problems:
        outputs.remove(name)
        return None
    return outputs.write(name, problem_table(problems).to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
