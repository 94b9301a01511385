"""The output sheets (预测, 漏斗, 配额, 进展, 数据问题) as built: a title, a "not calculated yet" line, the line
saying the sheet is the tool's, and the charts.

Recalculate fills the blocks the charts point at (``layout.CHARTS``) and stretches each chart to the rows it
wrote; here each chart gets the rows the build's data implies (one per stage, one per rep, 5 categories, 7
buckets), so a freshly built workbook already points at the right cells.
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

from funnel_xl.labels import catalogue, label
from funnel_xl.workbook.contract import OUTPUT_SHEETS, RECALCULATED_SHEETS, sheet_name
from funnel_xl.workbook.layout import CHARTS, OWNED_ROW, STAMP_ROW, TITLE_ROW, ChartSpec
from funnel_xl.workbook.sheets.context import BuildContext

_PERCENT_SERIES = {"coverage", "attainment", "win_rate"}
_SERIES_COLOURS = ("#2F5597", "#ED7D31", "#A5A5A5")


def write_output_sheets(ctx: BuildContext) -> list[Worksheet]:
    """Every output sheet in workbook order, with its charts."""
    return [write_output_sheet(ctx, key) for key in OUTPUT_SHEETS]


def write_output_sheet(ctx: BuildContext, key: str) -> Worksheet:
    sheet = ctx.add_sheet(key, sheet_name(key, ctx.lang))
    title = f"title.{key}"
    sheet.write_string(TITLE_ROW - 1, 0, ctx.label(title) if title in catalogue() else sheet.name,
                       ctx.formats["title"])
    sheet.set_row(TITLE_ROW - 1, 26)
    # The sheets Recalculate writes wait for it; the ones Collect writes (收集记录, 工作记录) wait for Collect.
    empty = "out.not_calculated" if key in RECALCULATED_SHEETS else "out.not_collected"
    sheet.write_string(STAMP_ROW - 1, 0, ctx.label(empty), ctx.formats["stamp"])
    if key in RECALCULATED_SHEETS:
        sheet.write_string(OWNED_ROW - 1, 0, ctx.label("out.owned"), ctx.formats["note"])
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 12, 13)
    for spec in CHARTS:
        if spec.block.sheet == key:
            sheet.insert_chart(spec.anchor, make_chart(ctx, spec, sheet.name), {"x_offset": 8, "y_offset": 4})
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.fit_to_pages(1, 0)
    sheet.set_footer("&L&A&R" + ctx.label("input.footer"))
    return sheet


def chart_items(ctx: BuildContext, spec: ChartSpec) -> int:
    """How many rows a chart's block will have for this build's data."""
    if spec.category == "stage":
        return len(ctx.methodology.stages)
    if spec.category == "rep":
        return len(ctx.reps)
    return 0  # fixed-row charts ignore it


def make_chart(ctx: BuildContext, spec: ChartSpec, sheet: str):
    """An XlsxWriter chart over the spec's block, for the rows this build's data implies."""
    return chart_over(ctx.workbook, spec, sheet, chart_items(ctx, spec), ctx.lang)


def chart_over(workbook, spec: ChartSpec, sheet: str, items: int, lang: str):
    """An XlsxWriter chart over ``items`` rows of the spec's block (the build's charts, and the roll-up's over
    the rows it wrote): categories from one column, a series per value column; the funnel
    stacked on an invisible offset so each stage's bar is centred, a target (``spec.line``) a line over the bars."""
    def text(key: str) -> str:
        return label(key, lang)

    stacked = spec.look in ("funnel", "stacked")
    chart = workbook.add_chart({"type": spec.kind, **({"subtype": "stacked"} if stacked else {})})
    first, last = spec.data_rows(items)
    block = spec.block
    cat_col = block.col(spec.category) - 1
    percent = bool(set(spec.values) & _PERCENT_SERIES)
    line = workbook.add_chart({"type": "line"}) if spec.line else None
    for i, value in enumerate(spec.values):
        col = block.col(value) - 1
        colour = _SERIES_COLOURS[i % len(_SERIES_COLOURS)]
        series = {
            "name": text(f"outcol.{value}"),
            "categories": [sheet, first - 1, cat_col, last - 1, cat_col],
            "values": [sheet, first - 1, col, last - 1, col],
        }
        if value == spec.line:
            line.add_series({**series, "line": {"color": "#C00000", "width": 2, "dash_type": "dash"},
                             "marker": {"type": "none"}})
            continue
        if spec.look == "funnel" and i == 0:
            series.update({"fill": {"none": True}, "border": {"none": True}})  # the offset that centres the bar
        elif spec.kind == "line":
            series.update({"line": {"color": colour, "width": 2.25}, "marker": {"type": "circle", "size": 4,
                           "fill": {"color": colour}, "border": {"color": colour}}})
        else:
            series.update({"fill": {"color": colour}, "gap": 30 if spec.look == "funnel" else 60})
            if spec.look == "funnel" or spec.line:
                series["data_labels"] = {"value": True, "num_format": "0%;-0%;;" if percent else "#,##0;-#,##0;;",
                                         "position": "center" if stacked else "outside_end"}
        chart.add_series(series)
    if line is not None:
        chart.combine(line)
    chart.set_title({"name": text(f"chart.{spec.key}"), "name_font": {"size": 12, "bold": True}})
    value_axis = {"major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}},
                  "num_format": "0%" if percent else "#,##0"}
    if spec.look == "funnel":
        value_axis = {"visible": False, "major_gridlines": {"visible": False}}
    if spec.kind == "bar":
        # Horizontal bars: the first stage (or rep) on top, as a funnel is read.
        chart.set_y_axis({"reverse": True, "crossing": "max"})
        chart.set_x_axis(value_axis)
    else:
        chart.set_y_axis(value_axis)
    shown = [v for v in spec.values if not (spec.look == "funnel" and v == spec.values[0])]
    chart.set_legend({"position": "bottom", **({"delete_series": [0]} if spec.look == "funnel" else {})}
                     if len(shown) > 1 else {"none": True})
    chart.set_size({"width": spec.size[0], "height": spec.size[1]})
    return chart
