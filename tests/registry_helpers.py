"""Advances written straight into a test group's registry (the rows the ledgers of the inline groups show)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from banquasso.registry.db import open_registry
from banquasso.registry.models import Advance, Payment, ScheduleLine


def add_bullet_advance(ledgers: Path, convention: str | None = None, tranche_date: dt.date | None = None) -> None:
    """BQA-2026-0001: alpha lent 3 000 € to beta on 10/03/2026, bullet on 15/05/2026, confirmed, disbursed,
    optionally secured by a grant tranche (`convention`, `tranche_date`)."""
    registry = open_registry(ledgers)
    try:
        with registry.session() as session, session.begin():
            advance = Advance(
                id="BQA-2026-0001", year=2026, seq=1, lender="alpha", borrower="beta", principal=Decimal("3000.00"),
                rate=Decimal("0"), method="bullet", day_count="ACT/365", grace_days=15,
                disburse_on=dt.date(2026, 3, 10), repay_on=dt.date(2026, 5, 15), state="confirmed",
                convention=convention, tranche_date=tranche_date,
                proposed_on=dt.date(2026, 3, 1), approved_by="Conseil d'alpha", decision="CA-2026-03",
                approved_on=dt.date(2026, 3, 5), disbursed_on=dt.date(2026, 3, 10))
            advance.lines = [ScheduleLine(n=1, date=dt.date(2026, 5, 15), principal=Decimal("3000.00"),
                                          interest=Decimal("0.00"), payment=Decimal("3000.00"),
                                          remaining=Decimal("0.00"))]
            advance.payments = [Payment(seq=1, kind="disbursement", event="BQA-2026-0001/versement",
                                        date=dt.date(2026, 3, 10), principal=Decimal("3000.00"),
                                        interest=Decimal("0.00"), confirmed_on=dt.date(2026, 3, 11))]
            session.add(advance)
    finally:
        registry.close()
