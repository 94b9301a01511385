"""E-mail: bilingual messages with the form workbook, sent through a real local SMTP server or written as .eml."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from funnel_xl.errors import FormError, InputError, MailError
from funnel_xl.exchange.mail import (
    PASSWORD_ENV, SmtpSettings, form_message, parse_host_port, send_messages, smtp_password, write_outbox,
    xlsx_attachments,
)
from tests.smtp import free_port, smtp_server


@pytest.fixture
def server():
    with smtp_server() as (host, port, recorder):
        yield host, port, recorder


@pytest.fixture
def attachment(tmp_path) -> Path:
    path = tmp_path / "评估表_张伟.xlsx"
    path.write_bytes(b"PK\x03\x04 pretend workbook bytes")
    return path


def message(attachment, to="zhang.wei@example.com", lang="zh-CN"):
    return form_message(to=to, sender="manager@example.com", rep="张伟", count=11, attachment=attachment, lang=lang)


def test_the_message_is_bilingual_with_the_workbooks_language_first_and_carries_the_workbook(attachment):
    msg = message(attachment)
    body = msg.get_body(("plain",)).get_content()
    assert body.index("张伟，您好") < body.index("Dear 张伟")
    assert "11 个商机" in body and "11 open opportunities" in body
    assert msg["Subject"] == "销售阶段评估表 - 张伟"
    (part,) = list(msg.iter_attachments())
    assert part.get_filename() == attachment.name
    assert part.get_payload(decode=True) == attachment.read_bytes()


def test_messages_go_through_a_real_smtp_server_with_the_attachment_intact(server, attachment):
    host, port, recorder = server
    sent = send_messages([message(attachment), message(attachment, to="wang.fang@example.com")],
                         SmtpSettings(host, port))
    assert sent == 2
    assert [e.rcpt_tos for e in recorder.envelopes] == [["zhang.wei@example.com"], ["wang.fang@example.com"]]
    received = BytesParser(policy=policy.default).parsebytes(recorder.envelopes[0].original_content)
    (part,) = list(received.iter_attachments())
    assert part.get_filename() == "评估表_张伟.xlsx"
    assert part.get_payload(decode=True) == attachment.read_bytes()


def test_an_unreachable_server_is_a_mail_error_naming_it(attachment):
    port = free_port()  # nothing listens there
    with pytest.raises(MailError, match=f"127.0.0.1:{port}"):
        send_messages([message(attachment)], SmtpSettings("127.0.0.1", port, timeout=2))


def test_dry_run_writes_one_eml_per_message_that_reads_back_its_attachment(tmp_path, attachment):
    paths = write_outbox([message(attachment)], tmp_path / "outbox")
    assert [p.suffix for p in paths] == [".eml"]
    assert xlsx_attachments(paths[0], 1_000_000) == [(attachment.name, attachment.read_bytes())]


def test_a_message_or_an_attachment_over_the_limit_is_refused(tmp_path, attachment):
    attachment.write_bytes(b"x" * 10_000)
    (path,) = write_outbox([message(attachment)], tmp_path / "outbox")
    with pytest.raises(FormError, match="too large"):
        xlsx_attachments(path, 100)
    with pytest.raises(FormError, match="10,000 bytes, more than 9,999"):
        xlsx_attachments(path, 9_999)


def test_the_password_comes_from_the_environment_else_from_a_prompt_never_from_arguments():
    assert smtp_password("u", env={PASSWORD_ENV: "s3cret"}, prompt=lambda _: "typed") == "s3cret"
    assert smtp_password("u", env={}, prompt=lambda _: "typed") == "typed"
    assert smtp_password(None, env={PASSWORD_ENV: "s3cret"}) is None
    from funnel_xl.cli import parser

    with pytest.raises(SystemExit):
        parser().parse_args(["send", "dir", "--from", "a@example.com", "--password", "x"])


def test_a_bad_port_is_named():
    assert parse_host_port("smtp.example.com:587") == ("smtp.example.com", 587)
    with pytest.raises(InputError, match="'58x'"):
        parse_host_port("smtp.example.com:58x")
