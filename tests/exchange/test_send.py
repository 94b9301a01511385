"""Mail that says what it did: no password over a connection without TLS unless asked, a sent-log beside the
forms, a failure part way that names who got mail and who did not, and a re-run that mails nobody twice; tested
against a real SMTP server (aiosmtpd) that drops the connection after 3 messages."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from funnel_xl import cli
from funnel_xl.exchange.mail import PASSWORD_ENV
from funnel_xl.exchange.sent_log import SENT_LOG
from funnel_xl.services.forms import MANIFEST
from tests.smtp import smtp_server

MANAGER = "manager@example.com"
DROP_AFTER = 3


@pytest.fixture
def server():
    with smtp_server() as (host, port, handler):
        yield handler, f"{host}:{port}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The sample master's forms (one workbook per rep with open deals) and their manifest."""
    from funnel_xl.cli.forms import open_master
    from funnel_xl.outputs import Folder
    from funnel_xl.sample import SAMPLE_AS_OF
    from funnel_xl.services.build import build_workbook
    from funnel_xl.services.forms import generate_forms

    master = build_workbook(tmp_path_factory.mktemp("master") / "Funnel.xlsm")
    out = tmp_path_factory.mktemp("forms")
    with open_master(master) as book:
        generate_forms(book, Folder(out), as_of=SAMPLE_AS_OF)
    return out


@pytest.fixture
def forms(generated, tmp_path) -> Path:
    return Path(shutil.copytree(generated, tmp_path / "forms"))


def recipients(forms: Path) -> list[str]:
    return [w["email"] for w in json.loads((forms / MANIFEST).read_text(encoding="utf-8"))["workbooks"]]


def sent_log(forms: Path) -> list[dict[str, str]]:
    with open(forms / SENT_LOG, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def send(forms: Path, where: str, *extra: str) -> int:
    return cli.main(["send", str(forms), "--smtp", where, "--from", MANAGER, *extra])


def test_the_sample_sends_eight_messages(forms):
    assert len(recipients(forms)) == 8  # the scenario below: a server that drops after 3 of them


def test_a_drop_after_three_of_eight_names_who_got_mail_and_who_did_not_and_resume_sends_the_rest(
        forms, server, capsys):
    handler, where = server
    everyone = recipients(forms)
    handler.limit = DROP_AFTER

    assert send(forms, where) == 1
    err = capsys.readouterr().err
    got, missed = everyone[:DROP_AFTER], everyone[DROP_AFTER:]
    assert err.count("\n") == 1 and f"after {DROP_AFTER} of {len(everyone)} messages" in err
    assert f"sent to {', '.join(got)}; not sent to {', '.join(missed)}" in err and "--resume" in err
    assert [e.rcpt_tos[0] for e in handler.envelopes] == got
    log = sent_log(forms)
    assert [r["recipient"] for r in log] == got
    assert all(r["message_id"].startswith("<") and r["file"].endswith(".xlsx") and len(r["sha256"]) == 64
               and r["sent_at"] for r in log)

    handler.limit = None
    assert send(forms, where) == 1  # a plain re-run would mail the first three again: refused
    assert "--resume" in capsys.readouterr().err and len(handler.envelopes) == DROP_AFTER

    assert send(forms, where, "--resume") == 0
    assert [e.rcpt_tos[0] for e in handler.envelopes] == everyone  # each rep exactly once
    assert [r["recipient"] for r in sent_log(forms)] == everyone


def test_forms_generated_anew_are_sent_again(forms, server):
    handler, where = server
    assert send(forms, where) == 0
    first = next(iter(json.loads((forms / MANIFEST).read_text(encoding="utf-8"))["workbooks"]))
    (forms / first["file"]).write_bytes((forms / first["file"]).read_bytes() + b" ")  # new content
    assert send(forms, where, "--resume") == 0
    assert [e.rcpt_tos[0] for e in handler.envelopes] == recipients(forms) + [first["email"]]


def test_a_login_without_tls_is_refused_before_the_password_is_asked_for_or_anything_is_sent(
        forms, server, capsys, monkeypatch):
    handler, where = server
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("the password was asked for"))
    assert send(forms, where, "--user", "manager") == 2
    err = capsys.readouterr().err
    assert "without TLS" in err and "--starttls" in err and "--insecure-plain-auth" in err
    assert handler.envelopes == [] and handler.logins == [] and not (forms / SENT_LOG).exists()


def test_insecure_plain_auth_logs_in_without_tls_when_asked_for(forms, server, monkeypatch):
    handler, where = server
    monkeypatch.setenv(PASSWORD_ENV, "s3cret")
    assert send(forms, where, "--user", "manager", "--insecure-plain-auth") == 0
    assert handler.logins and handler.logins[0][1:] == ("manager", "s3cret")
    assert len(handler.envelopes) == len(recipients(forms))


def test_a_dry_run_writes_the_outbox_and_no_sent_log(forms):
    assert cli.main(["send", str(forms), "--from", MANAGER, "--dry-run"]) == 0
    assert len(list((forms / "outbox").glob("*.eml"))) == len(recipients(forms))
    assert not (forms / SENT_LOG).exists()
