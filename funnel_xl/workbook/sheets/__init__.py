"""One small XlsxWriter writer per sheet of Funnel.xlsm; build.py calls them in workbook order."""
