"""The exceptions funnel_xl raises: one tree, each also the matching built-in (as tablib does).

Messages are written for a sales manager: they name the file or sheet, the row, the column,
the value and what was expected.
"""


class FunnelError(Exception):
    """Base of every error funnel_xl raises on purpose."""


class MethodologyError(FunnelError, ValueError):
    """A methodology file (stages, win rates, criteria) is not valid."""


class InputError(FunnelError, ValueError):
    """Input data cannot be used as it stands (a bad amount, date, stage, ...).

    ``code`` and ``params`` optionally name the mistake for the label catalogue (``problem.<code>``), so
    the report can say it in the workbook's language; the English message stays the exception's text.
    """

    def __init__(self, *args: object, code: str | None = None, params: tuple[tuple[str, object], ...] = ()) -> None:
        super().__init__(*args)
        self.code = code
        self.params = tuple(params)


class WorkbookFormatError(FunnelError, ValueError):
    """A workbook lacks a sheet, table or column the tool needs."""


class SheetNameError(WorkbookFormatError):
    """A sheet name Excel would refuse: blank, too long, a forbidden character, an apostrophe at an end, reserved."""


class WorkbookLockedError(FunnelError, PermissionError):
    """The workbook is open in Excel (its ``~$`` lock file exists), so it is not overwritten."""


class WorkbookBusyError(FunnelError, BlockingIOError):
    """Another funnel-xl run holds the workbook's lock (a read-modify-write in progress) and kept it too long."""


class WorkbookExistsError(FunnelError, FileExistsError):
    """A build would replace a workbook holding data of its own (use --force to replace it, keeping a backup)."""


class WriteError(FunnelError, OSError):
    """The workbook (or its backup) could not be written: a full disk, a read-only file or folder, no permission.

    Raised before anything was replaced, so the workbook and its history are as they were.
    """


class FormError(FunnelError, ValueError):
    """A returned stage-assessment form is not a form, is damaged, or is unsafe.

    ``code`` optionally names the kind (too_large, damaged, unsafe, no_form) for the label catalogue
    (``form.package.<code>``), so collect can say it in the workbook's language; the English text stays the
    exception's."""

    def __init__(self, *args: object, code: str | None = None) -> None:
        super().__init__(*args)
        self.code = code


class MappingError(FunnelError, ValueError):
    """A CRM import mapping file is not valid or does not fit the export."""


class MailError(FunnelError, ConnectionError):
    """An e-mail could not be sent."""


class LibreOfficeError(FunnelError, RuntimeError):
    """LibreOffice (soffice) or poppler (pdftoppm) is missing, failed, or produced no output."""


class UsageError(FunnelError, ValueError):
    """A command was called with options that do not go together or lack one it needs."""


class NotSupportedError(FunnelError, NotImplementedError):
    """This door cannot do that (e.g. a live book that has no saved file to copy); the message says which can."""


class HistoryError(FunnelError, ConnectionError):
    """The weekly history cannot be opened, read or written (a database unreachable, refused or too new)."""
