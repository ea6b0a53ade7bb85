"""The delay model's past error per funder kind and horizon, and how it widens the Monte Carlo band."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.forecast.backtest import DelayAccuracy, delay_accuracy, delay_misses, horizon_of, widening
from banquasso.forecast.daily import read_group
from banquasso.forecast.risk import simulate
from tests.forecast_helpers import books_of, grant, opening, receipt

D = Decimal

PAID = (opening("20000.00")
        + grant("CAF-A", "caf-05", "2026-01-10", [("2026-01-31", "100.00"), ("2026-02-28", "100.00"),
                                                  ("2026-03-31", "100.00")])
        + receipt("CAF-A", "2026-02-20", "100.00") + receipt("CAF-A", "2026-03-30", "100.00")
        + receipt("CAF-A", "2026-04-10", "100.00"))
WAITING = opening("20000.00") + grant("FX-1", "fondation-x", "2026-04-01", [("2026-06-01", "1000.00")])


def test_each_paid_tranche_against_the_forecast_made_on_its_date(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso": PAID})
    outlook, _ = read_group(books, dt.date(2026, 5, 1), 10)
    assert outlook is not None
    misses = delay_misses({m.member_id: m.statuses for m in outlook.members}, books.reference.funders,
                          dt.date(2026, 5, 1))
    # 31/01: no history, default 20 days → 20/02, paid 20/02 (0). 28/02: median of (20) → 20/03, paid
    # 30/03 (+10). 31/03: median of (20, 30) = 25 → 25/04, paid 10/04 (−15).
    assert [(m.expected, m.lead, m.error_days) for m in misses] == [
        (dt.date(2026, 2, 20), 20, 0), (dt.date(2026, 3, 20), 20, 10), (dt.date(2026, 4, 25), 25, -15)]
    # Mean |error| = 25 / 3 = 8,3 days, bias = −5 / 3 = −1,7 days; three tranches: the band widens ± 8 days.
    assert delay_accuracy(misses) == (DelayAccuracy("caf", "1-30", 3, D("8.3"), D("-1.7")),)
    assert widening(delay_accuracy(misses)) == {("caf", "1-30"): 8}
    assert widening(delay_accuracy(misses[:2])) == {}  # fewer than 3 compared: no widening
    # Nothing after the day counts: as of 15/03 only the first two tranches were paid.
    early = delay_misses({m.member_id: m.statuses for m in outlook.members}, books.reference.funders,
                         dt.date(2026, 3, 15))
    assert [m.convention for m in early] == ["CAF-A"] and early[0].paid_on == dt.date(2026, 2, 20)


def test_horizons() -> None:
    assert [horizon_of(n) for n in (1, 30, 31, 90, 91, 400)] == ["1-30", "1-30", "31-90", "31-90", "91+", "91+"]


def test_the_widening_spreads_exactly_the_days_around_the_forecast(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso": WAITING})
    outlook, _ = read_group(books, dt.date(2026, 5, 1), 120)
    assert outlook is not None
    # Fondation X has no history: every draw is its 45-day default, 01/06 + 45 = 16/07 (76 days ahead).
    plain = simulate(outlook, 400, 3).members["asso"].band
    assert all(lo == hi for _, lo, hi in plain)
    wide = simulate(outlook, 400, 3, widen={("fondation", "31-90"): 5}).members["asso"].band
    spread = [day for day, lo, hi in wide if lo != hi]
    # ± 5 days: the tranche lands between 11/07 and 21/07; the band opens on 11/07 and closes on 21/07.
    assert spread[0] == dt.date(2026, 7, 11) and spread[-1] == dt.date(2026, 7, 20)
    assert {day: (lo, hi) for day, lo, hi in wide if day not in spread} == {
        day: (lo, hi) for day, lo, hi in plain if day not in spread}
    assert simulate(outlook, 400, 3, widen={("caf", "31-90"): 5}).members["asso"].band == plain


def test_forecast_risk_shows_the_accuracy(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso": PAID})
    where = ["--ledgers", str(books.group.ledgers_dir), "--rules", str(tmp_path / "rules"), "--as-of", "2026-05-01",
             "--horizon", "10", "--risk", "--draws", "20"]
    result = CliRunner().invoke(main, ["forecast", *where, "--json"])
    assert result.exit_code == 0, result.output
    risk = json.loads(result.stdout)["risk"]
    assert risk["widened"] is True
    assert risk["delay_accuracy"] == [{"kind": "caf", "horizon": "1-30", "compared": 3,
                                       "mean_absolute_error_days": "8.3", "bias_days": "-1.7", "widening_days": 8}]
    assert json.loads(CliRunner().invoke(main, ["forecast", *where, "--json", "--no-widen"]).stdout)[
        "risk"]["widened"] is False
    text = CliRunner().invoke(main, ["forecast", *where]).stdout
    assert "Justesse passée du modèle de délais" in text and "± 8 j" in text and "8,3" in text
