"""Use cases: each takes a workbook port, so the Excel macro and the command line are two doors to one room."""
