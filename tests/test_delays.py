"""The payment-delay model: FIFO matched tranches, median half up, p80/p90, history or default."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.forecast.daily import forecast_group
from banquasso.forecast.delays import percentile, round_days
from tests.forecast_helpers import books_of, d, grant, opening, receipt


@pytest.mark.parametrize(("values", "share", "expected"), [
    ([10, 13], "0.5", Decimal("11.5")),
    ([7], "0.9", Decimal(7)),
    ([0, 10, 20, 30, 40], "0.5", Decimal(20)),
    ([40, 0, 30, 10, 20], "0.8", Decimal(32)),    # position 4 × 0.8 = 3.2 → 30 + 0.2 × 10
    ([0, 10, 20, 30, 40], "0.9", Decimal(36)),    # position 3.6 → 30 + 0.6 × 10
    ([1, 2, 3, 4], "0.8", Decimal("3.4")),         # position 2.4
])
def test_percentile_linear_interpolation(values: list[int], share: str, expected: Decimal) -> None:
    assert percentile(values, Decimal(share)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("11.5", 12), ("11.49", 11), ("-2.5", -3), ("-2.4", -2), ("0.5", 1), ("3", 3),
])
def test_round_days_half_up_away_from_zero(value: str, expected: int) -> None:
    assert round_days(Decimal(value)) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-60, 400), min_size=1, max_size=30))
def test_percentiles_agree_with_numpy_and_are_ordered(values: list[int]) -> None:
    import numpy as np

    for share in ("0.5", "0.8", "0.9"):
        exact = percentile(values, Decimal(share))
        assert abs(float(exact) - float(np.percentile(values, float(share) * 100))) < 1e-9
    assert min(values) <= percentile(values, Decimal("0.5")) <= percentile(values, Decimal("0.8")) \
        <= percentile(values, Decimal("0.9")) <= max(values)


def test_funder_model_from_history(tmp_path: Path) -> None:
    ledger = opening("10.00")
    # Delays 0, 10, 20, 30, 40 for the Région; one tranche paid 5 days early, dated after A (not counted).
    for k, delay in enumerate((0, 10, 20, 30, 40)):
        ledger += grant(f"R{k}", "region-sud", "2026-01-01", [("2026-02-01", "100.00")])
        ledger += receipt(f"R{k}", f"2026-03-{1 + delay - 28:02d}" if delay >= 28 else f"2026-02-{1 + delay:02d}",
                          "100.00")
    ledger += grant("EARLY", "region-sud", "2026-01-01", [("2026-07-05", "100.00")])
    ledger += receipt("EARLY", "2026-06-30", "100.00")
    # A partly paid tranche is not matched: it has no delay yet.
    ledger += grant("PART", "region-sud", "2026-01-01", [("2026-03-01", "100.00")])
    ledger += receipt("PART", "2026-03-05", "99.99")
    model = forecast_group(books_of(tmp_path, {"asso-a": ledger}), d("2026-06-30"), 5).delays
    region = model.funders["region-sud"]
    assert [m.delay_days for m in region.matched] == [0, 10, 20, 30, 40]
    assert (region.median_days, region.p80_days, region.p90_days, region.source) == (20, 32, 36, "history")
    assert region.samples == (0, 10, 20, 30, 40)
    assert list(model.funders) == ["region-sud", "caf-05", "fondation-x"]  # the order of funders.toml
    caf = model.funders["caf-05"]
    assert (caf.median_days, caf.p80_days, caf.p90_days, caf.source, caf.samples) == (20, 20, 20, "default", (20,))
    assert model.delay("nobody") == 0 and model.delay(None) == 0
