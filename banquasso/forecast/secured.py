"""Advances and the tranches that secure them: is each securing tranche still expected before the repayment date?

The one rule is `banquasso.terms.rules.security_at_risk`; this module finds each securing tranche's
expected date in an outlook (the baseline, a scenario's, the morning's) and applies the rule.
`banquasso stress`, the morning job's alerts and the board statement all read it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from banquasso.forecast.daily import GroupOutlook
from banquasso.forecast.flows import tranche_flow
from banquasso.registry import lifecycle
from banquasso.registry.db import database_url, open_registry
from banquasso.registry.desk import load_views
from banquasso.registry.location import registry_exists
from banquasso.registry.snapshot import AdvanceView
from banquasso.terms.rules import security_at_risk
from comptasso.money import money_json

#: The states of an advance whose principal is out with the borrower.
RUNNING = (lifecycle.DISBURSED, lifecycle.CONFIRMED, lifecycle.PARTLY_REPAID)
Origin = Literal["plan", "registre"]
TrancheKey = tuple[str, str, dt.date]  # (member, convention, tranche date)


@dataclass(frozen=True)
class SecuredAdvance:
    """An advance (planned or running) with the tranche of its borrower that secures it."""

    origin: Origin
    advance: str  # the registry id, '' for a planned advance
    lender: str
    borrower: str
    amount: Decimal  # planned principal, or what is still outstanding
    repay_on: dt.date
    convention: str
    tranche_date: dt.date


@dataclass(frozen=True)
class AdvanceAtRisk:
    """A secured advance whose tranche is now expected after its repayment date (`expected` None: cancelled)."""

    secured: SecuredAdvance
    expected: dt.date | None
    funder: str | None

    @property
    def days_late(self) -> int | None:
        """Days from the repayment date to the tranche's expected date (None when it is no longer expected)."""
        return None if self.expected is None else (self.expected - self.secured.repay_on).days

    def to_json(self) -> dict[str, object]:
        s = self.secured
        return {"origin": s.origin, "advance": s.advance or None, "lender": s.lender, "borrower": s.borrower,
                "amount": money_json(s.amount), "repay_on": s.repay_on.isoformat(),
                "secured_by": {"convention": s.convention, "tranche_date": s.tranche_date.isoformat(),
                               "funder": self.funder},
                "expected_on": self.expected.isoformat() if self.expected else None, "days_late": self.days_late}


def expected_tranches(outlook: GroupOutlook) -> dict[TrancheKey, tuple[dt.date, str | None]]:
    """Every open tranche of the outlook: its expected date (the forecast's rule) and its funder."""
    out: dict[TrancheKey, tuple[dt.date, str | None]] = {}
    for books in outlook.members:
        for tranche in books.open_tranches:
            flow = tranche_flow(tranche, outlook.delays.delay(tranche.funder), outlook.as_of)
            out[(books.member_id, tranche.convention, tranche.due)] = (flow.date, tranche.funder)
    return out


def advances_at_risk(advances: Iterable[SecuredAdvance], outlook: GroupOutlook,
                     funders: Mapping[TrancheKey, str | None] | None = None) -> tuple[AdvanceAtRisk, ...]:
    """The advances whose securing tranche, in `outlook`, is no longer open or is expected after repayment.

    `funders` names the funder of tranches the outlook no longer holds (e.g. cancelled by a scenario).
    """
    expected = expected_tranches(outlook)
    out = []
    for advance in advances:
        key = (advance.borrower, advance.convention, advance.tranche_date)
        day, funder = expected.get(key, (None, (funders or {}).get(key)))
        if security_at_risk(day, advance.repay_on):
            out.append(AdvanceAtRisk(advance, day, funder))
    return tuple(out)


def running_secured(views: Sequence[AdvanceView], as_of: dt.date) -> tuple[SecuredAdvance, ...]:
    """The running advances (disbursed, not fully repaid) secured by a tranche, with what is still outstanding."""
    out = []
    for view in views:
        if view.state not in RUNNING or view.convention is None or view.tranche_date is None:
            continue
        owed = view.outstanding_on(as_of)
        if owed > 0:
            out.append(SecuredAdvance("registre", view.id, view.lender, view.borrower, owed, view.repay_on,
                                      view.convention, view.tranche_date))
    return tuple(out)


def registry_views(ledgers_dir: Path, as_of: dt.date) -> list[AdvanceView]:
    """The registry's advances as known at the end of `as_of`; none when there is no registry (nothing is created)."""
    url = database_url(ledgers_dir)
    if not registry_exists(ledgers_dir):
        return []
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    registry = open_registry(ledgers_dir, url)
    try:
        return load_views(registry, as_of)
    finally:
        registry.close()
