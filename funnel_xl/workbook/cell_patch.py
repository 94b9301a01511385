"""Where services/forms.py (collect) takes the cell patcher from, until its write path moves behind the workbook
port (issue 10, item 3): the cell patcher itself is ``funnel_xl.workbook.ooxml``."""

from funnel_xl.workbook.ooxml import Write, formula_of, patch_cells

__all__ = ["Write", "formula_of", "patch_cells"]
