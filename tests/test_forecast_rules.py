"""SPEC section 7 pinned on small inline ledgers, with hand-computed numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from banquasso.forecast.daily import GroupForecast, check_horizon, forecast_group, project
from banquasso.forecast.flows import Flow
from banquasso.terms.policy import FloorPolicy
from comptasso.model.grants import Source
from comptasso.model.previsions import Prevision, expected_occurrences, occurrences
from comptasso.problems import ProblemsError
from tests.forecast_helpers import books_of, d, grant, opening, receipt, salary

A = d("2026-06-30")


def flows_of(forecast: GroupForecast, member_id: str, kind: str | None = None) -> list[tuple[dt.date, Decimal]]:
    return [(f.date, f.amount) for f in forecast.member(member_id).flows if kind is None or f.kind == kind]


def balance_on(forecast: GroupForecast, member_id: str, day: str) -> Decimal:
    return dict(forecast.member(member_id).days)[d(day)]


GRANTS = (
    opening("10000.00")
    + grant("C1", "region-sud", "2026-02-01",
            [("2026-03-01", "1000.00"), ("2026-04-01", "1000.00"), ("2026-05-01", "1000.00")])
    # FIFO: 1500 completes the March tranche (delay 10) and pays half of April's;
    + receipt("C1", "2026-03-11", "1500.00")
    # 500 completes April's (delay 13); 300 goes to May's, which stays open for 700.
    + receipt("C1", "2026-04-14", "500.00")
    + receipt("C1", "2026-06-01", "300.00")
    # A CAF grant without history: its default delay (20 days) applies.
    + grant("K1", "caf-05", "2026-05-01", [("2026-07-05", "2000.00")])
    # Later Région tranche, not yet due: expected 2026-09-01 + 12 days.
    + grant("C2", "region-sud", "2026-02-01", [("2026-09-01", "4000.00")])
)


def test_grant_tranches_fifo_median_overdue_and_default(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso-a": GRANTS})
    forecast = forecast_group(books, A, 91)
    region = forecast.delays.funders["region-sud"]
    assert [m.delay_days for m in region.matched] == [10, 13]
    assert region.median_days == 12  # (10 + 13) / 2 = 11.5, half up → 12
    assert region.source == "history"
    caf = forecast.delays.funders["caf-05"]
    assert (caf.source, caf.median_days, caf.matched) == ("default", 20, ())
    member = forecast.member("asso-a")
    assert member.opening_balance == Decimal("12300.00")  # 10000 + 1500 + 500 + 300
    assert flows_of(forecast, "asso-a", "subvention") == [
        (d("2026-07-01"), Decimal("700.00")),   # 2026-05-01 + 12 is past: lands on A + 1
        (d("2026-07-25"), Decimal("2000.00")),  # 2026-07-05 + 20 (CAF default)
        (d("2026-09-13"), Decimal("4000.00")),  # 2026-09-01 + 12
    ]
    assert balance_on(forecast, "asso-a", "2026-07-01") == Decimal("13000.00")
    assert balance_on(forecast, "asso-a", "2026-07-24") == Decimal("13000.00")
    assert balance_on(forecast, "asso-a", "2026-07-25") == Decimal("15000.00")
    assert balance_on(forecast, "asso-a", "2026-09-29") == Decimal("19000.00")
    assert len(member.days) == 91 and member.days[0][0] == d("2026-07-01")
    assert member.days[-1][0] == d("2026-09-29")


def test_delay_uses_only_what_is_known_on_the_as_of_day(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso-a": GRANTS})
    # On 2026-04-13 the April tranche is not complete yet: only the March one (10 days) counts.
    forecast = forecast_group(books, d("2026-04-13"), 30)
    region = forecast.delays.funders["region-sud"]
    assert [m.delay_days for m in region.matched] == [10]
    assert region.median_days == 10
    assert forecast.member("asso-a").opening_balance == Decimal("11500.00")
    # Half of April is open (500): 2026-04-01 + 10 is past → 2026-04-14; May's 1000 on 2026-05-11.
    assert flows_of(forecast, "asso-a", "subvention") == [
        (d("2026-04-14"), Decimal("500.00")), (d("2026-05-11"), Decimal("1000.00")),
    ]


def test_delay_history_is_pooled_across_members(tmp_path: Path) -> None:
    other = (opening("100.00")
             + grant("R9", "region-sud", "2026-01-01", [("2026-02-01", "500.00")])
             + receipt("R9", "2026-02-21", "500.00"))  # delay 20
    books = books_of(tmp_path, {"asso-a": GRANTS, "asso-b": other})
    region = forecast_group(books, A, 10).delays.funders["region-sud"]
    assert sorted(m.delay_days for m in region.matched) == [10, 13, 20]
    assert region.median_days == 13


INVOICES = opening("5000.00") + """
2026-06-01 * "Mairie" "Animation" ^F2026-001
  echeance: 2026-07-10
  Assets:411-Clients  1200.00 EUR
  Income:706-Prestations  -1200.00 EUR

2026-06-20 * "Mairie" "Règlement partiel" ^F2026-001
  Assets:512-Banque  500.00 EUR
  Assets:411-Clients  -500.00 EUR

2026-05-02 * "Imprimerie" "Affiches" ^A2026-007
  echeance: 2026-06-15
  Expenses:606-Achats  800.00 EUR
  Liabilities:401-Fournisseurs  -800.00 EUR

2026-05-03 * "Papeterie" "Fournitures" ^A2026-008
  echeance: 2026-06-10
  Expenses:606-Achats  90.00 EUR
  Liabilities:401-Fournisseurs  -90.00 EUR

2026-06-09 * "Papeterie" "Règlement" ^A2026-008
  Liabilities:401-Fournisseurs  90.00 EUR
  Assets:512-Banque  -90.00 EUR
"""


def test_invoices_partly_paid_overdue_and_paid(tmp_path: Path) -> None:
    forecast = forecast_group(books_of(tmp_path, {"asso-a": INVOICES}), A, 20)
    assert forecast.member("asso-a").opening_balance == Decimal("5410.00")  # 5000 + 500 - 90
    assert flows_of(forecast, "asso-a") == [
        (d("2026-07-01"), Decimal("-800.00")),  # supplier invoice overdue since 2026-06-15 → A + 1
        (d("2026-07-10"), Decimal("700.00")),   # customer invoice 1200, 500 paid → 700 on its due date
    ]
    assert balance_on(forecast, "asso-a", "2026-07-09") == Decimal("4610.00")
    assert balance_on(forecast, "asso-a", "2026-07-10") == Decimal("5310.00")


PREVISIONS = opening("3000.00") + """
2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -1000.00 EUR "mensuel" 31
2026-06-01 custom "prevision" Expenses:606-Achats "Marché" -50.00 EUR "hebdomadaire" 5 2026-07-17
2026-06-01 custom "prevision" Income:706-Prestations "Stage d'été" 600.00 EUR "unique" 2026-07-15
2026-06-01 custom "prevision" Income:706-Prestations "Loyer" 200.00 EUR "mensuel" 5
2026-07-20 custom "prevision" Income:706-Prestations "Loyer" 250.00 EUR "mensuel" 5
"""


def test_previsions_in_a_ledger(tmp_path: Path) -> None:
    # The July 20th "Loyer" is dated after A = 2026-06-30 when read on June 30th, so it is not known yet.
    forecast = forecast_group(books_of(tmp_path, {"asso-a": PREVISIONS}), A, 40)
    assert flows_of(forecast, "asso-a") == [
        (d("2026-07-03"), Decimal("-50.00")),    # Fridays 3, 10, 17 July (end date 2026-07-17)
        (d("2026-07-05"), Decimal("200.00")),
        (d("2026-07-10"), Decimal("-50.00")),
        (d("2026-07-15"), Decimal("600.00")),
        (d("2026-07-17"), Decimal("-50.00")),
        (d("2026-07-31"), Decimal("-1000.00")),
        (d("2026-08-05"), Decimal("200.00")),
    ]
    # Read on July 20th, the second "Loyer" replaces the first from its own date on.
    later = forecast_group(books_of(tmp_path / "b", {"asso-a": PREVISIONS}), d("2026-07-20"), 50)
    assert [(day, amount) for day, amount in flows_of(later, "asso-a") if amount > 0] == [
        (d("2026-08-05"), Decimal("250.00")), (d("2026-09-05"), Decimal("250.00")),
    ]
    assert balance_on(later, "asso-a", "2026-09-08") == (
        Decimal("3000.00") - 2 * Decimal("1000.00") + 2 * Decimal("250.00"))


def prevision(freq: str, day: int | None = None, on: str | None = None, *, declared: str = "2026-01-01",
              end: str | None = None, label: str = "x", amount: str = "-10.00", line: int = 1) -> Prevision:
    return Prevision(d(declared), "Expenses:606-Achats", label, Decimal(amount), "EUR", freq, day,
                     d(on) if on else None, d(end) if end else None, Source("main.beancount", line))


def test_monthly_on_day_31_is_clipped_to_february_end() -> None:
    dates = occurrences(prevision("mensuel", 31), d("2026-01-01"), d("2026-05-31"))
    assert dates == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31"), d("2026-04-30"), d("2026-05-31")]
    assert occurrences(prevision("mensuel", 30, declared="2028-01-01"), d("2028-02-01"), d("2028-02-29")) == [
        d("2028-02-29")]


def test_monthly_starts_on_the_directive_date() -> None:
    assert occurrences(prevision("mensuel", 10, declared="2026-03-15"), d("2026-01-01"), d("2026-05-31")) == [
        d("2026-04-10"), d("2026-05-10")]


def test_weekly_on_iso_weekday_with_end_date() -> None:
    # 2026-07-01 is a Wednesday; weekday 3 → every Wednesday, up to and including the end date.
    dates = occurrences(prevision("hebdomadaire", 3, declared="2026-07-01", end="2026-07-22"),
                        d("2026-06-01"), d("2026-12-31"))
    assert dates == [d("2026-07-01"), d("2026-07-08"), d("2026-07-15"), d("2026-07-22")]
    assert occurrences(prevision("hebdomadaire", 7, declared="2026-07-01"), d("2026-07-01"), d("2026-07-13")) == [
        d("2026-07-05"), d("2026-07-12")]


def test_quarterly_and_yearly_count_from_the_directive_month() -> None:
    quarterly = prevision("trimestriel", 31, declared="2025-11-15")
    assert occurrences(quarterly, d("2026-01-01"), d("2026-12-31")) == [
        d("2026-02-28"), d("2026-05-31"), d("2026-08-31"), d("2026-11-30")]
    yearly = prevision("annuel", 29, declared="2024-02-01")
    assert occurrences(yearly, d("2024-01-01"), d("2028-12-31")) == [
        d("2024-02-29"), d("2025-02-28"), d("2026-02-28"), d("2027-02-28"), d("2028-02-29")]


def test_one_off_only_within_window_and_not_before_its_directive() -> None:
    assert occurrences(prevision("unique", on="2026-07-15"), d("2026-07-01"), d("2026-07-31")) == [d("2026-07-15")]
    assert occurrences(prevision("unique", on="2026-07-15"), d("2026-07-16"), d("2026-07-31")) == []
    assert occurrences(prevision("unique", on="2025-12-15"), d("2025-01-01"), d("2026-12-31")) == []


def test_replacement_by_label_from_the_later_directive_date() -> None:
    first = prevision("mensuel", 5, label="Loyer", amount="200.00", declared="2026-01-01", line=1)
    second = prevision("mensuel", 5, label="Loyer", amount="250.00", declared="2026-03-05", line=9)
    other = prevision("mensuel", 5, label="Autre", amount="1.00", declared="2026-01-01", line=5)
    got = [(o.date, o.amount) for o in expected_occurrences([second, first, other], d("2026-01-01"), d("2026-04-30"))
           if o.prevision.label == "Loyer"]
    assert got == [(d("2026-01-05"), Decimal("200.00")), (d("2026-02-05"), Decimal("200.00")),
                   (d("2026-03-05"), Decimal("250.00")), (d("2026-04-05"), Decimal("250.00"))]
    assert len([o for o in expected_occurrences([first, second, other], d("2026-01-01"), d("2026-04-30"))
                if o.prevision.label == "Autre"]) == 4


FUNDERS_NO_DEFAULT = """
[[funders]]
id = "commune-gap"
name = "Ville de Gap"
kind = "commune"
"""


def test_funder_without_history_or_default_has_delay_zero(tmp_path: Path) -> None:
    ledger = opening("100.00") + grant("G1", "commune-gap", "2026-06-01", [("2026-07-10", "900.00")])
    forecast = forecast_group(books_of(tmp_path, {"asso-a": ledger}, funders=FUNDERS_NO_DEFAULT), A, 15)
    assert forecast.delays.funders["commune-gap"].source == "default"
    assert flows_of(forecast, "asso-a") == [(d("2026-07-10"), Decimal("900.00"))]


def test_floor_from_payroll_of_the_last_365_days(tmp_path: Path) -> None:
    ledger = (opening("90000.00", "2025-01-02")
              + salary("2025-06-29", "99999.00")    # A - 366: outside the window
              + salary("2025-07-01", "30000.00")    # A - 364: inside
              + salary("2026-06-30", "30000.01"))   # A itself
    books = books_of(tmp_path, {"asso-a": ledger})
    floors = FloorPolicy(fixed=Decimal("1000"), months_of_payroll=Decimal("2"))
    member = forecast_group(books, A, 5, floors).member("asso-a")
    # 60000.01 / 12 = 5000.000833 → 5000.00 a month; 2 months → 10000.00 > 1000.
    assert member.monthly_payroll == Decimal("5000.00")
    assert member.floor == Decimal("10000.00")
    assert member.opening_balance == Decimal("90000.00") - Decimal("159999.01")
    assert member.days_below_floor == 5
    small = forecast_group(books, A, 5, FloorPolicy(fixed=Decimal("20000"), months_of_payroll=Decimal("1")))
    assert small.member("asso-a").floor == Decimal("20000")


def test_lowest_point_days_below_floor_and_group_sum(tmp_path: Path) -> None:
    a = opening("6000.00") + """
2026-06-01 custom "prevision" Expenses:641-Salaires "Salaires" -4000.00 EUR "unique" 2026-07-03
2026-06-01 custom "prevision" Income:706-Prestations "Vente" 3000.00 EUR "unique" 2026-07-06
"""
    b = opening("1000.00") + """
2026-06-01 custom "prevision" Expenses:641-Salaires "Salaires" -500.00 EUR "unique" 2026-07-02
"""
    forecast = forecast_group(books_of(tmp_path, {"asso-a": a, "asso-b": b}), A, 10,
                              FloorPolicy(fixed=Decimal("5000"), months_of_payroll=Decimal("0")))
    member = forecast.member("asso-a")
    assert (member.min_balance, member.min_date) == (Decimal("2000.00"), d("2026-07-03"))
    assert member.below_floor == (d("2026-07-03"), d("2026-07-04"), d("2026-07-05"))
    assert forecast.member("asso-b").days_below_floor == 10
    assert forecast.opening_balance == Decimal("7000.00")
    assert (forecast.min_balance, forecast.min_date) == (Decimal("2500.00"), d("2026-07-03"))
    assert forecast.floor == Decimal("10000")
    assert forecast.days_below_floor == 10


def test_extra_flows_plug_in_and_ignore_the_past(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso-a": opening("100.00"), "asso-b": opening("900.00")})
    extra = {
        "asso-a": [Flow(d("2026-07-02"), Decimal("500.00"), "avance", "Avance BQA-2026-0001"),
                   Flow(d("2026-06-30"), Decimal("77.00"), "avance", "déjà dans les livres")],
        "asso-b": [Flow(d("2026-07-02"), Decimal("-500.00"), "avance", "Avance BQA-2026-0001")],
    }
    forecast = forecast_group(books, A, 3, extra_flows=extra)
    assert [b for _, b in forecast.member("asso-a").days] == [Decimal("100.00"), Decimal("600.00"), Decimal("600.00")]
    assert [b for _, b in forecast.days] == [Decimal("1000.00")] * 3
    with pytest.raises(ValueError, match="inconnus"):
        forecast_group(books, A, 3, extra_flows={"nobody": []})


def test_treasury_is_classes_51_and_53_only(tmp_path: Path) -> None:
    ledger = opening("100.00") + """
2026-06-02 * "Caisse" "Retrait"
  Assets:531-Caisse  40.00 EUR
  Assets:512-Banque  -40.00 EUR

2026-06-03 * "Client" "Vente à crédit"
  Assets:411-Clients  70.00 EUR
  Income:706-Prestations  -70.00 EUR
"""
    forecast = forecast_group(books_of(tmp_path, {"asso-a": ledger}), A, 1)
    assert forecast.member("asso-a").opening_balance == Decimal("100.00")


def test_malformed_prevision_is_a_problem_with_its_line(tmp_path: Path) -> None:
    ledger = (opening("100.00")
              + '\n2026-06-01 custom "prevision" Expenses:641-Salaires "Salaires" -10.00 EUR "mensuel" 32\n')
    books = books_of(tmp_path, {"asso-a": ledger})
    with pytest.raises(ProblemsError) as caught:
        forecast_group(books, A, 5)
    [problem] = caught.value.problems
    assert problem.file.endswith("asso-a/main.beancount") and problem.line > 0
    assert "jour du mois de 1 à 31" in problem.message


def test_horizon_bounds() -> None:
    assert len(project(Decimal("1"), [], A, 731)) == 731
    for bad in (0, 732, -1):
        with pytest.raises(ValueError, match="entre 1 et 731"):
            check_horizon(bad)
