"""Plain frozen snapshots of registry rows, for pure computations (balances, flows, reconcile) and output."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from banquasso.registry import lifecycle
from banquasso.terms.schedule import ScheduleLine

if TYPE_CHECKING:  # a view is read without the ORM: reading a memoised plan never imports SQLAlchemy
    from banquasso.registry.models import Advance

ZERO = Decimal("0.00")


#: A planned repayment line as the registry holds it: the schedule's own line type.
LineView = ScheduleLine


@dataclass(frozen=True)
class PaymentView:
    """The disbursement or one repayment, with the event key of its ledger entries."""

    seq: int
    kind: str
    event: str
    date: dt.date
    principal: Decimal
    interest: Decimal
    confirmed_on: dt.date | None
    ref: str | None = None

    @property
    def flag(self) -> str:
        return "*" if self.confirmed_on is not None else "!"

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest


@dataclass(frozen=True)
class AdvanceView:
    """An advance as the registry holds it."""

    id: str
    lender: str
    borrower: str
    principal: Decimal
    rate: Decimal
    method: str
    day_count: str
    grace_days: int
    disburse_on: dt.date
    repay_on: dt.date
    convention: str | None
    tranche_date: dt.date | None
    state: str
    proposed_on: dt.date
    approved_by: str | None
    decision: str | None
    approved_on: dt.date | None
    rejected_reason: str | None
    disbursed_on: dt.date | None
    lines: tuple[LineView, ...]
    payments: tuple[PaymentView, ...]
    origin: str | None = None
    closed_on: dt.date | None = None
    decision_date: dt.date | None = None
    decision_body: str | None = None
    borrower_decision: str | None = None
    borrower_decision_date: dt.date | None = None
    borrower_body: str | None = None

    @property
    def decided_on(self) -> dt.date | None:
        """The day the lender's board decided (its meeting), else the day the approval was recorded."""
        return self.decision_date or self.approved_on

    @property
    def disbursement(self) -> PaymentView | None:
        return next((p for p in self.payments if p.kind == "disbursement"), None)

    @property
    def repayments(self) -> tuple[PaymentView, ...]:
        return tuple(p for p in self.payments if p.kind == "repayment")

    @property
    def disbursed(self) -> Decimal:
        return sum((p.principal for p in self.payments if p.kind == "disbursement"), ZERO)

    @property
    def repaid_principal(self) -> Decimal:
        return sum((p.principal for p in self.repayments), ZERO)

    @property
    def paid_interest(self) -> Decimal:
        return sum((p.interest for p in self.repayments), ZERO)

    @property
    def outstanding(self) -> Decimal:
        """Principal lent and not yet repaid."""
        return self.disbursed - self.repaid_principal

    def outstanding_on(self, day: dt.date) -> Decimal:
        """Principal lent and not yet repaid by the end of `day`."""
        lent = sum((p.principal for p in self.payments if p.kind == "disbursement" and p.date <= day), ZERO)
        back = sum((p.principal for p in self.repayments if p.date <= day), ZERO)
        return lent - back


def snapshot(advance: Advance) -> AdvanceView:
    """Copy an ORM advance (with its lines and payments) into a frozen view."""
    return AdvanceView(
        advance.id, advance.lender, advance.borrower, Decimal(advance.principal), Decimal(advance.rate),
        advance.method, advance.day_count, advance.grace_days, advance.disburse_on, advance.repay_on,
        advance.convention, advance.tranche_date, advance.state, advance.proposed_on, advance.approved_by,
        advance.decision, advance.approved_on, advance.rejected_reason, advance.disbursed_on,
        tuple(LineView(line.n, line.date, Decimal(line.principal), Decimal(line.interest),
                       Decimal(line.payment), Decimal(line.remaining)) for line in advance.lines),
        tuple(PaymentView(p.seq, p.kind, p.event, p.date, Decimal(p.principal), Decimal(p.interest),
                          p.confirmed_on, p.ref) for p in advance.payments),
        advance.origin, advance.closed_on, advance.decision_date, advance.decision_body,
        advance.borrower_decision, advance.borrower_decision_date, advance.borrower_body,
    )


def view_as_of(view: AdvanceView, as_of: dt.date) -> AdvanceView | None:
    """The advance as it stood at the end of `as_of`: only the events effective on or before that day.

    None when it was proposed later. Movements dated later are dropped, confirmations made later are
    undone, and the state is the one those events lead to (a rejection or supersession made later
    leaves it proposed or approved).
    """
    if view.proposed_on > as_of:
        return None
    payments = tuple(replace(p, confirmed_on=p.confirmed_on if p.confirmed_on and p.confirmed_on <= as_of
                             else None) for p in view.payments if p.date <= as_of)
    approved = view.approved_on is not None and view.approved_on <= as_of
    closed = view.closed_on is not None and view.closed_on <= as_of
    state = _state_of(view.state, payments, approved, closed)
    if (state, payments) == (view.state, view.payments):
        return view
    return replace(view, state=state, payments=payments,
                   disbursed_on=next((p.date for p in payments if p.kind == "disbursement"), None))


def _state_of(recorded: str, payments: tuple[PaymentView, ...], approved: bool, closed: bool) -> str:
    disbursement = next((p for p in payments if p.kind == "disbursement"), None)
    if disbursement is None:
        if closed and recorded in (lifecycle.REJECTED, lifecycle.SUPERSEDED):
            return recorded
        return lifecycle.APPROVED if approved else lifecycle.PROPOSED
    back = sum((p.principal for p in payments if p.kind == "repayment"), ZERO)
    repayments = [p for p in payments if p.kind == "repayment"]
    if repayments:
        return lifecycle.REPAID if back >= disbursement.principal else lifecycle.PARTLY_REPAID
    return lifecycle.CONFIRMED if disbursement.confirmed_on is not None else lifecycle.DISBURSED


def view_json(view: AdvanceView) -> dict[str, object]:
    """The registry's record of an advance as JSON-ready values (amounts as decimal strings)."""
    return {
        "id": view.id, "lender": view.lender, "borrower": view.borrower, "principal": str(view.principal),
        "rate": str(view.rate), "method": view.method, "day_count": view.day_count,
        "grace_days": view.grace_days, "disburse_on": view.disburse_on.isoformat(),
        "repay_on": view.repay_on.isoformat(), "state": view.state,
        "secured_by": {"convention": view.convention,
                       "tranche_date": view.tranche_date.isoformat() if view.tranche_date else None},
        "proposed_on": view.proposed_on.isoformat(), "approved_by": view.approved_by,
        "decision": view.decision, "approved_on": view.approved_on.isoformat() if view.approved_on else None,
        "rejected_reason": view.rejected_reason,
        "disbursed_on": view.disbursed_on.isoformat() if view.disbursed_on else None,
        "origin": view.origin, "closed_on": view.closed_on.isoformat() if view.closed_on else None,
        "decision_date": view.decision_date.isoformat() if view.decision_date else None,
        "decision_body": view.decision_body, "borrower_decision": view.borrower_decision,
        "borrower_decision_date": view.borrower_decision_date.isoformat() if view.borrower_decision_date else None,
        "borrower_body": view.borrower_body,
        "lines": [{"n": line.n, "date": line.date.isoformat(), "principal": str(line.principal),
                   "interest": str(line.interest), "payment": str(line.payment),
                   "remaining": str(line.remaining)} for line in view.lines],
        "payments": [{"seq": p.seq, "kind": p.kind, "event": p.event, "date": p.date.isoformat(),
                      "principal": str(p.principal), "interest": str(p.interest),
                      "confirmed_on": p.confirmed_on.isoformat() if p.confirmed_on else None, "ref": p.ref}
                     for p in view.payments],
    }
