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

import datetime as dt

from funnel_xl.domain.merge import MergeResult
from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.parsing import neutralise
from funnel_xl.domain.schema import Problem
from funnel_xl.errors import InputError, MappingError, MethodologyError
from funnel_xl.exchange.import_plan import ImportPlan, plan_import, problem_table
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
               outputs: OutputSink | None = None, problems_name: str | None = None,
               as_of: dt.date | None = None) -> ImportReport:
    """Import ``export_path`` (a file, or a folder holding the files ``mapping`` names) into the workbook; write
    nothing on ``dry_run``. On a real run the full problem list goes to ``outputs`` as ``problems_name`` (default:
    named after the workbook). ``as_of`` is the report date a relative default counts from (default today). Raises
    MappingError / InputError / WorkbookFormatError with a message naming the file and what was expected."""
    inputs = read_inputs(book, book.name)
    m, lang = inputs.methodology, inputs.language
    book.status(label("progress_msg.importing", lang))
    check_methodology(mapping, m, book.name)
    opp_sheet, rep_sheet = inputs.opportunity_sheet, inputs.rep_sheet
    problems: list[Problem] = []
    opp_rows = book.read_rows(contract.TABLE_OPPORTUNITIES)
    rep_rows = book.read_rows(contract.TABLE_REPS)
    existing_opps = _with_ids(opp_rows, "id", opp_sheet, inputs.opportunity_labels, problems)
    existing_reps = _with_ids(rep_rows, "rep", rep_sheet, inputs.rep_labels, problems)
    plan = plan_import(mapping, export_path, existing_opps, existing_reps, methodology=m, as_of=as_of, lang=lang)
    problems = [*plan.problems, *problems]
    # What the tables cannot hold is reported and left out of the plan, so its counts say what is written.
    plan = replace(plan, opportunities=_only_columns_of(set(opp_rows.columns), contract.TABLE_OPPORTUNITIES,
                                                        plan.opportunities, opp_sheet, contract.opportunity_header,
                                                        lang, problems),
                   reps=_only_columns_of(set(rep_rows.columns), contract.TABLE_REPS, plan.reps, rep_sheet,
                                         contract.rep_header, lang, problems))
    plan = replace(plan, problems=tuple(problems))

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
            problems_file = _write_problems(outputs, problems_name or problems_file_name(book.name), problems, lang)
    return ImportReport(plan=plan, problems=tuple(problems), language=lang, dry_run=dry_run, written=written,
                        problems_path=problems_file)


def starting_mapping(export: str | Path, outputs: OutputSink, name: str, *, book: WorkbookPort | None = None,
                     methodology: str | None = None, sheet: str | None = None) -> Path:
    """Write ``name`` into ``outputs``: a mapping drafted from the export's headers and values, every guess a
    commented line to confirm (``exchange.mapping_init``). The methodology is the workbook's when ``book`` is given,
    else ``methodology`` (a built-in key or a file; default the build's, big_project)."""
    from funnel_xl.exchange.mapping_init import draft_mapping
    from funnel_xl.methodologies import load_methodology

    if book is not None:
        m, workbook = read_inputs(book, book.name).methodology, book.name
    else:
        m, workbook = load_methodology(methodology or "big_project"), "Funnel.xlsm"
    text = draft_mapping(Path(export), m, sheet=sheet, workbook=workbook, mapping_name=name)
    return outputs.write(name, text.encode("utf-8"))


def check_methodology(mapping: Mapping, methodology: Methodology, workbook: str) -> None:
    """Refuse a mapping written for another methodology than the workbook's, naming both and the command that builds
    a workbook the mapping fits (its [stages] name that methodology's stages)."""
    if mapping.methodology == methodology.key:
        return
    from funnel_xl.methodologies import load_methodology

    try:
        written_for = load_methodology(mapping.methodology).key
    except MethodologyError:
        written_for = mapping.methodology
    if written_for == methodology.key:
        return
    raise MappingError(
        f"mapping {mapping.path.name} is written for methodology {mapping.methodology!r}, but the workbook "
        f"{workbook} uses {methodology.key!r}: import into a workbook built for it (funnel-xl build-workbook "
        f"-o {Path(workbook).stem}-{written_for}.xlsm --methodology {mapping.methodology} --data empty), or write "
        f"methodology = {methodology.key!r} in the mapping with [stages] naming its stages "
        f"({', '.join(methodology.stage_keys)})")


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
                                "warning", "import_row_without_key"))
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
        added = merge.added
        for column in added.columns:
            if column not in columns:
                filled = int((~added[column].map(_missing)).sum())
                if filled:
                    lacking[column] = lacking.get(column, 0) + filled
    for column, count in lacking.items():
        problems.append(Problem(sheet, None, header(column, lang), None,
                                f"the table {table} has no such column, so {count} value(s) from the export are not "
                                f"written; add the column (its header as shown) and import again", "warning",
                                "import_table_lacks_column", (("table", table), ("count", int(count)))))
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
        added = merge.added
        book.append_rows(table, added[[c for c in added.columns if c in columns]].reset_index(drop=True))


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def _write_problems(outputs: OutputSink, name: str, problems: list[Problem], lang: str) -> Path | None:
    """The full problem list as CSV (UTF-8 with BOM, so Excel shows the Chinese right), in the workbook's language;
    removed when an import leaves no problem, so a stale list never misleads. Text that starts like a formula gets a
    leading apostrophe, as collect does in the workbook: Excel opens a CSV by evaluating such cells."""
    if not problems:
        outputs.remove(name)
        return None
    table = problem_table(problems, lang)
    for col in ("sheet", "column", "value", "message"):
        table[col] = table[col].map(lambda v: neutralise(v)[0] if isinstance(v, str) else v)
    return outputs.write(name, table.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
