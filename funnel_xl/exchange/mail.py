"""E-mail out and in: build a bilingual message with a rep's form workbook, send it by SMTP (or write .eml files
to an outbox), and read .xlsx attachments back out of saved .eml messages for collecting.

The SMTP password never comes from the command line (it would sit in the shell history and the process list):
it is read from the environment variable FUNNEL_XL_SMTP_PASSWORD, or asked for with getpass; and it is never sent
over a connection without TLS unless the caller says so (``allow_plain_auth``, ``--insecure-plain-auth``).
A failure part way names who got mail and who did not.
"""

from __future__ import annotations

import getpass
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid
from pathlib import Path

from funnel_xl.errors import FormError, InputError, MailError, UsageError
from funnel_xl.labels import LANGUAGES, label

PASSWORD_ENV = "FUNNEL_XL_SMTP_PASSWORD"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool = False
    use_ssl: bool = False
    user: str | None = None
    timeout: float = 30.0
    allow_plain_auth: bool = False   # log in over a connection without TLS (the password travels in clear)


def check_tls(smtp: SmtpSettings) -> None:
    """Refuse to log in without TLS: the password would cross the network readable by anyone on the way."""
    if smtp.user and not (smtp.starttls or smtp.use_ssl) and not smtp.allow_plain_auth:
        raise UsageError(f"send: logging in as {smtp.user!r} without TLS would send the password in clear: add "
                         "--starttls (port 587) or --ssl (port 465), or --insecure-plain-auth if the server is on a "
                         "network you trust")


def parse_host_port(text: str, default_port: int = 25) -> tuple[str, int]:
    """'smtp.example.com:587' -> ('smtp.example.com', 587); a bad port is named in the error."""
    host, sep, port = text.rpartition(":") if ":" in text else (text, "", "")
    if not sep:
        return text, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--smtp {text!r}: the port {port!r} is not a number from 1 to 65535; expected HOST:PORT")
    return host, int(port)


def smtp_password(user: str | None, *, env: Mapping[str, str] | None = None,
                  prompt: Callable[[str], str] = getpass.getpass) -> str | None:
    """The password for ``user``: from FUNNEL_XL_SMTP_PASSWORD, else asked for; None when no user is given."""
    if not user:
        return None
    env = os.environ if env is None else env
    if env.get(PASSWORD_ENV):
        return env[PASSWORD_ENV]
    return prompt(f"SMTP password for {user}: ")


def check_address(address: str, who: str) -> str:
    address = (address or "").strip()
    if not _EMAIL.match(address):
        raise InputError(f"{who}: {address!r} is not an e-mail address; expected name@example.com "
                         "(fill in the e-mail column of the reps table)")
    return address


def form_message(*, to: str, sender: str, rep: str, count: int, attachment: Path, lang: str) -> EmailMessage:
    """A short bilingual message (the workbook's language first) with the rep's form workbook attached."""
    msg = EmailMessage()
    msg["Subject"] = label("form.mail.subject", lang).format(rep=rep)
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "funnel-xl.local")
    order = [lang, *(l for l in LANGUAGES if l != lang)]
    body = "\n\n-----\n\n".join(label("form.mail.body", l).format(rep=rep, count=count) for l in order)
    msg.set_content(body, charset="utf-8")
    msg.add_attachment(Path(attachment).read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                       filename=Path(attachment).name)
    return msg


def send_messages(messages: list[EmailMessage], smtp: SmtpSettings, password: str | None = None,
                  progress: Callable[[int, int, str], None] | None = None,
                  on_sent: Callable[[EmailMessage], None] | None = None) -> int:
    """Send every message over one SMTP connection; returns how many were sent. ``on_sent`` is called as soon as
    the server has accepted a message. Errors name the server and, part way, who got mail and who did not."""
    check_tls(smtp)
    where = f"{smtp.host}:{smtp.port}"
    try:
        if smtp.use_ssl:
            server = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"cannot connect to the mail server {where}: {exc}") from exc
    sent = 0
    try:
        with server:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.user:
                server.login(smtp.user, password or "")
            for i, msg in enumerate(messages, start=1):
                if progress:
                    progress(i, len(messages), str(msg["To"]))
                server.send_message(msg)
                sent += 1
                if on_sent is not None:
                    on_sent(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where} refused the login of {smtp.user!r}: check the user and the password "
                        f"({PASSWORD_ENV}); no message was sent") from exc
    except (OSError, smtplib.SMTPException) as exc:
        if sent == len(messages):
            return sent  # every message was accepted; only the goodbye failed
        got = ", ".join(str(m["To"]) for m in messages[:sent]) or "nobody"
        missed = ", ".join(str(m["To"]) for m in messages[sent:])
        raise MailError(f"{where}: sending stopped after {sent} of {len(messages)} messages "
                        f"({' '.join(str(exc).split()) or type(exc).__name__}): sent to {got}; not sent to {missed}; "
                        f"run send again with --resume to send only the rest") from exc
    return sent


def write_outbox(messages: list[EmailMessage], outbox: Path) -> list[Path]:
    """--dry-run: each message as an .eml file (named by recipient) instead of sending it."""
    outbox = Path(outbox)
    outbox.mkdir(parents=True, exist_ok=True)
    written = []
    for i, msg in enumerate(messages, start=1):
        name = _UNSAFE_NAME.sub("_", str(msg["To"])) or f"message{i}"
        path = outbox / f"{i:03d}_{name}.eml"
        path.write_bytes(msg.as_bytes(policy=policy.SMTP))
        written.append(path)
    return written


def xlsx_attachments(path: Path, max_bytes: int) -> list[tuple[str, bytes]]:
    """The .xlsx attachments of a saved message, (file name, bytes); an oversized message or part is refused."""
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes * 2:  # base64 makes an attachment a third larger; twice the limit leaves room for text
        raise FormError(f"{path.name}: the message is {size:,} bytes, too large to hold a returned form")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    except Exception as exc:  # the email package raises many kinds on a damaged message
        raise FormError(f"{path.name}: not a readable e-mail message: {exc}") from exc
    out = []
    for part in msg.iter_attachments():
        name = part.get_filename() or ""
        if not name.lower().endswith(".xlsx"):
            continue
        data = part.get_payload(decode=True) or b""
        if len(data) > max_bytes:
            raise FormError(f"{path.name}: attachment {name} is {len(data):,} bytes, more than {max_bytes:,}")
        out.append((_UNSAFE_NAME.sub("_", Path(name).name), data))
    return out
