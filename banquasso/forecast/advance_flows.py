"""The cash flows that approved and disbursed advances of the registry add to each member's forecast."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from beancount.core import data

from banquasso.forecast.daily import GroupOutlook, read_group
from banquasso.forecast.flows import Flow
from banquasso.registry import lifecycle
from banquasso.registry.balance import due_lines, remaining_lines, securing_receipt
from banquasso.registry.location import database_url, registry_exists
from banquasso.registry.snapshot import AdvanceView
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import GroupBooks
from comptasso.problems import Problem

RUNNING = (lifecycle.DISBURSED, lifecycle.CONFIRMED, lifecycle.PARTLY_REPAID)


def _flow(day: dt.date, amount: Decimal, label: str, advance: str) -> Flow:
    return Flow(day, amount, "avance", label, advance)


def advance_flows(
    views: Sequence[AdvanceView],
    ledgers: Mapping[str, Sequence[data.Directive]],
    as_of: dt.date,
) -> dict[str, list[Flow]]:
    """Flows after `as_of` per member: disbursements not yet in the books and the repayments still due.

    An approved advance brings its disbursement on max(A + 1, planned date) and its whole schedule;
    a running one brings its recorded movements dated after A (those dated on or before A are in
    the books already) and what remains of its schedule, due dates before A+1 moved to A+1. An
    on-receipt line is due `grace_days` after the securing tranche is received, else on its planned date.
    """
    tomorrow = as_of + dt.timedelta(days=1)
    out: dict[str, list[Flow]] = defaultdict(list)
    for view in views:
        if view.state == lifecycle.APPROVED:
            day = max(tomorrow, view.disburse_on)
            out[view.lender].append(_flow(day, -view.principal, f"Avance {view.id} à {view.borrower}", view.id))
            out[view.borrower].append(_flow(day, view.principal, f"Avance {view.id} de {view.lender}", view.id))
        elif view.state in RUNNING:
            for payment in view.payments:
                if payment.date > as_of:
                    sign = -1 if payment.kind == "disbursement" else 1
                    out[view.lender].append(_flow(payment.date, sign * payment.total, payment.event, view.id))
                    out[view.borrower].append(_flow(payment.date, -sign * payment.total, payment.event, view.id))
        else:
            continue
        received = securing_receipt(view, ledgers.get(view.borrower, ()), as_of)
        for line in remaining_lines(view, due_lines(view, received)):
            day = max(tomorrow, line.date)
            label = f"Remboursement {view.id} (échéance {line.n})"
            out[view.lender].append(_flow(day, line.payment, label, view.id))
            out[view.borrower].append(_flow(day, -line.payment, label, view.id))
    return dict(out)


def registry_flows(ledgers_dir: Path, ledgers: Mapping[str, Sequence[data.Directive]],
                   as_of: dt.date) -> dict[str, list[Flow]]:
    """`advance_flows` of the group's registry as it stood at the end of `as_of` (events recorded later, dated
    later, are not seen); none when there is no registry yet (nothing is created)."""
    url = database_url(ledgers_dir)
    if not registry_exists(ledgers_dir):
        return {}
    from banquasso.registry.db import open_registry  # SQLAlchemy only when there is a registry to read
    from banquasso.registry.desk import load_views

    registry = open_registry(ledgers_dir, url)
    try:
        return advance_flows(load_views(registry, as_of), ledgers, as_of)
    finally:
        registry.close()


def read_group_with_advances(
    books: GroupBooks,
    as_of: dt.date,
    horizon: int,
    floor_policy: FloorPolicy | None = None,
) -> tuple[GroupOutlook | None, list[Problem]]:
    """`read_group` with the approved and running advances of the registry: what every consumer reads."""
    ledgers = {m.id: books.ledgers[m.id].entries for m in books.members}
    flows = registry_flows(books.group.ledgers_dir, ledgers, as_of)
    known = {member: items for member, items in flows.items() if member in books.group.ids}
    return read_group(books, as_of, horizon, floor_policy, known)
