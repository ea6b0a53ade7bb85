"""The French messages: the board's monthly statement (PDF attached) and the morning's alerts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from babel.dates import format_date

from banquasso.watch.monitoring import Alert

SIGNATURE = "BanquAsso — trésorerie mutualisée"


def fr_long_date(day: dt.date) -> str:
    """`1er décembre 2026`, `15 janvier 2027`: a date in a French sentence."""
    text = format_date(day, "d MMMM y", locale="fr_FR")
    return "1er" + text[1:] if day.day == 1 else text


def _message(sender: str, recipient: str, subject: str, body: str, now: dt.datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].rstrip(">"))
    message["Content-Language"] = "fr"
    message.set_content(body)
    return message


def statement_message(*, sender: str, recipient: str, group_name: str, month_label: str, month_iso: str,
                      pdf: bytes, written_on: dt.date, now: dt.datetime) -> EmailMessage:
    """The statement of one month for one board address, with the PDF attached."""
    subject = f"Relevé mensuel de trésorerie mutualisée — {month_label} — {group_name}"
    body = (f"Bonjour,\n\nVous trouverez ci-joint le relevé mensuel de trésorerie mutualisée de {month_label} "
            f"({group_name}), établi le {fr_long_date(written_on)}.\n\nIl présente la trésorerie de chaque "
            "association, la prévision des trois prochains mois, les avances entre associations et "
            "l'annexe des prêteurs.\n\nCe message est envoyé automatiquement ; pour toute question, "
            f"adressez-vous au comptable du groupement.\n\n-- \n{SIGNATURE}\n")
    message = _message(sender, recipient, subject, body, now)
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"releve-{month_iso}.pdf")
    return message


def alerts_message(*, sender: str, recipient: str, group_name: str, day: dt.date, alerts: Sequence[Alert],
                   now: dt.datetime) -> EmailMessage:
    """The morning's new alerts for one recipient (treasurer of a member, or its bookkeeper)."""
    count = len(alerts)
    plural = "s" if count > 1 else ""
    subject = f"{count} alerte{plural} de trésorerie du {fr_long_date(day)} — {group_name}"
    lines = "\n".join(f"- {alert.message}" for alert in alerts)
    body = (f"Bonjour,\n\nLe contrôle du matin du {fr_long_date(day)} a relevé {count} alerte{plural} "
            f"vous concernant :\n\n{lines}\n\nLe détail est dans Fava, page « Trésorerie mutualisée ».\n\n"
            f"-- \n{SIGNATURE}\n")
    return _message(sender, recipient, subject, body, now)
