"""xlwings entry points only: worksheet functions (``udfs``, with their argument conversions in ``udf_args``), the
RunPython targets of the buttons (``macros``) and the list of those macros (``commands``, plain data the workbook
builder reads)."""
