"""The one place that writes and patches the XML of an .xlsx/.xlsm package.

Every writer of the tool (the recalculation's sheets and charts, the table writer, collect, the export, the
forms, the ribbon) goes through these functions, so a text is escaped one way (``text``), a cell is written one
way (``cells``), and Excel's limits are enforced once:

- ``text``: the escaping rule (XML 1.0's forbidden characters become U+FFFD), cell text within 32,767
  characters, sheet-name rules.
- ``refs``: cell addresses and sheet-qualified references.
- ``cells``: cells (inline strings, numbers, booleans, dates, formulas with cached values), rows, the dimension,
  sheetData splices, values-only sheets.
- ``row_block``: whole rows written column by column (each distinct value rendered once), streamed into the part.
- ``sheet_part``: a worksheet part kept as bytes, its rows found once, edited row by row, written back streamed.
- ``ranges``: table refs and autoFilters, data validations and conditional formats, print areas.
- ``charts``: series references and their caches (values never a ``strRef``).
- ``styles``: text that starts like a formula stored with Excel's quote prefix, so F2-Enter never runs it.
- ``parts``: relationships, content types, dropping a part with everything that names it.
- ``names``: defined names of the workbook part (the tool's own are hidden text constants).

Parsing what others wrote (forms coming back, the package index) reads with defusedxml instead.
"""

from funnel_xl.workbook.ooxml.cells import (
    CellSpan, Write, cell_body, cell_spans, cell_styles, cell_xml, cols_xml, drop_elements, excel_serial, formula_of, grow_dimension, has_row, hyperlinks_xml,
    insert_hyperlinks, insert_rows,
    move_formula, patch_cells, patch_row, row_formulas, formulas_in_row, row_template, template_of, row_xml,
    RowTemplate, writes_by_row, set_dimension, sheet_data_span, sheet_data_xml, splice_sheet_data, values_only,
    values_only_rows,
)
from funnel_xl.workbook.ooxml.row_block import ColumnCells, RowBlock, StreamedXml, column_cells, constant_column
from funnel_xl.workbook.ooxml.sheet_part import SheetPart
from funnel_xl.workbook.ooxml.charts import refresh_series, series_ref_xml
from funnel_xl.workbook.ooxml.names import (
    DefinedName, constant_text, defined_names, drop_defined_names, set_defined_name, text_constant,
)
from funnel_xl.workbook.ooxml.parts import (
    CALC_CHAIN, CONTENT_TYPES, PartDrop, add_relationship, attr, drop_defaults, drop_overrides,
    drop_parts, drop_references, drop_relationships, owner_part, rels_part, resolve_target, set_override,
)
from funnel_xl.workbook.ooxml.styles import STYLES_PART, QuotePrefixStyles, quote_formula_parts
from funnel_xl.workbook.ooxml.ranges import drop_calculated_columns, grow_print_area, grow_sheet_ranges, grow_table
from funnel_xl.workbook.ooxml.refs import (
    SheetRef, cell_to_rowcol, col_letter, col_number, parse_sheet_ref, quote_sheet, range_ref, split_ref,
)
from funnel_xl.workbook.ooxml.text import (
    MAX_CELL_TEXT, MAX_SHEET_NAME, TRUNCATION_NOTE, cell_text, check_sheet_name, clean_text, safe_sheet_name,
    sheet_name_problem, utf16_len, xml_attr, xml_text, xml_unescape,
)

__all__ = [
    "CALC_CHAIN", "CONTENT_TYPES", "DefinedName", "constant_text", "defined_names", "drop_defined_names",
    "set_defined_name", "text_constant", "MAX_CELL_TEXT", "STYLES_PART", "QuotePrefixStyles", "quote_formula_parts",
    "MAX_SHEET_NAME", "TRUNCATION_NOTE", "CellSpan", "PartDrop", "SheetRef",
    "Write", "ColumnCells", "RowBlock", "StreamedXml", "cell_body", "column_cells", "constant_column",
    "SheetPart", "patch_row", "writes_by_row", "template_of", "formulas_in_row", "cell_spans", "add_relationship", "attr", "cell_styles", "cell_text", "cell_to_rowcol", "cell_xml",
    "check_sheet_name", "clean_text", "col_letter", "col_number", "cols_xml", "drop_calculated_columns", "drop_elements",
    "drop_defaults", "drop_overrides", "drop_parts", "drop_references", "drop_relationships", "excel_serial",
    "formula_of", "grow_dimension", "grow_print_area", "grow_sheet_ranges", "grow_table", "has_row", "hyperlinks_xml", "insert_hyperlinks", "insert_rows",
    "move_formula", "RowTemplate", "row_template", "owner_part", "parse_sheet_ref", "patch_cells", "quote_sheet", "range_ref", "refresh_series",
    "rels_part", "resolve_target", "row_formulas", "row_xml", "safe_sheet_name", "series_ref_xml", "set_dimension",
    "set_override", "sheet_data_span", "sheet_data_xml", "sheet_name_problem", "split_ref", "splice_sheet_data", "utf16_len", "values_only", "values_only_rows",
    "xml_attr", "xml_text", "xml_unescape",
]
