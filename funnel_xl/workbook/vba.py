"""The VBA project of Funnel.xlsm (``xl/vbaProject.bin``), built from text sources at build time.

The workbook's macros live as ``.bas`` text under ``templates/vba/`` and xlwings' own VBA comes from the
installed, pinned xlwings package, so every change is reviewable and the embedded xlwings module always
matches the Python side. The binary is written here from the public specifications: MS-OVBA (the VBA
storage, its streams and its compression) and MS-CFB (the compound file around them). No p-code is
written, so Excel compiles the modules from source on first open; the output is byte-for-byte
reproducible for the same sources.

The workbook builder calls ``funnel_vba_project(sheet_code_names)`` and passes the bytes to XlsxWriter.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from funnel_xl.errors import FunnelError
from funnel_xl.paths import templates_dir

ModuleKind = Literal["standard", "class", "document"]

#: The Python module every macro calls; written out in full in the VBA (see FunnelMacros.bas).
MACROS_PYTHON_MODULE = "funnel_xl.excel.macros"

#: Macro (VBA Sub) name -> Python function in ``MACROS_PYTHON_MODULE`` that does its job.
MACRO_COMMANDS: dict[str, str] = {
    "RecalculateForecast": "recalculate_forecast",
    "GenerateAssessmentForms": "generate_assessment_forms",
    "CollectAssessments": "collect_assessments",
    "BuildQuotaSheets": "build_quota_sheets",
    "ExportForReaders": "export_for_readers",
    "ImportCrmExport": "import_crm_export",
}

MACROS_MODULE_NAME = "FunnelMacros"
WORKBOOK_CODE_NAME = "ThisWorkbook"
CODEPAGE = 1252
_ENCODING = "cp1252"


def ribbon_callback(macro: str) -> str:
    """The ``onAction`` callback a ribbon button uses to run ``macro`` (it takes the clicked control)."""
    if macro not in MACRO_COMMANDS:
        raise KeyError(f"{macro!r} is not a funnel macro; expected one of {', '.join(MACRO_COMMANDS)}")
    return f"Ribbon_{macro}"


class VbaProjectError(FunnelError, ValueError):
    """A VBA source or the installed xlwings cannot be turned into the workbook's VBA project."""


@dataclass(frozen=True)
class VbaModule:
    """One VBA module: its name, its source as the VBA editor exports it, and its kind.

    ``source`` may carry the export header (``VERSION 1.0 CLASS`` ... ``END``) and ``Attribute`` lines;
    both are normalised when stored. A document module (the workbook or a sheet) needs a ``VB_Base``
    attribute saying which; ``document_module()`` writes it.
    """

    name: str
    source: str
    kind: ModuleKind = "standard"

    def __post_init__(self) -> None:
        _check_identifier(self.name, "module name")
        if self.kind not in ("standard", "class", "document"):
            raise VbaProjectError(
                f"VBA module {self.name}: kind {self.kind!r} is not one of 'standard', 'class', 'document'"
            )


# --------------------------------------------------------------------------------------------------
# Module sources
# --------------------------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_ATTRIBUTE = re.compile(r"Attribute\s+(\w+)\s*=\s*(.*)")
# The base class of a document module: the workbook object or a worksheet (Excel's type library GUIDs).
_DOCUMENT_BASES = {
    "workbook": '"0{00020819-0000-0000-C000-000000000046}"',
    "worksheet": '"0{00020820-0000-0000-C000-000000000046}"',
}
_CLASS_BASE = '"0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"'
# The attribute block VBA stores at the top of each kind of module, in its order, with its defaults.
_STORED_ATTRIBUTES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "standard": (("VB_Name", None),),
    "class": (
        ("VB_Name", None), ("VB_Base", _CLASS_BASE), ("VB_GlobalNameSpace", "False"),
        ("VB_Creatable", "False"), ("VB_PredeclaredId", "False"), ("VB_Exposed", "False"),
        ("VB_TemplateDerived", "False"), ("VB_Customizable", "False"),
    ),
    "document": (
        ("VB_Name", None), ("VB_Base", None), ("VB_GlobalNameSpace", "False"),
        ("VB_Creatable", "False"), ("VB_PredeclaredId", "True"), ("VB_Exposed", "True"),
        ("VB_TemplateDerived", "False"), ("VB_Customizable", "True"),
    ),
}


def _check_identifier(name: str, what: str) -> None:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise VbaProjectError(
            f"VBA {what} {name!r} is not usable: expected a letter then up to 30 letters, digits or "
            "underscores (VBA's rule; a sheet's code name follows it too)"
        )


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def stored_source(module: VbaModule) -> str:
    """The text VBA keeps for a module: export header dropped, attribute block completed, CRLF line ends.

    This is what Excel's editor shows after ``Attribute`` lines, and what olevba extracts back.
    """
    lines = _lines(module.source)
    if lines and lines[0].strip().upper().startswith("VERSION ") and "BEGIN" in (s.strip() for s in lines[:3]):
        end = next((i for i, s in enumerate(lines) if s.strip() == "END"), None)
        if end is None:
            raise VbaProjectError(f"VBA module {module.name}: export header 'VERSION ... BEGIN' has no 'END' line")
        lines = lines[end + 1:]
    given: dict[str, str] = {}
    extra: list[str] = []
    body_start = 0
    for body_start, line in enumerate(lines):
        match = _ATTRIBUTE.fullmatch(line.strip())
        if not match:
            break
        key, value = match.group(1), match.group(2).strip()
        given[key] = value
        if key not in dict(_STORED_ATTRIBUTES[module.kind]):
            extra.append(f"Attribute {key} = {value}")
    else:
        body_start = len(lines)
    body = lines[body_start:]

    quoted_name = f'"{module.name}"'
    if given.setdefault("VB_Name", quoted_name) != quoted_name:
        raise VbaProjectError(
            f"VBA module {module.name}: its source says Attribute VB_Name = {given['VB_Name']}, "
            f"expected {quoted_name} (the module name and the source must agree)"
        )
    head: list[str] = []
    for key, default in _STORED_ATTRIBUTES[module.kind]:
        value = given.get(key, default)
        if value is None:
            raise VbaProjectError(
                f"VBA document module {module.name}: no Attribute {key} in its source; expected the "
                "workbook's or a worksheet's base (use document_module())"
            )
        head.append(f"Attribute {key} = {value}")
    while body and body[-1] == "":
        body.pop()
    return "\r\n".join(head + extra + body) + "\r\n"


def document_module(name: str, of: Literal["workbook", "worksheet"] = "worksheet", code: str = "") -> VbaModule:
    """The code module behind the workbook or one sheet; ``name`` must equal that object's code name."""
    if of not in _DOCUMENT_BASES:
        raise VbaProjectError(f"document module {name}: 'of' must be 'workbook' or 'worksheet', got {of!r}")
    source = f'Attribute VB_Name = "{name}"\r\nAttribute VB_Base = {_DOCUMENT_BASES[of]}\r\n{code}'
    return VbaModule(name, source, "document")


def _read_source(path: Path) -> str:
    # VBA export files are in the ANSI code page; newline="" keeps CRLF as written.
    try:
        with path.open(encoding=_ENCODING, newline="") as fh:
            return fh.read()
    except FileNotFoundError:
        raise VbaProjectError(f"VBA source file {path} is missing") from None
    except UnicodeDecodeError as exc:
        raise VbaProjectError(f"VBA source file {path}: byte {exc.start} is not {_ENCODING} text") from None


def module_from_file(path: Path) -> VbaModule:
    """A module read from a ``.bas`` (standard) or ``.cls`` (class) export file, named after the file."""
    kinds = {".bas": "standard", ".cls": "class"}
    if path.suffix.lower() not in kinds:
        raise VbaProjectError(f"VBA source file {path}: expected a .bas or .cls file")
    return VbaModule(path.stem, _read_source(path), kinds[path.suffix.lower()])  # type: ignore[arg-type]


_VERSION_COMMENT = re.compile(r"^'Version:\s*(\S+)\s*$", re.MULTILINE)
_VERSION_CONSTANT = re.compile(r'^\s*Public Const XLWINGS_VERSION As String = "([^"]+)"', re.MULTILINE)


def xlwings_vba_version(source: str) -> str:
    """The xlwings version written in xlwings' VBA module (its ``'Version:`` line and XLWINGS_VERSION)."""
    found = {m.group(1) for pattern in (_VERSION_COMMENT, _VERSION_CONSTANT) for m in pattern.finditer(source)}
    if len(found) != 1:
        raise VbaProjectError(
            "xlwings VBA module: expected one version in its 'Version: line and XLWINGS_VERSION constant, "
            f"found {sorted(found) or 'none'}"
        )
    return found.pop()


def xlwings_modules(package_dir: Path | None = None, expected_version: str | None = None) -> list[VbaModule]:
    """xlwings' standalone VBA (the ``xlwings`` module and its ``Dictionary`` class), as ``xlwings
    quickstart --standalone`` embeds them, read from the installed package and checked against its version.
    """
    if package_dir is None or expected_version is None:
        import xlwings  # imported here: only the build needs it, and it is slow to import

        package_dir = package_dir or Path(xlwings.__file__).resolve().parent
        expected_version = expected_version or xlwings.__version__
    main = module_from_file(package_dir / "xlwings.bas")
    found = xlwings_vba_version(main.source)
    if found != expected_version:
        raise VbaProjectError(
            f"{package_dir / 'xlwings.bas'}: the VBA module says xlwings {found}, but xlwings "
            f"{expected_version} is installed; reinstall the pinned xlwings before building the workbook"
        )
    return [main, module_from_file(package_dir / "addin" / "Dictionary.cls")]


def funnel_modules(
    sheet_code_names: Sequence[str] = (), *, workbook_code_name: str = WORKBOOK_CODE_NAME
) -> list[VbaModule]:
    """Every module of Funnel.xlsm: document modules for the workbook and each sheet (by code name, in
    sheet order), the funnel macros, and xlwings' standalone modules."""
    seen: dict[str, str] = {}
    for name in (workbook_code_name, *sheet_code_names):
        _check_identifier(name, "code name")
        if name.lower() in seen:
            raise VbaProjectError(f"code name {name!r} is given twice (as {seen[name.lower()]!r} too)")
        seen[name.lower()] = name
    documents = [document_module(workbook_code_name, "workbook")]
    documents += [document_module(name, "worksheet") for name in sheet_code_names]
    macros = module_from_file(templates_dir() / "vba" / f"{MACROS_MODULE_NAME}.bas")
    return [*documents, macros, *xlwings_modules()]


# --------------------------------------------------------------------------------------------------
# MS-OVBA 2.4.1: compression
# --------------------------------------------------------------------------------------------------

_CHUNK = 4096
_MIN_MATCH = 3
# Candidates tried per position: bounds the work per chunk, so compression is linear in the input.
_MAX_CANDIDATES = 64


def _copy_token_bits(difference: int) -> int:
    """CopyToken Help (MS-OVBA 2.4.1.3.19.1): bits of a copy token used for the offset."""
    return max((difference - 1).bit_length(), 4)


def _common_length(buf: bytes, a: int, b: int, limit: int) -> int:
    """How many bytes from ``a`` and from ``b`` agree, up to ``limit`` (slices first: Python loops are slow)."""
    n = 0
    while n + 32 <= limit and buf[a + n:a + n + 32] == buf[b + n:b + n + 32]:
        n += 32
    while n < limit and buf[a + n] == buf[b + n]:
        n += 1
    return n


def _compress_chunk(chunk: bytes) -> bytes:
    """One CompressedChunk (2.4.1.3.7): header, then token sequences of literals and copy tokens."""
    size = len(chunk)
    out = bytearray()
    # Where earlier tokens started, by their first three bytes. Only token starts are candidates: that
    # is what reproduces the worked example of MS-OVBA 3.2.2 byte for byte, and it keeps the search short.
    chains: dict[bytes, list[int]] = {}
    pos = 0
    while pos < size:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= size:
                break
            best_length = best_candidate = 0
            remaining = size - pos
            candidates = chains.setdefault(chunk[pos:pos + _MIN_MATCH], [])
            if remaining >= _MIN_MATCH:
                # Nearest first, and only a strictly longer match replaces it (as in 2.4.1.3.19.4).
                for candidate in reversed(candidates[-_MAX_CANDIDATES:]):
                    length = _common_length(chunk, candidate, pos, remaining)
                    if length > best_length:
                        best_length, best_candidate = length, candidate
                        if length == remaining:
                            break
            candidates.append(pos)
            if best_length >= _MIN_MATCH:
                bit_count = _copy_token_bits(pos)
                length = min(best_length, (0xFFFF >> bit_count) + 3)
                token = ((pos - best_candidate - 1) << (16 - bit_count)) | (length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                pos += length
            else:
                out.append(chunk[pos])
                pos += 1
        out[flag_at] = flags
    if len(out) > _CHUNK:
        # Incompressible: a raw chunk is always 4096 bytes (2.4.1.3.10), zero-padded if the data is shorter.
        return struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk.ljust(_CHUNK, b"\x00")
    return struct.pack("<H", 0xB000 | (len(out) + 2 - 3)) + bytes(out)


def compress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.1.1): signature byte 0x01, then one chunk per 4096 bytes."""
    data = bytes(data)
    return b"\x01" + b"".join(_compress_chunk(data[i:i + _CHUNK]) for i in range(0, len(data), _CHUNK))


# --------------------------------------------------------------------------------------------------
# MS-OVBA 2.3: the streams of the VBA storage
# --------------------------------------------------------------------------------------------------

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
        return text.encode(_ENCODING)
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
            _record(0x000D, struct.pack("<I", len(libid)) + libid.encode(_ENCODING) + struct.pack("<IH", 0, 0)),
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


def _decrypt(hex_text: str, project_id: str) -> bytes:
    """Data Decryption (MS-OVBA 2.4.3.3): the inverse of ``_encrypt``; checks the project key."""
    raw = bytes.fromhex(hex_text)
    seed, version_enc, key_enc = raw[0], raw[1], raw[2]
    if seed ^ version_enc != 2 or seed ^ key_enc != _project_key(project_id):
        raise VbaProjectError(f"PROJECT stream value {hex_text} does not belong to project {project_id}")
    unencrypted1, encrypted1, encrypted2 = seed ^ key_enc, key_enc, version_enc
    plain = bytearray()
    for encrypted in raw[3:]:
        byte = encrypted ^ ((encrypted2 + unencrypted1) & 0xFF)
        plain.append(byte)
        encrypted2, encrypted1, unencrypted1 = encrypted1, encrypted, byte
    ignored = (seed & 6) // 2
    length = struct.unpack_from("<I", plain, ignored)[0]
    return bytes(plain[ignored + 4:ignored + 4 + length])


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


# --------------------------------------------------------------------------------------------------
# MS-CFB: a version 3 compound file holding the storages and streams
# --------------------------------------------------------------------------------------------------

_SECTOR = 512
_MINI_SECTOR = 64
_MINI_CUTOFF = 4096
_ENTRIES_PER_SECTOR = _SECTOR // 128
_IDS_PER_SECTOR = _SECTOR // 4
_FREESECT, _ENDOFCHAIN, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_HEADER_DIFAT = 109
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_BLACK = 1


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list[int] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    start: int = _ENDOFCHAIN


def _cfb_order(name: str) -> tuple[int, str]:
    # Directory siblings are ordered by name length first, then by upper-cased name (MS-CFB 2.6.4).
    return len(name.encode("utf-16-le")), name.upper()


def _flatten(tree: Mapping[str, bytes | Mapping], entries: list[_Entry], parent: _Entry) -> None:
    parent.children = []
    for name, node in tree.items():
        if len(name) > 31:
            raise VbaProjectError(f"compound file entry name {name!r} is longer than 31 characters")
        entry = _Entry(name, _STREAM if isinstance(node, (bytes, bytearray)) else _STORAGE)
        parent.children.append(len(entries))
        entries.append(entry)
        if entry.kind == _STREAM:
            entry.data = bytes(node)  # type: ignore[arg-type]
        else:
            _flatten(node, entries, entry)  # type: ignore[arg-type]


def _link_siblings(entries: list[_Entry], ids: list[int]) -> int:
    """Arrange one storage's children as a balanced binary search tree (all black); returns its root."""
    if not ids:
        return _NOSTREAM
    middle = len(ids) // 2
    root = entries[ids[middle]]
    root.left = _link_siblings(entries, ids[:middle])
    root.right = _link_siblings(entries, ids[middle + 1:])
    return ids[middle]


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(first, first + count - 1):
        fat[i] = i + 1
    fat[first + count - 1] = _ENDOFCHAIN


def _sectors(size: int, unit: int) -> int:
    return -(-size // unit)


def compound_file(tree: Mapping[str, bytes | Mapping]) -> bytes:
    """A compound file (MS-CFB, version 3, 512-byte sectors) holding ``tree``: a name maps to a
    stream's bytes or to a nested mapping (a storage). Timestamps are zero, so output is reproducible."""
    root = _Entry("Root Entry", _ROOT)
    entries = [root]
    _flatten(tree, entries, root)
    for entry in entries:
        if entry.children is not None:
            entry.child = _link_siblings(entries, sorted(entry.children, key=lambda i: _cfb_order(entries[i].name)))

    streams = [e for e in entries if e.kind == _STREAM]
    small = [e for e in streams if len(e.data) < _MINI_CUTOFF]
    big = [e for e in streams if len(e.data) >= _MINI_CUTOFF]

    mini_fat: list[int] = []
    mini_stream = bytearray()
    for entry in small:
        count = _sectors(len(entry.data), _MINI_SECTOR)
        if count:
            entry.start = len(mini_fat)
            mini_fat += [0] * count
            _chain(mini_fat, entry.start, count)
            mini_stream += entry.data.ljust(count * _MINI_SECTOR, b"\x00")

    # Sector layout: big streams, the mini stream, the directory, the mini FAT, then the FAT itself.
    layout: list[tuple[int, bytes]] = []   # (first sector, padded bytes)
    next_sector = 0

    def place(data: bytes) -> int:
        nonlocal next_sector
        count = _sectors(len(data), _SECTOR)
        if not count:
            return _ENDOFCHAIN
        first = next_sector
        layout.append((first, data.ljust(count * _SECTOR, b"\x00")))
        next_sector += count
        return first

    for entry in big:
        entry.start = place(entry.data)
    root.start = place(bytes(mini_stream))
    root.data = bytes(mini_stream)
    dir_count = _sectors(len(entries), _ENTRIES_PER_SECTOR)
    dir_start = next_sector
    next_sector += dir_count
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    mini_fat_start = place(mini_fat_bytes.ljust(_sectors(len(mini_fat_bytes), _SECTOR) * _SECTOR, b"\xff"))
    mini_fat_count = _sectors(len(mini_fat_bytes), _SECTOR)

    fat_count = 1
    while fat_count * _IDS_PER_SECTOR < next_sector + fat_count:
        fat_count += 1
    if fat_count > _HEADER_DIFAT:
        raise VbaProjectError("the VBA project is too large for a compound file without DIFAT sectors (~7 MB)")
    fat = [_FREESECT] * (fat_count * _IDS_PER_SECTOR)
    for first, data in layout:
        _chain(fat, first, len(data) // _SECTOR)
    _chain(fat, dir_start, dir_count)
    fat_start = next_sector
    for i in range(fat_start, fat_start + fat_count):
        fat[i] = _FATSECT

    directory = bytearray()
    for entry in entries:
        wide = entry.name.encode("utf-16-le") + b"\x00\x00"
        size = len(entry.data) if entry.kind != _STORAGE else 0
        start = entry.start if entry.kind != _STORAGE else 0
        directory += struct.pack(
            "<64sHBBIII16sIQQIQ", wide, len(wide), entry.kind, _BLACK,
            entry.left, entry.right, entry.child, bytes(16), 0, 0, 0, start, size,
        )
    unused = struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, bytes(16), 0, 0, 0, 0, 0)
    directory += unused * (dir_count * _ENTRIES_PER_SECTOR - len(entries))

    difat = [fat_start + i for i in range(fat_count)] + [_FREESECT] * (_HEADER_DIFAT - fat_count)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("D0CF11E0A1B11AE1"), bytes(16), 0x003E, 0x0003, 0xFFFE, 9, 6, bytes(6),
        0, fat_count, dir_start, 0, _MINI_CUTOFF,
        mini_fat_start if mini_fat_count else _ENDOFCHAIN, mini_fat_count, _ENDOFCHAIN, 0,
    ) + struct.pack(f"<{_HEADER_DIFAT}I", *difat)

    body = bytearray(next_sector * _SECTOR + fat_count * _SECTOR)
    for first, data in layout:
        body[first * _SECTOR:first * _SECTOR + len(data)] = data
    body[dir_start * _SECTOR:(dir_start + dir_count) * _SECTOR] = directory
    body[fat_start * _SECTOR:] = struct.pack(f"<{len(fat)}I", *fat)
    return header + bytes(body)


# --------------------------------------------------------------------------------------------------
# The project
# --------------------------------------------------------------------------------------------------


def build_vba_project(
    modules: Sequence[VbaModule],
    *,
    project_name: str = "FunnelXL",
    references: Iterable[tuple[str, str]] = (_OFFICE_REFERENCE,),
) -> bytes:
    """A ``vbaProject.bin`` holding ``modules`` (source only, no p-code), ready for XlsxWriter's
    ``add_vba_project(BytesIO(...), is_stream=True)``. References default to the Office library."""
    _check_identifier(project_name, "project name")
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
