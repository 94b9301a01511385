"""Worksheet functions (=FUNNEL_...): thin xlwings wrappers over the pure domain, vectorised over ranges.

Each function turns what Excel passes (a scalar, or a 2-D list of cells with None for blanks and datetime for
dates) into the domain's input, calls the domain, and gives back values shaped like the input range, so dynamic
arrays spill. Bad input never raises into Excel, where xlwings would show a traceback: the cell shows a text that
starts with Excel's error name and says which argument, which row and what was expected. Those conversions, both
ways, live in ``udf_args``; this module holds the functions alone.

The workbook's ``xlwings.conf`` sheet names this module under "UDF Modules". The function wizard shows each
docstring and each ``@xw.arg(doc=...)``; the 说明 sheet lists the functions from the labels ``udf.<NAME>.*``.
"""

from __future__ import annotations


import pandas as pd
import xlwings as xw

from funnel_xl.domain.forecast import forecast_category, time_bucket, weighted_forecast
from funnel_xl.domain.funnel import required_pipeline
from funnel_xl.domain.normalize import normalize_reps
from funnel_xl.domain.parsing import is_blank, parse_amount, parse_bool
from funnel_xl.domain.quota import attainment, quota_proposal
from funnel_xl.domain.rates import with_rates
from funnel_xl.domain.schema import checklist_column
from funnel_xl.domain.stages import derive_stages
from funnel_xl.errors import FunnelError
from funnel_xl.domain.settings import fiscal_year
from funnel_xl.excel.udf_args import (
    DIV0, NOT_AVAILABLE, VALUE, CellError, Cells, amount_at, as_column, cell_out, clean_opportunities,
    excel_safe, one_line, per_rep, read_as_of, read_basis, read_dates, read_language, read_methodology,
    read_month, read_rates, read_statuses, read_table, read_year, rep_headers, rep_problems, same_size,
    scalar_amount, stage_list,
)
from funnel_xl.labels import label

CATEGORY = "Funnel (funnel_xl)"


# ------------------------------------------------------------------------------------------- functions

@xw.func(category=CATEGORY)
@xw.arg("text", ndim=2, doc="Amounts as typed: 120万, ¥1,200,000, 1.2亿, 一百二十万 or plain numbers (a cell or a range).")
@excel_safe
def FUNNEL_AMOUNT(text):
    """The amount in CNY (元) of each cell: 120万 gives 1200000. Blank cells stay blank; estimates (约100万),
    ranges (100-200万) and other currencies are refused with a reason."""
    cells = Cells(text, "text")
    out = []
    for i, v in enumerate(cells.values):
        if is_blank(v):
            out.append(None)
            continue
        try:
            out.append(parse_amount(v))
        except FunnelError as exc:
            out.append(cells.error(VALUE, i, one_line(exc)))
    return cells.shaped(out)


@xw.func(category=CATEGORY)
@xw.arg("stage", ndim=2, doc="A stage name (中文 or English), stage key or synonym; a cell or a range.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All] (the 阶段设置 stage table) or two columns "
                                    "(stage, win rate); omitted: the built-in big_project methodology.")
@excel_safe
def FUNNEL_WINRATE(stage, stages_table=None):
    """The win rate (赢率, 0-1) of each stage. An unknown stage shows #N/A with the stages expected."""
    m = read_methodology(stages_table)
    cells = Cells(stage, "stage")
    rates = m.rates()
    out = []
    for i, v in enumerate(cells.values):
        if is_blank(v):
            out.append(None)
            continue
        key = m.resolve_stage(v)
        out.append(rates[key] if key is not None else cells.error(
            NOT_AVAILABLE, i, f"{v!r} is not a stage of {m.name('en')}; expected one of: {stage_list(m)}"))
    return cells.shaped(out)


@xw.func(category=CATEGORY)
@xw.arg("amounts", ndim=2, doc="The amounts (元), e.g. tblOpportunities[预计金额]; text such as 120万 is read.")
@xw.arg("stages_or_rates", ndim=2, doc="One stage or win rate per amount (same size as amounts).")
@xw.arg("statuses", ndim=2, doc="Optional: one status per amount (进行中/赢单/丢单); only open rows count. "
                                "Omitted: every row counts.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@excel_safe
def FUNNEL_WEIGHTED(amounts, stages_or_rates, statuses=None, stages_table=None):
    """The weighted forecast (销售预计): Σ amount × win rate over the open rows. Rows blank in both ranges are
    skipped; any other unreadable cell makes the whole result an error naming its row."""
    m = read_methodology(stages_table)
    amount_cells, stage_cells = Cells(amounts, "amounts"), Cells(stages_or_rates, "stages_or_rates")
    same_size(amount_cells, stage_cells)
    rows = [i for i in range(len(amount_cells.values))
            if not (is_blank(amount_cells.values[i]) and is_blank(stage_cells.values[i]))]
    for i in rows:
        if is_blank(amount_cells.values[i]):
            raise CellError(VALUE, "amounts", f"{amount_cells.where(i)} is blank but its stage is "
                                              f"{stage_cells.values[i]!r}; expected an amount")
    parsed = {i: amount_at(amount_cells, i) for i in rows}
    rates = read_rates(stage_cells, m, rows)
    status = read_statuses(statuses, len(amount_cells.values), rows)
    frame = pd.DataFrame({"amount": [parsed[i] for i in rows], "status": [status[i] for i in rows],
                          "stage": None}, index=rows)
    rated = with_rates(frame, m)
    rated["win_rate"] = pd.Series(rates, dtype="float64").reindex(rated.index)
    rated["weighted"] = (rated["amount"] * rated["win_rate"]).where(rated["status"].eq("open"), 0.0)
    return weighted_forecast(rated)


@xw.func(category=CATEGORY)
@xw.arg("checklist_range", ndim=2, doc="The 是/否 answers of one or more opportunities: one row each, one column "
                                       "per criterion in the order of 阶段设置 (as in the 商机 table).")
@xw.arg("methodology", doc="Optional: a built-in methodology key (big_project, classic, product_sales) or a .toml "
                           "file path; omitted: big_project.")
@xw.arg("language", doc="Optional: zh-CN (default) or en, the language of the stage name returned.")
@excel_safe
def FUNNEL_STAGE(checklist_range, methodology=None, language=None):
    """The assessed stage (评估阶段) of each row: the highest stage whose required criteria, and those of every
    earlier stage, are answered 是; the first stage when not even its own are. 未评估 (not assessed) when no
    criterion is answered at all."""
    if isinstance(methodology, (list, tuple)):
        raise CellError(VALUE, "methodology", "expected a methodology key such as big_project, not a range: "
                                              "a stage table has no criteria")
    m = read_methodology(methodology, "methodology")
    lang = read_language(language)
    cells = Cells(checklist_range, "checklist_range")
    criteria = m.criteria()
    if cells.ncols != len(criteria):
        raise CellError(VALUE, "checklist_range", f"has {cells.ncols} columns; methodology {m.name('en')} has "
                        f"{len(criteria)} criteria: pass one column per criterion, in the order of the stage sheet")
    answers: dict[str, list] = {checklist_column(c.key): [] for c in criteria}
    bad: dict[int, str] = {}
    for r, row in enumerate(cells.rows):
        for c, (criterion, value) in enumerate(zip(criteria, row)):
            try:
                answer = parse_bool(value)
            except FunnelError as exc:
                bad.setdefault(r, cells.error(VALUE, r * cells.ncols + c, one_line(exc)))
                answer = None
            answers[checklist_column(criterion.key)].append(answer)
    derived = derive_stages(pd.DataFrame(answers, dtype=object), m)
    not_assessed = label("assessment.not_assessed", lang)
    out = [bad.get(r) or (m.stage(key).name(lang) if answered else not_assessed)
           for r, (key, answered) in enumerate(zip(derived["derived_stage"], derived["answered"]))]
    return as_column(out)


@xw.func(category=CATEGORY)
@xw.arg("close_dates", ndim=2, doc="Expected (or, for won deals, actual) close dates; a cell or a range.")
@xw.arg("as_of", doc="Optional: the report date (截止日期); omitted: today.")
@xw.arg("statuses", ndim=2, doc="Optional: one status per date (进行中/赢单/丢单); omitted: all open.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@excel_safe
def FUNNEL_BUCKET(close_dates, as_of=None, statuses=None, language=None):
    """The time bucket (按时间) of each close date: already closed, past the expected date, within 3 months, 3-6,
    6-9, 9-12 months or later. Lost deals show blank (they are not in the forecast)."""
    report = read_as_of(as_of)
    lang = read_language(language)
    cells = Cells(close_dates, "close_dates")
    status_cells = None if statuses is None else Cells(statuses, "statuses")
    rows = [i for i, v in enumerate(cells.values)
            if not (is_blank(v) and (status_cells is None or is_blank(status_cells.values[i])))]
    status = read_statuses(statuses, len(cells.values), rows)
    dates, out = read_dates(cells, rows)
    good = [i for i in rows if i in dates]
    if good:
        frame = pd.DataFrame({"id": [cells.where(i) for i in good], "status": [status[i] for i in good],
                              "close_date": [dates[i] for i in good]}, index=good)
        buckets = time_bucket(frame, report)
        out.update({i: None if pd.isna(b) else label(f"bucket.{b}", lang) for i, b in buckets.items()})
    return cells.shaped([out.get(i) for i in range(len(cells.values))])


@xw.func(category=CATEGORY)
@xw.arg("close_dates", ndim=2, doc="Expected (or actual) close dates; a cell or a range.")
@xw.arg("stages_or_rates", ndim=2, doc="One stage or win rate per date (same size).")
@xw.arg("statuses", ndim=2, doc="Optional: one status per date (进行中/赢单/丢单); omitted: all open.")
@xw.arg("as_of", doc="Optional: the report date; omitted: today.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@excel_safe
def FUNNEL_CATEGORY(close_dates, stages_or_rates, statuses=None, as_of=None, stages_table=None, language=None):
    """The forecast category (按销售预测) of each row: won → closed; open and closing this quarter at a win rate of
    75 % or more → committed; this quarter below 75 % → likely this quarter; next quarter → likely next quarter;
    otherwise → has intent. Lost deals show blank."""
    m = read_methodology(stages_table)
    report = read_as_of(as_of)
    lang = read_language(language)
    cells, stage_cells = Cells(close_dates, "close_dates"), Cells(stages_or_rates, "stages_or_rates")
    same_size(cells, stage_cells)
    rows = [i for i in range(len(cells.values)) if not (is_blank(cells.values[i]) and is_blank(stage_cells.values[i]))]
    rates = read_rates(stage_cells, m, rows)
    status = read_statuses(statuses, len(cells.values), rows)
    dates, out = read_dates(cells, rows)
    good = [i for i in rows if i in dates]
    if good:
        frame = pd.DataFrame({"id": [cells.where(i) for i in good], "status": [status[i] for i in good],
                              "close_date": [dates[i] for i in good], "win_rate": [rates[i] for i in good]},
                             index=good)
        categories = forecast_category(frame, report)
        out.update({i: None if pd.isna(c) else label(f"category.{c}", lang) for i, c in categories.items()})
    return cells.shaped([out.get(i) for i in range(len(cells.values))])


@xw.func(category=CATEGORY)
@xw.arg("target", doc="The revenue target (元), e.g. 5000000 or 500万.")
@xw.arg("avg_deal_size", doc="The average deal size (元), to turn amounts into numbers of opportunities.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("language", doc="Optional: zh-CN (default) or en.")
@excel_safe
def FUNNEL_REQUIRED(target, avg_deal_size, stages_table=None, language=None):
    """The reverse calculation (漏斗计算), spilled as a table: per stage, its win rate, the amount that must sit
    there to reach the target (target ÷ rate) and how many deals that is. Blank where the rate is 0."""
    m = read_methodology(stages_table)
    lang = read_language(language)
    table = required_pipeline(scalar_amount(target, "target"), m, avg_deal_size=scalar_amount(avg_deal_size, "avg_deal_size"))
    header = [label(f"udf_col.{k}", lang) for k in ("stage", "win_rate", "amount_needed", "count_needed")]
    body = [[m.stage(key).name(lang), cell_out(r.rate), cell_out(r.amount_needed), cell_out(r.count_needed)]
            for key, r in table.iterrows()]
    return [header, *body]


@xw.func(category=CATEGORY)
@xw.arg("this_forecast", ndim=2, doc="This week's weighted forecast (元); a cell or a range (one per rep).")
@xw.arg("this_achieved", ndim=2, doc="Achieved (won) to date as of this week.")
@xw.arg("last_forecast", ndim=2, doc="Last week's weighted forecast.")
@xw.arg("last_achieved", ndim=2, doc="Achieved to date as of last week.")
@excel_safe
def FUNNEL_PROGRESS(this_forecast, this_achieved, last_forecast, last_achieved):
    """Sales progress (销售进展) = (this forecast + this achieved) − (last forecast + last achieved), cell by cell."""
    parts = [Cells(v, n) for v, n in ((this_forecast, "this_forecast"), (this_achieved, "this_achieved"),
                                       (last_forecast, "last_forecast"), (last_achieved, "last_achieved"))]
    same_size(*parts)
    out = []
    for i in range(len(parts[0].values)):
        values = [p.values[i] for p in parts]
        if all(is_blank(v) for v in values):
            out.append(None)
            continue
        try:
            tf, ta, lf, la = (amount_at(p, i) for p in parts)
        except CellError as exc:
            out.append(exc.text)
            continue
        out.append((tf + ta) - (lf + la))
    return parts[0].shaped(out)


@xw.func(category=CATEGORY)
@xw.arg("rep", ndim=2, doc="A rep's name, or a range of names.")
@xw.arg("opportunities", ndim=2, doc="tblOpportunities[#All]: the 商机 table with its header row.")
@xw.arg("reps", ndim=2, doc="tblReps[#All]: the 销售人员 table with its header row.")
@xw.arg("as_of", doc="Optional: the report date; omitted: today.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("basis", doc="Optional: 评估阶段 (the assessed stage sets the rate, the default) or 销售阶段 (the claimed "
                     "stage): the 预测依据 of 阶段设置.")
@xw.arg("fiscal_year_start", doc="Optional: the month the fiscal year starts (1-12); omitted: January.")
@excel_safe
def FUNNEL_COVERAGE(rep, opportunities, reps, as_of=None, stages_table=None, basis=None, fiscal_year_start=None):
    """Each rep's coverage of the annual quota: (achieved this year + the weighted pipeline closing this year) ÷
    quota, the figure the success roadmap asks to reach 75 %, 125 % and 150 %. Deals are weighted at their
    assessed stage (the table's 评估阶段) unless the basis says otherwise."""
    m = read_methodology(stages_table)
    report = read_as_of(as_of)
    rep_table = normalize_reps(read_table(reps, "reps", rep_headers()), sheet="reps")
    opps, problems = clean_opportunities(opportunities, m, list(rep_table.clean["rep"]), read_basis(basis))
    problems = {**problems, **rep_problems(rep_table, "reps")}
    figures = attainment(opps, rep_table.clean, report, read_month(fiscal_year_start))

    def coverage(cells, i, name):
        if name not in figures.index or not figures.at[name, "in_reps_table"]:
            return cells.error(NOT_AVAILABLE, i, f"{name!r} is not in the reps table")
        if pd.isna(figures.at[name, "coverage"]):
            return cells.error(DIV0, i, f"{name!r} has no annual quota (blank or 0), so there is no coverage")
        return float(figures.at[name, "coverage"])

    return per_rep(rep, problems, coverage)


@xw.func(category=CATEGORY)
@xw.arg("rep", ndim=2, doc="A rep's name, or a range of names.")
@xw.arg("opportunities", ndim=2, doc="tblOpportunities[#All]: the 商机 table with its header row.")
@xw.arg("plan_year", doc="The plan year, e.g. 2027 (or any date in it); with a fiscal-year start, the year it "
                         "starts in.")
@xw.arg("stages_table", ndim=2, doc="Optional: tblStages[#All]; omitted: the built-in big_project methodology.")
@xw.arg("basis", doc="Optional: 评估阶段 (the default) or 销售阶段: the 预测依据 of 阶段设置.")
@xw.arg("fiscal_year_start", doc="Optional: the month the fiscal year starts (1-12); omitted: January.")
@excel_safe
def FUNNEL_QUOTA(rep, opportunities, plan_year, stages_table=None, basis=None, fiscal_year_start=None):
    """Each rep's quota proposal from the funnel (定额): Σ amount × win rate of the rep's open deals expected to
    close in the plan year, each at its assessed stage unless the basis says otherwise. The seed's example:
    1,000,000 at 25 % contributes 250,000."""
    m = read_methodology(stages_table)
    year = fiscal_year(read_year(plan_year), read_month(fiscal_year_start))
    opps, problems = clean_opportunities(opportunities, m, None, read_basis(basis))
    proposal = quota_proposal(opps, plan_start=year.start, plan_end=year.end)

    def quota(cells, i, name):
        if name not in proposal.index:
            return cells.error(NOT_AVAILABLE, i, f"{name!r} owns no opportunity in the table")
        return float(proposal.at[name, "proposal"])

    return per_rep(rep, problems, quota)
