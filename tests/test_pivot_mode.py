"""The `convention-de-tresorerie` mode (issue 13 item 8): every advance goes lender → pivot → borrower.

Inline ledgers, hand-computed: the three entries of each event balance, the three ledgers reconcile,
the group view eliminates the current accounts 4511 (net 0), no five-year and no 50 % cap in that
mode while `prets` keeps both; the policy's mode keys are validated by key, in French.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from hypothesis import given
from hypothesis import strategies as st

from banquasso.pool.guard import commitment_guard
from banquasso.registry import codes
from banquasso.registry.db import DB_URL_ENV, open_registry
from banquasso.registry.postings import Leg, advance_entries, hops
from banquasso.registry.service import load_views
from banquasso.terms import rules
from banquasso.terms.modes import PIVOT_UNKNOWN, applies, legal_max_days
from banquasso.terms.policy import AccountsPolicy, Policy, load_policy
from comptasso.books.facade import open_books
from comptasso.books.group import Member
from comptasso.model.chart import is_treasury
from comptasso.plugins.consolidation import GROUP_LEDGER, group_ledger_text
from tests.conftest import write_group
from tests.test_consolidation import balances
from tests.test_reconcile import run_lifecycle
from tests.test_registry import GRANT, OPENS, cash, propose_args, run

D = Decimal
ID = "BQA-2026-0001"
PIVOT_POOL = """
mode = "convention-de-tresorerie"
pivot = "ge-alpes"
[floor]
fixed = 1000
months_of_payroll = 0
[limits]
max_days = 2500
max_lender_share = 1
max_advance_per_borrower = 40000
[terms]
grace_days = 10
"""
LOANS_POOL = PIVOT_POOL.replace('mode = "convention-de-tresorerie"\npivot = "ge-alpes"\n', "").replace(
    "max_days = 2500", "max_days = 1826")

RECEIVABLE, PAYABLE = "Assets:4511-Groupe-Comptes-Courants", "Liabilities:4511-Groupe-Comptes-Courants"


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


def trio(root: Path, pool: str = PIVOT_POOL) -> tuple[Path, Path]:
    """The pivot `ge-alpes` (3 000 €), `preteur` (50 000 €), `emprunteur` (2 000 € and a 24 000 € grant)."""
    return write_group(root, {
        "ge-alpes": OPENS + cash("3000.00"),
        "preteur": OPENS + cash("50000.00"),
        "emprunteur": OPENS + cash("2000.00") + GRANT,
    }, pool=pool)


def _member(member_id: str) -> Member:
    return Member(member_id, member_id.title(), None, Path(f"{member_id}/main.beancount"), "Assets:512-Banque")


def _legs(legs: tuple[Leg, ...]) -> list[tuple[str, Decimal]]:
    return sorted((leg.account, leg.amount) for leg in legs)


def test_each_event_writes_three_balanced_entries_by_hand() -> None:
    lender, borrower, pivot = _member("preteur"), _member("emprunteur"), _member("ge-alpes")
    accounts = AccountsPolicy()
    paid = advance_entries(ID, "disbursement", f"{ID}/disburse", dt.date(2026, 12, 1), D("10000.00"), D(0), "!",
                           lender, borrower, accounts, "EUR", pivot)
    assert [e.member for e in paid] == ["preteur", "ge-alpes", "emprunteur"]
    assert [_legs(e.legs) for e in paid] == [
        [("Assets:4511-Groupe-Comptes-Courants:Ge-Alpes", D("10000.00")), ("Assets:512-Banque", D("-10000.00"))],
        # the pivot: money in from the lender, out to the borrower; it owes the lender, the borrower owes it
        [("Assets:4511-Groupe-Comptes-Courants:Emprunteur", D("10000.00")), ("Assets:512-Banque", D("-10000.00")),
         ("Assets:512-Banque", D("10000.00")), ("Liabilities:4511-Groupe-Comptes-Courants:Preteur", D("-10000.00"))],
        [("Assets:512-Banque", D("10000.00")), ("Liabilities:4511-Groupe-Comptes-Courants:Ge-Alpes", D("-10000.00"))],
    ]
    back = advance_entries(ID, "repayment", f"{ID}/repay/x", dt.date(2027, 1, 10), D("4000.00"), D("25.50"), "!",
                           lender, borrower, accounts, "EUR", pivot)
    by_member = {e.member: _legs(e.legs) for e in back}
    assert by_member["emprunteur"] == [("Assets:512-Banque", D("-4025.50")),
                                       ("Expenses:6618-Interets-BanquAsso", D("25.50")),
                                       ("Liabilities:4511-Groupe-Comptes-Courants:Ge-Alpes", D("4000.00"))]
    assert by_member["ge-alpes"] == [("Assets:4511-Groupe-Comptes-Courants:Emprunteur", D("-4000.00")),
                                     ("Assets:512-Banque", D("-4025.50")), ("Assets:512-Banque", D("4025.50")),
                                     ("Expenses:6618-Interets-BanquAsso", D("25.50")),
                                     ("Income:768-Interets-BanquAsso", D("-25.50")),
                                     ("Liabilities:4511-Groupe-Comptes-Courants:Preteur", D("4000.00"))]
    assert by_member["preteur"] == [("Assets:4511-Groupe-Comptes-Courants:Ge-Alpes", D("-4000.00")),
                                    ("Assets:512-Banque", D("4025.50")),
                                    ("Income:768-Interets-BanquAsso", D("-25.50"))]
    for entry in (*paid, *back):
        assert sum((leg.amount for leg in entry.legs), D(0)) == 0, entry.member


def test_the_pivot_lending_itself_is_one_hop() -> None:
    assert hops("preteur", "emprunteur", None) == (("preteur", "emprunteur"),)
    assert hops("preteur", "emprunteur", "ge") == (("preteur", "ge"), ("ge", "emprunteur"))
    assert hops("ge", "emprunteur", "ge") == (("ge", "emprunteur"),)
    pivot, borrower = _member("ge-alpes"), _member("emprunteur")
    entries = advance_entries(ID, "disbursement", "e", dt.date(2026, 12, 1), D("500.00"), D(0), "!", pivot, borrower,
                              AccountsPolicy(), "EUR", pivot)
    assert [(e.member, len(e.legs)) for e in entries] == [("ge-alpes", 2), ("emprunteur", 2)]


cents_st = st.integers(min_value=1, max_value=10**9).map(lambda n: D(n) / 100)


@given(principal=cents_st, interest=st.one_of(st.just(D("0.00")), cents_st),
       lender=st.sampled_from(["preteur", "ge-alpes"]), borrower=st.sampled_from(["emprunteur", "ge-alpes"]))
def test_every_entry_balances_and_a_full_repayment_clears_every_current_account(
        principal: Decimal, interest: Decimal, lender: str, borrower: str) -> None:
    if lender == borrower:
        return
    who = {m: _member(m) for m in ("preteur", "emprunteur", "ge-alpes")}
    args = (who[lender], who[borrower], AccountsPolicy(), "EUR", who["ge-alpes"])
    paid = advance_entries(ID, "disbursement", "d", dt.date(2026, 12, 1), principal, D(0), "!", *args)
    back = advance_entries(ID, "repayment", "r", dt.date(2027, 1, 1), principal, interest, "!", *args)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in (*paid, *back):
        assert sum((leg.amount for leg in entry.legs), D(0)) == 0
        for leg in entry.legs:
            totals[(entry.member, leg.account)] += leg.amount
    assert all(v == 0 for (_, account), v in totals.items() if "4511" in account)
    # Money is conserved: the lender gains the interest the borrower pays, the pivot neither gains nor loses.
    bank = {m: totals[(m, "Assets:512-Banque")] for m in who}
    assert bank[lender] == interest and bank[borrower] == -interest
    assert sum(bank.values(), D(0)) == 0


def _lifecycle(ledgers: Path, rules_dir: Path) -> None:
    run_lifecycle(ledgers, rules_dir, "Conseil d'administration")


def test_the_three_ledgers_hold_the_advance_reconcile_and_the_group_view_eliminates_it(tmp_path: Path) -> None:
    ledgers, rules_dir = trio(tmp_path)
    _lifecycle(ledgers, rules_dir)
    books, problems = open_books(ledgers, rules_dir)
    assert books is not None and not [p for p in problems if p.is_error], problems
    seen = {m: balances(list(books.ledgers[m].entries)) for m in books.group.ids}
    # 10 000 € paid on 2026-12-01, 4 000 € repaid on 2026-12-10: 6 000 € outstanding on every hop.
    assert seen["preteur"]["Assets:4511-Groupe-Comptes-Courants:Ge-Alpes"] == D("6000.00")
    assert seen["ge-alpes"]["Liabilities:4511-Groupe-Comptes-Courants:Preteur"] == D("-6000.00")
    assert seen["ge-alpes"]["Assets:4511-Groupe-Comptes-Courants:Emprunteur"] == D("6000.00")
    assert seen["emprunteur"]["Liabilities:4511-Groupe-Comptes-Courants:Ge-Alpes"] == D("-6000.00")
    assert seen["ge-alpes"]["Assets:512-Banque"] == D("3000.00")  # the pivot's cash only passes through
    assert seen["preteur"]["Assets:512-Banque"] == D("44000.00")
    assert seen["emprunteur"]["Assets:512-Banque"] == D("8000.00")
    assert not any(a.startswith("Assets:2748") for m in seen.values() for a in m)  # no bilateral loan account
    for member in books.group.ids:
        text = (ledgers / member / "banquasso.beancount").read_text(encoding="utf-8")
        assert text.count(f'advance: "{ID}"') == 2, member  # the disbursement and the repayment

    result = run(["reconcile", "--json"], ledgers, rules_dir, "2026-12-10")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["ok"] is True and document["mismatches"] == []
    assert (document["advances"][0]["lender_receivable"], document["advances"][0]["borrower_debt"]) == (
        "6000.00", "6000.00")

    # A hand edit of the pivot's engine file is caught on the pivot's ledger.
    engine = ledgers / "ge-alpes" / "banquasso.beancount"
    engine.write_text(engine.read_text(encoding="utf-8").replace("4000.00 EUR", "4400.00 EUR")
                      .replace("-4000.00 EUR", "-4400.00 EUR"), encoding="utf-8")
    broken = run(["reconcile", "--json"], ledgers, rules_dir, "2026-12-10")
    assert broken.exit_code == 1
    found = json.loads(broken.stdout)
    assert {m["code"] for m in found["mismatches"]} >= {codes.RECONCILE_AMOUNTS, codes.RECONCILE_BALANCE}
    assert all("ge-alpes" in m["file"] for m in found["mismatches"])
    engine.write_text(engine.read_text(encoding="utf-8").replace("4400.00 EUR", "4000.00 EUR"), encoding="utf-8")

    group_file = ledgers / GROUP_LEDGER
    group_file.write_text(group_ledger_text("Groupe de test"), encoding="utf-8")
    entries, errors, _ = loader.load_file(str(group_file))
    assert not errors, errors
    group = balances(entries)
    current = {a: v for a, v in group.items() if "4511" in a}
    assert current and all(a.startswith("Assets:Eliminations:4511-Comptes-Courants-Intra-Groupe") for a in current)
    assert sum(current.values(), D(0)) == 0 and all(v == 0 for v in current.values())
    treasury = sum((v for a, v in group.items() if is_treasury(a)), D(0))
    members = sum((v for m in seen.values() for a, v in m.items() if is_treasury(a)), D(0))
    assert treasury == members == D("55000.00")


def _views(tmp_path: Path, pool: str) -> tuple[object, Policy, object]:
    ledgers, rules_dir = trio(tmp_path, pool)
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    policy, problems = load_policy(rules_dir)
    assert books is not None and policy is not None, problems
    [view] = load_views(open_registry(ledgers))
    return books, policy, view


def _codes(books: object, policy: Policy, candidate: object) -> set[str]:
    return {b.code for b in commitment_guard(books, policy, [], candidate, dt.date(2026, 11, 30))}  # type: ignore[arg-type]


@pytest.mark.parametrize(("pool", "refused"), [(PIVOT_POOL, False), (LOANS_POOL, True)],
                         ids=["convention-de-tresorerie", "prets"])
def test_a_six_year_advance_is_allowed_in_pivot_mode_and_refused_in_loans_mode(tmp_path: Path, pool: str,
                                                                               refused: bool) -> None:
    books, policy, view = _views(tmp_path, pool)
    six_years = replace(view, principal=D("5000.00"), repay_on=dt.date(2032, 12, 1))  # type: ignore[type-var]
    found = _codes(books, policy, six_years)
    assert (rules.LEGAL_MAX_DAYS_CODE in found) is refused
    assert rules.MAX_DAYS not in found  # 2 191 days ≤ limits.max_days = 2 500 in the pivot mode
    assert legal_max_days(policy) == (1826 if refused else None)


@pytest.mark.parametrize(("pool", "capped"), [(PIVOT_POOL, False), (LOANS_POOL, True)],
                         ids=["convention-de-tresorerie", "prets"])
def test_the_fifty_percent_cap_is_not_applied_in_pivot_mode(tmp_path: Path, pool: str, capped: bool) -> None:
    books, policy, view = _views(tmp_path, pool)
    # preteur booked 50 000 € on 2026-01-01: its legal room is 25 000 €; 30 000 € stay above its floor.
    big = replace(view, principal=D("30000.00"))  # type: ignore[type-var]
    found = _codes(books, policy, big)
    assert (rules.NET_CASH_CAP in found) is capped
    assert applies(policy, rules.NET_CASH_CAP) is capped
    assert rules.MAX_RATE not in found  # the TMOP still applies, and 0 % is under it


def test_capacity_has_no_legal_cap_in_pivot_mode(tmp_path: Path) -> None:
    ledgers, rules_dir = trio(tmp_path)
    result = run(["capacity", "--json"], ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    members = {m["id"]: m for m in json.loads(result.stdout)["members"]}
    assert members["preteur"]["net_cash_cap"] is None
    assert members["preteur"]["lendable"]["90"] == "49000.00"  # 50 000 − floor 1 000, no 25 000 € cap


@pytest.mark.parametrize(("text", "key", "words"), [
    ('mode = "convention-de-tresorerie"\n', "pivot", "exige pivot"),
    ('mode = "pivot"\n', "mode", "valeur « pivot » inconnue"),
    ('pivot = "ge-alpes"\n', "pivot", "ne sert qu'en mode"),
    ('mode = "convention-de-tresorerie"\npivot = "GE Alpes"\n', "pivot", "mauvais format"),
    ("[limits]\nmax_days = 2000\n", "limits.max_days", "au plus 1826 jours"),
    ('mode = "convention-de-tresorerie"\npivot = "ge"\n[limits]\nmax_days = 4000\n', "limits.max_days",
     "au plus 3653 jours"),
])
def test_the_mode_keys_are_checked_by_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    (tmp_path / "pool.toml").write_text(text, encoding="utf-8")
    policy, problems = load_policy(tmp_path)
    assert policy is None
    assert [p.subject for p in problems] == [key]
    assert words in problems[0].message


def test_a_pivot_that_is_not_a_member_stops_every_advance_command(tmp_path: Path) -> None:
    ledgers, rules_dir = trio(tmp_path, PIVOT_POOL.replace('pivot = "ge-alpes"', 'pivot = "inconnu"'))
    before = {p: p.read_text(encoding="utf-8") for p in ledgers.rglob("*.beancount")}
    result = run([*propose_args(), "--json"], ledgers, rules_dir)
    assert result.exit_code == 1
    assert "pivot : « inconnu » n'est pas un membre du groupe" in result.output
    assert {p: p.read_text(encoding="utf-8") for p in ledgers.rglob("*.beancount")} == before
    reconciled = run(["reconcile"], ledgers, rules_dir)
    assert reconciled.exit_code == 1 and "inconnu" in reconciled.output
    assert PIVOT_UNKNOWN == "policy-pivot-unknown"


@pytest.mark.slow
def test_the_life_of_an_advance_through_the_pivot_on_the_demo_group(demo_copy: tuple[Path, Path]) -> None:
    from tests.conftest import DEMO_AS_OF
    from tests.test_advance_e2e import account_total, bean_check, books_of, bq, treasury

    ledgers, rules_dir = demo_copy
    pool = rules_dir / "pool.toml"
    pool.write_text('mode = "convention-de-tresorerie"\npivot = "ge-alpes-sud"\n' + pool.read_text(encoding="utf-8"),
                    encoding="utf-8")
    proposed = json.loads(bq(["advance", "propose", "--json"], ledgers, rules_dir, DEMO_AS_OF).stdout)
    first = next(a for a in proposed["advances"] if "ge-alpes-sud" not in (a["lender"], a["borrower"]))
    advance, lender, borrower, amount = first["id"], first["lender"], first["borrower"], D(first["principal"])
    members = (lender, "ge-alpes-sud", borrower)
    start = {m: treasury(list(books_of(ledgers, rules_dir).ledgers[m].entries)) for m in members}
    day, back = first["disburse_on"], "2027-02-10"
    bq(["advance", "approve", advance, "--by", "Conseil d'administration", "--decision", "CA-2026-11-28-03"],
       ledgers, rules_dir, DEMO_AS_OF)
    bq(["advance", "disburse", advance, "--on", day], ledgers, rules_dir, day)
    for member in members:
        bean_check(ledgers, rules_dir, (member, member))
    books = books_of(ledgers, rules_dir)
    assert account_total(list(books.ledgers[lender].entries), RECEIVABLE) == amount
    assert account_total(list(books.ledgers["ge-alpes-sud"].entries), RECEIVABLE) == amount
    assert account_total(list(books.ledgers["ge-alpes-sud"].entries), PAYABLE) == -amount
    assert account_total(list(books.ledgers[borrower].entries), PAYABLE) == -amount
    assert bq(["reconcile"], ledgers, rules_dir, day).exit_code == 0
    bq(["advance", "confirm", advance], ledgers, rules_dir, day)
    bq(["advance", "repay", advance, "--amount", str(amount), "--on", back], ledgers, rules_dir, back)
    bq(["advance", "confirm", advance], ledgers, rules_dir, back)
    assert bq(["reconcile"], ledgers, rules_dir, back).exit_code == 0
    shown = json.loads(bq(["advance", "show", advance, "--json"], ledgers, rules_dir, back).stdout)
    assert shown["advance"]["status"] == "repaid"
    books = books_of(ledgers, rules_dir)
    for member in members:
        entries = list(books.ledgers[member].entries)
        text = (ledgers / member / "banquasso.beancount").read_text(encoding="utf-8")
        assert text.count(f'advance: "{advance}"') == 2 and " ! " not in text, member
        assert account_total(entries, RECEIVABLE) == account_total(entries, PAYABLE) == 0, member
        own = treasury([e for e in entries if e.date > dt.date.fromisoformat(DEMO_AS_OF) and "advance" not in e.meta])
        assert treasury(entries) - own == start[member], member  # money came back to where it was


def test_cancelling_a_movement_removes_it_from_the_three_ledgers(tmp_path: Path) -> None:
    ledgers, rules_dir = trio(tmp_path)
    _lifecycle(ledgers, rules_dir)  # the repayment of 2026-12-10 is still `!`
    event = f"{ID}/repay/2026-12-10-4000.00"
    files = {m: ledgers / m / "banquasso.beancount" for m in ("preteur", "ge-alpes", "emprunteur")}
    assert all(f'event: "{event}"' in f.read_text(encoding="utf-8") for f in files.values())
    result = run(["advance", "cancel", ID, "--event", event, "--by", "Marie", "--reason", "saisie en double"],
                 ledgers, rules_dir, "2026-12-10")
    assert result.exit_code == 0, result.output
    for member, path in files.items():
        text = path.read_text(encoding="utf-8")
        assert f'event: "{event}"' not in text and f'event: "{ID}/disburse"' in text, member
    reconciled = json.loads(run(["reconcile", "--json"], ledgers, rules_dir, "2026-12-10").stdout)
    assert reconciled["ok"] is True
    assert reconciled["advances"][0]["registry_outstanding"] == "10000.00"
