"""Advances at risk in the morning job, and the delinquency buckets, on an inline group with one running advance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from banquasso.forecast.daily import read_group
from banquasso.registry.db import DB_URL_ENV, Registry, open_registry
from banquasso.registry.service import load_views
from banquasso.scheduler.jobs import JobContext, daily_job
from banquasso.statement.data import delinquency_section
from banquasso.watch.at_risk import AFTER_REPAYMENT, AT_RISK, BEYOND_P90, delinquency, security_checks
from banquasso.watch.monitoring import advances_on, load_alerts
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import write_group
from tests.registry_helpers import add_bullet_advance

D = Decimal

ALPHA = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-01 open Assets:2748-Avances-BanquAsso:Beta
2026-01-02 * "Apport"
  Assets:512-Banque                      20000.00 EUR
  Equity:102-Fonds-Associatifs          -20000.00 EUR
2026-03-10 * "Avance BQA-2026-0001 à beta"
  Assets:2748-Avances-BanquAsso:Beta      3000.00 EUR
  Assets:512-Banque                      -3000.00 EUR
"""

BETA = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-01 open Liabilities:1687-Avances-BanquAsso:Alpha
2026-01-01 open Assets:441-Subventions-A-Recevoir
2026-01-01 open Income:741-Subventions
2026-01-02 * "Apport"
  Assets:512-Banque                       1000.00 EUR
  Equity:102-Fonds-Associatifs           -1000.00 EUR
2026-01-05 * "Financeur" "Convention SEC-1"
  convention: "SEC-1"
  funder: "{funder}"
  Assets:441-Subventions-A-Recevoir       5000.00 EUR
  Income:741-Subventions                 -5000.00 EUR
2026-01-05 custom "subvention-echeance" "SEC-1" 2026-03-31 5000.00 EUR
2026-01-06 * "CAF" "Convention OLD-1"
  convention: "OLD-1"
  funder: "caf-05"
  Assets:441-Subventions-A-Recevoir        100.00 EUR
  Income:741-Subventions                  -100.00 EUR
2026-01-06 custom "subvention-echeance" "OLD-1" 2026-02-01 100.00 EUR
2026-02-11 * "CAF" "Versement OLD-1"
  convention: "OLD-1"
  Assets:512-Banque                        100.00 EUR
  Assets:441-Subventions-A-Recevoir       -100.00 EUR
2026-03-10 * "Avance BQA-2026-0001 reçue d'alpha"
  Assets:512-Banque                       3000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Alpha -3000.00 EUR
"""


@pytest.fixture(autouse=True)
def _sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


def _group(tmp_path: Path, funder: str) -> tuple[Path, Path, GroupBooks]:
    ledgers, rules = write_group(tmp_path, {"alpha": ALPHA, "beta": BETA.replace("{funder}", funder)})
    add_bullet_advance(ledgers, "SEC-1", dt.date(2026, 3, 31))
    books, problems = open_books(ledgers, rules, cache_dir=False, jobs=1)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return ledgers, rules, books


@pytest.fixture
def region(tmp_path: Path) -> Iterator[tuple[Path, Path, GroupBooks, Registry]]:
    ledgers, rules, books = _group(tmp_path, "region-sud")
    registry = open_registry(ledgers)
    yield ledgers, rules, books, registry
    registry.close()


def _checks(books: GroupBooks, registry: Registry, day: dt.date):  # type: ignore[no-untyped-def]
    outlook, problems = read_group(books, day, 91)
    assert outlook is not None, problems
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    return security_checks(outlook, advances_on(load_views(registry), entries, day))


def test_a_tranche_now_expected_after_the_repayment(region: tuple[Path, Path, GroupBooks, Registry]) -> None:
    _, _, books, registry = region
    # Région: no history, 90 days by default → the 31/03 tranche is expected on 29/06, after the 15/05 repayment.
    [check] = _checks(books, registry, dt.date(2026, 4, 20))
    assert (check.reason, check.expected, check.amount, check.funder) == (
        AFTER_REPAYMENT, dt.date(2026, 6, 29), D("3000.00"), "region-sud")


def test_a_funder_late_beyond_its_p90(tmp_path: Path) -> None:
    _, _, books = _group(tmp_path, "caf-05")
    registry = open_registry(books.group.ledgers_dir)
    try:
        # CAF paid OLD-1 10 days late: median = p90 = 10. On 10/04 the 31/03 tranche is 10 days late: not yet.
        assert _checks(books, registry, dt.date(2026, 4, 10)) == ()
        # On 11/04 it is 11 days late, beyond the p90, though still expected (12/04) before the 15/05 repayment.
        [check] = _checks(books, registry, dt.date(2026, 4, 11))
        assert (check.reason, check.expected, check.p90_days) == (BEYOND_P90, dt.date(2026, 4, 12), 10)
    finally:
        registry.close()


def test_the_morning_job_raises_the_alert(region: tuple[Path, Path, GroupBooks, Registry]) -> None:
    ledgers, rules, _, registry = region
    day = dt.date(2026, 4, 20)
    log: list[str] = []
    outcome = daily_job(JobContext(ledgers, rules, ledgers.parent / "reports", registry, log=log.append), day)
    assert outcome.status == "ok", outcome.message
    [alert] = [a for a in load_alerts(registry, day) if a.kind == AT_RISK]
    assert (alert.member, alert.reference, alert.due_on, alert.amount) == (
        "beta", "BQA-2026-0001", dt.date(2026, 5, 15), D("3000.00"))
    assert "attendue le 29/06/2026" in alert.message and "3 000,00 € en jeu" in alert.message
    assert any("à risque" in line for line in log)


def test_delinquency_buckets(region: tuple[Path, Path, GroupBooks, Registry]) -> None:
    _, _, books, registry = region
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    views = load_views(registry)

    def buckets(day: str) -> list[tuple[str, int, Decimal]]:
        return [(b.label, b.count, b.outstanding)
                for b in delinquency(advances_on(views, entries, dt.date.fromisoformat(day)))]

    none = [("1-30", 0, D("0.00")), ("31-90", 0, D("0.00")), ("90+", 0, D("0.00"))]
    assert buckets("2026-05-15") == none  # due that day: not late yet
    assert buckets("2026-05-16") == [("1-30", 1, D("3000.00")), *none[1:]]
    assert buckets("2026-06-14") == [("1-30", 1, D("3000.00")), *none[1:]]  # 30 days
    assert buckets("2026-06-15") == [none[0], ("31-90", 1, D("3000.00")), none[2]]  # 31 days
    assert buckets("2026-08-13") == [none[0], ("31-90", 1, D("3000.00")), none[2]]  # 90 days
    assert buckets("2026-08-14") == [*none[:2], ("90+", 1, D("3000.00"))]  # 91 days


def test_the_statement_section(region: tuple[Path, Path, GroupBooks, Registry]) -> None:
    _, _, books, registry = region
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    section = delinquency_section(advances_on(load_views(registry), entries, dt.date(2026, 6, 30)))
    assert [(b.label, b.count) for b in section] == [("1-30", 0), ("31-90", 1), ("90+", 0)]


def test_the_board_pdf_shows_the_buckets(region: tuple[Path, Path, GroupBooks, Registry]) -> None:
    from tests.test_statement import pages_text, statement

    ledgers, rules, _, _ = region
    out = ledgers.parent / "out" / "2026-06.pdf"
    result = statement(ledgers, rules, out, "2026-06", "2026-07-15")
    assert result.exit_code == 0, result.output
    cover = " ".join(pages_text(out))
    # As of 30/06/2026 the 15/05 bullet is 46 days late: 3 000 € in the 31–90 days bucket.
    assert "Ancienneté des retards de remboursement" in cover
    assert "31 à 90 jours 1 3 000,00 €" in cover and "1 à 30 jours 0 0,00 €" in cover
