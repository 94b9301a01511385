"""The VBA project itself (MS-OVBA 2.3): the ``dir``, ``PROJECT``, ``PROJECTwm`` and ``_VBA_PROJECT`` streams
around the compressed module sources, in a compound file.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Iterable, Sequence

from funnel_xl.workbook.vba.compound_file import compound_file
from funnel_xl.workbook.vba.compression import compress
from funnel_xl.workbook.vba.errors import VbaProjectError
from funnel_xl.workbook.vba.sources import (
    CODEPAGE,
    ENCODING,
    WORKBOOK_CODE_NAME,
    VbaModule,
    check_identifier,
    funnel_modules,
    stored_source,
)

# Microsoft Office Object Library: declares IRibbonControl, which the ribbon callbacks take.
_OFFICE_REFERENCE = (
    "Office",
    r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\Program Files\Common Files\Microsoft Shared"
    r"\OFFICE16\MSO.DLL#Microsoft Office 16.0 Object Library",
)
_VISIBLE = b"\xff"
_HOST_EXTENDER = "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000"
_LCID = 0x0409
_SYSKIND_WIN64 = 3


def _encode(text: str, what: str) -> bytes:
    try:
        return text.encode(ENCODING)
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise VbaProjectError(
            f"{what}, line {line}: character {text[exc.start]!r} cannot be stored in a VBA project "
            f"(code page {CODEPAGE}); keep VBA sources to Western characters and put words in the label catalogue"
        ) from None


def _record(record_id: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _dir_stream(project_name: str, modules: Sequence[VbaModule],
                references: Sequence[tuple[str, str]]) -> bytes:
    """The ``dir`` stream (2.3.4.2), uncompressed: project information, references, modules."""
    parts = [
        _record(0x0001, struct.pack("<I", _SYSKIND_WIN64)),
        _record(0x0002, struct.pack("<I", _LCID)),
        _record(0x0014, struct.pack("<I", _LCID)),
        _record(0x0003, struct.pack("<H", CODEPAGE)),
        _record(0x0004, project_name.encode("ascii")),
        _record(0x0005), _record(0x0040),          # doc string, its Unicode copy
        _record(0x0006), _record(0x003D),          # help file, its second copy
        _record(0x0007, struct.pack("<I", 0)),     # help context
        _record(0x0008, struct.pack("<I", 0)),     # lib flags
        struct.pack("<HIIH", 0x0009, 4, 1, 0),     # version: Reserved is 4, then major, minor
        _record(0x000C), _record(0x003C),          # conditional compilation constants
    ]
    for name, libid in references:
        parts += [
            _record(0x0016, name.encode("ascii")),
            _record(0x003E, name.encode("utf-16-le")),
            _record(0x000D, struct.pack("<I", len(libid)) + libid.encode(ENCODING) + struct.pack("<IH", 0, 0)),
        ]
    parts.append(struct.pack("<HIH", 0x000F, 2, len(modules)))
    parts.append(struct.pack("<HIH", 0x0013, 2, 0xFFFF))  # project cookie: 0xFFFF on write
    for module in modules:
        name, wide = module.name.encode("ascii"), module.name.encode("utf-16-le")
        parts += [
            _record(0x0019, name), _record(0x0047, wide),         # name
            _record(0x001A, name), _record(0x0032, wide),         # stream name
            _record(0x001C), _record(0x0048),                     # doc string
            _record(0x0031, struct.pack("<I", 0)),                # source offset: no p-code before it
            _record(0x001E, struct.pack("<I", 0)),                # help context
            _record(0x002C, struct.pack("<H", 0xFFFF)),           # module cookie
            _record(0x0021 if module.kind == "standard" else 0x0022),
            _record(0x002B),                                      # module terminator
        ]
    parts.append(_record(0x0010))
    return b"".join(parts)


def _project_key(project_id: str) -> int:
    return sum(project_id.encode("ascii")) & 0xFF


def _encrypt(data: bytes, project_id: str, seed: int) -> str:
    """Data Encryption (MS-OVBA 2.4.3.2) of a PROJECT stream value (CMG, DPB, GC), as hex text."""
    version, key = 2, _project_key(project_id)
    out = bytearray([seed, seed ^ version, seed ^ key])
    unencrypted1, encrypted1, encrypted2 = key, seed ^ key, seed ^ version
    for byte in bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data:
        encrypted = byte ^ ((encrypted2 + unencrypted1) & 0xFF)
        out.append(encrypted)
        encrypted2, encrypted1, unencrypted1 = encrypted1, encrypted, byte
    return out.hex().upper()


def _project_stream(project_name: str, project_id: str, modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECT`` stream (2.3.1): the text the VBA editor reads for names, protection and windows."""
    kinds = {"standard": "Module={}", "class": "Class={}", "document": "Document={}/&H00000000"}
    # Seeds are arbitrary in the spec; deriving them from the project id keeps the build reproducible.
    seeds = hashlib.sha256(project_id.encode("ascii")).digest()
    lines = [f'ID="{project_id}"']
    lines += [kinds[m.kind].format(m.name) for m in modules]
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{_encrypt(bytes(4), project_id, seeds[0])}"',     # protection state: none
        f'DPB="{_encrypt(bytes(1), project_id, seeds[1])}"',     # password: none
        f'GC="{_encrypt(_VISIBLE, project_id, seeds[2])}"',       # visibility: visible
        "",
        "[Host Extender Info]",
        _HOST_EXTENDER,
        "",
        "[Workspace]",
    ]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _project_wm_stream(modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECTwm`` stream (2.3.3): each module name in the code page and in UTF-16."""
    return b"".join(
        m.name.encode("ascii") + b"\x00" + m.name.encode("utf-16-le") + b"\x00\x00" for m in modules
    ) + b"\x00\x00"


# _VBA_PROJECT (2.3.4.1): version 0xFFFF says there is no performance cache, so VBA compiles from source.
_VBA_PROJECT_STREAM = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0003)


def build_vba_project(
    modules: Sequence[VbaModule],
    *,
    project_name: str = "FunnelXL",
    references: Iterable[tuple[str, str]] = (_OFFICE_REFERENCE,),
) -> bytes:
    """A ``vbaProject.bin`` holding ``modules`` (source only, no p-code), ready for XlsxWriter's
    ``add_vba_project(BytesIO(...), is_stream=True)``. References default to the Office library."""
    check_identifier(project_name, "project name")
    names: dict[str, str] = {}
    for module in modules:
        if module.name.lower() in names:
            raise VbaProjectError(f"VBA module name {module.name!r} is used twice (VBA ignores case)")
        names[module.name.lower()] = module.name
    if not modules:
        raise VbaProjectError("a VBA project needs at least one module")
    digest = hashlib.sha256("\n".join([project_name, *names.values()]).encode("ascii")).digest()
    project_id = "{" + str(uuid.UUID(bytes=digest[:16], version=4)).upper() + "}"

    vba_storage: dict[str, bytes] = {}
    for module in modules:
        text = stored_source(module)
        vba_storage[module.name] = compress(_encode(text, f"VBA module {module.name}"))
    vba_storage["dir"] = compress(_dir_stream(project_name, modules, list(references)))
    vba_storage["_VBA_PROJECT"] = _VBA_PROJECT_STREAM
    return compound_file({
        "VBA": vba_storage,
        "PROJECT": _project_stream(project_name, project_id, modules),
        "PROJECTwm": _project_wm_stream(modules),
    })


def funnel_vba_project(
    sheet_code_names: Sequence[str] = (), *, workbook_code_name: str = WORKBOOK_CODE_NAME
) -> bytes:
    """Funnel.xlsm's ``vbaProject.bin``: give the code name of every sheet, in workbook order."""
    return build_vba_project(funnel_modules(sheet_code_names, workbook_code_name=workbook_code_name))
