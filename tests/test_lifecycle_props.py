"""Property: any sequence of propose/approve/disburse/confirm/repay/cancel keeps every rule and the books whole.

Hypothesis draws short sequences of lifecycle commands on the two-member group of test_registry
(one command a day, through the desk with the commitment guard). Whatever is refused, afterwards:
the registry and both ledgers agree, money is conserved, and the committed advances keep the
borrower cap, the tranche's security cap, the legal net-cash cap and the lender's floor.
Bounded: a few examples of at most six steps; the second property runs its steps two by two in two
processes at once (the hand-picked races are in test_concurrency).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
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
from tests.test_ledger_write import cli, finish
from tests.test_registry import make_group, run

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


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


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


def _check(ledgers: Path, rules: Path, day: dt.date) -> None:
    """Registry = both ledgers, money conserved, every committed limit kept."""
    group, _ = load_group(ledgers)
    policy, _ = load_policy(rules)
    assert group is not None and policy is not None
    books, problems = open_books(ledgers, rules)
    assert books is not None and not [p for p in problems if p.is_error]
    views = load_views(open_registry(ledgers))
    entries = {m.id: books.ledgers[m.id].entries for m in group.members}
    files = {m.id: str(engine_file(m)) for m in group.members}
    result = reconcile(views, group, entries, policy.accounts, day, files)
    assert result.ok, [str(p) for p in result.mismatches]
    cash = {m: sum((_number(p) for e in entries[m] if isinstance(e, data.Transaction) for p in e.postings
                    if is_treasury(p.account) and p.units is not None), Decimal(0)) for m in entries}
    assert sum(cash.values()) == Decimal("52000.00")  # money only moves between the two members
    assert cash["preteur"] >= FLOOR
    committed = [v for v in views if v.state in lifecycle.COMMITTED]
    open_principal = sum((v.principal if v.disbursement is None else v.outstanding for v in committed), Decimal(0))
    assert open_principal <= min(CAP, SECURITY)
    granted = sum((v.principal for v in views if v.disbursement is not None or v.state == lifecycle.APPROVED),
                  Decimal(0))
    assert granted <= LEGAL


POOL = "[limits]\nmax_advance_per_borrower = 18000\n"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=3, max_size=6))
def test_any_sequence_keeps_every_rule_and_the_books_whole(steps: list[tuple[str, object]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="bqa-props-"))
    ledgers, rules = make_group(root, pool=POOL)
    os.environ.pop(DB_URL_ENV, None)  # the SQLite registry beside this group's books
    group, _ = load_group(ledgers)
    policy, _ = load_policy(rules)
    assert group is not None and policy is not None
    registry = open_registry(ledgers)
    ids: list[str] = []
    day = START
    for action in steps:
        _run(Desk(ledgers, rules, registry, policy, group, day, "prop", guard=commitment_guard), action, ids)
        day += dt.timedelta(days=1)
    _check(ledgers, rules, day)


def _cli_args(action: tuple[str, object], day: dt.date, ledgers: Path) -> list[str] | None:
    kind, arg = action
    if kind == "propose":
        return ["advance", "propose", "--lender", "preteur", "--borrower", "emprunteur", "--amount", str(arg),
                "--disburse-on", day.isoformat(), "--repay-on", "2027-01-25", "--convention", "ESS-2026-042",
                "--tranche-date", "2026-12-31"]
    assert isinstance(arg, int)
    advance = f"BQA-2026-{arg + 1:04d}"
    if kind == "approve":
        return ["advance", "approve", advance, "--by", "M", "--decision", "CA"]
    if kind in ("disburse", "repay"):
        extra = ["--amount", "1000"] if kind == "repay" else []
        return ["advance", kind, advance, "--on", day.isoformat(), *extra]
    if kind == "confirm":
        return ["advance", "confirm", advance]
    view = next((v for v in load_views(open_registry(ledgers)) if v.id == advance), None)
    if view is None or not view.payments:
        return None
    return ["advance", "cancel", advance, "--event", view.payments[-1].event, "--by", "M", "--reason", "erreur"]


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=2, max_size=2))
def test_two_processes_at_once_keep_every_rule_and_the_books_whole(pair: list[tuple[str, object]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="bqa-props2-"))
    ledgers, rules = make_group(root, pool=POOL)
    os.environ.pop(DB_URL_ENV, None)
    for args in (_cli_args(("propose", "9000.00"), START, ledgers), _cli_args(("propose", "9500.00"), START, ledgers),
                 _cli_args(("approve", 0), START, ledgers)):
        assert args is not None and run(args, ledgers, rules, START.isoformat()).exit_code == 0
    day = START + dt.timedelta(days=1)
    commands = [args for args in (_cli_args(a, day, ledgers) for a in pair) if args is not None]
    processes = [cli(ledgers, rules, args, day.isoformat()) for args in commands]  # both at once
    for _code, output in [finish(process) for process in processes]:
        assert "Traceback" not in output, output
    _check(ledgers, rules, day)
