"""Read a returned form safely: bounded unzip, defusedxml parsing, strict answers, formula-looking text neutralised.

A returned file comes from outside (an e-mail attachment), so nothing in it is trusted: the zip's declared and
actual sizes are bounded before anything is inflated (zip bombs), every XML part goes through defusedxml (entity
bombs, external entities), a formula typed into an answer cell is refused, and free text a spreadsheet would run
as a formula is kept as plain text with a leading apostrophe.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.parsers import expat
from dataclasses import dataclass, field

from defusedxml import ElementTree as ET
from defusedxml.common import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden

from funnel_xl.domain.methodology import Methodology
from funnel_xl.domain.kinds import kind_of
from funnel_xl.domain.parsing import is_blank, neutralise, parse_bool
from funnel_xl.errors import FormError, InputError
from funnel_xl.forms.activity import ACTIVITY_MARKER, ActivityReport, read_activity
from funnel_xl.forms.model import EDITABLE, FORM_MARKER, MARK
from funnel_xl.forms.settings import FormSettings, form_settings
from funnel_xl.labels import LANGUAGES, catalogue, label
from funnel_xl.workbook.ooxml import cell_to_rowcol, col_letter

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
NS_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
NS_PR = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class CellValue:
    value: object
    formula: str | None = None


@dataclass
class FilledForm:
    """One form sheet read back: its hidden block, the rep's answers, and every reason to refuse it."""

    source: str
    sheet: str
    opportunity_id: str
    methodology: str
    rep: str
    token: str
    language: str
    seal: str = ""
    answers: dict[str, bool | None] = field(default_factory=dict)
    # The deal's fields the rep filled in (amount, close date, status) as canonical values; a blank is not given.
    fields: dict[str, object] = field(default_factory=dict)
    stage: str | None = None
    notes: str | None = None
    notes_neutralised: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- the package ------------------------------------------------------------------------------------------------

def refusal_text(exc: FormError, source: str, lang: str) -> str:
    """Why a file is refused, in ``lang`` (its kind's label, naming the file); the English text when it has none."""
    key = f"form.package.{exc.code}"
    return label(key, lang).format(file=source) if exc.code and key in catalogue() else str(exc)


def check_size(size: int, source: str, settings: FormSettings) -> None:
    limit = settings.limits["max_file_bytes"]
    if size > limit:
        raise FormError(f"{source}: the file is {size:,} bytes, more than the {limit:,} a form may have; "
                        "a filled-in form is far smaller, so this is not one", code="too_large")


def open_package(data: bytes, source: str, settings: FormSettings) -> zipfile.ZipFile:
    """The zip, after checking member count, declared sizes and compression ratios against the limits."""
    check_size(len(data), source, settings)
    lim = settings.limits
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise FormError(f"{source}: not an Excel workbook (.xlsx) or damaged: {exc}", code="damaged") from exc
    if len(infos) > lim["max_members"]:
        raise FormError(f"{source}: {len(infos)} parts in the package, more than {lim['max_members']}",
                        code="too_large")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > lim["max_member_bytes"]:
            raise FormError(f"{source}: part {info.filename} unpacks to {info.file_size:,} bytes, more than "
                            f"{lim['max_member_bytes']:,}", code="too_large")
        if info.compress_size and info.file_size / info.compress_size > lim["max_ratio"]:
            raise FormError(f"{source}: part {info.filename} is compressed {info.file_size // info.compress_size}"
                            f" to 1, beyond {lim['max_ratio']} to 1: refused as a possible zip bomb", code="unsafe")
    if total > lim["max_uncompressed_bytes"]:
        raise FormError(f"{source}: the package unpacks to {total:,} bytes, more than "
                        f"{lim['max_uncompressed_bytes']:,}", code="too_large")
    if "xl/workbook.xml" not in zf.namelist():
        raise FormError(f"{source}: not an Excel workbook (no xl/workbook.xml)", code="damaged")
    return zf


def _read(zf: zipfile.ZipFile, part: str, source: str, settings: FormSettings) -> bytes:
    """A member's bytes, never more than the member limit even if the zip directory lies about sizes."""
    limit = settings.limits["max_member_bytes"]
    try:
        with zf.open(part) as fh:
            data = fh.read(limit + 1)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise FormError(f"{source}: part {part} is damaged or missing: {exc}", code="damaged") from exc
    if len(data) > limit:
        raise FormError(f"{source}: part {part} is larger than {limit:,} bytes", code="too_large")
    return data


def _xml(zf: zipfile.ZipFile, part: str, source: str, settings: FormSettings):
    try:
        return ET.fromstring(_read(zf, part, source, settings))
    except DefusedXmlException as exc:
        raise FormError(f"{source}: part {part} holds forbidden XML ({type(exc).__name__}): refused",
                        code="unsafe") from exc
    except ET.ParseError as exc:
        raise FormError(f"{source}: part {part} is not well-formed XML: {exc}", code="damaged") from exc


def _sheet_parts(zf: zipfile.ZipFile, source: str, settings: FormSettings) -> list[tuple[str, str]]:
    """(sheet name, worksheet part) in workbook order."""
    wb = _xml(zf, "xl/workbook.xml", source, settings)
    rels: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in zf.namelist():
        for rel in _xml(zf, "xl/_rels/workbook.xml.rels", source, settings).iter(f"{NS_PR}Relationship"):
            target = rel.get("Target", "")
            rels[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
    out = []
    for sheet in wb.iter(f"{NS}sheet"):
        part = rels.get(sheet.get(f"{NS_R}id"))
        if part and part in zf.namelist():
            out.append((sheet.get("name"), part))
    return out


def _shared_strings(zf: zipfile.ZipFile, source: str, settings: FormSettings) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = _xml(zf, "xl/sharedStrings.xml", source, settings)
    return ["".join(t.text or "" for t in si.iter(f"{NS}t")) for si in root.iter(f"{NS}si")]


def _sheet_cells(zf: zipfile.ZipFile, part: str, source: str, settings: FormSettings,
                 strings: list[str]) -> dict[str, CellValue]:
    """Cell reference -> value (text, number, bool) and its formula if it has one, of one worksheet part.

    Read by expat with defusedxml's guards (an entity declaration or an external reference is refused as
    defusedxml refuses it) and no element tree built: a returned workbook holds hundreds of form sheets, and
    building each one's tree in Python took most of a collect's reading."""
    reader = _CellReader(strings)
    try:
        reader.parse(_read(zf, part, source, settings))
    except DefusedXmlException as exc:
        raise FormError(f"{source}: part {part} holds forbidden XML ({type(exc).__name__}): refused",
                        code="unsafe") from exc
    except expat.ExpatError as exc:
        raise FormError(f"{source}: part {part} is not well-formed XML: {exc}", code="damaged") from exc
    return reader.cells


@dataclass
class _OpenCell:
    """A ``<c>`` being read: its address, type and depth, the text of its first ``<v>`` and ``<f>`` children (None
    without one) and of each ``<t>`` inside it (an inline string's runs)."""

    ref: str | None
    kind: str
    depth: int
    v: list[str] | None = None
    f: list[str] | None = None
    runs: list[list[str]] = field(default_factory=list)


class _CellReader:
    """expat's events over a worksheet part, kept for its ``<c>`` elements."""

    _C, _V, _F, _T = (f"{NS[1:]}{tag}" for tag in ("c", "v", "f", "t"))

    def __init__(self, strings: list[str]) -> None:
        self.strings = strings
        self.cells: dict[str, CellValue] = {}
        self._open: list[_OpenCell] = []     # the cells being read (a cell inside a cell is read too)
        self._text: list[str] | None = None  # the text of the <v>, <f> or <t> being read
        self._depth = 0

    def parse(self, data: bytes) -> None:
        parser = expat.ParserCreate(None, "}")
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        parser.EntityDeclHandler = _entity_declared
        parser.UnparsedEntityDeclHandler = _unparsed_entity_declared
        parser.ExternalEntityRefHandler = _external_reference
        parser.SkippedEntityHandler = _skipped_entity
        parser.Parse(data, True)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if name == self._C:
            self._open.append(_OpenCell(attrs.get("r"), attrs.get("t", "n"), self._depth))
        elif self._open:
            cell = self._open[-1]
            child = self._depth == cell.depth + 1
            if name == self._T:
                self._text = []
                cell.runs.append(self._text)
            elif name == self._V and child and cell.v is None:
                self._text = cell.v = []
            elif name == self._F and child and cell.f is None:
                self._text = cell.f = []

    def _data(self, text: str) -> None:
        if self._text is not None:
            self._text.append(text)

    def _end(self, name: str) -> None:
        self._depth -= 1
        self._text = None
        if name == self._C and self._open:
            cell = self._open.pop()
            raw = ("".join(cell.v) or None) if cell.v is not None else None
            formula = "".join(cell.f) if cell.f is not None else None
            self.cells[cell.ref] = CellValue(_cell_value(cell.kind, raw, cell.runs, self.strings), formula)


def _cell_value(kind: str, raw: str | None, runs: list[list[str]], strings: list[str]) -> object:
    """A cell's value from its type, ``<v>`` text and inline string runs: text, a number, a bool or None."""
    if kind == "s" and raw is not None:
        try:
            return strings[int(raw)]
        except (ValueError, IndexError):
            return None
    if kind == "inlineStr":
        return "".join("".join(run) for run in runs)
    if kind in ("str", "e"):
        return raw
    if kind == "b":
        return raw == "1"
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return raw


def _entity_declared(name, is_parameter_entity, value, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)


def _unparsed_entity_declared(name, base, sysid, pubid, notation_name):
    raise EntitiesForbidden(name, None, base, sysid, pubid, notation_name)


def _external_reference(context, base, sysid, pubid):
    raise ExternalReferenceForbidden(context, base, sysid, pubid)


def _skipped_entity(name, is_parameter_entity):
    # An entity an external DTD might declare: ElementTree refuses it as undefined, and so is it here.
    raise expat.ExpatError(f"undefined entity &{name};")


# --- a form sheet -----------------------------------------------------------------------------------------------

def read_returned_workbook(data: bytes, source: str, methodology: Methodology,
                           settings: FormSettings | None = None) -> list[FilledForm]:
    """Every form sheet of a returned workbook, each with its problems; raises FormError for a file that is not a
    form at all (damaged, too large, unsafe, or without any form sheet)."""
    return read_returned_package(data, source, methodology, settings)[0]


def check_returnable(data: bytes, source: str, settings: FormSettings | None = None) -> None:
    """Raises the FormError collect would raise for this package as a whole (size, parts, sheets): the generator
    checks what it writes against the limits it will meet on the way back."""
    settings = settings or form_settings()
    with open_package(data, source, settings) as zf:
        _counted_sheets(zf, source, settings)


def _counted_sheets(zf: zipfile.ZipFile, source: str, settings: FormSettings) -> list[tuple[str, str]]:
    sheets = _sheet_parts(zf, source, settings)
    if len(sheets) > settings.limits["max_sheets"]:
        raise FormError(f"{source}: {len(sheets)} sheets, more than {settings.limits['max_sheets']}",
                        code="too_large")
    return sheets


def read_returned_package(data: bytes, source: str, methodology: Methodology, settings: FormSettings | None = None
                          ) -> tuple[list[FilledForm], list[ActivityReport]]:
    """The form sheets and the week's activity sheets of a returned workbook; raises FormError for a file that
    holds neither (damaged, too large, unsafe, or not made by the tool)."""
    settings = settings or form_settings()
    zf = open_package(data, source, settings)
    with zf:
        sheets = _counted_sheets(zf, source, settings)
        strings = _shared_strings(zf, source, settings)
        forms, activity = [], []
        for name, part in sheets:
            cells = _sheet_cells(zf, part, source, settings, strings)
            marker, block = _block(cells, settings)
            if marker == FORM_MARKER:
                forms.append(_read_form(source, name, block, cells, methodology, settings))
            elif marker == ACTIVITY_MARKER:
                def value(ref: str, cells=cells) -> tuple[object, str | None]:
                    cell = cells.get(ref, CellValue(None)) if _valid_ref(ref) else CellValue(None)
                    return cell.value, cell.formula
                activity.append(read_activity(source, name, block, value, settings))
    if not forms and not activity:
        raise FormError(f"{source}: no stage-assessment form in this workbook (no sheet carries the form's "
                        "hidden block); only files made by 'Generate assessment forms' can be collected", code="no_form")
    return forms, activity


def _block(cells: dict[str, CellValue], settings: FormSettings) -> tuple[str | None, dict[str, str]]:
    """(the marker, key -> value) of a sheet's hidden block: a form's or an activity sheet's; (None, {}) else."""
    kc = col_letter(int(settings.layout["block_column"]))
    vc = col_letter(int(settings.layout["block_column"]) + 1)
    first = cells.get(f"{kc}1")
    if first is None or first.value != "format":
        return None, {}
    marker = cells.get(f"{vc}1")
    if marker is None or marker.value not in (FORM_MARKER, ACTIVITY_MARKER):
        return None, {}
    block: dict[str, str] = {}
    row = 1
    while (key := cells.get(f"{kc}{row}")) is not None and isinstance(key.value, str) and key.value:
        value = cells.get(f"{vc}{row}")
        block[key.value] = "" if value is None or value.value is None else str(value.value)
        row += 1
    return str(marker.value), block


def _valid_ref(ref: str) -> bool:
    try:
        cell_to_rowcol(ref)
    except ValueError:
        return False
    return True


def _read_form(source: str, sheet: str, block: dict[str, str], cells: dict[str, CellValue],
               m: Methodology, settings: FormSettings) -> FilledForm:
    form = FilledForm(source, sheet, block.get("opportunity", ""), block.get("methodology", ""),
                      block.get("rep", ""), block.get("token", ""), block.get("language", "zh-CN"),
                      block.get("seal", ""))
    where = _says(form, "where", source=source, sheet=sheet)
    if block.get("format_version") != str(settings.format_version):
        form.problems.append(_says(form, "version", where=where, found=block.get("format_version", ""),
                                   reads=settings.format_version))
        return form
    if not form.opportunity_id or not form.token or not form.seal:
        form.problems.append(_says(form, "damaged", where=where))
        return form
    if form.methodology != m.key:
        form.problems.append(_says(form, "methodology", where=where, found=form.methodology, master=m.key))
        return form
    refs = {k: v for k, v in block.items() if k.startswith(("chk:", "marker:", "field:")) or k == "notes"}
    bad_refs = [k for k, v in refs.items() if not _valid_ref(v)]
    if bad_refs:
        form.problems.append(_says(form, "damaged", where=where))
        return form
    _read_answers(form, block, cells, m, where)
    _read_stage(form, block, cells, m, where)
    _read_notes(form, block, cells, settings, where)
    _read_fields(form, block, cells, where)
    return form


def _lang(form: FilledForm) -> str:
    return form.language if form.language in LANGUAGES else "zh-CN"


def _says(form: FilledForm, key: str, **params) -> str:
    """A reason to refuse a form, in the form's language (label form.read.<key>)."""
    return label(f"form.read.{key}", _lang(form)).format(**params)


def _is_answer(value: object) -> bool:
    try:
        parse_bool(value)
    except InputError:
        return False
    return True


def _criterion_text(m: Methodology, key: str, form: FilledForm) -> str:
    """The criterion as the form numbers and words it ("2.3 已了解参与竞争的软件厂商")."""
    for stage in m.stages:
        for j, c in enumerate(stage.criteria):
            if c.key == key:
                return f"{stage.order}.{j + 1} {c.text(_lang(form))}"
    return key


def _read_fields(form: FilledForm, block: dict[str, str], cells: dict[str, CellValue], where: str) -> None:
    """The amount, close date and status the rep corrected, each read as the master column reads it; a value
    that does not read refuses the form with what was expected, in the form's language."""
    lang = _lang(form)
    for key, ref in block.items():
        if not key.startswith("field:"):
            continue
        column = key[len("field:"):]
        if column not in EDITABLE:
            form.problems.append(_says(form, "damaged", where=where))
            continue
        cell = cells.get(ref, CellValue(None))
        name = label(f"field.{column}", lang)
        if cell.formula is not None:
            form.problems.append(label("form.refused.field", lang).format(
                where=where, cell=ref, field=name, value="=" + cell.formula,
                expected=label(f"form.field_error.{column}", lang)))
            continue
        if is_blank(cell.value):
            continue
        try:
            value = kind_of(column).parse(cell.value)
            if column == "amount" and value < 0:
                raise InputError(f"{value} is negative")
        except (InputError, ValueError, TypeError):
            form.problems.append(label("form.refused.field", lang).format(
                where=where, cell=ref, field=name, value=cell.value,
                expected=label(f"form.field_error.{column}", lang)))
            continue
        form.fields[column] = value


def _read_answers(form: FilledForm, block: dict[str, str], cells: dict[str, CellValue], m: Methodology,
                  where: str) -> None:
    known = {c.key for c in m.criteria()}
    for key, ref in block.items():
        if not key.startswith("chk:"):
            continue
        criterion = key[4:]
        if criterion not in known:
            form.problems.append(_says(form, "damaged", where=where))
            continue
        cell = cells.get(ref, CellValue(None))
        if cell.formula is not None or not _is_answer(cell.value):
            shown = "=" + cell.formula if cell.formula is not None else cell.value
            form.problems.append(_says(form, "answer", where=where, cell=ref, value=shown,
                                       criterion=_criterion_text(m, criterion, form)))
            continue
        form.answers[criterion] = parse_bool(cell.value)


def _read_stage(form: FilledForm, block: dict[str, str], cells: dict[str, CellValue], m: Methodology,
                where: str) -> None:
    marked, refs, bad_mark = [], [], False
    for key, ref in block.items():
        if not key.startswith("marker:"):
            continue
        refs.append(ref)
        cell = cells.get(ref, CellValue(None))
        text = "" if cell.value is None else str(cell.value).strip()
        if cell.formula is not None or (text and text != MARK):
            form.problems.append(_says(form, "mark", where=where, cell=ref,
                                       value=text if cell.formula is None else "=" + cell.formula))
            bad_mark = True
        elif text == MARK:
            marked.append(key[len("marker:"):])
    if len(marked) != 1 and not bad_mark:
        lang = _lang(form)
        names = label("form.read.list_separator", lang).join(
            m.stage(k).name(lang) if k in m.stage_keys else k for k in marked)
        form.problems.append(_says(form, "no_mark" if not marked else "marks", where=where, stages=names))
    elif len(marked) == 1:
        if marked[0] not in m.stage_keys:
            form.problems.append(_says(form, "damaged", where=where))
        else:
            form.stage = marked[0]


def _read_notes(form: FilledForm, block: dict[str, str], cells: dict[str, CellValue], settings: FormSettings,
                where: str) -> None:
    ref = block.get("notes")
    if not ref:
        return
    cell = cells.get(ref, CellValue(None))
    if cell.formula is not None:
        text = "=" + cell.formula
    elif cell.value is None:
        form.notes = None
        return
    elif isinstance(cell.value, float) and cell.value.is_integer():
        text = str(int(cell.value))
    else:
        text = str(cell.value)
    text = _CONTROL.sub("", text).strip()
    if len(text) > settings.limits["max_notes_chars"]:
        form.problems.append(_says(form, "notes", where=where, cell=ref, length=len(text),
                                   limit=settings.limits["max_notes_chars"]))
        return
    form.notes, form.notes_neutralised = neutralise(text) if text else (None, False)
