"""The expected cash flows of a member read from its books: grant tranches, invoices, previsions, extras."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from beancount.core import data

from banquasso.forecast.facts import fact
from comptasso.model.chart import is_payroll, is_treasury
from comptasso.model.grants import TrancheStatus
from comptasso.model.invoices import Invoice
from comptasso.model.member import member_model
from comptasso.model.previsions import Prevision, expected_occurrences
from comptasso.problems import Problem

FlowKind = Literal["subvention", "facture-client", "facture-fournisseur", "prevision", "avance", "budget"]
ZERO = Decimal("0")


@dataclass(frozen=True)
class Flow:
    """One expected movement of a member's treasury: signed amount (negative = money out) on a day."""

    date: dt.date
    amount: Decimal
    kind: FlowKind
    label: str
    reference: str = ""


@dataclass(frozen=True)
class OpenTranche:
    """What is still expected of a grant tranche, and from which funder."""

    convention: str
    funder: str | None
    due: dt.date
    amount: Decimal


@dataclass(frozen=True)
class MemberBooks:
    """What the forecast needs of one member's books as of a day, read in one pass."""

    member_id: str
    as_of: dt.date
    opening_balance: Decimal
    payroll_12m: Decimal
    statuses: tuple[TrancheStatus, ...]
    invoices: tuple[Invoice, ...]
    previsions: tuple[Prevision, ...]

    @property
    def open_tranches(self) -> tuple[OpenTranche, ...]:
        return tuple(
            OpenTranche(s.tranche.convention, s.funder, s.tranche.due, s.open_amount)
            for s in self.statuses if s.is_open
        )


def treasury_and_payroll(entries: Iterable[data.Directive], as_of: dt.date) -> tuple[Decimal, Decimal]:
    """The treasury balance (51x/53x) after every entry, and what was posted to 64x in A-364..A."""
    since = as_of - dt.timedelta(days=364)
    treasury, payroll = ZERO, ZERO
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        for posting in entry.postings:
            if posting.units is None or posting.units.number is None:
                continue
            if is_treasury(posting.account):
                treasury += posting.units.number
            elif entry.date >= since and is_payroll(posting.account):
                payroll += posting.units.number
    return treasury, payroll


def read_member(member_id: str, entries: Sequence[data.Directive], as_of: dt.date) -> tuple[MemberBooks, list[Problem]]:
    """Read a member's books as they stood at the end of `as_of` (later entries are ignored); a fact of its
    ledger (`forecast.facts`), read once per content and day."""
    read, problems = fact(entries, ("read", member_id, as_of), lambda: _read_member(member_id, entries, as_of))
    return read, list(problems)


def _read_member(member_id: str, entries: Sequence[data.Directive],
                 as_of: dt.date) -> tuple[MemberBooks, tuple[Problem, ...]]:
    model = member_model(entries, as_of)
    opening, payroll = treasury_and_payroll(model.known, as_of)
    books = MemberBooks(
        member_id, as_of, opening, payroll, model.statuses,
        tuple(i for i in model.invoices if i.open_amount > 0), model.previsions,
    )
    return books, tuple(model.problems)


def tranche_flow(tranche: OpenTranche, delay_days: int, as_of: dt.date) -> Flow:
    """An open tranche lands on max(A + 1, tranche date + the funder's delay)."""
    day = max(as_of + dt.timedelta(days=1), tranche.due + dt.timedelta(days=delay_days))
    return Flow(day, tranche.amount, "subvention", f"Subvention {tranche.convention}", tranche.convention)


def invoice_flow(invoice: Invoice, as_of: dt.date) -> Flow:
    """An open invoice is settled on max(A + 1, echeance): 411 brings money in, 401 takes it out."""
    due = invoice.due or as_of
    day = max(as_of + dt.timedelta(days=1), due)
    kind: FlowKind = "facture-client" if invoice.kind == "client" else "facture-fournisseur"
    return Flow(day, invoice.cash_sign * invoice.open_amount, kind, invoice.narration or invoice.link, invoice.link)


def prevision_flows(previsions: Sequence[Prevision], as_of: dt.date, until: dt.date) -> list[Flow]:
    """The occurrences of every prevision dated A+1..until, after replacement by label."""
    return [
        Flow(o.date, o.amount, "prevision", o.prevision.label, o.prevision.account)
        for o in expected_occurrences(previsions, as_of + dt.timedelta(days=1), until)
    ]


def fixed_flows(books: MemberBooks, until: dt.date, extra: Iterable[Flow] = ()) -> list[Flow]:
    """Every expected flow that does not depend on a funder's delay: invoices, previsions, extras."""
    flows = [invoice_flow(i, books.as_of) for i in books.invoices]
    flows += prevision_flows(books.previsions, books.as_of, until)
    flows += [f for f in extra if f.date > books.as_of]
    return sorted((f for f in flows if f.date <= until), key=lambda f: (f.date, f.kind, f.label))
