"""xlwings entry points only: worksheet functions (``udfs``) and the RunPython targets of the buttons (``macros``)."""
