"""The opt-in year forecast from the budget (`banquasso forecast --budget`), and the default left unchanged."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount import loader
from click.testing import CliRunner

from banquasso.commands.main import main
from banquasso.forecast.budget_flows import budget_flows
from tests.conftest import write_group
from tests.forecast_helpers import OPEN, opening

BASE = OPEN + opening("20000.00") + """
2026-01-15 * "Banque" "Salaires"
  Expenses:641-Salaires  1500.00 EUR
  Assets:512-Banque
2026-01-01 custom "prevision" Expenses:606-Achats "Fournitures" -100.00 EUR "mensuel" 10
"""
BUDGET = """
2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 12000.00 EUR
2026-01-01 custom "budget" "641" 2026-01-01 2026-12-31 9000.00 EUR
2026-01-01 custom "budget" "606" 2026-01-01 2026-12-31 1200.00 EUR
2026-01-01 custom "budget" "706" 2026-01-01 2026-12-31 5000.00 EUR "stage-ete"
2026-01-01 custom "budget" "706" 2026-01-01 2026-09-30 900.00 EUR
"""
AS_OF = dt.date(2026, 6, 30)


def test_the_rule_remainder_split_over_the_months_left() -> None:
    entries, errors, _ = loader.load_string(BASE + BUDGET)
    assert not errors
    flows = budget_flows(entries, AS_OF)
    by_line: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for f in flows:
        assert f.kind == "budget"
        by_line.setdefault(f.reference, []).append((f.date, f.amount))
    # 641 is inside 64; 606 is covered by a prevision; the action line is left out
    assert set(by_line) == {"64", "706"}
    assert by_line["64"] == [(dt.date(2026, m, d), Decimal("-1750.00"))
                             for m, d in ((7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31))]
    assert by_line["706"] == [(dt.date(2026, 7, 31), Decimal("300.00")), (dt.date(2026, 8, 31), Decimal("300.00")),
                              (dt.date(2026, 9, 30), Decimal("300.00"))]
    assert budget_flows(entries, dt.date(2026, 12, 31)) == []


def test_rounding_goes_to_the_last_month() -> None:
    entries, _, _ = loader.load_string(OPEN + '2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 100.00 EUR\n')
    amounts = [f.amount for f in budget_flows(entries, dt.date(2026, 9, 30))]
    assert amounts == [Decimal("-33.33"), Decimal("-33.33"), Decimal("-33.34")]


def _forecast(tmp_path: Path, ledger: str, *extra: str) -> dict[str, Any]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": ledger})
    result = CliRunner().invoke(main, ["forecast", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of",
                                       "2026-06-30", "--horizon", "200", "--json", *extra])
    assert result.exit_code == 0, result.output
    member: dict[str, Any] = json.loads(result.stdout)["members"][0]
    return member


def test_budgets_do_not_change_the_default_forecast_and_the_flag_extends_it(tmp_path: Path) -> None:
    without = _forecast(tmp_path / "a", BASE)
    default = _forecast(tmp_path / "b", BASE + BUDGET)
    extended = _forecast(tmp_path / "c", BASE + BUDGET, "--budget")
    assert default["days"] == without["days"]
    days = {d["date"]: Decimal(d["balance"]) for d in extended["days"]}
    base = {d["date"]: Decimal(d["balance"]) for d in default["days"]}
    assert days["2026-07-30"] == base["2026-07-30"]
    assert days["2026-07-31"] - base["2026-07-31"] == Decimal("-1450.00")   # −1750 + 300
    assert days["2026-12-31"] - base["2026-12-31"] == Decimal("-9600.00")   # −10500 + 900
