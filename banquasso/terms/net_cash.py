"""The legal base of the 50 % cap: a lender's *trésorerie nette disponible* at the opening of its financial year.

Décret 2025-779 (article R511-2-1-4 of the Code monétaire et financier) caps the loans a lender grants
during a financial year at 50 % of its "trésorerie nette disponible" at the opening of that year. The
reading implemented here (docs/legal.md, to be confirmed by the group's accountant):

- treasury: the balances of the 51x and 53x accounts in the group's currency after every entry
  dated on or before the first day of the year, so that à-nouveaux booked on day 1 count. A bank
  overdraft (a 512 account in credit, 519 *concours bancaires courants*) is a negative balance and
  so already comes off; accounts held in another commodity (a local currency) are not lendable and
  are left out;
- less the advances the lender has itself received through BanquAsso and still owes (the
  borrower-principal account, `accounts.borrower_principal`), by analogy with article R511-2-1-2;
- less the earmarked cash: the credit balance of the open *fonds dédiés* (19x accounts).

The financial year is the member's own (`exercice_debut` in `group.toml`, default 1 January).

`earmarked_cash` is the one reading of what a member may not lend (issue 13 item 7, issue 16 item 4):
the booked credit balance of its 19x accounts and its treasury held in another commodity, as of a day.
The legal base above, the capacity, the planner and the commitment guard all take it from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.books.group import Member
from comptasso.model.chart import has_prefix, is_treasury

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class NetCash:
    """The figures of a lender's net cash at the opening of a financial year (all ≥ 0 but `treasury`)."""

    opening: dt.date
    treasury: Decimal  # 51x/53x in the group's currency, overdrafts netted
    advances_owed: Decimal  # BanquAsso advances the member itself still owes
    earmarked: Decimal  # open fonds dédiés (19x, credit balance)
    other_currency: Decimal  # treasury held in another commodity, left out (shown, not counted)

    @property
    def value(self) -> Decimal:
        """The trésorerie nette disponible: treasury − short-term financial debts − earmarked cash."""
        return self.treasury - self.advances_owed - self.earmarked


@dataclass(frozen=True)
class Year:
    """A member's financial year: its first and last day (as `comptasso.reports.period.FinancialYear`,
    which this layer may not import; both read the member's `year_start`)."""

    start: dt.date
    end: dt.date


def financial_year(member: Member, day: dt.date) -> Year:
    """The member's financial year (from its `exercice_debut`, `Member.year_start`) that contains `day`."""
    month, first = member.year_start
    start = dt.date(day.year, month, first)
    if start > day:
        start = dt.date(day.year - 1, month, first)
    return Year(start, dt.date(start.year + 1, month, first) - dt.timedelta(days=1))


@dataclass(frozen=True)
class Earmarked:
    """Cash a member holds but may not lend, as of a day (both ≥ 0)."""

    day: dt.date
    fonds_dedies: Decimal  # credit balance of the 19x accounts (fonds dédiés booked, not yet used)
    other_currency: Decimal  # 51x/53x balances held in another commodity than the group's (a local currency)

    @property
    def total(self) -> Decimal:
        """What comes off a member's treasury before anything is lendable."""
        return self.fonds_dedies + self.other_currency


def dated_postings(entries: Iterable[data.Directive], day: dt.date,
                   since: dt.date | None = None) -> Iterator[tuple[data.Posting, Decimal, str]]:
    """Each posting with a number of the transactions dated on or before `day` (and from `since` when given),
    with that number as a Decimal and its commodity."""
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > day or (since is not None and entry.date < since):
            continue
        for posting in entry.postings:
            units = posting.units
            if units is not None and units.number is not None:
                yield posting, Decimal(units.number), units.currency


def earmarked_cash(entries: Iterable[data.Directive], as_of: dt.date, currency: str) -> Earmarked:
    """The cash not lendable after every entry dated on or before `as_of`: open fonds dédiés and local currency.

    Fonds dédiés are read on the booked 19x balance (what the accounts hold, not the per-grant
    computation of `comptasso.model.fonds_dedies`, which proposes the closing entries); a debit
    balance counts as 0. Treasury in another commodity counts its positive balance per commodity.
    """
    funds = ZERO
    others: dict[str, Decimal] = {}
    for posting, number, commodity in dated_postings(entries, as_of):
        if is_treasury(posting.account):
            if commodity != currency:
                others[commodity] = others.get(commodity, ZERO) + number
        elif has_prefix(posting.account, "19"):
            funds -= number
    other = sum((max(v, ZERO) for v in others.values()), ZERO)
    return Earmarked(as_of, max(funds, ZERO), other)


def is_under(account: str, root: str) -> bool:
    """True when `account` is `root` or one of its sub-accounts."""
    return account == root or account.startswith(root + ":")


def opening_figures(entries: Iterable[data.Directive], opening: dt.date, currency: str,
                    borrower_principal: str) -> NetCash:
    """The net-cash figures after every entry dated on or before `opening` (the year's first day)."""
    entries = list(entries)
    treasury = owed = ZERO
    for posting, number, commodity in dated_postings(entries, opening):
        if is_treasury(posting.account):
            if commodity == currency:
                treasury += number
        elif is_under(posting.account, borrower_principal):
            owed -= number
    kept = earmarked_cash(entries, opening, currency)
    return NetCash(opening, treasury, max(owed, ZERO), kept.fonds_dedies, kept.other_currency)


def deductions(figures: NetCash) -> Decimal:
    """What comes off a forecast treasury balance (every commodity summed, as the forecast does) to make it
    net cash: the debts owed, the fonds dédiés and the treasury held in another commodity."""
    return figures.advances_owed + figures.earmarked + figures.other_currency
