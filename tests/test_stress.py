"""`banquasso stress`: the standard set on an inline group, each advance put at risk by hand, and the demo."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.forecast.daily import read_group
from banquasso.forecast.scenarios import Cancel, DelayShift, Scale, Scenario
from banquasso.pool.stress import standard_scenarios, stress
from banquasso.registry.db import DB_URL_ENV
from banquasso.terms.policy import load_policy
from banquasso.terms.rules import security_at_risk
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS, DEMO_RULES, write_group
from tests.test_plan import LENDER, POOL
from tests.test_scenarios import AS_OF, BORROWER

D = Decimal


@pytest.fixture(autouse=True)
def _no_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


def _books(tmp_path: Path) -> tuple[Path, Path, GroupBooks]:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)
    books, problems = open_books(ledgers, rules, cache_dir=False, jobs=1)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return ledgers, rules, books


def test_the_rule() -> None:
    repay = dt.date(2027, 3, 11)
    assert not security_at_risk(repay, repay)
    assert security_at_risk(repay + dt.timedelta(days=1), repay)
    assert security_at_risk(None, repay)


def test_the_standard_set_is_built_from_the_books(tmp_path: Path) -> None:
    _, _, books = _books(tmp_path)
    outlook, _ = read_group(books, AS_OF, 91)
    assert outlook is not None
    scenarios = standard_scenarios(outlook)
    assert [s.name for s in scenarios] == ["retard-region-90", "retard-caf-90", "annulation-plus-grosse-tranche",
                                           "masse-salariale-10"]
    assert scenarios[0].delays == (DelayShift(90, kind="region"),)
    assert scenarios[2].cancels == (Cancel("REG-1", dt.date(2026, 12, 1)),)  # 10 000 € > 2 000 € > 1 000 €
    assert scenarios[3].scales == (Scale("Salaires", D("1.1"), "emprunte"),)  # 641 only, not the 606 line


def test_an_advance_is_at_risk_exactly_when_its_tranche_passes_the_repayment(tmp_path: Path) -> None:
    _, rules, books = _books(tmp_path)
    policy, _ = load_policy(rules)
    assert policy is not None
    # The plan of the day: 3 333,33 € secured by REG-1 (expected 01/03/2027), repaid 10 days later, 11/03/2027.
    shifts = [Scenario(f"r{n}", delays=(DelayShift(n, kind="region"),)) for n in (10, 11, 90)]
    result = stress(books, policy, AS_OF, scenarios=[*shifts, Scenario("c", cancels=(Cancel("REG-1"),))])
    assert [(s.origin, s.borrower, s.amount, s.repay_on, s.convention) for s in result.secured] == [
        ("plan", "emprunte", D("3333.33"), dt.date(2027, 3, 11), "REG-1")]
    assert result.baseline.at_risk == ()
    ten, eleven, ninety, cancelled = result.results
    assert ten.at_risk == ()
    assert [(a.expected, a.days_late, a.funder) for a in eleven.at_risk] == [(dt.date(2027, 3, 12), 1, "region-sud")]
    assert [(a.expected, a.days_late) for a in ninety.at_risk] == [(dt.date(2027, 5, 30), 80)]
    assert [(a.expected, a.funder, a.secured.amount) for a in cancelled.at_risk] == [(None, "region-sud", D("3333.33"))]
    # Cancelled, only the CAF tranches secure the need: 80 % of the 2 000 € one is 1 600 € (the 1 000 € one is
    # repaid on 09/01/2027, before the need ends), so 3 333,33 − 1 600 = 1 733,33 € stay unmet.
    assert cancelled.group.unmet == D("1733.33") and result.baseline.group.unmet == D("0.00")
    emprunte = next(m for m in ninety.members if m.id == "emprunte")
    assert (emprunte.min_balance, emprunte.min_date) == (D("1666.67"), dt.date(2026, 12, 12))


def test_stress_cli_table_and_json(tmp_path: Path) -> None:
    ledgers, rules, _ = _books(tmp_path)
    where = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat()]
    result = CliRunner().invoke(main, ["stress", *where, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [s["scenario"]["name"] for s in doc["scenarios"]][:1] == ["retard-region-90"]
    risky = doc["scenarios"][0]["advances_at_risk"]
    assert [(a["origin"], a["amount"], a["expected_on"], a["days_late"]) for a in risky] == [
        ("plan", "3333.33", "2027-05-30", 80)]
    assert doc["scenarios"][0]["group"]["unmet"] == "0.00"
    text = CliRunner().invoke(main, ["stress", *where])
    assert text.exit_code == 0
    assert "Scénario « retard-region-90 » — Région : 90 jours de retard" in text.stdout
    assert "3 333,33 €" in text.stdout and "30/05/2027 (+80 j)" in text.stdout and "tranche annulée" in text.stdout


@pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated")
def test_a_region_delay_puts_a_demo_advance_at_risk() -> None:
    result = CliRunner().invoke(main, ["stress", "--ledgers", str(DEMO_LEDGERS), "--rules", str(DEMO_RULES),
                                       "--as-of", DEMO_AS_OF, "--scenario", "region-3-mois", "--json"])
    assert result.exit_code == 0, result.output
    (region,) = json.loads(result.stdout)["scenarios"]
    risky = {(a["borrower"], a["secured_by"]["convention"]) for a in region["advances_at_risk"]}
    assert ("velo-gap", "REG-2026-0114") in risky and ("grange-ecrins", "REG-2026-0043") in risky
    assert all(a["secured_by"]["funder"] == "region-sud" for a in region["advances_at_risk"])


def test_a_running_advance_of_the_registry_is_checked_too(tmp_path: Path) -> None:
    from tests.test_at_risk import _group as at_risk_group

    _, rules, books = at_risk_group(tmp_path, "caf-05")
    policy, _ = load_policy(rules)
    assert policy is not None
    day = dt.date(2026, 4, 1)
    # BQA-2026-0001: 3 000 € to beta, repaid 15/05, secured by SEC-1's 31/03 tranche (CAF, 10 days → 10/04).
    result = stress(books, policy, day, scenarios=[Scenario("caf", delays=(DelayShift(90, kind="caf"),))])
    assert [(s.origin, s.advance, s.amount) for s in result.secured] == [("registre", "BQA-2026-0001", D("3000.00"))]
    assert result.baseline.at_risk == ()
    [risky] = result.results[0].at_risk
    assert (risky.expected, risky.days_late, risky.secured.amount) == (dt.date(2026, 7, 9), 55, D("3000.00"))
