"""Delivery by e-mail through a real SMTP server on 127.0.0.1 (aiosmtpd): statement once, alerts once a day."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections.abc import Iterator
from decimal import Decimal
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.delivery.deliver import alert_key, board_addresses
from banquasso.delivery.messages import fr_long_date
from banquasso.delivery.settings import load_mail_settings
from banquasso.registry.db import open_registry
from banquasso.scheduler.jobs import JobContext, daily_job, mail_alerts, monthly_job
from banquasso.watch.monitoring import Alert, alert_row
from comptasso.books.group import load_group
from tests.conftest import ROOT
from tests.test_statement import lending_group

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

BOARD = {"alpha": '["ca@alpha.example.org", "president@alpha.example.org"]', "beta": '["ca@beta.example.org"]'}


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_group(tmp_path: Path, port: int) -> tuple[Path, Path]:
    """The two-member lending group with board, treasurer and bookkeeper addresses, and a plain SMTP on `port`."""
    ledgers, rules = lending_group(tmp_path)
    group = ledgers / "group.toml"
    text = group.read_text(encoding="utf-8")
    for member, board in BOARD.items():
        text = text.replace(f'id = "{member}"\n', f'id = "{member}"\nboard_emails = {board}\n'
                                                  f'treasurer_email = "tresorerie@{member}.example.org"\n'
                                                  'bookkeeper_email = "compta@ge.example.org"\n')
    group.write_text(text, encoding="utf-8")
    (rules / "mail.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
                                     'sender = "BanquAsso <banquasso@ge.example.org>"\n', encoding="utf-8")
    return ledgers, rules


def send(ledgers: Path, rules: Path, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(main, ["statement", "--ledgers", str(ledgers), "--rules", str(rules), "--month",
                                     "2026-03", "--as-of", "2026-04-15", "-o", str(out), "--send", *extra])


def test_the_statement_arrives_once_with_its_pdf_and_resend_sends_it_again(
        tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    out = tmp_path / "releve.pdf"
    result = send(ledgers, rules, out)
    assert result.exit_code == 0, result.output
    board = ["ca@alpha.example.org", "president@alpha.example.org", "ca@beta.example.org"]
    assert sorted(r for rcpt, _m in inbox.received for r in rcpt) == sorted(board)
    message = inbox.to("ca@beta.example.org")[0]
    assert message["Subject"] == "Relevé mensuel de trésorerie mutualisée — mars 2026 — Groupe de test"
    assert message["From"] == "BanquAsso <banquasso@ge.example.org>"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "relevé mensuel de trésorerie mutualisée de mars 2026" in body.get_content()
    assert "établi le 15 avril 2026" in body.get_content()  # --as-of, the French way
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["releve-2026-03.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == out.read_bytes()  # the very PDF written
    assert "envoyé à ca@beta.example.org" in result.output

    again = send(ledgers, rules, out)
    assert again.exit_code == 0, again.output
    assert len(inbox.received) == 3  # nothing more
    assert "déjà envoyé à ca@beta.example.org" in again.output

    forced = send(ledgers, rules, out, "--resend", "--json")
    assert forced.exit_code == 0, forced.output
    assert len(inbox.received) == 6 and len(inbox.to("ca@beta.example.org")) == 2
    assert '"sent": [' in forced.stdout


def test_a_bad_mail_key_is_refused_by_key_and_nothing_is_written(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    (rules / "mail.toml").write_text(f'[smtp]\nhots = "127.0.0.1"\nport = {port}\nsecurity = "tls"\n'
                                     'sender = "banquasso@ge.example.org"\n', encoding="utf-8")
    out = tmp_path / "releve.pdf"
    result = send(ledgers, rules, out)
    assert result.exit_code == 1
    assert "mail.toml:2: smtp.hots" in result.output
    assert "mail.toml:4: smtp.security" in result.output
    assert not out.exists() and inbox.received == []
    settings, problems = load_mail_settings(rules)
    assert settings is None and {p.subject for p in problems} == {"smtp.hots", "smtp.host", "smtp.security"}


def test_missing_mail_file_or_password_variable(tmp_path: Path, smtp: tuple[Inbox, int],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    (rules / "mail.toml").unlink()
    result = send(ledgers, rules, tmp_path / "releve.pdf")
    assert result.exit_code == 1 and "mail.toml: fichier absent" in result.output
    _settings, problems = load_mail_settings(rules)
    assert [p.code for p in problems] == ["mail-settings-missing"]
    (rules / "mail.toml").write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nuser = "u"\n'
                                     'password_env = "BQA_SMTP_PASSWORD"\nsender = "b@ge.example.org"\n',
                                     encoding="utf-8")
    monkeypatch.delenv("BQA_SMTP_PASSWORD", raising=False)
    settings, problems = load_mail_settings(rules)
    assert settings is not None and problems == []
    assert [p.code for p in settings.password()[1]] == ["mail-password-missing"]
    monkeypatch.setenv("BQA_SMTP_PASSWORD", "s3cret")
    assert settings.password() == ("s3cret", [])
    (rules / "mail.toml").write_text((ROOT / "rules" / "mail.toml").read_text(encoding="utf-8"), encoding="utf-8")
    settings, problems = load_mail_settings(rules)  # the shipped example: delivery is off, not broken
    assert settings is None and [p.code for p in problems] == ["mail-settings-missing"]
    usage = CliRunner().invoke(main, ["statement", "--ledgers", str(ledgers), "--rules", str(rules), "--month",
                                      "2026-03", "--resend"])
    assert usage.exit_code == 2 and "--resend ne s'emploie qu'avec --send" in usage.output


def test_group_addresses_are_checked_by_key(tmp_path: Path) -> None:
    ledgers, _rules = mail_group(tmp_path, 25)
    group, problems = load_group(ledgers)
    assert group is not None, problems
    assert board_addresses(group) == ["ca@alpha.example.org", "president@alpha.example.org", "ca@beta.example.org"]
    assert group.member("beta").treasurer_email == "tresorerie@beta.example.org"
    path = ledgers / "group.toml"
    path.write_text(path.read_text(encoding="utf-8").replace("ca@beta.example.org", "ca beta@example"),
                    encoding="utf-8")
    group, problems = load_group(ledgers)
    assert group is None
    assert [p.subject for p in problems] == ["members[1].board_emails"]
    assert "adresse électronique invalide « ca beta@example »" in problems[0].message


def test_alerts_go_to_the_treasurer_and_the_bookkeeper_once_a_day(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    day = dt.date(2026, 4, 2)
    alerts = [Alert(day, "plancher", "beta", "2026-04-20", dt.date(2026, 4, 20), Decimal("-150.00"),
                    "beta passe sous son plancher le 20/04/2026"),
              Alert(day, "retard", "alpha", "BQA-2026-0001", None, None, "alpha : échéance en retard")]
    registry = open_registry(ledgers)
    try:
        with registry.session() as session, session.begin():
            session.add_all([alert_row(a) for a in alerts])
        ctx = JobContext(ledgers, rules, tmp_path / "reports", registry, log=lambda _m: None)
        tail = mail_alerts(ctx, day)
        assert tail == " ; courriels (alertes) : 3 envoyé(s), 0 déjà envoyé(s), 0 échec(s)"
        assert [m["Subject"] for m in inbox.to("tresorerie@beta.example.org")] == \
            ["1 alerte de trésorerie du 2 avril 2026 — Groupe de test"]
        bookkeeper = inbox.to("compta@ge.example.org")
        assert len(bookkeeper) == 1 and bookkeeper[0]["Subject"].startswith("2 alertes de trésorerie du 2 avril 2026")
        text = bookkeeper[0].get_content()
        assert "- beta passe sous son plancher le 20/04/2026" in text and "- alpha : échéance en retard" in text
        assert inbox.to("ca@alpha.example.org") == []  # the board gets the statement, not the alerts
        assert "déjà envoyé" in mail_alerts(ctx, day) and len(inbox.received) == 3  # once per alert and day
        assert alert_key(alerts[0]) == "2026-04-02|plancher|beta|2026-04-20"
    finally:
        registry.close()


def test_the_monthly_job_mails_the_statement_once(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    registry = open_registry(ledgers)
    try:
        ctx = JobContext(ledgers, rules, tmp_path / "reports", registry, log=lambda _m: None)
        first = monthly_job(ctx, dt.date(2026, 4, 1))
        assert first.status == "ok" and "courriels (relevé) : 3 envoyé(s)" in first.message
        assert first.path is not None
        pdf = next(inbox.to("ca@alpha.example.org")[0].iter_attachments()).get_content()
        assert pdf == first.path.read_bytes()
        second = monthly_job(ctx, dt.date(2026, 4, 2))
        assert second.status == "skipped" and "3 déjà envoyé(s)" in second.message
        assert len(inbox.received) == 3
    finally:
        registry.close()


def test_the_daily_job_mails_its_alert_and_a_refused_message_is_retried(
        tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    ledgers, rules = mail_group(tmp_path, port)
    mail = rules / "mail.toml"
    good = mail.read_text(encoding="utf-8")
    mail.write_text(good.replace('security = "none"', 'security = "ssl"'), encoding="utf-8")  # a plain server
    log: list[str] = []
    registry = open_registry(ledgers)
    try:
        ctx = JobContext(ledgers, rules, tmp_path / "reports", registry, log=log.append)
        day = dt.date(2026, 4, 20)  # beta goes under its floor the next day (tests/test_scheduler.py)
        first = daily_job(ctx, day)
        assert first.status == "ok" and "0 envoyé(s), 0 déjà envoyé(s), 2 échec(s)" in first.message
        assert inbox.received == [] and any(line.startswith("COURRIEL ") and "impossible" in line for line in log)
        mail.write_text(good, encoding="utf-8")
        again = daily_job(ctx, day)  # the day's run is done; the messages not accepted are sent now
        assert again.status == "skipped" and "2 envoyé(s)" in again.message
        assert [m["Subject"] for m in inbox.to("tresorerie@beta.example.org")] == \
            ["1 alerte de trésorerie du 20 avril 2026 — Groupe de test"]
        assert len(inbox.to("compta@ge.example.org")) == 1 and inbox.to("tresorerie@alpha.example.org") == []
        assert "2 déjà envoyé(s)" in daily_job(ctx, day).message and len(inbox.received) == 2
    finally:
        registry.close()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test server on 127.0.0.1
def test_the_smtp_log_in_uses_the_password_from_the_environment(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.smtp import AuthResult

    seen: list[tuple[bytes, bytes]] = []

    def authenticator(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        login, password = (x if isinstance(x, bytes) else str(x).encode() for x in (data.login, data.password))
        seen.append((login, password))
        return AuthResult(success=password == b"s3cret", handled=False)  # not handled: the server answers 535

    inbox, port = Inbox(), _free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator,
                                                auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        ledgers, rules = mail_group(tmp_path, port)
        mail = rules / "mail.toml"
        mail.write_text(mail.read_text(encoding="utf-8").replace(
            'security = "none"\n',
            'security = "none"\nuser = "banquasso"\npassword_env = "BQA_SMTP_PASSWORD"\ntimeout_seconds = 3\n'),
            encoding="utf-8")
        monkeypatch.setenv("BQA_SMTP_PASSWORD", "faux")
        refused = send(ledgers, rules, tmp_path / "releve.pdf")
        assert refused.exit_code == 1 and "identifiant ou mot de passe refusé" in refused.output
        assert inbox.received == []
        monkeypatch.setenv("BQA_SMTP_PASSWORD", "s3cret")
        accepted = send(ledgers, rules, tmp_path / "releve.pdf")
        assert accepted.exit_code == 0, accepted.output
        assert len(inbox.received) == 3 and seen[-1] == (b"banquasso", b"s3cret")
    finally:
        controller.stop()


def test_french_dates_in_sentences() -> None:
    assert fr_long_date(dt.date(2026, 12, 1)) == "1er décembre 2026"
    assert fr_long_date(dt.date(2027, 1, 15)) == "15 janvier 2027"
