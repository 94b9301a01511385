"""The VBA project of Funnel.xlsm (``xl/vbaProject.bin``), built from text sources at build time.

The workbook's macros live as ``.bas`` text under ``templates/vba/`` and xlwings' own VBA comes from the
installed, pinned xlwings package, so every change is reviewable and the embedded xlwings module always
matches the Python side. The binary is written from the public specifications, no p-code included, so Excel
compiles the modules from source on first open; the output is byte-for-byte reproducible for the same sources.

- ``sources``: the modules (``.bas``/``.cls`` files, xlwings' module, document modules) and their stored text;
- ``compression``: MS-OVBA's compression of each stream;
- ``compound_file``: the MS-CFB container around the storages and streams;
- ``project``: the VBA storage's streams, and the project itself.

The workbook builder calls ``funnel_vba_project(sheet_code_names)`` and passes the bytes to XlsxWriter.
"""

from funnel_xl.workbook.vba.compound_file import compound_file
from funnel_xl.workbook.vba.compression import compress
from funnel_xl.workbook.vba.errors import VbaProjectError
from funnel_xl.workbook.vba.project import build_vba_project, funnel_vba_project
from funnel_xl.workbook.vba.sources import (
    VbaModule,
    document_module,
    funnel_modules,
    module_from_file,
    stored_source,
    xlwings_modules,
    xlwings_vba_version,
)

__all__ = [
    "VbaModule",
    "VbaProjectError",
    "build_vba_project",
    "compound_file",
    "compress",
    "document_module",
    "funnel_modules",
    "funnel_vba_project",
    "module_from_file",
    "stored_source",
    "xlwings_modules",
    "xlwings_vba_version",
]
