"""Forecast accuracy: stored snapshots against the treasury the books later recorded."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from beancount.core.amount import Amount
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from banquasso.commands.main import main
from banquasso.registry.db import open_registry
from banquasso.scheduler.jobs import JobContext, daily_job
from banquasso.watch.accuracy import accuracy
from banquasso.watch.monitoring import Snapshot
from tests.conftest import write_group

# Opening 10 000 €; salaries forecast at −1 000 € on the 15th, actually paid −1 200 € on 15/01.
SALARIES = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-01 open Expenses:641-Salaires
2026-01-02 * "Apport"
  Assets:512-Banque               10000.00 EUR
  Equity:102-Fonds-Associatifs   -10000.00 EUR
2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -1000.00 EUR "mensuel" 15
2026-01-15 * "Salaires de janvier"
  Expenses:641-Salaires            1200.00 EUR
  Assets:512-Banque               -1200.00 EUR
"""


def _group(tmp_path: Path) -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"alpha": SALARIES})
    registry = open_registry(ledgers)
    try:
        outcome = daily_job(JobContext(ledgers, rules, tmp_path / "reports", registry, log=lambda _: None),
                            dt.date(2026, 1, 10))
        assert outcome.status == "ok", outcome.message
    finally:
        registry.close()
    return ledgers, rules


def test_accuracy_by_hand(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = CliRunner().invoke(main, ["accuracy", "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--as-of", "2026-01-20", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # Days 11..20/01 compared: forecast 10 000 (11–14) then 9 000 (15–20); actual 10 000 then 8 800.
    # Errors 0 ×4 and +200 ×6: MAE 1 200/10 = 120; days 1–7 ahead (11–17): 600/7 = 85.71; 8–10 ahead: 200.
    [alpha] = doc["members"]
    assert alpha == {"id": "alpha", "snapshots": 1, "days_compared": 10, "mean_absolute_error": "120.00",
                     "bias": "120.00", "by_lead": {"1-7": "85.71", "8-30": "200.00", "31-91": None}}
    assert doc["group"]["mean_absolute_error"] == "120.00"
    text = CliRunner().invoke(main, ["accuracy", "--ledgers", str(ledgers), "--rules", str(rules),
                                     "--as-of", "2026-01-20"])
    assert "120,00 €" in text.output and "85,71 €" in text.output


def test_snapshots_on_or_after_the_day_are_not_compared(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = CliRunner().invoke(main, ["accuracy", "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--as-of", "2026-01-10", "--json"])
    doc = json.loads(result.stdout)
    assert doc["members"][0]["snapshots"] == 0 and doc["members"][0]["mean_absolute_error"] is None


def test_statement_shows_accuracy(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    out = tmp_path / "janvier.pdf"
    result = CliRunner().invoke(main, ["statement", "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--month", "2026-01", "--as-of", "2026-01-20", "-o", str(out)])
    assert result.exit_code == 0, result.output
    cover = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(str(out)).pages[:2])
    assert "Fiabilité des prévisions passées" in cover
    assert "Alpha 1 10 85,71 € 200,00 € — 120,00 €" in cover


def test_unknown_member_and_no_registry(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"alpha": SALARIES})
    base = ["accuracy", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2026-01-20"]
    empty = CliRunner().invoke(main, base)
    assert empty.exit_code == 0 and "Aucune prévision enregistrée" in empty.output
    assert not (tmp_path / "var" / "banquasso.db").exists()
    bad = CliRunner().invoke(main, [*base, "--member", "gamma"])
    assert bad.exit_code == 2 and "membre inconnu « gamma »" in bad.output


def _entries(moves: list[int], start: dt.date) -> list[data.Directive]:
    out: list[data.Directive] = []
    for k, cents in enumerate(moves):
        if cents == 0:
            continue
        amount = Decimal(cents).scaleb(-2)
        out.append(data.Transaction(
            data.new_metadata("x", k), start + dt.timedelta(days=k), "*", None, "m", frozenset(), frozenset(),
            [data.Posting("Assets:512-Banque", Amount(amount, "EUR"), None, None, None, None),
             data.Posting("Equity:102-Fonds", Amount(-amount, "EUR"), None, None, None, None)]))
    return out


@settings(max_examples=40, deadline=None)
@given(moves=st.lists(st.integers(-500_000, 500_000), min_size=3, max_size=30),
       noise=st.lists(st.integers(-100_000, 100_000), min_size=30, max_size=30))
def test_invariants(moves: list[int], noise: list[int]) -> None:
    """A perfect forecast has no error; the mean absolute error is never below the absolute bias."""
    start = dt.date(2026, 1, 1)
    entries = _entries(moves, start)
    taken = start
    balance, actual = Decimal(moves[0]).scaleb(-2), []
    for k in range(1, len(moves)):
        balance += Decimal(moves[k]).scaleb(-2)
        actual.append((start + dt.timedelta(days=k), balance))
    as_of = actual[-1][0]
    perfect = Snapshot(taken, "m", Decimal(0), min(b for _, b in actual), tuple(actual))
    report = accuracy([perfect], {"m": entries}, as_of, ["m"])
    assert report.members[0].mean_absolute_error == 0 and report.members[0].bias == 0
    assert report.members[0].days_compared == len(actual)
    noisy = Snapshot(taken, "m", Decimal(0), Decimal(0),
                     tuple((d, b + Decimal(n).scaleb(-2)) for (d, b), n in zip(actual, noise, strict=False)))
    item = accuracy([noisy], {"m": entries}, as_of, ["m"]).members[0]
    assert item.mean_absolute_error is not None and item.bias is not None
    assert item.mean_absolute_error >= abs(item.bias)
    expected_bias = sum((Decimal(n).scaleb(-2) for n in noise[:len(actual)]), Decimal(0)) / len(actual)
    assert abs(item.bias - expected_bias) <= Decimal("0.005")
