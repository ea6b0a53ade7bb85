"""The charges of the demo's earmarked actions: existing operations given an `action` metadata.

For each earmarked project grant (notification with `action` and `fonds_dedies`), the operations of
its year on the action's kind of charges (purchases, outside staff, travel), from the notification day
on and in date order, are tagged with `action: "…"` while they fit in `USED_SHARE` of the grant, so
the compte rendu financier and the budget by action show réalisé and part of each grant stays unused
(fonds dédiés). Only metadata is added: no amount, balance, forecast or plan figure moves, and no
random draw is made (every other figure of the demo stays as it was). For the books' last year, a
budget line per action (`custom "budget" "6" … "ACTION"`, the grant rounded up to 100 €) gives the
budget by action its budget.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import ROUND_CEILING, Decimal

from comptasso.synthetic.basics import ZERO
from comptasso.synthetic.context import Context
from comptasso.synthetic.grants import RECEIVABLE
from comptasso.synthetic.model import RANK_PREVISION, Book, Directive, Transaction

#: The share of an earmarked grant its action's charges use within the grant's year, at most.
USED_SHARE = Decimal("0.80")
#: The charges an action's operations may be on (achats, personnel extérieur, déplacements).
ACTION_CHARGES = ("Expenses:604", "Expenses:606", "Expenses:621", "Expenses:625")
HUNDRED = Decimal(100)


def _meta(txn: Transaction, key: str) -> str | None:
    return next((value.strip('"') for k, value in txn.meta if k == key), None)


def earmarked(book: Book) -> list[tuple[Transaction, str, Decimal]]:
    """Each earmarked grant's notification, its action and its amount, in date order."""
    out = []
    for txn in book.transactions():
        action = _meta(txn, "action")
        if action is not None and _meta(txn, "fonds_dedies") is not None:
            amount = sum((p.amount for p in txn.postings if p.account.startswith(RECEIVABLE)), ZERO)
            out.append((txn, action, amount))
    return sorted(out, key=lambda item: item[0].date)


def charge(txn: Transaction) -> Decimal:
    """What an operation debits on an action's kind of charges (zero for any other operation)."""
    return sum((p.amount for p in txn.postings if p.account.startswith(ACTION_CHARGES) and p.amount > 0), ZERO)


def tag_action_charges(book: Book) -> None:
    """Tag, for each earmarked grant, the operations of its year that its action's charges are made of."""
    chosen: dict[int, str] = {}
    for notification, action, amount in earmarked(book):
        left = (amount * USED_SHARE).quantize(Decimal("0.01"))
        end = date(notification.date.year, 12, 31)
        for seq, entry in sorted(book.entries, key=lambda item: (item[1].date, item[0])):
            if not isinstance(entry, Transaction) or seq in chosen or _meta(entry, "action") is not None:
                continue
            cost = charge(entry)
            if notification.date <= entry.date <= end and ZERO < cost <= left:
                chosen[seq] = action
                left -= cost
    book.entries[:] = [(seq, replace(entry, meta=(*entry.meta, ("action", f'"{chosen[seq]}"'))))
                       if seq in chosen and isinstance(entry, Transaction) else (seq, entry)
                       for seq, entry in book.entries]


def action_budget_lines(book: Book, ctx: Context) -> list[Directive]:
    """The last year's budget of each earmarked action: its grant, rounded up to 100 €, on the charges (6)."""
    year = ctx.end.year
    out = []
    for notification, action, amount in earmarked(book):
        if notification.date.year == year:
            budget = (amount / HUNDRED).to_integral_value(ROUND_CEILING) * HUNDRED
            out.append(Directive(date(year, 1, 1), f'custom "budget" "6" {year}-01-01 {year}-12-31 {budget:.2f} EUR '
                                 f'"{action}"', RANK_PREVISION))
    return out
