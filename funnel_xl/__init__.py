"""funnel_xl: the Python side of the Funnel.xlsm sales-funnel workbook (销售漏斗)."""

__version__ = "0.1.0"
