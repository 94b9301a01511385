"""The pure domain: methodologies, opportunity schema and normalisation, and every figure.

Imports only the standard library, pandas, numpy, pandera and cn2an: no workbook library, no I/O
beyond parsing text handed to it. A test enforces that.
"""
