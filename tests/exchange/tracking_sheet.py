"""A team's hand-kept tracking sheet (销售跟踪表), made here the way such sheets are: a title above the headers, headers
with stray spaces and full-width brackets, amounts typed as text in 万 and 亿 and with full-width digits, Chinese
dates and Excel date numbers, blank rows, stage names with spaces, and a total row at the bottom. Sixteen rows, eight
good and eight with one mistake each; the mapping is the one a user writes for it (after ``import --init``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

HEADERS = ("编号", " 客户名称 ", "项目名称", "负责销售", "预计金额（元）", "预计成交日期", "阶段", "状态", "创建日期", "备注")
TITLE = "华东区商机跟踪表（2026年11月）"
TITLE_ROWS = 2  # the title, then a blank row: the headers sit on row 3
FORMULA_TEXT = '=HYPERLINK("http://evil.example/x","点击查看")'

MAPPING = """
methodology = "big_project"

[source]
sheet = "跟踪表"

[columns]
id = "编号"
customer = "客户名称"
project = "项目名称"
rep = "负责销售"
amount = "预计金额(元)"
close_date = "预计成交日期"
stage = "阶段"
status = "状态"
created_date = "创建日期"
notes = "备注"
"""


@dataclass(frozen=True)
class Row:
    """One row of the sheet: its cells, and for a good row the amount it means (in yuan)."""

    cells: tuple
    amount: float | None = None
    mistake: str | None = None      # what is wrong with a bad row
    column: str | None = None       # the header it is reported on


def _excel_date(serial: int) -> dt.date:
    return dt.date(1899, 12, 30) + dt.timedelta(days=serial)


GOOD = [
    Row(("T-001", "华东电力集团", "生产管理系统", "张伟", "120万", "2026年12月20日", "进行商务谈判", "进行中", "2026-03-05", ""),
        1_200_000),
    Row(("T-002", "江南银行", "信贷平台", "王芳", "1.2亿", 46400, "赢得客户认可", "进行中", "2026/1/8", ""), 120_000_000),
    Row(("T-003", "海川制药", "ERP升级", "李娜", "３５０，０００", "2027-02-28", " 引导 客户立项 ", "进行中", "2026年2月1日", ""),
        350_000),
    Row(("T-004", "星海证券", "数据中台", "张伟", "¥800,000", "2026-11-15", "完成销售成交", "赢单", "2026-01-10", ""), 800_000),
    Row(("T-005", "北辰烟草", "营销系统", "王芳", "三百万", "2027年3月31日", "确认客户意向", "进行中", "2026-06-01", ""),
        3_000_000),
    Row(("T-006", "东方保险", "核心系统", "李娜", 2_500_000, dt.datetime(2027, 1, 20), "发掘潜在商机", "进行中",
         dt.datetime(2026, 7, 1), ""), 2_500_000),
    Row(("T-007", "蓝天电信", "计费系统", "张伟", "45万元", "2026-10-31", "赢得客户认可", "丢单", "2026-02-14", ""), 450_000),
    Row(("T-008", "宏远制造", "MES 项目", "王芳", "2,000,000", "20270115", "商务 谈判", "进行中", "2026-05-20", "客户催报价"),
        2_000_000),
]
BAD = [
    Row(("T-003", "海川制药", "ERP升级(二期)", "李娜", "50万", "2027-03-31", "引导客户立项", "进行中", "2026-04-01", ""),
        mistake="duplicate_id", column="编号"),
    Row(("T-010", "长江物流", "仓储系统", "", "80万", "2027-01-31", "确认客户意向", "进行中", "2026-08-08", ""),
        mistake="missing_rep", column="负责销售"),
    Row(("T-011", FORMULA_TEXT, "门户网站", "李娜", "60万", "2027-02-15", "发掘潜在商机", "进行中", "2026-09-01", ""),
        mistake="formula_text", column="客户名称"),
    Row(("T-012", "华夏航空", "调度系统", "张伟", "约100万", "2027-04-30", "确认客户意向", "进行中", "2026-09-15", ""),
        mistake="estimate", column="预计金额(元)"),
    Row(("T-013", "青峰能源", "巡检系统", "王芳", "90万", "2027-05-31", "待定", "进行中", "2026-10-01", ""),
        mistake="unknown_stage", column="阶段"),
    Row(("T-014", "金桥建设", "项目管理", "李娜", "70万", "下个月", "引导客户立项", "进行中", "2026-10-10", ""),
        mistake="unreadable_date", column="预计成交日期"),
    Row(("T-015", "远洋贸易", "报关系统", "张伟", "$5,000", "2027-01-15", "确认客户意向", "进行中", "2026-10-20", ""),
        mistake="foreign_currency", column="预计金额(元)"),
    Row(("合计", None, None, None, None, None, None, None, None, None), mistake="total_row", column="编号"),
]
# Where the blank rows go (after this many data rows): one inside the list, one before the total row.
BLANK_AFTER = (5, 15)


def sheet_rows() -> list[tuple[int, Row]]:
    """(sheet row, row) of the sixteen rows, good and bad interleaved as a real sheet grows, blank rows skipped."""
    order = [GOOD[0], GOOD[1], BAD[1], GOOD[2], GOOD[3], BAD[2], GOOD[4], BAD[3], GOOD[5], BAD[0], GOOD[6], BAD[4],
             GOOD[7], BAD[5], BAD[6], BAD[7]]
    out, row = [], TITLE_ROWS + 2
    for n, item in enumerate(order):
        if n in BLANK_AFTER:
            row += 1
        out.append((row, item))
        row += 1
    return out


def write_sheet(path: Path) -> Path:
    """The tracking sheet as an .xlsx a person typed: text where they typed text, numbers and dates where Excel
    made them, the formula-like text stored as text (typed with a leading apostrophe), a SUM in the total row."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "跟踪表"
    ws.cell(row=1, column=1, value=TITLE)
    for col, header in enumerate(HEADERS, start=1):
        ws.cell(row=TITLE_ROWS + 1, column=col, value=header)
    rows = sheet_rows()
    for sheet_row, item in rows:
        for col, value in enumerate(item.cells, start=1):
            if value in (None, ""):
                continue
            cell = ws.cell(row=sheet_row, column=col, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type, cell.quotePrefix = "s", True
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd"
    total_row = rows[-1][0]
    ws.cell(row=total_row, column=5, value=f"=SUM(E{TITLE_ROWS + 2}:E{total_row - 1})")
    book.save(path)
    return path
