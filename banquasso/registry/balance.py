"""What an advance owes at a date: principal outstanding, interest accrued, lines due, lateness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from banquasso.registry.snapshot import ZERO, AdvanceView
from banquasso.terms.schedule import interest
from comptasso.model.member import member_model


@dataclass(frozen=True)
class DueLine:
    """A repayment line with the date it is due (`planned` when it is still only expected)."""

    n: int
    date: dt.date
    principal: Decimal
    interest: Decimal
    planned: bool

    @property
    def payment(self) -> Decimal:
        return self.principal + self.interest


def securing_receipt(view: AdvanceView, borrower_entries: Sequence[data.Directive], as_of: dt.date) -> dt.date | None:
    """The day the borrower fully received the securing grant tranche (None if not yet, as of `as_of`)."""
    if view.convention is None or view.tranche_date is None:
        return None
    for status in member_model(borrower_entries, as_of).statuses:
        if status.tranche.convention == view.convention and status.tranche.due == view.tranche_date:
            return status.completed_on
    return None


def due_lines(view: AdvanceView, received_on: dt.date | None) -> tuple[DueLine, ...]:
    """The schedule with due dates; an on-receipt line falls due `grace_days` after the tranche arrives."""
    if view.method == "on-receipt":
        if received_on is not None:
            day = received_on + dt.timedelta(days=view.grace_days)
            return tuple(DueLine(line.n, day, line.principal, line.interest, False) for line in view.lines)
        return tuple(DueLine(line.n, line.date, line.principal, line.interest, True) for line in view.lines)
    return tuple(DueLine(line.n, line.date, line.principal, line.interest, False) for line in view.lines)


def last_payment_date(view: AdvanceView, day: dt.date) -> dt.date | None:
    """The date interest last stopped accruing: the latest disbursement or repayment on or before `day`."""
    dates = [p.date for p in view.payments if p.date <= day]
    return max(dates) if dates else None


def accrued_interest(view: AdvanceView, day: dt.date) -> Decimal:
    """Simple interest on the outstanding principal since the last payment, by the advance's day count."""
    since = last_payment_date(view, day)
    if since is None or view.rate == 0:
        return ZERO
    return interest(view.outstanding_on(day), view.rate, since, day, view.day_count)


def late_since(view: AdvanceView, lines: Sequence[DueLine], as_of: dt.date) -> dt.date | None:
    """The due date of the first line past due (before `as_of`) whose principal is not fully repaid."""
    if view.disbursement is None:
        return None
    repaid = sum((p.principal for p in view.repayments if p.date <= as_of), ZERO)
    scheduled = ZERO
    for line in lines:
        scheduled += line.principal
        if line.planned or line.date >= as_of:
            return None
        if scheduled > repaid:
            return line.date
    return None


def remaining_lines(view: AdvanceView, lines: Sequence[DueLine]) -> tuple[DueLine, ...]:
    """What is still to be repaid, line by line: repayments clear the earliest lines first.

    Before any repayment the lines are the schedule's. After one, each remaining line's interest runs
    on the principal still owed from the last movement (then from the previous remaining line) to its
    date, exactly what `advance repay` accepts on that day.
    """
    repaid = view.repaid_principal
    left_lines = []
    for line in lines:
        covered = min(line.principal, repaid)
        repaid -= covered
        left = line.principal - covered
        if left > 0:
            left_lines.append((line, left))
    if not view.repayments:
        return tuple(line for line, _ in left_lines)
    since = max(p.date for p in view.payments)
    owed = view.outstanding
    out = []
    for line, left in left_lines:
        day = max(line.date, since)
        part = interest(owed, view.rate, since, day, view.day_count) if view.rate else ZERO
        out.append(DueLine(line.n, line.date, left, part, line.planned))
        owed -= left
        since = day
    return tuple(out)
