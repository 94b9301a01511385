"""Where output sheets put their charted blocks, which charts exist, and the style palette.

The builder (XlsxWriter) draws the charts and the hidden style palette once; Recalculate (the package writer)
fills the blocks and stretches each chart's ranges to the rows it wrote. Both read this module, so a chart
always points at the rows its block fills. Rows and columns here are 1-based, as a user reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from funnel_xl.domain.schema import BUCKETS, FORECAST_CATEGORIES

TITLE_ROW = 1
STAMP_ROW = 2
OWNED_ROW = 3  # "this sheet is the tool's": every recalculation rewrites it whole


@dataclass(frozen=True)
class Block:
    """A table on an output sheet: a section title row, a header row, then one row per item (and a total)."""

    sheet: str              # sheet key
    key: str                # block key; its section label is 'block.<key>'
    section_row: int        # the section title; the header is the next row, data the row after
    columns: tuple[str, ...]  # column keys; header labels are 'outcol.<key>'
    first_col: int = 1

    @property
    def header_row(self) -> int:
        return self.section_row + 1

    @property
    def first_data_row(self) -> int:
        return self.section_row + 2

    def col(self, key: str) -> int:
        """1-based sheet column of a column key."""
        return self.first_col + self.columns.index(key)


# Fixed-position blocks (they carry charts). Others flow below them, placed by the writer.
# The overview's measures, in order (labels kpi.<key>): the basis first, so every figure below it is read on it.
FORECAST_KPIS: tuple[str, ...] = (
    "basis", "weighted_forecast", "claimed_weighted_forecast", "claim_difference", "achieved", "open_pipeline",
    "team_quota", "open_count", "not_assessed_count", "won_count", "lost_count", "problem_count", "left_out_count",
    "left_out_weighted", "closed_after_count",
)
# The first screen: the KPI strip (section, names, figures, changes since last week), then the team's period grid
# with the attention summary beside it; the detailed overview and the charted blocks follow.
FORECAST_STRIP_ROW = 4
GRID_COLUMNS: tuple[str, ...] = ("period", "period_quota_wan", "closed_wan", "commit_wan", "best_case_wan",
                                 "period_pipeline_wan", "period_weighted_wan", "gap_wan")
FORECAST_GRID = Block("forecast", "period_grid_team", FORECAST_STRIP_ROW + 5, GRID_COLUMNS)
FORECAST_ATTENTION = Block("forecast", "attention", FORECAST_GRID.section_row, ("attention", "count", "amount_wan"),
                           first_col=len(GRID_COLUMNS) + 2)
ATTENTION_ROWS = 6  # the five lists of deals and the data issues
FORECAST_KPI = Block("forecast", "kpi", FORECAST_ATTENTION.first_data_row + ATTENTION_ROWS + 1, ("kpi", "value"))
# Beside the overview: each quarter of the year, achieved and forecast against its share of the target (charted).
FORECAST_QUARTERS = Block("forecast", "quarters", FORECAST_KPI.section_row,
                          ("quarter", "achieved_wan", "period_weighted_wan", "period_quota_wan"), first_col=4)
FORECAST_CATEGORY = Block("forecast", "by_category", FORECAST_KPI.first_data_row + len(FORECAST_KPIS) + 1,
                          ("category", "count", "amount_wan", "weighted_wan"))
# Each fixed block: section, header, one row per item, a total row, a blank row.
FORECAST_BUCKET = Block("forecast", "by_bucket", FORECAST_CATEGORY.first_data_row + len(FORECAST_CATEGORIES) + 2,
                        ("bucket", "count", "amount_wan", "weighted_wan"))
FORECAST_FLOW_ROW = FORECAST_BUCKET.first_data_row + len(BUCKETS) + 2  # the claims, lists and groupings follow

FUNNEL_STAGES = Block(
    "funnel", "by_stage", 4,
    ("stage", "win_rate", "open_count", "pipeline_wan", "weighted_wan", "reached_count",
     "conversion_to_next", "conversion_to_won", "avg_days_in_stage"),
)
QUOTA_REPS = Block(
    "quota", "by_rep", 4,
    ("rep", "phase", "region", "tenure_months", "quota_wan", "achieved_wan", "attainment",
     "weighted_this_year_wan", "coverage", "weighted_later_wan", "proposal_wan"),
)
# The weekly history sits to the right of the progress tables (which use columns A-J), with its line chart.
PROGRESS_HISTORY = Block("progress", "history", 4, ("snapshot_date", "weighted_wan", "achieved_wan", "this_total_wan"),
                         first_col=12)
PROBLEMS = Block("problems", "problems", 4, ("sheet", "row", "column", "value", "message", "severity"))
# What the funnel-shaped and the coverage charts draw, beside the sheets' tables (out of the way, to the right): the
# funnel is a stacked bar whose first, invisible series centres each stage's bar; coverage has its 100 % line.
FUNNEL_CHART = Block("funnel", "funnel_chart", 4, ("stage", "funnel_offset_wan", "pipeline_wan"), first_col=24)
QUOTA_COVERAGE = Block("quota", "coverage_chart", 4, ("rep", "coverage", "coverage_target"), first_col=26)


@dataclass(frozen=True)
class ChartSpec:
    """A chart over one block: categories from one column, one series per value column."""

    key: str                 # title label is 'chart.<key>'
    block: Block
    category: str            # column key of the categories
    values: tuple[str, ...]  # column keys of the series
    kind: str                # XlsxWriter chart type: 'bar' (horizontal), 'column' or 'line'
    anchor: str              # top-left cell of the chart, e.g. 'G4'
    fixed_rows: int | None = None  # rows always present (categories, buckets); None = as many as items
    look: str = "plain"      # 'funnel': stacked, the first series invisible; 'stacked'; the last value a line:
    line: str | None = None  # a value column drawn as a line over the bars (a target), in ``values`` last
    size: tuple[int, int] = (560, 340)  # pixels: a chart on the first screen stays above the charts below it

    def data_rows(self, n_items: int) -> tuple[int, int]:
        """First and last 1-based data rows for n items (at least one row, so a chart never points at nothing)."""
        n = self.fixed_rows if self.fixed_rows is not None else max(n_items, 1)
        first = self.block.first_data_row
        return first, first + n - 1


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("funnel", FUNNEL_CHART, "stage", ("funnel_offset_wan", "pipeline_wan"), "bar", "L4", look="funnel"),
    ChartSpec("forecast_quarters", FORECAST_QUARTERS, "quarter",
              ("achieved_wan", "period_weighted_wan", "period_quota_wan"), "column", f"N{FORECAST_STRIP_ROW}",
              fixed_rows=4, look="stacked", line="period_quota_wan", size=(520, 260)),
    ChartSpec("forecast_category", FORECAST_CATEGORY, "category", ("amount_wan", "weighted_wan"), "column",
              f"I{FORECAST_KPI.section_row}",
              fixed_rows=len(FORECAST_CATEGORIES)),
    ChartSpec("forecast_bucket", FORECAST_BUCKET, "bucket", ("amount_wan", "weighted_wan"), "column",
              f"I{FORECAST_CATEGORY.section_row}", fixed_rows=len(BUCKETS)),
    ChartSpec("coverage", QUOTA_COVERAGE, "rep", ("coverage", "coverage_target"), "column", "M4",
              line="coverage_target"),
    ChartSpec("progress_history", PROGRESS_HISTORY, "snapshot_date", ("weighted_wan", "achieved_wan", "this_total_wan"),
              "line", "Q4"),
)

# The style palette: each key is one row of the hidden _styles sheet (A: key, B: a sample cell in that style).
# The writer uses the sample cell's style index, so a user who restyles a sample restyles every output.
_BORDER = {"border": 1, "border_color": "#BFBFBF"}
_WAN = "#,##0.0;[Red]-#,##0.0"   # negatives red, as every amount a manager reads
_PERCENT = "0.0%;[Red]-0.0%"
_GAP = '#,##0.0;"✓ +"#,##0.0;0.0'
_TOTAL = {"bold": True, "top": 2, "bottom": 1, "left": 1, "right": 1, "border_color": "#808080", "bg_color": "#F2F2F2"}
PALETTE: dict[str, dict] = {
    "title": {"bold": True, "font_size": 16, "font_color": "#1F3864"},
    "stamp": {"italic": True, "font_color": "#7F7F7F"},
    "section": {"bold": True, "font_size": 12, "font_color": "#1F3864"},
    "header": {"bold": True, "font_color": "#FFFFFF", "bg_color": "#2F5597", "align": "center",
               "valign": "vcenter", "text_wrap": True, **_BORDER},
    "text": {**_BORDER},
    "integer": {"num_format": "#,##0;[Red]-#,##0", **_BORDER},
    "money": {"num_format": "#,##0;[Red]-#,##0", **_BORDER},            # 元
    "money_wan": {"num_format": _WAN, **_BORDER},      # value already in 万元; the header says so
    "percent": {"num_format": _PERCENT, **_BORDER},
    "gap_wan": {"num_format": _GAP, **_BORDER},  # still to win; below zero the target is passed: shown ✓ +
    "decimal": {"num_format": "#,##0.0;[Red]-#,##0.0", **_BORDER},
    "date": {"num_format": "yyyy-mm-dd", **_BORDER},
    "total_text": {**_TOTAL},
    "total_integer": {"num_format": "#,##0;[Red]-#,##0", **_TOTAL},
    "total_money": {"num_format": "#,##0;[Red]-#,##0", **_TOTAL},
    "total_money_wan": {"num_format": _WAN, **_TOTAL},
    "total_percent": {"num_format": _PERCENT, **_TOTAL},
    "good": {"font_color": "#006100", "bg_color": "#C6EFCE", **_BORDER},
    "bad": {"font_color": "#9C0006", "bg_color": "#FFC7CE", **_BORDER},
    "warn": {"font_color": "#9C5700", "bg_color": "#FFEB9C", **_BORDER},
    "note": {"font_color": "#595959"},  # no wrap: a note runs on into the empty cells to its right
    # The KPI strip: a tile's name, its figure, and its change since last week (an arrow, never a colour: a smaller
    # gap is good news, a smaller forecast is not).
    "kpi_label": {"bold": True, "font_color": "#1F3864", "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter",
                  "text_wrap": True, **_BORDER},
    "kpi_value": {"bold": True, "font_size": 16, "num_format": _WAN, "align": "center", **_BORDER},
    "kpi_gap": {"bold": True, "font_size": 16, "num_format": _GAP, "align": "center", **_BORDER},
    "kpi_percent": {"bold": True, "font_size": 16, "num_format": _PERCENT, "align": "center", **_BORDER},
    "kpi_change": {"font_color": "#595959", "num_format": '"▲ "#,##0.0;"▼ "#,##0.0;"±0"', "align": "center",
                   **_BORDER},
    "kpi_change_percent": {"font_color": "#595959", "num_format": '"▲ "0.0%;"▼ "0.0%;"±0"', "align": "center",
                           **_BORDER},
    "kpi_none": {"font_color": "#595959", "align": "center", **_BORDER},
    "link": {"font_color": "#0563C1", "underline": 1, **_BORDER},
}
PALETTE_KEYS: tuple[str, ...] = tuple(PALETTE)


def palette_row(key: str) -> int:
    """1-based row of a palette key on the _styles sheet (row 1 is a header)."""
    return PALETTE_KEYS.index(key) + 2
