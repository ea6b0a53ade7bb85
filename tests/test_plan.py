"""`banquasso capacity` and `banquasso plan` on small inline groups and on the demo group."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.pool.plan import plan_group, read_forecast
from banquasso.pool.program import AllocationInput
from banquasso.terms.policy import Policy, load_policy
from banquasso.terms.rules import fiscal_year_start
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS, write_group

D = Decimal
AS_OF = "2026-11-30"

LENDER = """
2025-12-15 open Assets:512-Banque EUR
2025-12-15 open Equity:102-Fonds-Associatif EUR
2025-12-15 * "Apport"
  Assets:512-Banque  50000.00 EUR
  Equity:102-Fonds-Associatif
"""

BORROWER = """
2025-12-15 open Assets:512-Banque EUR
2025-12-15 open Assets:441-Subventions-A-Recevoir:Region EUR
2025-12-15 open Income:741-Subventions-Exploitation EUR
2025-12-15 open Equity:102-Fonds-Associatif EUR
2025-12-15 open Expenses:641-Salaires EUR
2025-12-15 * "Apport"
  Assets:512-Banque  6000.00 EUR
  Equity:102-Fonds-Associatif
2026-02-10 * "Région" "Convention emploi"
  convention: "REG-1"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region  10000.00 EUR
  Income:741-Subventions-Exploitation  -10000.00 EUR
2026-02-10 custom "subvention-echeance" "REG-1" 2026-12-01 10000.00 EUR
2026-11-01 custom "prevision" Expenses:641-Salaires "Salaires" -4000.00 EUR "unique" 2026-12-10
"""

UNSECURED = """
2025-12-15 open Assets:512-Banque EUR
2025-12-15 open Equity:102-Fonds-Associatif EUR
2025-12-15 open Expenses:641-Salaires EUR
2025-12-15 * "Apport"
  Assets:512-Banque  6000.00 EUR
  Equity:102-Fonds-Associatif
2026-11-01 custom "prevision" Expenses:641-Salaires "Salaires" -2500.00 EUR "unique" 2026-12-05
"""

POOL = """
[floor]
fixed = 5000
[limits]
min_advance = 1000
[terms]
grace_days = 10
"""


def run_cli(*args: str) -> tuple[int, str, str]:
    """`banquasso ARGS`: exit code, stdout and stderr."""
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_plan_covers_a_secured_need_by_hand(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER, "sans-grant": UNSECURED}, pool=POOL)
    code, out, err = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF, "--json")
    assert code == 0, err
    plan = json.loads(out)
    # emprunte: 6 000 € − 4 000 € salaries on 10/12 → 2 000 €, 3 000 € under its 5 000 € floor until the
    # Région tranche (due 01/12, default delay 90 days) lands on 01/03/2027; repaid 10 days later.
    assert plan["advances"] == [{
        "lender": "prete", "borrower": "emprunte", "amount": "3000.00",
        "disburse_on": "2026-12-10", "repay_on": "2027-03-11", "days": 91, "method": "on-receipt",
        "secured_by": {"convention": "REG-1", "tranche_date": "2026-12-01", "funder": "region-sud",
                       "expected_on": "2027-03-01", "open_amount": "10000.00", "haircut": "0.8"},
    }]
    # sans-grant: 2 500 € out on 05/12 → 3 500 €, 1 500 € under the floor, nothing to secure it.
    assert [(u["member"], u["from"], u["to"], u["amount"], u["reason_code"]) for u in plan["unmet"]] == [
        ("sans-grant", "2026-12-05", "2027-03-01", "1500.00", "no-grant")]
    assert "aucune subvention" in plan["unmet"][0]["reason"]
    assert (plan["total_need"], plan["total_covered"], plan["total_unmet"]) == ("4500.00", "3000.00", "1500.00")
    assert (plan["status"], plan["unmet_bound"], plan["gap"], plan["pruned"]) == ("optimal", "1500.00", "0.00", False)


def test_plan_french_table(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER, "sans-grant": UNSECURED}, pool=POOL)
    code, out, _ = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF)
    assert code == 0
    assert "prete" in out and "3 000,00 €" in out and "10/12/2026" in out and "11/03/2027" in out
    assert "REG-1, 01/12/2026" in out
    assert "Besoins non couverts" in out and "1 500,00 €" in out
    assert "non couvert : 1 500,00 €" in out


def test_security_cap_reason(tmp_path: Path) -> None:
    pool = POOL + "[haircut]\nregion = 0.2\n"  # 20 % of 10 000 € = 2 000 € of security for a 3 000 € need
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=pool)
    code, out, err = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF, "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert [a["amount"] for a in plan["advances"]] == ["2000.00"]
    assert [(u["amount"], u["reason_code"]) for u in plan["unmet"]] == [("1000.00", "security")]


def test_max_days_reason(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER},
                                 pool=POOL.replace("[limits]", "[limits]\nmax_days = 60"))
    code, out, _ = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF, "--json")
    plan = json.loads(out)
    assert code == 0 and plan["advances"] == []
    assert [u["reason_code"] for u in plan["unmet"]] == ["too-long"]


def test_legal_cap_reason(tmp_path: Path) -> None:
    # The lender had 5 000 € at the opening of its year: the law lets it lend 2 500 € at most in 2026.
    lender = LENDER.replace("50000.00 EUR", "5000.00 EUR") + """
2026-06-01 * "Don"
  Assets:512-Banque  45000.00 EUR
  Equity:102-Fonds-Associatif
"""
    ledgers, rules = write_group(tmp_path, {"prete": lender, "emprunte": BORROWER}, pool=POOL)
    code, out, err = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF, "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert [a["amount"] for a in plan["advances"]] == ["2500.00"]
    assert [(u["amount"], u["reason_code"]) for u in plan["unmet"]] == [("500.00", "legal-cap")]


def _allocations(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each `allocate` the plan runs, as its `unmet_only` flag (True: the lifted legal-cap question)."""
    from banquasso.pool import allocation

    calls: list[bool] = []
    real = allocation.allocate

    def counted(problem: AllocationInput, *args: Any, **kwargs: Any) -> allocation.Allocation:
        calls.append(bool(kwargs.get("unmet_only")))
        return real(problem, *args, **kwargs)

    monkeypatch.setattr(allocation, "allocate", counted)
    return calls


def test_legal_cap_question_searches_the_lifted_program_when_its_floor_is_lower(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lender = LENDER.replace("50000.00 EUR", "5000.00 EUR") + """
2026-06-01 * "Don"
  Assets:512-Banque  45000.00 EUR
  Equity:102-Fonds-Associatif
"""
    books, policy = _open(*write_group(tmp_path, {"prete": lender, "emprunte": BORROWER}, pool=POOL))
    calls = _allocations(monkeypatch)
    plan = plan_group(books, policy, dt.date(2026, 11, 30))
    assert [(u.amount, u.reason) for u in plan.unmet] == [(D("500.00"), "legal-cap")]
    assert calls == [False, True]  # lifted, the relaxation leaves less unmet: phase 1 of the lifted program ran


def test_legal_cap_question_ends_on_the_lifted_floor_when_lifting_cannot_cover_more(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The lender's surplus (80 % of its 2 000 € over its floor) binds, not the law (3 500 € of 7 000 € at opening).
    lender = LENDER.replace("50000.00 EUR", "7000.00 EUR")
    books, policy = _open(*write_group(tmp_path, {"prete": lender, "emprunte": BORROWER}, pool=POOL))
    calls = _allocations(monkeypatch)
    plan = plan_group(books, policy, dt.date(2026, 11, 30))
    assert [a.amount for a in plan.advances] == [D("1600.00")]
    assert [(u.amount, u.reason) for u in plan.unmet] == [(D("1400.00"), "no-lender")]
    assert calls == [False]  # the lifted relaxation's floor is the plan's unmet need: no lifted search


def test_legal_cap_question_has_nothing_to_lift_without_financial_years(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from banquasso.pool import allocation
    from banquasso.pool.plan import LegalQuestion, plan_inputs, without_legal_cap

    books, policy = _open(*write_group(tmp_path, {"prete": LENDER.replace("50000.00 EUR", "7000.00 EUR"),
                                                  "emprunte": BORROWER}, pool=POOL))
    problem = without_legal_cap(plan_inputs(books, policy, dt.date(2026, 11, 30)).problem)
    solved = allocation.allocate(problem)
    assert solved.total_unmet > 0

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("no program to solve: nothing bounds a lender's financial year")

    monkeypatch.setattr(allocation, "least_unmet_floor", never)
    monkeypatch.setattr(allocation, "allocate", never)
    question = LegalQuestion(problem, solved)
    assert question.lifted is None
    assert not any(question.binds(n) for n in range(len(problem.needs)))


def test_least_unmet_floor_is_phase_one_bound(tmp_path: Path) -> None:
    from banquasso.pool.allocation import allocate, least_unmet_floor
    from banquasso.pool.plan import plan_inputs, without_legal_cap

    lender = LENDER.replace("50000.00 EUR", "5000.00 EUR") + """
2026-06-01 * "Don"
  Assets:512-Banque  45000.00 EUR
  Equity:102-Fonds-Associatif
"""
    books, policy = _open(*write_group(tmp_path, {"prete": lender, "emprunte": BORROWER}, pool=POOL))
    problem = plan_inputs(books, policy, dt.date(2026, 11, 30)).problem
    assert least_unmet_floor(problem) == pytest.approx(float(allocate(problem).total_unmet * 100), abs=1.0)
    assert least_unmet_floor(problem) == pytest.approx(50_000.0, abs=1.0)  # 500 € the law leaves unmet
    assert least_unmet_floor(without_legal_cap(problem)) == pytest.approx(0.0, abs=1.0)


def _open(ledgers: Path, rules: Path) -> tuple[GroupBooks, Policy]:
    books, problems = open_books(ledgers, rules)
    assert books is not None, problems
    policy, problems = load_policy(rules)
    assert policy is not None, problems
    return books, policy


def test_capacity_by_hand(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)
    code, out, err = run_cli("capacity", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF, "--json")
    assert code == 0, err
    capacity = json.loads(out)
    prete = next(m for m in capacity["members"] if m["id"] == "prete")
    # surplus 45 000 € × max_lender_share 0.8 = 36 000 €, capped by half the 50 000 € opening cash.
    assert prete["floor"] == "5000.00"
    assert prete["lendable"] == {"30": "25000.00", "60": "25000.00", "90": "25000.00", "180": "25000.00"}
    emprunte = next(m for m in capacity["members"] if m["id"] == "emprunte")
    # 1 000 € above its floor until 10/12, then under it: nothing to lend on any window.
    assert emprunte["lendable"] == {"30": "0.00", "60": "0.00", "90": "0.00", "180": "0.00"}
    assert capacity["pool"]["30"] == "25000.00" and capacity["as_of"] == AS_OF


def test_capacity_table_in_french(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER}, pool=POOL)
    code, out, _ = run_cli("capacity", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF)
    assert code == 0 and "25 000,00 €" in out and "180 jours" in out and "Groupement" in out


def test_invalid_policy_exits_1_and_names_the_key(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER}, pool="[limits]\nmax_days = 4000\n")
    for command in ("plan", "capacity"):
        code, out, err = run_cli(command, "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF)
        assert code == 1 and out == ""
        assert f"{rules / 'pool.toml'}:2: limits.max_days" in err


def test_as_of_before_the_books_is_a_usage_error(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER}, pool=POOL)
    code, _, err = run_cli("plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2020-01-01")
    assert code == 2 and "les livres commencent" in err


def test_fiscal_year_start() -> None:
    assert fiscal_year_start(dt.date(2026, 12, 1), 1) == dt.date(2026, 1, 1)
    assert fiscal_year_start(dt.date(2026, 8, 31), 9) == dt.date(2025, 9, 1)
    assert fiscal_year_start(dt.date(2026, 9, 1), 9) == dt.date(2026, 9, 1)


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated yet")
def test_demo_plan_covers_secured_shortfalls_and_keeps_lenders_above_floor(demo_copy: tuple[Path, Path]) -> None:
    ledgers, rules = demo_copy
    books, _ = open_books(ledgers, rules)
    policy, _ = load_policy(rules)
    assert books is not None and policy is not None
    as_of = dt.date.fromisoformat(DEMO_AS_OF)
    plan = plan_group(books, policy, as_of)
    borrowers = {n.member for n in plan.needs}
    assert {"velo-gap", "grange-ecrins", "mjc-embrun"} <= borrowers
    assert plan.advances and plan.total_covered > 0
    assert all(u.reason for u in plan.unmet)
    assert plan.total_covered + plan.total_unmet == plan.total_need
    _, forecast = read_forecast(books, as_of, 91 + policy.limits.max_days, policy)
    for member in forecast.members:
        for day, balance in member.days:
            out = sum((a.amount for a in plan.advances if a.lender == member.member_id
                       and a.disburse_on <= day < a.repay_on), D(0))
            inflow = sum((a.amount for a in plan.advances if a.borrower == member.member_id
                          and a.disburse_on <= day < a.repay_on), D(0))
            if out:
                assert balance - out >= member.floor, (member.member_id, day)
            if member.member_id in borrowers and day <= as_of + dt.timedelta(days=91):
                left = member.floor - balance - inflow
                assert left <= max((u.amount for u in plan.unmet if u.need.member == member.member_id
                                    and u.need.start <= day <= u.need.end), default=D(0))
    assert plan_group(books, policy, as_of) == plan  # same input, same plan
