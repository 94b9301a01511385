"""The master's input tables read through the port and normalised: where every use case but export starts."""

from __future__ import annotations

from dataclasses import dataclass

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.normalize import Normalized, normalize_opportunities, normalize_reps
from funnel_xl.domain.schema import Problem
from funnel_xl.labels import label
from funnel_xl.reports.problems_sheet import problem_owners
from funnel_xl.workbook.contract import sheet_language
from funnel_xl.workbook.port import WorkbookPort
from funnel_xl.workbook.reader import Inputs, read_inputs


@dataclass(frozen=True)
class Master:
    """What the user typed (``inputs``: raw, canonical keys, sheet rows) and the normalised reps and opportunities."""

    inputs: Inputs
    reps: Normalized
    opportunities: Normalized

    @property
    def methodology(self) -> Methodology:
        return self.inputs.methodology

    @property
    def language(self) -> str:
        return self.inputs.language

    @property
    def problems(self) -> list[Problem]:
        """Everything reading it found: settings and stages, then the reps, then the opportunities."""
        return [*self.inputs.problems, *self.reps.problems, *self.opportunities.problems]

    def problem_owners(self, problems: list[Problem]) -> dict[tuple, tuple]:
        """(sheet, row) -> (商机编号, customer, rep) for the rows ``problems`` name, so 数据问题 says whose each is."""
        i = self.inputs
        return problem_owners(i.opportunity_sheet, i.opportunities, i.rep_sheet, i.reps, problems)


def read_master(book: WorkbookPort) -> Master:
    """Read 阶段设置, 商机 and 销售人员 and check every row, telling the user each step."""
    book.status(label("progress_msg.reading", sheet_language(book.sheet_names())))
    inputs = read_inputs(book, book.name)
    book.status(label("progress_msg.validating", inputs.language))
    reps = normalize_reps(inputs.reps, sheet=inputs.rep_sheet, column_labels=inputs.rep_labels)
    opps = normalize_opportunities(inputs.opportunities, inputs.methodology, reps=list(reps.clean["rep"]),
                                   sheet=inputs.opportunity_sheet, column_labels=inputs.opportunity_labels)
    return Master(inputs, reps, opps)
