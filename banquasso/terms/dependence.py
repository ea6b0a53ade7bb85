"""The borrower's financial dependence on a lender (article R511-2-1-4: a loan must not create it).

The decree sets no figure; the reading implemented (docs/legal.md, to be confirmed by the group's
accountant) is an indicator per borrower:

- its **annual resources**: the credits of its class 7 accounts (produits) over the 365 days ending
  on the day of the test;
- what it **owes one lender** (principal of the BanquAsso advances, the new one included) divided by
  those resources, tested against `limits.max_dependence_share` (`banquasso.terms.rules.check_dependence`);
- what it owes **all lenders** divided by the same resources, shown beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from beancount.core import data

from banquasso.terms.net_cash import dated_postings, is_under
from comptasso.model.chart import has_prefix

ZERO = Decimal("0.00")
#: The window of the annual resources: 365 days ending on the day of the test (that day included).
RESOURCE_DAYS = 365


@dataclass(frozen=True)
class Dependence:
    """The dependence indicator of a borrower towards one lender on a day (amounts ≥ 0, EUR)."""

    borrower: str
    lender: str
    day: dt.date
    owed_to_lender: Decimal
    owed_total: Decimal
    resources: Decimal

    @property
    def first_day(self) -> dt.date:
        """The first day of the resources' window."""
        return self.day - dt.timedelta(days=RESOURCE_DAYS - 1)

    @property
    def lender_share(self) -> Decimal | None:
        """Owed to the lender / annual resources (4 places), None when there are no resources."""
        return _share(self.owed_to_lender, self.resources)

    @property
    def total_share(self) -> Decimal | None:
        """Owed to every lender / annual resources (4 places), None when there are no resources."""
        return _share(self.owed_total, self.resources)

    def to_json(self) -> dict[str, str | None]:
        """Amounts and shares as decimal strings, the window's days in ISO."""
        share, total = self.lender_share, self.total_share
        return {"borrower": self.borrower, "lender": self.lender, "day": self.day.isoformat(),
                "resources_from": self.first_day.isoformat(), "resources": str(self.resources),
                "owed_to_lender": str(self.owed_to_lender), "owed_total": str(self.owed_total),
                "lender_share": None if share is None else str(share),
                "total_share": None if total is None else str(total)}


def _share(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole <= 0:
        return None
    return (part / whole).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def annual_resources(entries: Iterable[data.Directive], day: dt.date, currency: str) -> Decimal:
    """The credits of class 7 accounts in the 365 days ending on `day` (debits, such as refunds, not netted)."""
    first = day - dt.timedelta(days=RESOURCE_DAYS - 1)
    total = ZERO
    for posting, number, commodity in dated_postings(entries, day, since=first):
        if commodity != currency:
            continue
        if posting.account.startswith("Income:") and has_prefix(posting.account, "7") and number < 0:
            total -= number
    return total


def owed_in_books(entries: Iterable[data.Directive], account: str, day: dt.date) -> Decimal:
    """The credit balance (≥ 0) of `account` and its sub-accounts after every entry dated on or before `day`."""
    total = ZERO
    for posting, number, _commodity in dated_postings(entries, day):
        if is_under(posting.account, account):
            total -= number
    return max(total, ZERO)
