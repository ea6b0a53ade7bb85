"""The one table of the loans a lender granted, for the board statement's annex and the attestation pack.

Article R511-2-1-4 of the Code monétaire et financier asks the lender to list its loans in its
management report and in the annexe of its annual accounts, and its commissaire aux comptes (or
expert-comptable) to attest the initial amount, the capital outstanding and compliance. `lender_year`
computes, for one lender and one of its financial years (`exercice_debut`), every advance paid in
that year or still owed at the day of the table, with the figures each condition is tested on: the
rate against the TMOP of the decision's half-year, the duration against five years, the 50 % test
(`banquasso.terms.net_cash`, the guard's function), the board's decisions and the dependence
indicator. The statement's « Annexe — avances consenties » and `banquasso attestation` both call it.

Under `mode = "convention-de-tresorerie"` (article D511-2-1-5) the advances are treasury operations
with the *organisme pivot*, not loans: the table then also carries the member's current-account
positions with the pivot (`Treasury`, read from the 4511 accounts of its books — the pivot's lists
every member), and the five-year and 50 % tests, which the texts do not state for them, are not applied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from banquasso.pool.dependence import registry_dependence
from banquasso.pool.guard import known_net_cash
from banquasso.registry.snapshot import AdvanceView
from banquasso.terms.dependence import Dependence
from banquasso.terms.modes import pivot_member
from banquasso.terms.net_cash import NetCash, Year, financial_year
from banquasso.terms.policy import LEGAL_MAX_DAYS, Policy
from banquasso.terms.rules import down
from banquasso.terms.tmop import RateCap, TmopTable, rate_cap
from comptasso.books.facade import GroupBooks
from comptasso.money import money_json

ZERO = Decimal("0.00")
#: Form 2062 (déclaration de contrat de prêt, CGI art. 242 ter and 49 B of annex III): loans over this principal.
FORM_2062_THRESHOLD = Decimal("5000.00")


@dataclass(frozen=True)
class Decided:
    """One board's decision: reference, meeting date and body (date and body unknown for older approvals)."""

    ref: str
    date: dt.date | None
    body: str | None

    def to_json(self) -> dict[str, str | None]:
        return {"ref": self.ref, "date": self.date.isoformat() if self.date else None, "body": self.body}


@dataclass(frozen=True)
class LegalRow:
    """One advance of the table, with the figures of each legal condition."""

    view: AdvanceView
    borrower_name: str
    granted_on: dt.date
    granted_in_year: bool
    outstanding: Decimal
    rate_cap: RateCap
    term: dt.date
    dependence: Dependence
    lender_decision: Decided | None
    borrower_decision: Decided | None

    @property
    def initial(self) -> Decimal:
        """The principal paid out (the initial amount)."""
        return self.view.disbursed

    @property
    def days(self) -> int:
        return (self.term - self.granted_on).days

    @property
    def within_five_years(self) -> bool:
        return self.days <= LEGAL_MAX_DAYS

    @property
    def rate_within_cap(self) -> bool:
        return self.view.rate <= self.rate_cap.rate

    @property
    def form_2062(self) -> bool:
        """Whether the loan's principal exceeds 5 000 € (form 2062)."""
        return self.initial > FORM_2062_THRESHOLD

    def to_json(self) -> dict[str, object]:
        view = self.view
        return {
            "id": view.id, "borrower": view.borrower, "borrower_name": self.borrower_name,
            "granted_on": self.granted_on.isoformat(), "granted_in_year": self.granted_in_year,
            "initial": money_json(self.initial), "outstanding": money_json(self.outstanding),
            "rate": str(view.rate), "tmop": str(self.rate_cap.rate), "tmop_key": self.rate_cap.key,
            "rate_within_cap": self.rate_within_cap, "term": self.term.isoformat(), "days": self.days,
            "max_days": LEGAL_MAX_DAYS, "within_five_years": self.within_five_years,
            "lender_decision": self.lender_decision.to_json() if self.lender_decision else None,
            "borrower_decision": self.borrower_decision.to_json() if self.borrower_decision else None,
            "dependence": self.dependence.to_json(), "form_2062": self.form_2062,
        }


#: The sides of a current-account position: the member lent to the other (its receivable), or borrowed from it.
LENT, BORROWED = "lent", "borrowed"
#: The article that frames treasury operations, and why the five-year and 50 % tests are not applied.
TREASURY_ARTICLE = "D511-2-1-5"


@dataclass(frozen=True)
class Position:
    """A member's current account (4511) with another over the financial year: opening, movements, closing.

    `side` is LENT (its receivable on `counterpart`: `accounts.group_receivable_for`) or BORROWED (its debt
    to `counterpart`: `accounts.group_payable_for`). `opening` is the balance after every entry dated before
    the year's first day; `increase` what was lent (or borrowed) and `decrease` what was repaid from that
    day to `day` included; `closing` = opening + increase − decrease, the balance at the end of `day`.
    """

    counterpart: str
    counterpart_name: str
    side: str
    account: str
    opening: Decimal
    increase: Decimal
    decrease: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.increase - self.decrease

    def to_json(self) -> dict[str, object]:
        return {"counterpart": self.counterpart, "counterpart_name": self.counterpart_name, "side": self.side,
                "account": self.account, "opening": money_json(self.opening), "increase": money_json(self.increase),
                "decrease": money_json(self.decrease), "closing": money_json(self.closing)}


@dataclass(frozen=True)
class Treasury:
    """The treasury operations of a member with the pivot over its financial year (convention de trésorerie)."""

    pivot: str
    pivot_name: str
    is_pivot: bool
    positions: tuple[Position, ...]

    def total(self, side: str) -> Decimal:
        """The closing positions of one side (what the member lent, or borrowed), summed."""
        return sum((p.closing for p in self.positions if p.side == side), ZERO)

    def to_json(self) -> dict[str, object]:
        return {"pivot": self.pivot, "pivot_name": self.pivot_name, "is_pivot": self.is_pivot,
                "article": TREASURY_ARTICLE, "five_years_applies": False, "fifty_percent_applies": False,
                "positions": [p.to_json() for p in self.positions],
                "closing_lent": money_json(self.total(LENT)), "closing_borrowed": money_json(self.total(BORROWED))}


def _account_movements(entries: Sequence[data.Directive], account: str, start: dt.date,
                       day: dt.date) -> tuple[Decimal, Decimal, Decimal]:
    """(balance before `start`, debits and credits from `start` to `day`) of one account, in the signs of the books."""
    before = debit = credit = ZERO
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > day:
            continue
        for posting in entry.postings:
            if posting.account != account or posting.units is None or posting.units.number is None:
                continue
            number = Decimal(posting.units.number)
            if entry.date < start:
                before += number
            elif number > 0:
                debit += number
            else:
                credit -= number
    return before, debit, credit


def treasury_positions(books: GroupBooks, policy: Policy, member: str, year: Year, day: dt.date,
                       names: Mapping[str, str]) -> Treasury | None:
    """The member's current accounts with the pivot (the pivot's: with every member), None in `prets` mode."""
    pivot = pivot_member(policy, books.group)
    if pivot is None:
        return None
    entries = books.ledgers[member].entries
    others = [m.id for m in books.group.members if m.id != member] if member == pivot.id else [pivot.id]
    accounts = policy.accounts
    positions = []
    for other in others:
        sides = ((LENT, accounts.group_receivable_for(other)), (BORROWED, accounts.group_payable_for(other)))
        for side, account in sides:
            before, debit, credit = _account_movements(entries, account, year.start, day)
            if side == LENT:
                opening, increase, decrease = before, debit, credit
            else:
                opening, increase, decrease = -before, credit, debit
            if opening or increase or decrease:
                positions.append(Position(other, names.get(other, other), side, account, opening, increase, decrease))
    return Treasury(pivot.id, pivot.name, member == pivot.id, tuple(positions))


@dataclass(frozen=True)
class LenderYear:
    """A lender's financial year: its advances and the 50 % test (net cash at the opening, share, granted)."""

    lender: str
    name: str
    year: Year
    day: dt.date
    net_cash: NetCash
    share: Decimal
    rows: tuple[LegalRow, ...]
    treasury: Treasury | None = None  # convention de trésorerie: the positions with the pivot; None for loans

    @property
    def year_start(self) -> dt.date:
        return self.year.start

    @property
    def advances(self) -> tuple[LegalRow, ...]:
        """The rows (each with its registry `view`)."""
        return self.rows

    @property
    def granted(self) -> Decimal:
        """The principal paid out within the year."""
        return sum((r.initial for r in self.rows if r.granted_in_year), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((r.outstanding for r in self.rows), ZERO)

    @property
    def cap(self) -> Decimal:
        """share × trésorerie nette disponible at the opening (≥ 0, rounded down to the cent)."""
        return down(max(ZERO, self.share * self.net_cash.value))

    @property
    def within_cap(self) -> bool:
        return self.granted <= self.cap

    @property
    def granted_share(self) -> Decimal | None:
        """What was granted / net cash at the opening (4 places), None when the net cash is not positive."""
        value = self.net_cash.value
        return None if value <= 0 else (self.granted / value).quantize(Decimal("0.0001"))

    def to_json(self) -> dict[str, object]:
        cash = self.net_cash
        share = self.granted_share
        return {
            "lender": self.lender, "name": self.name, "year_start": self.year.start.isoformat(),
            "year_end": self.year.end.isoformat(), "day": self.day.isoformat(),
            "net_cash": {"opening": cash.opening.isoformat(), "treasury": money_json(cash.treasury),
                         "advances_owed": money_json(cash.advances_owed), "earmarked": money_json(cash.earmarked),
                         "other_currency": str(cash.other_currency), "value": money_json(cash.value)},
            "max_share": str(self.share), "cap": money_json(self.cap), "granted": money_json(self.granted),
            "granted_share": None if share is None else str(share), "within_cap": self.within_cap,
            "outstanding": money_json(self.outstanding), "advances": [r.to_json() for r in self.rows],
            "mode": "prets" if self.treasury is None else "convention-de-tresorerie",
            "treasury": None if self.treasury is None else self.treasury.to_json(),
        }


def decisions_of(view: AdvanceView) -> tuple[Decided | None, Decided | None]:
    """The lender's board decision (its meeting date, else the day the approval was recorded) and the borrower's."""
    lender = Decided(view.decision, view.decided_on, view.decision_body) if view.decision else None
    borrower = (Decided(view.borrower_decision, view.borrower_decision_date, view.borrower_body)
                if view.borrower_decision else None)
    return lender, borrower


def lender_year(books: GroupBooks, policy: Policy, tmop: TmopTable, views: Sequence[AdvanceView], lender: str,
                year: Year, day: dt.date, names: Mapping[str, str] | None = None) -> LenderYear:
    """The table of `lender` for its financial `year`, as of `day` (the year's end, or an earlier day).

    `views` are the registry's advances as they stood at the end of `day` (`load_views(registry, day)`):
    listed are those the lender paid out within the year, and those paid earlier and still owed at `day`.
    Under a convention de trésorerie the table also holds the member's positions with the pivot, and lists
    the operations it borrowed through too (the pivot's: every operation).
    """
    names = names or {m.id: m.name for m in books.members}
    treasury = treasury_positions(books, policy, lender, year, day, names)
    rows = []
    for view in sorted(views, key=lambda v: v.id):
        paid = view.disbursement
        party = view.lender == lender or (treasury is not None and (treasury.is_pivot or view.borrower == lender))
        if not party or paid is None or paid.date > day:
            continue
        in_year = year.start <= paid.date <= year.end
        outstanding = view.outstanding_on(day)
        if not in_year and (outstanding <= 0 or paid.date > year.end):
            continue
        term = max([view.repay_on, *(line.date for line in view.lines)])
        mine, theirs = decisions_of(view)
        rows.append(LegalRow(
            view, names.get(view.borrower, view.borrower), paid.date, in_year, outstanding,
            rate_cap(tmop, view.decided_on or paid.date, policy.terms.max_rate), term,
            registry_dependence(books, views, view.borrower, view.lender, day), mine, theirs))
    cash = known_net_cash(books, policy, lender, year.start, day)
    return LenderYear(lender, names.get(lender, lender), year, day, cash, policy.limits.max_lent_share_of_net_cash,
                      tuple(rows), treasury)


def year_of(books: GroupBooks, lender: str, day: dt.date) -> Year:
    """The lender's financial year (its `exercice_debut`) containing `day`."""
    return financial_year(books.group.member(lender), day)


def statement_annex(books: GroupBooks, policy: Policy, tmop: TmopTable, views: Sequence[AdvanceView],
                    day: dt.date) -> tuple[LenderYear, ...]:
    """The statement's annex: for every lender with advances in its year containing `day`, its table.

    Under a convention de trésorerie: the pivot's table first (every member's position), then each member's
    that has a position with it.
    """
    paid = [v for v in views if v.disbursement is not None and v.disbursement.date <= day]
    pivot = pivot_member(policy, books.group)
    if pivot is None:
        members = sorted({v.lender for v in paid})
    else:
        parties = {v.lender for v in paid} | {v.borrower for v in paid}
        members = [pivot.id, *sorted(parties - {pivot.id})] if parties else []
    tables = (lender_year(books, policy, tmop, views, member, year_of(books, member, day), day) for member in members)
    return tuple(t for t in tables if t.rows or (t.treasury is not None and t.treasury.positions))
