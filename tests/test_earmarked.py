"""Earmarked cash is not lendable (issue 13 item 7, issue 16 item 4): hand-computed inline ledgers.

Open fonds dédiés (the credit balance of the 19x accounts) and treasury held in a local currency stay
in the forecast but come off what a member can lend: capacity, the planner and the guard alike.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.pool.guard import commitment_guard
from banquasso.registry.db import open_registry
from banquasso.registry.service import load_views
from banquasso.terms import rules
from banquasso.terms.net_cash import earmarked_cash
from banquasso.terms.policy import load_policy
from comptasso.books.facade import open_books
from tests.conftest import write_group
from tests.test_registry import GRANT, OPENS, cash, propose_args, run

D = Decimal
AS_OF = "2026-11-30"
# Floor 0 and max_lender_share 1: what a lender can lend is exactly its surplus less its earmarked cash.
POOL = """
[floor]
fixed = 0
months_of_payroll = 0
[limits]
max_lender_share = 1
min_advance = 1000
[terms]
grace_days = 10
"""

# 30 000 € of à-nouveaux on 2026-01-01 (legal room 15 000 €), 20 000 € spent in June, and 4 000 € of
# fonds dédiés booked on 2026-06-30: 10 000 € on 512 and 4 000 € on 194 at the end of November.
LENDER = """
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Equity:110-Report-A-Nouveau EUR
2026-01-01 open Expenses:606-Achats EUR
2026-01-01 open Expenses:6894-Reports-Fonds-Dedies EUR
2026-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR
2026-01-01 * "À-nouveaux"
  Assets:512-Banque  30000.00 EUR
  Equity:110-Report-A-Nouveau
2026-06-01 * "Achats"
  Expenses:606-Achats  20000.00 EUR
  Assets:512-Banque
2026-06-30 * "Fonds dédiés de la subvention Culture"
  Expenses:6894-Reports-Fonds-Dedies  4000.00 EUR
  Liabilities:194-Fonds-Dedies-Subventions  -4000.00 EUR
"""

NO_FUNDS = LENDER.split('2026-06-30 * "Fonds', maxsplit=1)[0]

# 40 000 € of à-nouveaux (legal room 20 000 €), 30 000 € spent, and 3 000 LEM of local currency on a 53x
# account: the forecast shows 13 000, but only the 10 000 € are lendable.
LOCAL = """
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Assets:531-Caisse-Monnaie-Locale LEM
2026-01-01 open Equity:110-Report-A-Nouveau
2026-01-01 open Expenses:606-Achats EUR
2026-01-01 open Income:756-Cotisations LEM
2026-01-01 commodity LEM
2026-01-01 * "À-nouveaux"
  Assets:512-Banque  40000.00 EUR
  Equity:110-Report-A-Nouveau  -40000.00 EUR
2026-03-01 * "Cotisations en monnaie locale"
  Assets:531-Caisse-Monnaie-Locale  3000.00 LEM
  Income:756-Cotisations  -3000.00 LEM
2026-06-01 * "Achats"
  Expenses:606-Achats  30000.00 EUR
  Assets:512-Banque
"""

# 2 000 € and 9 000 € of salaries on 2026-12-10: a need of 7 000 € under a floor of 0, secured by the
# 24 000 € grant due 2026-12-31 (0,8 × 24 000 = 19 200 € of security).
BORROWER = OPENS + cash("2000.00") + GRANT + """
2026-01-01 open Expenses:641-Salaires EUR
2026-11-01 custom "prevision" Expenses:641-Salaires "Salaires" -9000.00 EUR "unique" 2026-12-10
"""


def _json(args: list[str], ledgers: Path, rules_dir: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules_dir),
                                       "--as-of", AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def _capacity(ledgers: Path, rules_dir: Path) -> dict[str, dict[str, Any]]:
    members = _json(["capacity"], ledgers, rules_dir)["members"]
    assert isinstance(members, list)
    return {m["id"]: m for m in members}


def test_earmarked_cash_by_hand() -> None:
    entries, errors, _ = loader.load_string(LENDER + """
2026-01-01 open Assets:531-Caisse-Monnaie-Locale LEM
2026-01-01 open Income:756-Cotisations LEM
2026-03-01 * "Cotisations en monnaie locale"
  Assets:531-Caisse-Monnaie-Locale  3000.00 LEM
  Income:756-Cotisations  -3000.00 LEM
""")
    assert not errors, errors
    kept = earmarked_cash(entries, dt.date(2026, 11, 30), "EUR")
    assert (kept.fonds_dedies, kept.other_currency, kept.total) == (D("4000.00"), D("3000.00"), D("7000.00"))
    # As of a day before the fonds dédiés and the local currency were booked, nothing is earmarked.
    assert earmarked_cash(entries, dt.date(2026, 2, 1), "EUR").total == 0
    # A 19x account in debit (fonds dédiés used beyond what was booked) earmarks nothing.
    used, errors, _ = loader.load_string(LENDER + """
2026-07-01 * "Utilisation au-delà"
  Liabilities:194-Fonds-Dedies-Subventions  5000.00 EUR
  Equity:110-Report-A-Nouveau
""")
    assert not errors, errors
    assert earmarked_cash(used, dt.date(2026, 11, 30), "EUR").fonds_dedies == 0


def test_a_lender_with_4000_of_fonds_dedies_lends_what_6000_allows(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"preteur": LENDER}, pool=POOL)
    [member] = _capacity(ledgers, rules_dir).values()
    assert member["earmarked"] == "4000.00"
    assert member["net_cash_cap"] == "15000.00"  # 50 % × 30 000 €: the 194 was booked after the opening
    assert member["lendable"] == {"30": "6000.00", "60": "6000.00", "90": "6000.00", "180": "6000.00"}
    ledgers2, rules2 = write_group(tmp_path / "sans", {"preteur": NO_FUNDS}, pool=POOL)
    [free] = _capacity(ledgers2, rules2).values()
    assert free["earmarked"] == "0.00" and free["lendable"] == dict.fromkeys(("30", "60", "90", "180"), "10000.00")


def test_a_local_currency_53x_account_is_shown_in_the_forecast_but_not_lent(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"preteur": LOCAL}, pool=POOL)
    [member] = _capacity(ledgers, rules_dir).values()
    assert member["earmarked"] == "3000.00"
    assert member["lendable"] == dict.fromkeys(("30", "60", "90", "180"), "10000.00")
    forecast = _json(["forecast"], ledgers, rules_dir)
    members = forecast["members"]
    assert isinstance(members, list)
    assert members[0]["opening_balance"] == "13000.00"


def test_the_planner_lends_no_earmarked_cash(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"preteur": LENDER, "emprunteur": BORROWER}, pool=POOL)
    plan = _json(["plan"], ledgers, rules_dir)
    assert [(a["lender"], a["amount"]) for a in plan["advances"]] == [("preteur", "6000.00")]
    assert plan["total_need"] == "7000.00" and plan["total_unmet"] == "1000.00"
    free, rules2 = write_group(tmp_path / "sans", {"preteur": NO_FUNDS, "emprunteur": BORROWER}, pool=POOL)
    assert _json(["plan"], free, rules2)["total_unmet"] == "0.00"


def test_the_guard_refuses_an_advance_that_would_lend_earmarked_cash(tmp_path: Path) -> None:
    ledgers, rules_dir = write_group(tmp_path, {"preteur": LENDER, "emprunteur": BORROWER}, pool=POOL)
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    policy, _ = load_policy(rules_dir)
    assert books is not None and policy is not None
    [view] = load_views(open_registry(ledgers))

    def found(amount: str) -> dict[str, str]:
        candidate = replace(view, principal=D(amount))
        return {b.code: b.message for b in commitment_guard(books, policy, [], candidate, dt.date(2026, 11, 30))}

    assert found("6000.00") == {}
    too_much = found("6000.01")
    assert set(too_much) == {rules.MAX_LENDER_SHARE}
    assert "trésorerie affectée de 4 000,00 €" in too_much[rules.MAX_LENDER_SHARE]
