"""The dependence indicator's figures, read once for the guard, the planner, the statement and the attestation.

The rule itself is `banquasso.terms.rules.check_dependence` (and `dependence_room` for the planner);
the figures are a borrower's annual resources from its books (`banquasso.terms.dependence`) and what
it owes: from the registry's committed advances (the guard, the statement, the attestation) or from
its books' advance accounts (the planner, which reads the books only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from banquasso.registry import lifecycle
from banquasso.registry.snapshot import AdvanceView
from banquasso.terms.dependence import Dependence, annual_resources, owed_in_books
from banquasso.terms.policy import Policy
from comptasso.books.facade import GroupBooks

ZERO = Decimal("0.00")


def open_principal(view: AdvanceView, day: dt.date) -> Decimal:
    """What the borrower owes (or will owe) on a committed advance at the end of `day`: the principal until it is
    paid, then what is left of it."""
    return view.principal if view.disbursement is None else view.outstanding_on(day)


def owed(views: Sequence[AdvanceView], borrower: str, day: dt.date, lender: str | None = None) -> Decimal:
    """The principal a borrower owes on the committed advances (to one lender, or to all)."""
    return sum((open_principal(v, day) for v in views if v.state in lifecycle.COMMITTED and v.borrower == borrower
                and (lender is None or v.lender == lender)), ZERO)


def registry_dependence(books: GroupBooks, views: Sequence[AdvanceView], borrower: str, lender: str,
                        day: dt.date) -> Dependence:
    """The indicator of `borrower` towards `lender` on `day`, over the committed advances `views` (the new one
    included by the caller)."""
    resources = annual_resources(books.ledgers[borrower].entries, day, books.group.currency)
    return Dependence(borrower, lender, day, owed(views, borrower, day, lender), owed(views, borrower, day),
                      resources)


def books_dependence(books: GroupBooks, policy: Policy, borrower: str, lender: str, day: dt.date) -> Dependence:
    """The indicator of `borrower` towards `lender` from its books alone (its 1687 accounts), for the planner."""
    entries = books.ledgers[borrower].entries
    accounts = policy.accounts
    return Dependence(borrower, lender, day, owed_in_books(entries, accounts.borrower_principal_for(lender), day),
                      owed_in_books(entries, accounts.borrower_principal, day),
                      annual_resources(entries, day, books.group.currency))
