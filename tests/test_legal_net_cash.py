"""The legal 50 % cap on its base, the trésorerie nette disponible at the opening of each member's own year.

Issue 13 items 1, 2 and 7 (legal base): figures computed by hand on inline ledgers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from beancount import loader
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.pool.guard import commitment_guard
from banquasso.registry.db import open_registry
from banquasso.registry.service import load_views
from banquasso.terms import rules
from banquasso.terms.net_cash import financial_year, opening_figures
from banquasso.terms.policy import default_policy
from comptasso.books.facade import open_books
from comptasso.books.group import Member
from tests.conftest import write_group
from tests.test_registry import make_group, propose_args, run

D = Decimal
AS_OF = "2026-11-30"
POOL = "[floor]\nfixed = 5000\n[limits]\nmin_advance = 1000\n[terms]\ngrace_days = 10\n"

FIGURES = """
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Assets:512-Banque-Coop EUR
2026-01-01 open Assets:530-Caisse EUR
2026-01-01 open Assets:512-Monnaie-Locale LEM
2026-01-01 open Equity:110-Report-A-Nouveau
2026-01-01 open Liabilities:1687-Avances-BanquAsso:Autre EUR
2026-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR
2026-01-01 commodity LEM
2026-01-01 * "À-nouveaux"
  Assets:512-Banque  50000.00 EUR
  Assets:512-Banque-Coop  -1000.00 EUR
  Assets:530-Caisse  500.00 EUR
  Liabilities:194-Fonds-Dedies-Subventions  -6000.00 EUR
  Equity:110-Report-A-Nouveau  -43500.00 EUR
2026-01-01 * "Monnaie locale"
  Assets:512-Monnaie-Locale  2000.00 LEM
  Equity:110-Report-A-Nouveau  -2000.00 LEM
2026-01-01 * "Avance reçue d'un autre membre"
  Assets:512-Banque  4000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Autre  -4000.00 EUR
2026-01-02 * "Après l'ouverture : ne compte pas"
  Assets:512-Banque  9999.00 EUR
  Equity:110-Report-A-Nouveau  -9999.00 EUR
"""


def test_net_cash_by_hand_counts_day_one_and_deducts_debts_and_earmarked_cash() -> None:
    entries, errors, _ = loader.load_string(FIGURES)
    assert not errors, errors
    figures = opening_figures(entries, dt.date(2026, 1, 1), "EUR", "Liabilities:1687-Avances-BanquAsso")
    # 50 000 + 4 000 − 1 000 (overdraft) + 500 (cash): the 2 000 LEM and the 2 January entry are left out.
    assert figures.treasury == D("53500.00") and figures.other_currency == D("2000.00")
    assert (figures.advances_owed, figures.earmarked) == (D("4000.00"), D("6000.00"))
    assert figures.value == D("43500.00")
    # On the eve of the year nothing is booked yet: a first-year member's base would be 0.
    assert opening_figures(entries, dt.date(2025, 12, 31), "EUR", "Liabilities:1687-Avances-BanquAsso").value == 0


def test_financial_year_of_each_member() -> None:
    september = Member("s", "S", None, Path("s/main.beancount"), "Assets:512-Banque", (9, 1))
    january = Member("j", "J", None, Path("j/main.beancount"), "Assets:512-Banque")
    assert financial_year(september, dt.date(2026, 8, 31)).start == dt.date(2025, 9, 1)
    assert financial_year(september, dt.date(2026, 9, 1)).start == dt.date(2026, 9, 1)
    assert financial_year(september, dt.date(2026, 9, 1)).end == dt.date(2027, 8, 31)
    assert financial_year(january, dt.date(2026, 11, 30)).start == dt.date(2026, 1, 1)


def _capacity(ledgers: Path, rules_dir: Path) -> dict[str, str | None]:
    result = CliRunner().invoke(main, ["capacity", "--ledgers", str(ledgers), "--rules", str(rules_dir),
                                       "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    return {m["id"]: m["net_cash_cap"] for m in json.loads(result.stdout)["members"]}


def _exercice(ledgers: Path, member: str, first: str) -> None:
    group = ledgers / "group.toml"
    text = group.read_text(encoding="utf-8")
    group.write_text(text.replace(f'id = "{member}"\n', f'id = "{member}"\nexercice_debut = "{first}"\n'),
                     encoding="utf-8")


GROWING = """
2025-12-15 open Assets:512-Banque EUR
2025-12-15 open Equity:102-Fonds-Associatif EUR
2025-12-15 * "Apport"
  Assets:512-Banque  5000.00 EUR
  Equity:102-Fonds-Associatif
2026-06-01 * "Don"
  Assets:512-Banque  45000.00 EUR
  Equity:102-Fonds-Associatif
"""

FIRST_YEAR = """
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Equity:110-Report-A-Nouveau EUR
2026-01-01 * "À-nouveaux"
  Assets:512-Banque  50000.00 EUR
  Equity:110-Report-A-Nouveau
"""


def test_a_first_year_member_lends_and_a_september_year_sits_next_to_a_january_one(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"janvier": GROWING, "septembre": GROWING, "nouveau": FIRST_YEAR},
                                     pool=POOL)
    _exercice(ledgers, "septembre", "09-01")
    caps = _capacity(ledgers, rules_dir)
    # janvier opened 2026 with 5 000 €; septembre opened 2026-09-01 with 50 000 €; nouveau booked its
    # 50 000 € of à-nouveaux on its first day, 2026-01-01.
    assert caps == {"janvier": "2500.00", "septembre": "25000.00", "nouveau": "25000.00"}


EARMARKED = FIRST_YEAR + """
2026-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR
2026-01-01 * "Fonds dédiés reportés"
  Equity:110-Report-A-Nouveau  10000.00 EUR
  Liabilities:194-Fonds-Dedies-Subventions  -10000.00 EUR
"""


def test_earmarked_cash_is_not_part_of_the_legal_base(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"prete": EARMARKED}, pool=POOL)
    assert _capacity(ledgers, rules_dir) == {"prete": "20000.00"}  # (50 000 − 10 000) × 0.5


def test_the_fifty_percent_test_applies_to_each_financial_year(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)  # preteur: 50 000 € booked on 2026-01-01, a January year
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    [view] = load_views(open_registry(ledgers))
    as_of = dt.date(2026, 11, 30)
    first = replace(view, id="A", principal=D("20000.00"), state="approved")
    same_year = replace(view, id="B", principal=D("5000.01"), disburse_on=dt.date(2026, 12, 15), state="approved")
    next_year = replace(view, id="C", principal=D("5000.01"), disburse_on=dt.date(2027, 1, 5), state="approved")

    def codes(candidate: object) -> set[str]:
        return {b.code for b in commitment_guard(books, default_policy(), [first], candidate, as_of)}  # type: ignore[arg-type]

    # 2026: 20 000 + 5 000,01 > 50 % × 50 000. 2027: its base is the forecast of 2026-12-31, 30 000 €
    # once the 20 000 € are paid out, so 5 000,01 € fits under its 15 000 €.
    assert rules.NET_CASH_CAP in codes(same_year)
    assert rules.NET_CASH_CAP not in codes(next_year)
    exact = replace(same_year, principal=D("5000.00"))
    assert rules.NET_CASH_CAP not in codes(exact)


LOCKED = """
2025-12-15 open Assets:512-Banque EUR
2025-12-15 open Liabilities:1687-Avances-BanquAsso:Autre EUR
2025-12-15 * "Avance reçue"
  Assets:512-Banque  50000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Autre  -50000.00 EUR
"""


def test_the_unmet_reason_is_the_legal_cap_exactly_when_lifting_it_covers_more(tmp_path: Path) -> None:
    from tests.test_plan import BORROWER

    # The lender has 45 000 € over its floor but owes all its cash (an advance it received): its legal base is 0, so
    # lifting the legal cap alone would cover the need, and the plan says so (not "no-lender").
    ledgers, rules_dir = write_group(tmp_path, {"prete": LOCKED, "emprunte": BORROWER}, pool=POOL)
    result = CliRunner().invoke(main, ["plan", "--ledgers", str(ledgers), "--rules", str(rules_dir),
                                       "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["advances"] == []
    assert [(u["amount"], u["reason_code"]) for u in plan["unmet"]] == [("3000.00", "legal-cap")]


def test_a_lender_without_surplus_is_no_lender_even_under_a_legal_cap(tmp_path: Path) -> None:
    from tests.test_plan import BORROWER

    poor = GROWING.replace("45000.00 EUR", "0.00 EUR")  # 5 000 €: at its floor, its legal room 2 500 €
    ledgers, rules_dir = write_group(tmp_path, {"prete": poor, "emprunte": BORROWER}, pool=POOL)
    result = CliRunner().invoke(main, ["plan", "--ledgers", str(ledgers), "--rules", str(rules_dir),
                                       "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    assert [u["reason_code"] for u in json.loads(result.stdout)["unmet"]] == ["no-lender"]
