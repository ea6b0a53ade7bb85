"""The Monte Carlo over grant delays: exact when delays never vary, reproducible, and sensible."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from banquasso.forecast.daily import forecast_outlook, read_group
from banquasso.forecast.risk import figures, simulate
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import GroupBooks
from tests.forecast_helpers import books_of, d, grant, opening, receipt

A = d("2026-06-30")
POLICY = FloorPolicy(fixed=Decimal("3000"), months_of_payroll=Decimal("0"))


def steady_books(tmp_path: Path) -> GroupBooks:
    """Région always pays 15 days late; the CAF has no history (default 20 days)."""
    history = opening("2000.00")
    for k, month in enumerate(("01", "02", "03")):
        history += grant(f"H{k}", "region-sud", "2026-01-01", [(f"2026-{month}-10", "100.00")])
        history += receipt(f"H{k}", f"2026-{month}-25", "100.00")
    history += grant("OPEN1", "region-sud", "2026-06-01", [("2026-07-01", "5000.00")])
    history += grant("OPEN2", "caf-05", "2026-06-01", [("2026-07-20", "700.00")])
    other = opening("500.00") + grant("OPEN3", "region-sud", "2026-06-01", [("2026-06-10", "300.00")])
    return books_of(tmp_path, {"asso-a": history, "asso-b": other})


def test_constant_delays_give_the_deterministic_forecast(tmp_path: Path) -> None:
    outlook, problems = read_group(steady_books(tmp_path), A, 60, POLICY)
    assert outlook is not None, problems
    forecast = forecast_outlook(outlook)
    risk = simulate(outlook, scenarios=300, seed=1)
    for member in forecast.members:
        figures_ = risk.members[member.member_id]
        assert figures_.band == tuple((day, b, b) for day, b in member.days)
        assert figures_.p5_min_balance == member.min_balance
        assert figures_.probability_below_floor == (1 if member.days_below_floor else 0)
    assert risk.group.band == tuple((day, b, b) for day, b in forecast.days)
    # asso-a: 2000 + 300 (matched receipts) until 2026-07-16 (07-01 + 15), below the 3000 floor.
    assert forecast.member("asso-a").min_balance == Decimal("2300.00")
    assert risk.members["asso-a"].probability_below_floor == 1


def varied_books(tmp_path: Path) -> GroupBooks:
    """Région paid 5, 20 and 60 days late; an open tranche due 2026-07-10 of 4000."""
    ledger = opening("3500.00")
    for k, (due, paid) in enumerate((("2026-01-10", "2026-01-15"), ("2026-02-10", "2026-03-02"),
                                     ("2026-03-10", "2026-05-09"))):
        ledger += grant(f"H{k}", "region-sud", "2026-01-01", [(due, "100.00")])
        ledger += receipt(f"H{k}", paid, "100.00")
    ledger += grant("OPEN", "region-sud", "2026-06-01", [("2026-07-10", "4000.00")])
    ledger += '\n2026-06-01 custom "prevision" Expenses:641-Salaires "Salaires" -1000.00 EUR "unique" 2026-07-20\n'
    return books_of(tmp_path, {"asso-a": ledger})


def test_same_seed_same_result_and_seed_matters(tmp_path: Path) -> None:
    outlook, _ = read_group(varied_books(tmp_path), A, 91, POLICY)
    assert outlook is not None
    first, again = simulate(outlook, 2000, seed=7), simulate(outlook, 2000, seed=7)
    assert first == again
    other = simulate(outlook, 2000, seed=8)
    assert other.members["asso-a"].probability_below_floor != first.members["asso-a"].probability_below_floor


def test_bootstrap_probability_matches_the_delay_distribution(tmp_path: Path) -> None:
    outlook, _ = read_group(varied_books(tmp_path), A, 91, POLICY)
    assert outlook is not None
    risk = simulate(outlook, 4000, seed=3).members["asso-a"]
    # Opening 3800; salaries 1000 on 07-20 take it to 2800 < 3000 unless the 4000 arrives by 07-20:
    # delays 5 (07-15) → never below; 20 (07-30) and 60 (09-08) → below from 07-20. So P = 2/3.
    assert abs(risk.probability_below_floor - Decimal(2) / 3) < Decimal("0.03")
    assert risk.p5_min_balance == Decimal("2800.00")
    day = {b[0]: b for b in risk.band}[d("2026-07-25")]
    assert (day[1], day[2]) == (Decimal("2800.00"), Decimal("6800.00"))


def test_figures_on_a_hand_made_matrix() -> None:
    days = [d("2026-07-01"), d("2026-07-02")]
    one_in_20 = np.array([[100, 50]] * 19 + [[100, -900]], dtype=np.int64)  # cents
    result = figures(one_in_20, 0, days)
    assert result.probability_below_floor == Decimal("0.05")
    # Inverted CDF: the smallest value with at least 5 % of the scenarios at or below it (1 of 20).
    assert str(result.p5_min_balance) == "-9.00"
    assert result.band == ((d("2026-07-01"), Decimal("1.00"), Decimal("1.00")),
                           (d("2026-07-02"), Decimal("-9.00"), Decimal("0.50")))
    one_in_40 = np.array([[100, 50]] * 39 + [[100, -900]], dtype=np.int64)
    result = figures(one_in_40, 0, days)
    assert result.probability_below_floor == Decimal("0.025")
    assert result.p5_min_balance == Decimal("0.50")  # 1 of 40 is under 5 %: the 2nd lowest counts


def test_no_scenarios_is_refused(tmp_path: Path) -> None:
    outlook, _ = read_group(varied_books(tmp_path), A, 5, POLICY)
    assert outlook is not None
    with pytest.raises(ValueError, match="scénario"):
        simulate(outlook, 0)
