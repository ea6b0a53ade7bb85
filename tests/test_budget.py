"""Budgets: the `custom "budget"` directive, budget vs réalisé by account and by action, `banquasso budget`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from banquasso.commands.main import main
from comptasso.model.budgets import BudgetLine, BudgetStatus, budget_report, extract_budgets, monthly_budget
from comptasso.model.grants import Source
from comptasso.model.previsions import extract_previsions
from comptasso.problems import Problem
from tests.conftest import write_group
from tests.forecast_helpers import OPEN, opening

LEDGER = OPEN + opening("50000.00") + """
2025-01-01 open Expenses:606-Achats:Papier EUR
2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 12000.00 EUR
2026-01-01 custom "budget" "706" 2026-01-01 2026-12-31 6000.00 EUR "stage-ete"
2026-01-01 custom "budget" Expenses:606-Achats 2026-01-01 2026-06-30 1200.00 EUR
2026-07-01 custom "budget" "645" 2026-01-01 2026-12-31 999.00 EUR
2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -1000.00 EUR "mensuel" 28

2025-12-31 * "Banque" "Salaires de décembre 2025 : hors période"
  Expenses:641-Salaires  999.00 EUR
  Assets:512-Banque
2026-01-15 * "Banque" "Salaires"
  Expenses:641-Salaires  1000.00 EUR
  Assets:512-Banque
2026-02-15 * "URSSAF" "Charges"
  Expenses:645-Charges-Sociales  500.00 EUR
  Assets:512-Banque
2026-07-10 * "Banque" "Salaires de juillet : après le jour de lecture"
  Expenses:641-Salaires  800.00 EUR
  Assets:512-Banque
2026-03-01 * "Mairie" "Stage, acompte"
  action: "stage-ete"
  Assets:512-Banque  2000.00 EUR
  Income:706-Prestations
2026-04-01 * "Familles" "Stage, inscriptions" #stage-ete
  Assets:512-Banque  1500.00 EUR
  Income:706-Prestations
2026-05-01 * "Client" "Prestation hors action"
  Assets:512-Banque  700.00 EUR
  Income:706-Prestations
2026-05-10 * "Familles" "Stage, remboursement d'une inscription"
  action: "stage-ete"
  Income:706-Prestations  200.00 EUR
  Assets:512-Banque
2026-02-01 * "Papeterie" "Ramettes"
  Expenses:606-Achats  300.00 EUR
  Assets:512-Banque
2026-03-01 * "Papeterie" "Papier couleur"
  Expenses:606-Achats:Papier  100.00 EUR
  Assets:512-Banque
"""
AS_OF = dt.date(2026, 6, 30)


def _entries(text: str) -> list[data.Directive]:
    entries, errors, _ = loader.load_string(text)
    assert not errors, errors
    return entries


def _report(text: str = LEDGER, as_of: dt.date = AS_OF) -> tuple[list[BudgetStatus], list[Problem]]:
    entries = _entries(text)
    previsions, _ = extract_previsions(e for e in entries if e.date <= as_of)
    return budget_report(entries, previsions, as_of)


def test_budget_vs_actual_by_prefix_account_and_action() -> None:
    statuses, problems = _report()
    assert problems == []
    by_prefix = {s.line.prefix: s for s in statuses}
    # the 645 line is dated after the as-of day: not yet known
    assert set(by_prefix) == {"64", "706", "Expenses:606-Achats"}
    payroll = by_prefix["64"]
    assert payroll.actual == Decimal("1500.00")            # 1000 + 500; 2025 and July left out
    assert payroll.remaining == Decimal("10500.00")
    assert payroll.budget_to_date == Decimal("5950.68")    # 12000 × 181 / 365
    assert payroll.expected == Decimal("6000.00")          # six salaries on the 28th, July to December
    assert payroll.landing == Decimal("7500.00")
    stage = by_prefix["706"]
    assert stage.line.action == "stage-ete"
    assert stage.actual == Decimal("3300.00")              # 2000 (metadata) + 1500 (tag) − 200; 700 is no action
    assert stage.expected == 0
    purchases = by_prefix["Expenses:606-Achats"]
    assert purchases.actual == Decimal("400.00")           # the sub-account counts
    assert purchases.remaining == Decimal("800.00")


def test_month_by_month() -> None:
    statuses, _ = _report()
    payroll = next(s for s in statuses if s.line.prefix == "64")
    months = {m.strftime("%Y-%m"): (budget, spent) for m, budget, spent in payroll.months}
    assert len(months) == 12
    assert months["2026-01"] == (Decimal("1019.18"), Decimal("1000.00"))
    assert months["2026-02"][1] == Decimal("500.00")
    assert months["2026-07"][1] == 0
    assert sum(b for b, _ in months.values()) == Decimal("12000.00")


def test_actual_before_and_after_the_period() -> None:
    statuses, _ = _report(as_of=dt.date(2026, 12, 31))
    payroll = next(s for s in statuses if s.line.prefix == "64")
    assert payroll.actual == Decimal("2300.00")
    assert payroll.expected == 0
    assert {s.line.prefix for s in statuses} >= {"645"}


BAD = {
    "negative": ('2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 -5.00 EUR', "budget-amount-negative"),
    "period": ('2026-01-01 custom "budget" "64" 2026-12-31 2026-01-01 5.00 EUR', "budget-period-invalid"),
    "class 4": ('2026-01-01 custom "budget" "411" 2026-01-01 2026-12-31 5.00 EUR', "budget-prefix-invalid"),
    "no prefix": ('2026-01-01 custom "budget" "abc" 2026-01-01 2026-12-31 5.00 EUR', "budget-prefix-invalid"),
    "arguments": ('2026-01-01 custom "budget" "64" 2026-01-01 5.00 EUR', "budget-malformed"),
    "no amount": ('2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 "x"', "budget-malformed"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_budget_lines_are_problems_with_a_code(kind: str) -> None:
    line, code = BAD[kind]
    lines, problems = extract_budgets(_entries(OPEN + line + "\n"))
    assert lines == []
    assert [p.code for p in problems] == [code]
    assert problems[0].line > 0 and "budget" in problems[0].message


@given(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), st.integers(0, 800),
       st.decimals(Decimal(0), Decimal(1000000), places=2))
def test_months_sum_to_the_budget(start: dt.date, days: int, amount: Decimal) -> None:
    line = BudgetLine("64", start, start + dt.timedelta(days=days), amount, "EUR", None, start, Source("", 0))
    months = monthly_budget(line)
    assert sum(b for _, b in months) == amount
    assert all(b >= 0 for _, b in months)


# ------------------------------------------------------------------------------------------------- the CLI

@pytest.fixture
def group(tmp_path: Path) -> list[str]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": LEDGER, "ressourcerie": OPEN + opening("100.00")})
    return ["--ledgers", str(ledgers), "--rules", str(rules)]


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def test_budget_json_has_the_spec_keys(group: list[str]) -> None:
    result = run(["budget", *group, "--as-of", "2026-06-30", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2026-06-30"
    members = {m["id"]: m for m in doc["members"]}
    assert members["ressourcerie"]["lines"] == []
    line = next(x for x in members["velo-gap"]["lines"] if x["prefix"] == "706")
    assert {k: line[k] for k in ("prefix", "action", "start", "end", "budget", "actual", "remaining")} == {
        "prefix": "706", "action": "stage-ete", "start": "2026-01-01", "end": "2026-12-31",
        "budget": "6000.00", "actual": "3300.00", "remaining": "2700.00"}


def test_budget_member_and_csv(group: list[str]) -> None:
    result = run(["budget", *group, "--as-of", "2026-06-30", "--member", "velo-gap", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3 and {r["member"] for r in rows} == {"velo-gap"}
    payroll = next(r for r in rows if r["prefix"] == "64")
    assert (payroll["actual"], payroll["landing"]) == ("1500.00", "7500.00")


def test_budget_text_is_french(group: list[str]) -> None:
    result = run(["budget", *group, "--as-of", "2026-06-30", "--monthly"])
    assert result.exit_code == 0, result.output
    assert "Budget et réalisé au 30/06/2026" in result.stdout
    assert "12 000,00 €" in result.stdout and "1 500,00 €" in result.stdout
    assert "01/2026" in result.stdout and "Aucune ligne de budget." in result.stdout


def test_unknown_member_is_a_usage_error(group: list[str]) -> None:
    result = run(["budget", *group, "--as-of", "2026-06-30", "--member", "inconnu"])
    assert result.exit_code == 2
    assert "membre inconnu « inconnu »" in result.output


def test_json_and_csv_together_is_a_usage_error(group: list[str]) -> None:
    assert run(["budget", *group, "--json", "--csv"]).exit_code == 2


def test_a_bad_budget_line_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"velo-gap": OPEN + BAD["negative"][0] + "\n"})
    before = (ledgers / "velo-gap" / "main.beancount").read_bytes()
    result = run(["budget", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2026-06-30"])
    assert result.exit_code == 1
    assert "main.beancount:" in result.output and "doit être positif" in result.output
    assert (ledgers / "velo-gap" / "main.beancount").read_bytes() == before
