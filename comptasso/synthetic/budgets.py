"""The demo's budget prévisionnel: `custom "budget"` lines for the last year, from the year before.

Each two-digit group of charges (6x) and products (7x) booked in the year before the last gets a
budget line for the last year: the previous year's total, charges raised by 3 %, rounded up to 100 €.
Budget lines are directives only: they move no balance, no forecast and no plan figure.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_CEILING, Decimal

from comptasso.synthetic.context import Context
from comptasso.synthetic.model import RANK_PREVISION, Book, Directive

RAISE = Decimal("1.03")
HUNDRED = Decimal(100)


def _group(account: str) -> str | None:
    for component in reversed(account.split(":")[1:]):
        digits = "".join(c for c in component[:2] if c.isdigit())
        if len(digits) == 2 and component[:2] == digits:
            return digits
    return None


def budget_lines(book: Book, ctx: Context) -> list[Directive]:
    """The last year's budget lines of a member (none when the books do not hold the year before)."""
    year = ctx.end.year
    if ctx.start > date(year - 1, 1, 1):
        return []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for txn in book.transactions():
        if txn.date.year != year - 1:
            continue
        for posting in txn.postings:
            group = _group(posting.account)
            if group is None or group[0] not in "67" or not posting.account.startswith(("Expenses:", "Income:")):
                continue
            totals[group] += posting.amount if group[0] == "6" else -posting.amount
    out = []
    for group in sorted(totals):
        total = totals[group] * (RAISE if group[0] == "6" else 1)
        if total <= 0:
            continue
        amount = (total / HUNDRED).to_integral_value(ROUND_CEILING) * HUNDRED
        out.append(Directive(date(year, 1, 1), f'custom "budget" "{group}" {year}-01-01 {year}-12-31 {amount:.2f} EUR',
                             RANK_PREVISION))
    return out
