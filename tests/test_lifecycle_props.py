"""Property: any sequence of propose/approve/disburse/confirm/repay/cancel keeps every rule and the books whole.

Hypothesis draws short sequences of lifecycle commands on the two-member group of test_registry
(one command a day, through the desk with the commitment guard). Whatever is refused, afterwards:
the registry and both ledgers agree, money is conserved, and the committed advances keep the
borrower cap, the tranche's security cap, the legal net-cash cap and the lender's floor.
Bounded: a few examples of at most six steps (the two-process races are in test_concurrency).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banquasso.pool.guard import commitment_guard
from banquasso.registry import lifecycle
from banquasso.registry.db import DB_URL_ENV, open_registry
from banquasso.registry.movements import engine_file
from banquasso.registry.reconcile import reconcile
from banquasso.registry.service import (
    Desk,
    Proposal,
    approve,
    cancel,
    confirm,
    disburse,
    load_views,
    propose,
    repay,
)
from banquasso.terms.policy import load_policy
from comptasso.books.facade import open_books
from comptasso.books.group import load_group
from comptasso.model.chart import is_treasury
from tests.test_registry import make_group

pytestmark = pytest.mark.slow

START = dt.date(2026, 11, 30)
CAP, SECURITY, LEGAL, FLOOR = Decimal(18000), Decimal("19200.00"), Decimal(25000), Decimal(5000)

step = st.one_of(
    st.tuples(st.just("propose"), st.sampled_from(["3000.00", "8000.00", "12000.00"])),
    st.tuples(st.just("approve"), st.integers(0, 2)),
    st.tuples(st.just("disburse"), st.integers(0, 2)),
    st.tuples(st.just("confirm"), st.integers(0, 2)),
    st.tuples(st.just("repay"), st.integers(0, 2)),
    st.tuples(st.just("cancel"), st.integers(0, 2)),
)


def _run(desk: Desk, action: tuple[str, object], ids: list[str]) -> None:
    kind, arg = action
    if kind == "propose":
        proposal = Proposal("preteur", "emprunteur", Decimal(str(arg)), desk.as_of, dt.date(2027, 1, 25),
                            "ESS-2026-042", dt.date(2026, 12, 31))
        [outcome] = propose(desk, [proposal], None)
        if outcome.ok and outcome.advance is not None and outcome.advance.id not in ids:
            ids.append(outcome.advance.id)
        return
    assert isinstance(arg, int)
    if arg >= len(ids):
        return
    advance = ids[arg]
    if kind == "approve":
        approve(desk, advance, "Marie", "CA")
    elif kind == "disburse":
        disburse(desk, advance, desk.as_of)
    elif kind == "confirm":
        confirm(desk, advance)
    elif kind == "repay":
        repay(desk, advance, Decimal("1000.00"), desk.as_of)
    else:
        views = {v.id: v for v in load_views(desk.registry)}
        if views[advance].payments:
            cancel(desk, advance, views[advance].payments[-1].event, "erreur")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=3, max_size=6))
def test_any_sequence_keeps_every_rule_and_the_books_whole(steps: list[tuple[str, object]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="bqa-props-"))
    ledgers, rules = make_group(root, pool="[limits]\nmax_advance_per_borrower = 18000\n")
    import os

    os.environ[DB_URL_ENV] = f"sqlite:///{root / 'registre.db'}"
    try:
        group, _ = load_group(ledgers)
        policy, _ = load_policy(rules)
        assert group is not None and policy is not None
        registry = open_registry(ledgers)
        ids: list[str] = []
        day = START
        for action in steps:
            _run(Desk(ledgers, rules, registry, policy, group, day, "prop", guard=commitment_guard), action, ids)
            day += dt.timedelta(days=1)
        books, problems = open_books(ledgers, rules)
        assert books is not None and not [p for p in problems if p.is_error]
        views = load_views(registry)
        entries = {m.id: books.ledgers[m.id].entries for m in group.members}
        files = {m.id: str(engine_file(m)) for m in group.members}
        result = reconcile(views, group, entries, policy.accounts, day, files)
        assert result.ok, [str(p) for p in result.mismatches]
        cash = {m: sum((p.units.number for e in entries[m] if hasattr(e, "postings") for p in e.postings
                        if is_treasury(p.account) and p.units is not None), Decimal(0)) for m in entries}
        assert sum(cash.values()) == Decimal("52000.00")  # money only moves between the two members
        assert cash["preteur"] >= FLOOR
        committed = [v for v in views if v.state in lifecycle.COMMITTED]
        open_principal = sum((v.principal if v.disbursement is None else v.outstanding for v in committed),
                             Decimal(0))
        assert open_principal <= min(CAP, SECURITY)
        granted = sum((v.principal for v in views if v.disbursement is not None or v.state == lifecycle.APPROVED),
                      Decimal(0))
        assert granted <= LEGAL
    finally:
        os.environ.pop(DB_URL_ENV, None)
