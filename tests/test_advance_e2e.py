"""End to end on a copy of the demo group: plan → approve → disburse → confirm → repay twice → repaid."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount.core import data
from click.testing import CliRunner, Result

from banquasso.commands.main import main
from banquasso.forecast.advance_flows import advance_flows, registry_flows
from banquasso.forecast.daily import forecast_group
from banquasso.registry.db import DB_URL_ENV
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.loading import load_member_ledger
from comptasso.books.reference import load_allowed_plugins
from comptasso.model.chart import is_treasury
from comptasso.money import cents
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS

pytestmark = pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated")

ZERO = Decimal("0.00")


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


def bq(args: list[str], ledgers: Path, rules: Path, as_of: str) -> Result:
    result = CliRunner().invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", as_of],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def books_of(ledgers: Path, rules: Path) -> GroupBooks:
    books, problems = open_books(ledgers, rules)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return books


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


def treasury(entries: list[data.Directive]) -> Decimal:
    return sum((_number(p) for e in entries if isinstance(e, data.Transaction)
                for p in e.postings if is_treasury(p.account)), ZERO)


def account_total(entries: list[data.Directive], prefix: str) -> Decimal:
    return sum((_number(p) for e in entries if isinstance(e, data.Transaction)
                for p in e.postings if p.account.startswith(prefix)), ZERO)


def bean_check(ledgers: Path, rules: Path, members: tuple[str, str]) -> None:
    """Both ledgers load through Beancount's own pipeline without a single error."""
    allowed, _ = load_allowed_plugins(rules)
    for member in members:
        ledger = load_member_ledger(member, ledgers / member / "main.beancount", allowed)
        assert ledger.ok, [str(p) for p in ledger.problems if p.is_error]


def balance_on(books: GroupBooks, as_of: dt.date, member: str, day: dt.date, with_registry: bool) -> Decimal:
    """The forecast balance of `member` on `day`, read as of `as_of`, with or without the registry's advances."""
    extra = registry_flows(books.group.ledgers_dir, {m: books.ledgers[m].entries for m in books.group.ids},
                           as_of) if with_registry else None
    forecast = forecast_group(books, as_of, (day - as_of).days, extra_flows=extra)
    return dict(forecast.member(member).days)[day]


@pytest.mark.slow
def test_the_life_of_an_advance_on_the_demo_group(demo_copy: tuple[Path, Path]) -> None:
    ledgers, rules = demo_copy
    proposed = json.loads(bq(["advance", "propose", "--json"], ledgers, rules, DEMO_AS_OF).stdout)
    assert proposed["advances"], "the demo plan proposes advances"
    first: dict[str, Any] = proposed["advances"][0]
    advance, lender, borrower = first["id"], first["lender"], first["borrower"]
    amount = Decimal(first["principal"])
    assert (advance, first["status"]) == ("BQA-2026-0001", "proposed")
    members = (lender, borrower)
    books = books_of(ledgers, rules)
    as_of = dt.date.fromisoformat(DEMO_AS_OF)
    start = {m: treasury(books.ledgers[m].entries) for m in members}
    disburse_on = dt.date.fromisoformat(first["disburse_on"])

    # A proposed advance does not move the forecast; an approved one does, on both sides, the same amount.
    base = {m: balance_on(books, as_of, m, disburse_on, False) for m in members}
    assert {m: balance_on(books, as_of, m, disburse_on, True) for m in members} == base
    bq(["advance", "approve", advance, "--by", "Conseil d'administration", "--decision", "CA-2026-11-28-03"],
       ledgers, rules, DEMO_AS_OF)
    moved = {m: balance_on(books, as_of, m, disburse_on, True) for m in members}
    assert moved == {lender: base[lender] - amount, borrower: base[borrower] + amount}
    # `banquasso forecast` reads the same registry: the CLI shows the moved balances.
    horizon = str((disburse_on - as_of).days)
    document = json.loads(bq(["forecast", "--json", "--horizon", horizon], ledgers, rules, DEMO_AS_OF).stdout)
    shown = {m["id"]: {d["date"]: Decimal(d["balance"]) for d in m["days"]} for m in document["members"]}
    assert {m: shown[m][disburse_on.isoformat()] for m in members} == moved

    # Disbursement: both engine files get the `!` entry; both ledgers pass bean-check; registry agrees.
    day = first["disburse_on"]
    bq(["advance", "disburse", advance, "--on", day], ledgers, rules, day)
    bean_check(ledgers, rules, members)
    books = books_of(ledgers, rules)
    lender_file = (ledgers / lender / "banquasso.beancount").read_text(encoding="utf-8")
    assert f'{day} ! "BanquAsso" "Avance {advance} à ' in lender_file
    assert f'event: "{advance}/disburse"' in lender_file
    after = {m: treasury(books.ledgers[m].entries) for m in members}
    assert after == {lender: start[lender] - amount, borrower: start[borrower] + amount}
    assert account_total(books.ledgers[lender].entries, "Assets:2748-Avances-BanquAsso:") == amount
    assert account_total(books.ledgers[borrower].entries, "Liabilities:1687-Avances-BanquAsso:") == -amount
    assert bq(["reconcile"], ledgers, rules, day).exit_code == 0
    # Once in the books, the forecast counts the disbursement once (opening balance) and the repayment
    # on its expected date: with the registry's flows, the borrower pays `amount` back on `repay_on`.
    nxt, repay_on = disburse_on + dt.timedelta(days=1), dt.date.fromisoformat(first["repay_on"])
    for member in members:
        assert balance_on(books, disburse_on, member, nxt, True) == balance_on(books, disburse_on, member, nxt, False)
    sign = {lender: 1, borrower: -1}
    for member in members:
        gap = (balance_on(books, disburse_on, member, repay_on, True)
               - balance_on(books, disburse_on, member, repay_on, False))
        assert gap == sign[member] * amount

    # Confirmation: `!` → `*` in both files.
    bq(["advance", "confirm", advance], ledgers, rules, day)
    for member in members:
        text = (ledgers / member / "banquasso.beancount").read_text(encoding="utf-8")
        assert f'{day} * "BanquAsso"' in text and f'{day} ! "BanquAsso"' not in text
    bean_check(ledgers, rules, members)
    assert bq(["reconcile"], ledgers, rules, day).exit_code == 0

    # Two repayments: partly repaid, then repaid; money comes back exactly.
    part = cents(amount / 3)
    steps = [("2027-01-15", part, "partly_repaid"), ("2027-02-10", amount - part, "repaid")]
    for on, paid, state in steps:
        result = json.loads(bq(["advance", "repay", advance, "--amount", str(paid), "--on", on, "--json"],
                               ledgers, rules, on).stdout)
        assert result["advance"]["state"] == state
        bean_check(ledgers, rules, members)
        bq(["advance", "confirm", advance], ledgers, rules, on)
        bean_check(ledgers, rules, members)
        assert bq(["reconcile"], ledgers, rules, on).exit_code == 0
    books = books_of(ledgers, rules)
    end = {m: treasury(books.ledgers[m].entries) for m in members}
    late_entries = {m: treasury([e for e in books.ledgers[m].entries if e.date > as_of
                                 and "advance" not in e.meta]) for m in members}
    # Money is conserved: without the members' own later entries, each treasury is back where it started.
    assert {m: end[m] - late_entries[m] for m in members} == start
    assert account_total(books.ledgers[lender].entries, "Assets:2748-Avances-BanquAsso:") == 0
    assert account_total(books.ledgers[borrower].entries, "Liabilities:1687-Avances-BanquAsso:") == 0
    shown = json.loads(bq(["advance", "show", advance, "--json"], ledgers, rules, "2027-02-10").stdout)
    assert shown["advance"]["status"] == "repaid" and shown["advance"]["outstanding"] == "0.00"
    assert [p["event"] for p in shown["advance"]["payments"]] == [
        f"{advance}/disburse", f"{advance}/repay/2027-01-15-{part}", f"{advance}/repay/2027-02-10-{amount - part}"]
    listing = bq(["advance", "list"], ledgers, rules, "2027-02-10").output
    assert advance in listing and "remboursée" in listing
    for member in members:
        text = (ledgers / member / "banquasso.beancount").read_text(encoding="utf-8")
        assert text.count(f'advance: "{advance}"') == 3 and " ! " not in text


def test_flows_of_a_partly_repaid_advance_are_what_remains() -> None:
    from banquasso.registry.snapshot import AdvanceView, LineView, PaymentView

    d = dt.date
    view = AdvanceView(
        "BQA-2026-0009", "a", "b", Decimal("9000.00"), Decimal("0"), "linear", "ACT/365", 15, d(2026, 12, 1),
        d(2027, 3, 1), None, None, "partly_repaid", d(2026, 11, 30), "M", "CA", d(2026, 11, 30), None,
        d(2026, 12, 1),
        (LineView(1, d(2027, 1, 1), Decimal("3000.00"), ZERO, Decimal("3000.00"), Decimal("6000.00")),
         LineView(2, d(2027, 2, 1), Decimal("3000.00"), ZERO, Decimal("3000.00"), Decimal("3000.00")),
         LineView(3, d(2027, 3, 1), Decimal("3000.00"), ZERO, Decimal("3000.00"), ZERO)),
        (PaymentView(1, "disbursement", "BQA-2026-0009/disburse", d(2026, 12, 1), Decimal("9000.00"), ZERO,
                     d(2026, 12, 1)),
         PaymentView(2, "repayment", "BQA-2026-0009/repay-1", d(2027, 1, 20), Decimal("4000.00"), ZERO, None)),
    )
    flows = advance_flows([view], {}, d(2027, 1, 10))
    # The repayment dated after A is a flow; then line 2 keeps 2 000 € and line 3 its 3 000 €.
    assert [(f.date, f.amount) for f in flows["b"]] == [
        (d(2027, 1, 20), Decimal("-4000.00")), (d(2027, 2, 1), Decimal("-2000.00")),
        (d(2027, 3, 1), Decimal("-3000.00"))]
    assert [f.amount for f in flows["a"]] == [Decimal("4000.00"), Decimal("2000.00"), Decimal("3000.00")]
    # Read after the repayment, a line already past due lands on A + 1.
    later = advance_flows([view], {}, d(2027, 2, 15))
    assert [(f.date, f.amount) for f in later["b"]] == [(d(2027, 2, 16), Decimal("-2000.00")),
                                                        (d(2027, 3, 1), Decimal("-3000.00"))]
