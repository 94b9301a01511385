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

from funnel_xl.domain.schema import Problem
from funnel_xl.errors import InputError, MappingError
from funnel_xl.exchange.crm_import import ImportPlan, plan_import, problem_table
from funnel_xl.domain.merge import MergeResult
from funnel_xl.exchange.mapping import load_mapping
from funnel_xl.labels import label
from funnel_xl.workbook import contract
from funnel_xl.workbook.table_writer import TableWriter, WriteSummary

PROBLEMS_SUFFIX = ".import-problems.csv"


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, on a dry run, would do): the plan's counts, the problems, where things went."""

    plan: ImportPlan
    problems: tuple[Problem, ...]
    language: str
    dry_run: bool
    output: Path
    written: WriteSummary | None = None          # None: nothing was written (dry run, or nothing changed)
    problems_path: Path | None = None

    @property
    def changes_anything(self) -> bool:
        return self.plan.changes_anything

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
            lines.append(f"-> {self.written.output}{backup}")
        if self.problems_path is not None:
            lines.append(f"{label('import_cli.problems_file', lang)}: {self.problems_path}")
        return "\n".join(lines)


def problems_path_for(workbook: Path) -> Path:
    """Where the full list of import problems goes: beside the workbook, named after it."""
    return workbook.with_name(workbook.stem + PROBLEMS_SUFFIX)


def import_crm(workbook_path: str | Path, export_path: str | Path, mapping_path: str | Path, *,
               dry_run: bool = False, output: str | Path | None = None) -> ImportReport:
    """Import ``export_path`` through ``mapping_path`` into the workbook (or into ``output``); write nothing on
    ``dry_run``. Raises MappingError / InputError / WorkbookFormatError / WorkbookLockedError with a message naming
    the file and what was expected."""
    workbook_path = Path(workbook_path)
    writer = TableWriter(workbook_path, output=output)
    mapping = load_mapping(mapping_path)
    m = writer.methodology
    opp_sheet, rep_sheet = writer.inputs.opportunity_sheet, writer.inputs.rep_sheet
    problems: list[Problem] = []
    existing_opps = _with_ids(writer.existing(contract.TABLE_OPPORTUNITIES), "id", opp_sheet,
                              writer.inputs.opportunity_labels, problems)
    existing_reps = _with_ids(writer.existing(contract.TABLE_REPS), "rep", rep_sheet,
                              writer.inputs.rep_labels, problems)
    try:
        plan = plan_import(mapping, export_path, existing_opps, existing_reps, methodology=m)
    except MappingError as exc:
        if mapping.methodology != m.key:
            raise MappingError(f"{exc} (the workbook {workbook_path.name} uses methodology {m.key!r}; the mapping "
                               f"is written for {mapping.methodology!r})") from None
        raise
    problems = [*plan.problems, *problems]
    # What the tables cannot hold is reported and left out of the plan, so its counts say what is written.
    plan = replace(plan, opportunities=_only_columns_of(writer, contract.TABLE_OPPORTUNITIES, plan.opportunities,
                                                        opp_sheet, contract.opportunity_header, problems),
                   reps=_only_columns_of(writer, contract.TABLE_REPS, plan.reps, rep_sheet, contract.rep_header,
                                         problems))
    plan = replace(plan, result=replace(plan.result, problems=tuple(problems)))
    _stage_writes(writer, contract.TABLE_OPPORTUNITIES, "id", plan.opportunities, existing_opps)
    _stage_writes(writer, contract.TABLE_REPS, "rep", plan.reps, existing_reps)

    output_path = writer.book.output
    written = None
    problems_file = None
    if not dry_run:
        if writer.changes_anything:
            written = writer.save()
        problems_file = _write_problems(problems_path_for(output_path), problems)
    return ImportReport(plan=plan, problems=tuple(problems), language=writer.language, dry_run=dry_run,
                        output=output_path, written=written, problems_path=problems_file)


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


def _only_columns_of(writer: TableWriter, table: str, merge: MergeResult, sheet: str, header,
                     problems: list[Problem]) -> MergeResult:
    """The merge without the changes to columns the table lacks (each such column reported once)."""
    lang = writer.language
    keep = merge.updated["column"].map(lambda c: writer.has_column(table, c)).astype(bool)
    lacking = merge.updated.loc[~keep, "column"].value_counts()
    if merge.added_ids:
        key = "id" if table == contract.TABLE_OPPORTUNITIES else "rep"
        added = merge.merged[merge.merged[key].isin(set(merge.added_ids))]
        for column in added.columns:
            if not writer.has_column(table, column):
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


def _stage_writes(writer: TableWriter, table: str, key: str, merge: MergeResult, existing: pd.DataFrame) -> None:
    """Hand the merge's changed cells and new rows to the writer."""
    row_of = dict(zip(existing[key].tolist(), existing.index.tolist()))
    for rec in merge.updated.itertuples(index=False):
        writer.update(table, row_of[rec.id], rec.column, rec.new)
    if merge.added_ids:
        added = merge.merged[merge.merged[key].isin(set(merge.added_ids))]
        for record in added.to_dict("records"):
            writer.append(table, {c: v for c, v in record.items() if writer.has_column(table, c)})


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def _write_problems(path: Path, problems: list[Problem]) -> Path | None:
    """The full problem list as CSV (UTF-8 with BOM, so Excel shows the Chinese right); rewritten only when its
    content changes, and removed when an import leaves no problem, so a stale list never misleads."""
    if not problems:
        path.unlink(missing_ok=True)
        return None
    data = problem_table(problems).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path
