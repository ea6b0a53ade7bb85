"""Who gets what, once: the statement to every member's board, the alerts to the treasurer and bookkeeper.

Idempotent through `banquasso.delivery.records`: a statement is sent once per month and address
(`resend=True` sends it again), an alert once per alert, day and address. A message the SMTP
server refuses is not recorded, so the next run tries it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from banquasso.delivery.messages import alerts_message, statement_message
from banquasso.delivery.records import ALERT, STATEMENT, record_sent, sent_to
from banquasso.delivery.settings import MailSettings
from banquasso.delivery.smtp import MailError, send, send_problem
from banquasso.registry.db import Registry
from banquasso.watch.monitoring import Alert
from comptasso.books.group import Group
from comptasso.problems import Problem

NO_RECIPIENT = "mail-no-recipient"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Delivery:
    """What a delivery did: the addresses reached, those skipped (already sent), and the failures."""

    sent: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def summary(self) -> str:
        """`2 envoyé(s), 1 déjà envoyé(s), 0 échec(s)`."""
        return f"{len(self.sent)} envoyé(s), {len(self.skipped)} déjà envoyé(s), {len(self.problems)} échec(s)"


def board_addresses(group: Group) -> list[str]:
    """Every member's `board_emails`, in the order of group.toml, each address once."""
    seen: dict[str, None] = {}
    for member in group.members:
        for address in member.board_emails:
            seen.setdefault(address.lower(), None)
    return list(seen)


def alert_key(alert: Alert) -> str:
    """One alert of one day: `2026-12-01|plancher|velo-gap|2026-12-20`."""
    return f"{alert.raised_on.isoformat()}|{alert.kind}|{alert.member}|{alert.reference}"


def alert_addresses(group: Group, alert: Alert) -> list[str]:
    """The treasurer and the bookkeeper of the member an alert is about (those group.toml gives)."""
    try:
        member = group.member(alert.member)
    except KeyError:
        return []
    found = [a.lower() for a in (member.treasurer_email, member.bookkeeper_email) if a]
    return list(dict.fromkeys(found))


def deliver_statement(registry: Registry, settings: MailSettings, group: Group, *, month_iso: str,
                      month_label: str, pdf: bytes, written_on: dt.date, resend: bool = False,
                      now: Callable[[], dt.datetime] = _now) -> Delivery:
    """E-mail the month's statement to each board address not yet reached (all of them with `resend`)."""
    addresses = board_addresses(group)
    if not addresses:
        return Delivery(problems=(Problem(str(group.file), 0, "aucune adresse du conseil (board_emails) dans "
                                                              "group.toml : le relevé n'est envoyé à personne",
                                          code=NO_RECIPIENT, subject="members.board_emails"),))
    done = set() if resend else sent_to(registry, STATEMENT, month_iso)
    sent, skipped, problems = [], [], []
    for address in addresses:
        if address in done:
            skipped.append(address)
            continue
        message = statement_message(sender=settings.sender, recipient=address, group_name=group.name,
                                    month_label=month_label, month_iso=month_iso, pdf=pdf, written_on=written_on,
                                    now=now())
        try:
            send(settings, message)
        except MailError as error:
            problems.append(send_problem(settings, error, address))
            continue
        record_sent(registry, STATEMENT, month_iso, address, now())
        sent.append(address)
    return Delivery(tuple(sent), tuple(skipped), tuple(problems))


def deliver_alerts(registry: Registry, settings: MailSettings, group: Group, alerts: Sequence[Alert],
                   day: dt.date, now: Callable[[], dt.datetime] = _now) -> Delivery:
    """E-mail each address the day's alerts about its members it has not received yet (one message each)."""
    pending: dict[str, list[Alert]] = {}
    skipped: list[str] = []
    for alert in alerts:
        key = alert_key(alert)
        done = sent_to(registry, ALERT, key)
        for address in alert_addresses(group, alert):
            if address in done:
                skipped.append(address)
            else:
                pending.setdefault(address, []).append(alert)
    sent, problems = [], []
    for address, mine in pending.items():
        message = alerts_message(sender=settings.sender, recipient=address, group_name=group.name, day=day,
                                 alerts=mine, now=now())
        try:
            send(settings, message)
        except MailError as error:
            problems.append(send_problem(settings, error, address))
            continue
        for alert in mine:
            record_sent(registry, ALERT, alert_key(alert), address, now())
        sent.append(address)
    return Delivery(tuple(sent), tuple(dict.fromkeys(a for a in skipped if a not in pending)), tuple(problems))
