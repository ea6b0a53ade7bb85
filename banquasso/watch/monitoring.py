"""The daily watch: forecast snapshots, alerts and job runs stored beside the registry, and advances as of a day."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from sqlalchemy import Date, DateTime, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from banquasso.forecast.daily import GroupForecast, MemberForecast
from banquasso.registry import lifecycle
from banquasso.registry.balance import DueLine, due_lines, late_since, remaining_lines, securing_receipt
from banquasso.registry.db import Registry
from banquasso.registry.models import Base, Money
from banquasso.registry.snapshot import ZERO, AdvanceView, view_as_of
from comptasso.money import fr_date, fr_money

#: Alert kinds (stored in `alert.kind`).
BELOW_FLOOR = "sous-plancher"
LATE_LINE = "retard-avance"
#: How far ahead the daily watch looks for a member going under its floor.
ALERT_WINDOW_DAYS = 30

# --------------------------------------------------------------------------------------------- tables


class ForecastSnapshot(Base):
    """The forecast of one member as made by the daily job on `taken_on` (books as of that day)."""

    __tablename__ = "forecast_snapshot"
    __table_args__ = (UniqueConstraint("taken_on", "member", name="uq_forecast_snapshot_taken_on_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    taken_on: Mapped[dt.date] = mapped_column(Date)
    member: Mapped[str] = mapped_column(String(32))
    horizon_days: Mapped[int] = mapped_column(Integer)
    opening_balance: Mapped[Decimal] = mapped_column(Money)
    floor: Mapped[Decimal] = mapped_column(Money)
    min_balance: Mapped[Decimal] = mapped_column(Money)
    min_date: Mapped[dt.date] = mapped_column(Date)
    days_below_floor: Mapped[int] = mapped_column(Integer)
    balances: Mapped[str] = mapped_column(Text)  # JSON list of decimal strings, days taken_on+1..+horizon


class AlertRecord(Base):
    """An alert raised by the daily job (unique per day, kind, member and reference)."""

    __tablename__ = "alert"
    __table_args__ = (UniqueConstraint("raised_on", "kind", "member", "reference",
                                       name="uq_alert_raised_on_kind_member_reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    raised_on: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    member: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    message: Mapped[str] = mapped_column(Text)


class JobRun(Base):
    """One run of a scheduled job for a key date: the unique (job, run_for) makes every job idempotent."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "run_for", name="uq_job_run_job_run_for"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(32))
    run_for: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # "ok" | "failed"
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    message: Mapped[str] = mapped_column(Text)


# ------------------------------------------------------------------------------------ advances on a day


@dataclass(frozen=True)
class AdvanceOnDay:
    """An advance as it stood at the end of a day: payments after that day are not yet known."""

    view: AdvanceView
    day: dt.date
    status: str
    outstanding: Decimal
    late_since: dt.date | None
    remaining: tuple[DueLine, ...]

    @property
    def label(self) -> str:
        return lifecycle.LABELS[self.status]

    @property
    def running(self) -> bool:
        return self.status in (lifecycle.DISBURSED, lifecycle.PARTLY_REPAID, lifecycle.LATE)

    def past_due(self) -> tuple[DueLine, ...]:
        """The remaining lines whose due date is before the day."""
        return tuple(line for line in self.remaining if not line.planned and line.date < self.day)


def _status_on(view: AdvanceView, day: dt.date, outstanding: Decimal, late: bool) -> str | None:
    """The state of an advance at the end of `day`, from its dated payments (None: not known yet or rejected)."""
    if view.disbursement is not None and view.disbursement.date <= day:
        if outstanding <= 0:
            return lifecycle.REPAID
        if late:
            return lifecycle.LATE
        return lifecycle.PARTLY_REPAID if view.repaid_principal > 0 else lifecycle.DISBURSED
    if view.state in (lifecycle.REJECTED, lifecycle.SUPERSEDED) or view.proposed_on > day:
        return None
    if view.approved_on is not None and view.approved_on <= day:
        return lifecycle.APPROVED
    return lifecycle.PROPOSED


def advance_on(view: AdvanceView, borrower_entries: Sequence[data.Directive], day: dt.date) -> AdvanceOnDay | None:
    """The advance at the end of `day` (None when it was not proposed yet, or was rejected or superseded by then)."""
    known = view_as_of(view, day)
    if known is None:
        return None
    received = securing_receipt(known, borrower_entries, day)
    lines = due_lines(known, received)
    late = late_since(known, lines, day)
    status = _status_on(known, day, known.outstanding, late is not None)
    if status is None:
        return None
    remaining = remaining_lines(known, lines) if status != lifecycle.REPAID else ()
    return AdvanceOnDay(known, day, status, known.outstanding, late, remaining)


def advances_on(views: Iterable[AdvanceView], ledgers: Mapping[str, Sequence[data.Directive]],
                day: dt.date) -> tuple[AdvanceOnDay, ...]:
    """Every advance known at the end of `day`, by id."""
    out = (advance_on(v, ledgers.get(v.borrower, ()), day) for v in sorted(views, key=lambda v: v.id))
    return tuple(a for a in out if a is not None)


# --------------------------------------------------------------------------------------------- alerts


@dataclass(frozen=True)
class Alert:
    """Something the treasurer must look at, found on `raised_on`."""

    raised_on: dt.date
    kind: str
    member: str
    reference: str
    due_on: dt.date | None
    amount: Decimal | None
    message: str


def floor_alerts(forecast: GroupForecast, within_days: int = ALERT_WINDOW_DAYS) -> list[Alert]:
    """Members whose forecast goes under their floor within `within_days` days after the forecast's day."""
    out = []
    limit = forecast.as_of + dt.timedelta(days=within_days)
    for member in forecast.members:
        first = next((day for day in member.below_floor if day <= limit), None)
        if first is None:
            continue
        low_day, low = min(((d, b) for d, b in member.days if d <= limit), key=lambda item: (item[1], item[0]))
        out.append(Alert(
            forecast.as_of, BELOW_FLOOR, member.member_id, first.isoformat(), first, low,
            f"{member.name} : trésorerie prévue sous le plancher ({fr_money(member.floor)}) dès le "
            f"{fr_date(first)} ; point bas à 30 jours {fr_money(low)} le {fr_date(low_day)}"))
    return out


def late_alerts(advances: Iterable[AdvanceOnDay]) -> list[Alert]:
    """One alert per repayment line past due and not repaid (the advance is then `en retard`)."""
    out = []
    for advance in advances:
        for line in advance.past_due():
            view = advance.view
            out.append(Alert(
                advance.day, LATE_LINE, view.borrower, f"{view.id}#{line.n}", line.date, line.payment,
                f"Avance {view.id} ({view.lender} → {view.borrower}) en retard : échéance {line.n} du "
                f"{fr_date(line.date)}, {fr_money(line.payment)} non remboursés"))
    return out


def member_alerts(member: MemberForecast, advances: Iterable[AdvanceOnDay]) -> list[str]:
    """The French alert lines of one member for the statement: floor over the horizon, late advances."""
    lines = []
    if member.below_floor:
        lines.append(f"Trésorerie prévue sous le plancher ({fr_money(member.floor)}) dès le "
                     f"{fr_date(member.below_floor[0])}, {member.days_below_floor} jour(s) sur l'horizon ; "
                     f"point bas {fr_money(member.min_balance)} le {fr_date(member.min_date)}.")
    for advance in advances:
        view = advance.view
        if advance.late_since is None or member.member_id not in (view.lender, view.borrower):
            continue
        if view.borrower == member.member_id:
            lines.append(f"Remboursement de l'avance {view.id} à {view.lender} en retard depuis le "
                         f"{fr_date(advance.late_since)}.")
        else:
            lines.append(f"L'avance {view.id} consentie à {view.borrower} n'est pas remboursée à l'échéance "
                         f"du {fr_date(advance.late_since)}.")
    return lines


# ------------------------------------------------------------------------------------------ snapshots


@dataclass(frozen=True)
class Snapshot:
    """A stored forecast of one member: its day, horizon and each day's projected balance."""

    taken_on: dt.date
    member: str
    floor: Decimal
    min_balance: Decimal
    days: tuple[tuple[dt.date, Decimal], ...]


def snapshot_rows(forecast: GroupForecast) -> list[ForecastSnapshot]:
    """The rows storing a forecast, one per member."""
    return [
        ForecastSnapshot(
            taken_on=forecast.as_of, member=m.member_id, horizon_days=forecast.horizon_days,
            opening_balance=m.opening_balance, floor=m.floor, min_balance=m.min_balance, min_date=m.min_date,
            days_below_floor=m.days_below_floor, balances=json.dumps([str(b) for _, b in m.days]))
        for m in forecast.members
    ]


def alert_row(alert: Alert) -> AlertRecord:
    return AlertRecord(raised_on=alert.raised_on, kind=alert.kind, member=alert.member, reference=alert.reference,
                       due_on=alert.due_on, amount=alert.amount, message=alert.message)


def _snapshot(row: ForecastSnapshot) -> Snapshot:
    values = json.loads(row.balances)
    days = tuple((row.taken_on + dt.timedelta(days=k + 1), Decimal(v)) for k, v in enumerate(values))
    return Snapshot(row.taken_on, row.member, Decimal(row.floor), Decimal(row.min_balance), days)


def load_snapshots(registry: Registry, before: dt.date | None = None) -> list[Snapshot]:
    """Every stored snapshot (taken strictly before `before` when given), by day then member."""
    query = select(ForecastSnapshot).order_by(ForecastSnapshot.taken_on, ForecastSnapshot.member)
    if before is not None:
        query = query.where(ForecastSnapshot.taken_on < before)
    with registry.session() as session:
        return [_snapshot(row) for row in session.scalars(query)]


def load_alerts(registry: Registry, day: dt.date) -> list[Alert]:
    """The alerts raised on a day."""
    query = select(AlertRecord).where(AlertRecord.raised_on == day).order_by(AlertRecord.id)
    with registry.session() as session:
        return [Alert(r.raised_on, r.kind, r.member, r.reference, r.due_on,
                      None if r.amount is None else Decimal(r.amount), r.message) for r in session.scalars(query)]


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one job run."""

    job: str
    run_for: dt.date
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    message: str


def _record(row: JobRun) -> RunRecord:
    return RunRecord(row.job, row.run_for, row.status, row.started_at, row.finished_at, row.message)


def find_run(session: Session, job: str, run_for: dt.date) -> JobRun | None:
    return session.scalar(select(JobRun).where(JobRun.job == job, JobRun.run_for == run_for))


def last_runs(registry: Registry) -> dict[str, RunRecord]:
    """The latest run of every job (by key date, then start time)."""
    out: dict[str, RunRecord] = {}
    with registry.session() as session:
        for row in session.scalars(select(JobRun).order_by(JobRun.run_for, JobRun.started_at, JobRun.id)):
            out[row.job] = _record(row)
    return out


def count_rows(registry: Registry) -> dict[str, int]:
    """How many snapshots, alerts and runs are stored (for tests and `banquasso jobs`)."""
    with registry.session() as session:
        return {
            "snapshots": len(session.scalars(select(ForecastSnapshot.id)).all()),
            "alerts": len(session.scalars(select(AlertRecord.id)).all()),
            "runs": len(session.scalars(select(JobRun.id)).all()),
        }


__all__ = [
    "ALERT_WINDOW_DAYS",
    "BELOW_FLOOR",
    "LATE_LINE",
    "ZERO",
    "AdvanceOnDay",
    "Alert",
    "AlertRecord",
    "ForecastSnapshot",
    "JobRun",
    "RunRecord",
    "Snapshot",
    "advance_on",
    "advances_on",
    "alert_row",
    "count_rows",
    "find_run",
    "floor_alerts",
    "last_runs",
    "late_alerts",
    "load_alerts",
    "load_snapshots",
    "member_alerts",
    "snapshot_rows",
]
