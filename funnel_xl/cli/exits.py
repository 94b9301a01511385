"""What a command's failure means for its caller: one mapping from error class to exit code, one line on stderr.

0 done; 1 a fault in the input or the environment the user can act on (the line says what and what to do);
2 a wrong command line (argparse answers its own mistakes with 2 too); 3 a bug of ours; 130 interrupted (Ctrl+C
or a termination signal), after every temporary file was removed.
"""

from __future__ import annotations

import sys

from funnel_xl.errors import FunnelError, UsageError

DONE, FAULT, USAGE, BUG, INTERRUPTED = 0, 1, 2, 3, 130

# First match wins, so a subclass comes before its base. OSError: a missing file, a read-only folder, a full disk.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, INTERRUPTED),
    (UsageError, USAGE),
    (FunnelError, FAULT),
    (OSError, FAULT),
)


def exit_code(exc: BaseException) -> int:
    """The exit code of a command that raised ``exc``."""
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), BUG)


def report(exc: BaseException, code: int) -> None:
    """The one line a failure leaves on stderr (a bug names its type and how to see the traceback)."""
    if code == BUG:
        print(f"funnel-xl: internal error {type(exc).__name__}: {one_line(exc)} (run with --debug for details)",
              file=sys.stderr)
    elif code == INTERRUPTED:
        print("funnel-xl: interrupted; a workbook being saved is either as it was or fully saved, never half "
              "written", file=sys.stderr)
    else:
        print(f"funnel-xl: {one_line(exc)}", file=sys.stderr)


def one_line(exc: BaseException) -> str:
    """An error on one line (its lines joined), so a failure reads as one line in a log or a CI job."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    out = lines[0]
    for line in lines[1:]:
        out += (" " if out.endswith(":") else "; ") + line
    return out
