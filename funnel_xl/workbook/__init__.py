"""The workbook contract (sheets, tables, headers, output layout) and its adapters."""
