"""What was sent to whom: the `mail_sent` table, the idempotency key of every delivery.

A statement is sent once per month and recipient, an alert once per alert, day and recipient; a
row is written only after the SMTP server accepted the message.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from banquasso.registry.db import Registry
from banquasso.registry.models import Base

STATEMENT, ALERT = "statement", "alert"


class MailSent(Base):
    """One message accepted by the SMTP server: what (`kind`, `key`) went to whom, when."""

    __tablename__ = "mail_sent"
    __table_args__ = (UniqueConstraint("kind", "key", "recipient", name="uq_mail_sent_kind_key_recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(160))
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=1)


def sent_to(registry: Registry, kind: str, key: str) -> set[str]:
    """The recipients a message of this kind and key already reached."""
    query = select(MailSent.recipient).where(MailSent.kind == kind, MailSent.key == key)
    with registry.session() as session:
        return set(session.scalars(query))


def record_sent(registry: Registry, kind: str, key: str, recipient: str, at: dt.datetime) -> None:
    """Record one accepted message (a resend bumps the row's count and time)."""
    try:
        with registry.session() as session, session.begin():
            row = session.scalars(select(MailSent).where(MailSent.kind == kind, MailSent.key == key,
                                                         MailSent.recipient == recipient)).first()
            if row is None:
                session.add(MailSent(kind=kind, key=key, recipient=recipient, sent_at=at, count=1))
            else:
                row.sent_at, row.count = at, row.count + 1
    except IntegrityError:  # another process recorded the same message at the same moment
        pass
