"""The registry's tables (SQLAlchemy 2 typed declarative): advances, schedule lines, payments, postings, audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

Money = Numeric(14, 2, asdecimal=True)
RateType = Numeric(9, 6, asdecimal=True)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with named constraints (so migrations are stable)."""

    metadata = MetaData(naming_convention=NAMING)


class Advance(Base):
    """One advance between two members: its terms, its securing tranche and where it stands."""

    __tablename__ = "advance"
    __table_args__ = (UniqueConstraint("year", "seq", name="uq_advance_year_seq"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    lender: Mapped[str] = mapped_column(String(32))
    borrower: Mapped[str] = mapped_column(String(32))
    principal: Mapped[Decimal] = mapped_column(Money)
    rate: Mapped[Decimal] = mapped_column(RateType)
    method: Mapped[str] = mapped_column(String(16))
    day_count: Mapped[str] = mapped_column(String(8))
    grace_days: Mapped[int] = mapped_column(Integer)
    disburse_on: Mapped[dt.date] = mapped_column(Date)
    repay_on: Mapped[dt.date] = mapped_column(Date)
    convention: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tranche_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    proposed_on: Mapped[dt.date] = mapped_column(Date)
    approved_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(128), nullable=True)
    approved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    rejected_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disbursed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    origin: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "plan" | "manual"
    closed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # rejected or superseded on
    decision_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # the lender's board met on
    decision_body: Mapped[str | None] = mapped_column(String(128), nullable=True)  # "conseil d'administration"
    borrower_decision: Mapped[str | None] = mapped_column(String(128), nullable=True)
    borrower_decision_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    borrower_body: Mapped[str | None] = mapped_column(String(128), nullable=True)

    lines: Mapped[list[ScheduleLine]] = relationship(
        back_populates="advance", order_by="ScheduleLine.n", cascade="all, delete-orphan")
    payments: Mapped[list[Payment]] = relationship(
        back_populates="advance", order_by="Payment.seq", cascade="all, delete-orphan")


class ScheduleLine(Base):
    """A planned repayment line (principal and interest due on a date)."""

    __tablename__ = "schedule_line"
    __table_args__ = (UniqueConstraint("advance_id", "n", name="uq_schedule_line_advance_n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    advance_id: Mapped[str] = mapped_column(ForeignKey("advance.id"))
    n: Mapped[int] = mapped_column(Integer)
    date: Mapped[dt.date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    payment: Mapped[Decimal] = mapped_column(Money)
    remaining: Mapped[Decimal] = mapped_column(Money)

    advance: Mapped[Advance] = relationship(back_populates="lines")


class Payment(Base):
    """A movement of money for an advance: the disbursement or one repayment (principal + interest)."""

    __tablename__ = "payment"
    __table_args__ = (UniqueConstraint("advance_id", "seq", name="uq_payment_advance_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    advance_id: Mapped[str] = mapped_column(ForeignKey("advance.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "disbursement" | "repayment"
    event: Mapped[str] = mapped_column(String(64), unique=True)
    date: Mapped[dt.date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money)
    interest: Mapped[Decimal] = mapped_column(Money)
    confirmed_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the bank operation's reference

    advance: Mapped[Advance] = relationship(back_populates="payments")


class Posting(Base):
    """A ledger event written into one member's engine file (unique per event and member)."""

    __tablename__ = "posting"
    __table_args__ = (UniqueConstraint("event", "member", name="uq_posting_event_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    advance_id: Mapped[str] = mapped_column(ForeignKey("advance.id"))
    event: Mapped[str] = mapped_column(String(64))
    member: Mapped[str] = mapped_column(String(32))
    flag: Mapped[str] = mapped_column(String(1))
    written_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditLog(Base):
    """Append-only trail: who did what to which advance, when, with the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    advance_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    as_of: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit record."""


def audit_append_only(session: Session, _context: Any, _instances: Any) -> None:
    """Session hook: refuse to update or delete audit records (the database triggers refuse it too)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("le journal d'audit est en ajout seul : aucune ligne ne peut être modifiée")
