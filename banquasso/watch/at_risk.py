"""Advances at risk in the morning, and the delinquency buckets of the running advances.

Every morning each running advance's security is re-checked against the latest forecast: its
securing tranche, still open, is now expected after the repayment date (the rule
`banquasso.terms.rules.security_at_risk`), or its funder is already later than its 90th percentile
delay. Either raises an alert `avance-a-risque` with the principal still outstanding.

The delinquency buckets (`delinquency`) classify what is still owed on running advances by the
days since their first unpaid due date, as lenders' loan software does: 1–30, 31–90, over 90 days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from banquasso.forecast.daily import GroupOutlook
from banquasso.forecast.flows import tranche_flow
from banquasso.terms.rules import security_at_risk
from banquasso.watch.monitoring import AdvanceOnDay, Alert
from comptasso.money import fr_date, fr_money, money_json

#: The alert kind (its code, stored in `alert.kind`).
AT_RISK = "avance-a-risque"
#: Why an advance is at risk.
AFTER_REPAYMENT = "apres-remboursement"
BEYOND_P90 = "au-dela-du-p90"
#: Delinquency buckets: (label, first day late, last day late; None: no end).
BUCKETS: tuple[tuple[str, int, int | None], ...] = (("1-30", 1, 30), ("31-90", 31, 90), ("90+", 91, None))
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SecurityCheck:
    """A running advance whose security no longer holds: why, the tranche's expected date, what is at risk."""

    advance: AdvanceOnDay
    reason: str
    expected: dt.date
    funder: str | None
    p90_days: int | None

    @property
    def amount(self) -> Decimal:
        return self.advance.outstanding


def security_checks(outlook: GroupOutlook, advances: Iterable[AdvanceOnDay]) -> tuple[SecurityCheck, ...]:
    """The running advances whose still open securing tranche comes after repayment, or whose funder is past p90.

    A tranche no longer open has been paid: the advance falls due on its schedule, nothing is at risk.
    """
    books = {m.member_id: m for m in outlook.members}
    out = []
    for advance in advances:
        view = advance.view
        if not advance.running or advance.outstanding <= 0 or view.convention is None or view.tranche_date is None:
            continue
        member = books.get(view.borrower)
        tranche = next((t for t in member.open_tranches if t.convention == view.convention
                        and t.due == view.tranche_date), None) if member else None
        if tranche is None:
            continue
        expected = tranche_flow(tranche, outlook.delays.delay(tranche.funder), outlook.as_of).date
        funder = outlook.delays.funders.get(tranche.funder or "")
        p90 = funder.p90_days if funder else None
        if security_at_risk(expected, view.repay_on):
            out.append(SecurityCheck(advance, AFTER_REPAYMENT, expected, tranche.funder, p90))
        elif p90 is not None and (outlook.as_of - tranche.due).days > p90:
            out.append(SecurityCheck(advance, BEYOND_P90, expected, tranche.funder, p90))
    return tuple(out)


def at_risk_alerts(outlook: GroupOutlook, advances: Iterable[AdvanceOnDay]) -> list[Alert]:
    """One `avance-a-risque` alert per running advance whose security no longer holds, with the amount at risk."""
    out = []
    for check in security_checks(outlook, advances):
        view = check.advance.view
        if check.reason == AFTER_REPAYMENT:
            why = (f"la tranche {view.convention} du {fr_date(view.tranche_date or view.repay_on)} est désormais "
                   f"attendue le {fr_date(check.expected)}, après le remboursement prévu le {fr_date(view.repay_on)}")
        else:
            why = (f"le financeur de la tranche {view.convention} du {fr_date(view.tranche_date or view.repay_on)} "
                   f"a dépassé son délai du 90e centile ({check.p90_days} jours)")
        out.append(Alert(outlook.as_of, AT_RISK, view.borrower, view.id, view.repay_on, check.amount,
                         f"Avance {view.id} ({view.lender} → {view.borrower}) à risque : {why} ; "
                         f"{fr_money(check.amount)} en jeu"))
    return out


# ------------------------------------------------------------------------------------- delinquency


@dataclass(frozen=True)
class Bucket:
    """What running advances still owe, late by `first`..`last` days (last None: no end)."""

    label: str
    first: int
    last: int | None
    advances: tuple[AdvanceOnDay, ...]

    @property
    def count(self) -> int:
        return len(self.advances)

    @property
    def outstanding(self) -> Decimal:
        return sum((a.outstanding for a in self.advances), ZERO)

    def to_json(self) -> dict[str, object]:
        return {"bucket": self.label, "count": self.count, "outstanding": money_json(self.outstanding),
                "advances": [a.view.id for a in self.advances]}


def days_late(advance: AdvanceOnDay) -> int:
    """Days since the advance's first unpaid due date (0 when none is past due or nothing is owed)."""
    if advance.late_since is None or advance.outstanding <= 0:
        return 0
    return (advance.day - advance.late_since).days


def delinquency(advances: Iterable[AdvanceOnDay]) -> tuple[Bucket, ...]:
    """The delinquency buckets 1–30, 31–90 and over 90 days late, with what is still owed in each."""
    late = [(days_late(a), a) for a in advances]
    return tuple(Bucket(label, first, last, tuple(a for n, a in late if n >= first and (last is None or n <= last)))
                 for label, first, last in BUCKETS)
