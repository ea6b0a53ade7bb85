"""Repayment schedules: hand-computed lines, day counts, pmt agreement and exact principal sums."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy_financial as npf
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.commands.main import main
from banquasso.terms.schedule import (
    ScheduleError,
    add_months,
    annuity_payment,
    build_schedule,
    days_30_360,
    year_fraction,
)

D = Decimal
JAN1 = dt.date(2027, 1, 1)


def test_act_365_bullet_by_hand() -> None:
    # 10 000 € at 3 % for 90 days: 10000 × 0.03 × 90 / 365 = 73.9726… → 73.97
    schedule = build_schedule(D("10000"), rate=D("0.03"), start=JAN1, method="bullet",
                              day_count="ACT/365", end=dt.date(2027, 4, 1))
    (line,) = schedule.lines
    assert (line.n, line.date, line.principal, line.interest, line.payment, line.remaining) == (
        1, dt.date(2027, 4, 1), D("10000.00"), D("73.97"), D("10073.97"), D("0.00"))
    assert schedule.total_interest == D("73.97") and schedule.total_paid == D("10073.97")


def test_30_360_counts_every_month_as_30_days() -> None:
    assert days_30_360(dt.date(2027, 1, 31), dt.date(2027, 2, 28)) == 28
    assert days_30_360(dt.date(2027, 1, 15), dt.date(2027, 7, 15)) == 180
    assert days_30_360(dt.date(2027, 1, 31), dt.date(2027, 7, 31)) == 180
    assert days_30_360(dt.date(2027, 2, 28), dt.date(2028, 2, 28)) == 360
    assert year_fraction(dt.date(2027, 1, 31), dt.date(2027, 7, 31), "30/360") == D("0.5")
    # 10 000 € at 3 % for "180" days: 150.00 exactly, where ACT/365 gives 181 days → 148.77
    start, end = dt.date(2027, 1, 31), dt.date(2027, 7, 31)
    thirty = build_schedule(D("10000"), rate=D("0.03"), start=start, method="bullet", day_count="30/360", end=end)
    actual = build_schedule(D("10000"), rate=D("0.03"), start=start, method="bullet", day_count="ACT/365", end=end)
    assert thirty.lines[0].interest == D("150.00")
    assert actual.lines[0].interest == D("148.77")


def test_on_receipt_repays_on_the_expected_receipt() -> None:
    schedule = build_schedule(D("5000"), rate=D("0"), start=dt.date(2026, 12, 1), method="on-receipt",
                              day_count="ACT/365", repay_on=dt.date(2027, 3, 15))
    assert [(line.date, line.principal, line.interest, line.payment) for line in schedule.lines] == [
        (dt.date(2027, 3, 15), D("5000.00"), D("0.00"), D("5000.00"))]


def test_linear_equal_principal_last_line_absorbs_rounding() -> None:
    schedule = build_schedule(D("1000"), rate=D("0"), start=JAN1, method="linear", day_count="ACT/365", months=3)
    assert [line.principal for line in schedule.lines] == [D("333.33"), D("333.33"), D("333.34")]
    assert [line.remaining for line in schedule.lines] == [D("666.67"), D("333.34"), D("0.00")]
    assert [line.date for line in schedule.lines] == [dt.date(2027, 2, 1), dt.date(2027, 3, 1), dt.date(2027, 4, 1)]


def test_linear_interest_on_what_remains_30_360() -> None:
    # 12 000 € at 6 % over 3 months, 30/360: each month's interest is 0.5 % of what remains.
    schedule = build_schedule(D("12000"), rate=D("0.06"), start=JAN1, method="linear", day_count="30/360", months=3)
    assert [(line.principal, line.interest, line.payment) for line in schedule.lines] == [
        (D("4000.00"), D("60.00"), D("4060.00")),
        (D("4000.00"), D("40.00"), D("4040.00")),
        (D("4000.00"), D("20.00"), D("4020.00")),
    ]


def test_annuity_act_365_first_line_by_hand() -> None:
    schedule = build_schedule(D("10000"), rate=D("0.03"), start=JAN1, method="annuity", day_count="ACT/365", months=12)
    first = schedule.lines[0]
    assert first.interest == D("25.48")  # 10000 × 0.03 × 31/365 = 25.479…
    assert first.payment == D("846.94")  # pmt(0.0025, 12, -10000) = 846.9369…
    assert first.principal == D("821.46")


def test_month_end_dates_are_clipped() -> None:
    assert add_months(dt.date(2027, 1, 31), 1) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2027, 1, 31), 2) == dt.date(2027, 3, 31)
    assert add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"principal": D("-5"), "method": "bullet", "months": 3}, "le capital doit être positif"),
    ({"principal": D("0"), "method": "bullet", "months": 3}, "le capital doit être positif"),
    ({"principal": D("10.001"), "method": "bullet", "months": 3}, "au centime"),
    ({"principal": D("100"), "method": "balloon", "months": 3}, "méthode inconnue"),
    ({"principal": D("100"), "method": "bullet", "day_count": "ACT/360", "months": 3}, "base de calcul inconnue"),
    ({"principal": D("100"), "method": "on-receipt"}, "--repay-on"),
    ({"principal": D("100"), "method": "bullet", "end": JAN1}, "doit suivre le versement"),
    ({"principal": D("100"), "method": "annuity"}, "--months"),
    ({"principal": D("100"), "method": "linear", "months": 61}, "entre 1 et 60 mois"),
    ({"principal": D("100"), "method": "bullet", "end": dt.date(2032, 1, 2)}, "au plus 5 ans"),
    ({"principal": D("100"), "method": "bullet", "months": 3, "rate": D("-0.01")}, "taux annuel"),
])
def test_bad_terms_are_refused(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"rate": D("0.02"), "start": JAN1, "day_count": "ACT/365"} | kwargs
    principal = args.pop("principal")
    with pytest.raises(ScheduleError, match=message):
        build_schedule(principal, **args)


cent_amounts = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=0, max_value=120).map(lambda r: Decimal(r) / 1000)
starts = st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=150, deadline=None)
@given(principal=cent_amounts, rate=rates, start=starts, months=st.integers(1, 60),
       method=st.sampled_from(["bullet", "on-receipt", "linear", "annuity"]),
       day_count=st.sampled_from(["ACT/365", "30/360"]))
def test_lines_sum_exactly_to_the_principal(principal: Decimal, rate: Decimal, start: dt.date, months: int,
                                            method: str, day_count: str) -> None:
    schedule = build_schedule(principal, rate=rate, start=start, method=method, day_count=day_count,
                              months=months, repay_on=add_months(start, months))
    assert sum(line.principal for line in schedule.lines) == principal
    assert schedule.lines[-1].remaining == 0
    assert all(line.principal >= 0 and line.interest >= 0 and line.remaining >= 0 for line in schedule.lines)
    assert all(line.payment == line.principal + line.interest for line in schedule.lines)
    assert all(line.principal == line.principal.quantize(D("0.01")) for line in schedule.lines)
    assert schedule.total_paid == principal + schedule.total_interest
    assert [line.n for line in schedule.lines] == list(range(1, len(schedule.lines) + 1))


@settings(max_examples=150, deadline=None)
@given(principal=st.integers(min_value=100_000, max_value=10_000_000).map(lambda c: Decimal(c) / 100),
       rate=st.integers(min_value=1, max_value=120).map(lambda r: Decimal(r) / 1000),
       months=st.integers(2, 60), start=starts, day_count=st.sampled_from(["ACT/365", "30/360"]))
def test_annuity_payment_agrees_with_numpy_financial(principal: Decimal, rate: Decimal, months: int,
                                                      start: dt.date, day_count: str) -> None:
    expected = Decimal(repr(float(npf.pmt(float(rate) / 12, months, -float(principal))))).quantize(
        D("0.01"), rounding=ROUND_HALF_UP)
    assert annuity_payment(principal, rate, months) == expected
    schedule = build_schedule(principal, rate=rate, start=start, method="annuity", day_count=day_count, months=months)
    assert all(line.payment == annuity_payment(principal, rate, months) for line in schedule.lines[:-1])


def test_annuity_payment_exactly_matches_pmt_on_known_cases() -> None:
    cases = [(D("10000"), D("0.03"), 12), (D("25000"), D("0.045"), 36), (D("1234.56"), D("0.01"), 7)]
    for principal, rate, months in cases:
        expected = Decimal(str(round(float(npf.pmt(float(rate) / 12, months, -float(principal))), 2)))
        assert annuity_payment(principal, rate, months) == expected


def test_30_360_annuity_last_line_is_pmt_within_cents() -> None:
    schedule = build_schedule(D("10000"), rate=D("0.03"), start=JAN1, method="annuity", day_count="30/360", months=12)
    assert abs(schedule.lines[-1].payment - D("846.94")) <= D("0.05")
    assert [line.interest for line in schedule.lines[:2]] == [D("25.00"), D("22.95")]


def _pool(tmp_path: Path, text: str = "") -> Path:
    (tmp_path / "pool.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_schedule_command_json(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schedule", "--rules", str(_pool(tmp_path)), "--principal", "10000",
                                       "--rate", "0.03", "--start", "2027-01-01", "--months", "12",
                                       "--method", "annuity", "--day-count", "ACT/365", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {"principal", "rate", "method", "day_count", "lines", "total_interest", "total_paid"} <= set(document)
    assert document["principal"] == "10000.00" and document["method"] == "annuity"
    assert document["lines"][0] == {"n": 1, "date": "2027-02-01", "principal": "821.46", "interest": "25.48",
                                    "payment": "846.94", "remaining": "9178.54"}
    assert sum(Decimal(line["principal"]) for line in document["lines"]) == Decimal("10000.00")


def test_schedule_command_defaults_from_policy_and_french_table(tmp_path: Path) -> None:
    rules = _pool(tmp_path, '[terms]\ndefault_method = "linear"\nday_count = "30/360"\nrate = 0.02\n')
    result = CliRunner().invoke(main, ["schedule", "--rules", str(rules), "--principal", "3000", "--months", "3",
                                       "--as-of", "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert "versé le 01/12/2026" in result.stdout and "amortissement constant" in result.stdout
    assert "1 000,00 €" in result.stdout and "(30/360)" in result.stdout
    assert "01/03/2027" in result.stdout


def test_schedule_command_rate_over_legal_cap_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schedule", "--rules", str(_pool(tmp_path)), "--principal", "1000",
                                       "--rate", "0.05", "--months", "3", "--method", "linear"])
    assert result.exit_code == 2
    assert "plafond légal" in result.output


def test_schedule_command_bad_terms_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schedule", "--rules", str(_pool(tmp_path)), "--principal", "abc",
                                       "--months", "3"])
    assert result.exit_code == 2 and "nombre invalide" in result.output
    result = CliRunner().invoke(main, ["schedule", "--rules", str(_pool(tmp_path)), "--principal", "1000",
                                       "--method", "on-receipt"])
    assert result.exit_code == 2 and "--repay-on" in result.output


def test_schedule_command_invalid_policy_exit_1(tmp_path: Path) -> None:
    rules = _pool(tmp_path, "[terms]\nrate = -1\n")
    result = CliRunner().invoke(main, ["schedule", "--rules", str(rules), "--principal", "1000", "--months", "3"])
    assert result.exit_code == 1
    assert f"{rules / 'pool.toml'}:2: terms.rate" in result.stderr


@pytest.mark.slow
def test_schedule_of_a_registered_advance(demo_copy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """`schedule --advance ID` prints the schedule the registry holds for a proposed advance."""
    import json

    from click.testing import CliRunner

    from banquasso.commands.main import main

    monkeypatch.delenv("BANQUASSO_DB_URL", raising=False)
    ledgers, rules = demo_copy
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2026-11-30"]
    runner = CliRunner()
    missing = runner.invoke(main, ["schedule", "--advance", "BQA-2026-0001", *common])
    assert missing.exit_code == 1 and "aucun registre des avances" in missing.output
    proposed = json.loads(runner.invoke(main, ["advance", "propose", "--json", *common]).stdout)
    first = proposed["advances"][0]
    result = runner.invoke(main, ["schedule", "--advance", first["id"], "--json", *common])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["principal"] == first["principal"]
    assert sum(Decimal(line["principal"]) for line in document["lines"]) == Decimal(first["principal"])
    assert document["lines"][-1]["remaining"] == "0.00"
    unknown = runner.invoke(main, ["schedule", "--advance", "BQA-2026-9999", *common])
    assert unknown.exit_code == 1 and "avance inconnue « BQA-2026-9999 »" in unknown.output
    both = runner.invoke(main, ["schedule", "--advance", first["id"], "--principal", "10", *common])
    assert both.exit_code == 2
