"""Invariants of the forecast (Hypothesis): flat without flows, inflows never hurt, group = sum of members."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.forecast.daily import forecast_group, project
from banquasso.forecast.flows import Flow
from comptasso.books.facade import GroupBooks
from comptasso.model.grants import Source
from comptasso.model.previsions import Prevision, expected_occurrences, occurrences
from tests.forecast_helpers import books_of, d, grant, opening, receipt

A = d("2026-06-30")
MEMBERS = ("asso-a", "asso-b", "asso-c")

amounts = st.decimals(min_value=Decimal("-50000"), max_value=Decimal("50000"), places=2)
positive = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50000"), places=2)
days_after = st.integers(min_value=1, max_value=120)
flows = st.lists(st.tuples(st.sampled_from(MEMBERS), days_after, amounts), max_size=15)
ExtraItems = list[tuple[str, int, Decimal]]  # (member, days after A, amount)


@cache
def busy_books() -> GroupBooks:
    """Three members with grants, a history of delays, previsions and an invoice."""
    a = (opening("4000.00")
         + grant("C1", "region-sud", "2026-01-01", [("2026-02-01", "100.00"), ("2026-08-01", "900.00")])
         + receipt("C1", "2026-02-20", "100.00")
         + '\n2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -2500.00 EUR "mensuel" 31\n')
    b = (opening("15000.00")
         + '\n2026-03-01 custom "prevision" Income:706-Prestations "Loyer" 300.00 EUR "hebdomadaire" 2\n'
         + grant("K1", "caf-05", "2026-05-01", [("2026-07-10", "2000.00")]))
    c = opening("100.00") + """
2026-06-01 * "Mairie" "Animation" ^F1
  echeance: 2026-07-15
  Assets:411-Clients  800.00 EUR
  Income:706-Prestations  -800.00 EUR
"""
    return books_of(Path(tempfile.mkdtemp(prefix="forecast-props-")), {"asso-a": a, "asso-b": b, "asso-c": c})


def as_extra(items: list[tuple[str, int, Decimal]]) -> dict[str, list[Flow]]:
    out: dict[str, list[Flow]] = {m: [] for m in MEMBERS}
    for member, offset, amount in items:
        out[member].append(Flow(A + dt.timedelta(days=offset), amount, "avance", "test"))
    return out


@settings(max_examples=40, deadline=None)
@given(amounts, st.dates(dt.date(2000, 1, 1), dt.date(2090, 1, 1)), st.integers(1, 731))
def test_no_flows_flat_balance(opening_balance: Decimal, as_of: dt.date, horizon: int) -> None:
    days = project(opening_balance, [], as_of, horizon)
    assert len(days) == horizon and {b for _, b in days} == {opening_balance}
    assert days[0][0] == as_of + dt.timedelta(days=1) and days[-1][0] == as_of + dt.timedelta(days=horizon)


def test_no_flows_flat_in_the_books(tmp_path: Path) -> None:
    books = books_of(tmp_path, {"asso-a": opening("1234.56")})
    forecast = forecast_group(books, A, 731)
    assert {b for _, b in forecast.member("asso-a").days} == {Decimal("1234.56")}


@settings(max_examples=40, deadline=None)
@given(flows, st.sampled_from(MEMBERS), days_after, positive, st.integers(1, 120))
def test_an_inflow_never_lowers_any_day(
    items: ExtraItems, member: str, offset: int, amount: Decimal, horizon: int,
) -> None:
    books = busy_books()
    base = forecast_group(books, A, horizon, extra_flows=as_extra(items))
    more = forecast_group(books, A, horizon, extra_flows=as_extra([*items, (member, offset, amount)]))
    for (day, before), (_, after) in zip(base.member(member).days, more.member(member).days, strict=True):
        assert after >= before
        assert after - before == (amount if day >= A + dt.timedelta(days=offset) else 0)
    for (_, before), (_, after) in zip(base.days, more.days, strict=True):
        assert after >= before


@settings(max_examples=40, deadline=None)
@given(flows, st.integers(1, 200))
def test_group_is_the_sum_of_members_every_day(items: ExtraItems, horizon: int) -> None:
    forecast = forecast_group(busy_books(), A, horizon, extra_flows=as_extra(items))
    for index, (day, total) in enumerate(forecast.days):
        assert total == sum(m.days[index][1] for m in forecast.members)
        assert all(m.days[index][0] == day for m in forecast.members)
    assert forecast.min_balance == min(b for _, b in forecast.days)


frequencies = st.sampled_from(["hebdomadaire", "mensuel", "trimestriel", "annuel", "unique"])


@st.composite
def previsions(draw: st.DrawFn) -> Prevision:
    frequency = draw(frequencies)
    declared = draw(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)))
    day = draw(st.integers(1, 7 if frequency == "hebdomadaire" else 31)) if frequency != "unique" else None
    on = draw(st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31))) if frequency == "unique" else None
    end = draw(st.none() | st.dates(declared, dt.date(2029, 12, 31)))
    return Prevision(declared, "Expenses:606-Achats", draw(st.sampled_from(["a", "b"])), Decimal("-1.00"), "EUR",
                     frequency, day, on, end, Source("x", draw(st.integers(1, 999))))


@settings(max_examples=80, deadline=None)
@given(previsions(), st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)), st.integers(0, 800))
def test_occurrences_stay_in_bounds_and_follow_the_frequency(prevision: Prevision, start: dt.date, span: int) -> None:
    end = start + dt.timedelta(days=span)
    dates = occurrences(prevision, start, end)
    assert dates == sorted(set(dates))
    for day in dates:
        assert max(start, prevision.declared_on) <= day <= min(end, prevision.end or end)
        if prevision.frequency == "hebdomadaire":
            assert day.isoweekday() == prevision.day
        elif prevision.frequency != "unique":
            assert prevision.day is not None
            assert day.day == min(prevision.day, calendar.monthrange(day.year, day.month)[1])
            step = {"mensuel": 1, "trimestriel": 3, "annuel": 12}[prevision.frequency]
            elapsed = (day.year - prevision.declared_on.year) * 12 + day.month - prevision.declared_on.month
            assert elapsed % step == 0
    if prevision.frequency == "hebdomadaire" and dates:
        assert all((b - a).days == 7 for a, b in itertools.pairwise(dates))
    if prevision.frequency == "mensuel":
        lower, upper = max(start, prevision.declared_on), min(end, prevision.end or end)
        if lower <= upper:
            months = (upper.year - lower.year) * 12 + upper.month - lower.month + 1
            assert months - 2 <= len(dates) <= months


@settings(max_examples=60, deadline=None)
@given(st.lists(previsions(), max_size=6), st.dates(dt.date(2024, 1, 1), dt.date(2028, 12, 31)))
def test_replacement_keeps_one_source_per_label_and_day(items: list[Prevision], start: dt.date) -> None:
    end = start + dt.timedelta(days=400)
    for occurrence in expected_occurrences(items, start, end):
        later = [p for p in items if p.label == occurrence.prevision.label
                 and (p.declared_on, p.source.file, p.source.line)
                 > (occurrence.prevision.declared_on, occurrence.prevision.source.file,
                    occurrence.prevision.source.line)]
        assert all(occurrence.date < p.declared_on for p in later)
