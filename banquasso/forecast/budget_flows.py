"""The year's forecast from the budget (opt-in: `banquasso forecast --budget`): the documented rule.

For a member read as of day A, each budget line without an action, whose period ends after A, adds
flows for what is not yet realised — unless a `prevision` of the member already covers its accounts
(a prevision on an account the line counts), since the previsions then say when the money moves:

- the remainder is `max(0, budget − réalisé as of A)`;
- it is split in equal parts (to the cent, the last part absorbing the rounding) over the months of the
  period after A, each part on the month's last day (the period's end for its last month);
- a charge (class 6) takes money out, a product (class 7) brings it in.

A line whose prefix falls inside another action-less line's prefix (`"641"` inside `"64"`) is left to
the broader line, so nothing is counted twice. Budgets never change the default forecast.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from beancount.core import data

from banquasso.forecast.advance_flows import registry_flows
from banquasso.forecast.daily import GroupOutlook, read_group
from banquasso.forecast.flows import Flow
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import GroupBooks
from comptasso.model.budgets import BudgetLine, actual, extract_budgets, month_starts
from comptasso.model.member import member_model
from comptasso.model.previsions import Prevision
from comptasso.money import cents
from comptasso.problems import Problem

ZERO = Decimal(0)


def _covered(line: BudgetLine, previsions: Sequence[Prevision]) -> bool:
    return any(line.matches(p.account) for p in previsions)


def _inside(line: BudgetLine, lines: Sequence[BudgetLine]) -> bool:
    """True when a broader action-less line of an overlapping period already counts this line's accounts."""
    return any(other is not line and other.action is None and not other.is_account and not line.is_account
               and line.prefix.startswith(other.prefix) and len(other.prefix) < len(line.prefix)
               and other.start <= line.end and line.start <= other.end for other in lines)


def _month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def line_flows(line: BudgetLine, entries: Sequence[data.Directive], as_of: dt.date) -> list[Flow]:
    """The flows of one budget line after the as-of day (the module's rule)."""
    if line.end <= as_of:
        return []
    remainder = max(ZERO, line.amount - actual(line, entries, as_of))
    months = month_starts(max(line.start, as_of + dt.timedelta(days=1)), line.end)
    if remainder == 0 or not months:
        return []
    part = cents(remainder / len(months))
    sign = 1 if line.sign > 0 else -1
    out = []
    for index, month in enumerate(months):
        amount = remainder - part * (len(months) - 1) if index == len(months) - 1 else part
        day = min(_month_end(month), line.end)
        out.append(Flow(day, sign * amount, "budget", f"Budget {line.prefix}", line.prefix))
    return out


def budget_flows(entries: Sequence[data.Directive], as_of: dt.date) -> list[Flow]:
    """Every budget flow of one member as of a day."""
    known = [e for e in entries if e.date <= as_of]
    lines, _ = extract_budgets(known)
    previsions = member_model(entries, as_of).previsions
    free = [line for line in lines if line.action is None]
    out: list[Flow] = []
    for line in free:
        if not _covered(line, previsions) and not _inside(line, free):
            out += line_flows(line, known, as_of)
    return out


def read_group_with_budget(books: GroupBooks, as_of: dt.date, horizon: int,
                           floor_policy: FloorPolicy | None = None) -> tuple[GroupOutlook | None, list[Problem]]:
    """`read_group_with_advances` plus every member's budget flows."""
    ledgers = {m.id: books.ledgers[m.id].entries for m in books.members}
    flows = {member: list(items) for member, items in registry_flows(books.group.ledgers_dir, ledgers, as_of).items()
             if member in books.group.ids}
    for member_id, entries in ledgers.items():
        flows.setdefault(member_id, []).extend(budget_flows(entries, as_of))
    return read_group(books, as_of, horizon, floor_policy, flows)
