"""A real SMTP server for the mail tests (aiosmtpd on 127.0.0.1): it keeps what it receives, can accept logins
without TLS, and can drop the connection after a number of messages, as a failing server would."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


class SmtpRecorder:
    """An aiosmtpd handler: keeps every message (``envelopes``) and login (``logins``); with ``limit`` it accepts
    that many messages, then drops the connection in the middle of the next one."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit, self.envelopes, self.logins = limit, [], []

    async def handle_DATA(self, server, session, envelope):
        if self.limit is not None and len(self.envelopes) >= self.limit:
            server.transport.close()
            return "421 closing"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        self.logins.append((mechanism, auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def smtp_server(handler: SmtpRecorder | None = None) -> Iterator[tuple[str, int, SmtpRecorder]]:
    """A server on a free port for the block: (host, port, handler). It offers AUTH without TLS (the client must
    refuse to use it unless told to)."""
    from aiosmtpd.controller import Controller

    handler = handler or SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), authenticator=handler.authenticate,
                            auth_require_tls=False)
    controller.start()
    try:
        yield "127.0.0.1", controller.port, handler
    finally:
        controller.stop()
