"""Backtest: the forecast made from the books as they stood on D, against the actual treasury after D."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from banquasso.forecast.daily import Day, GroupForecast, check_horizon, cumulate, forecast_outlook, lowest, read_group
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import GroupBooks
from comptasso.model.chart import is_treasury
from comptasso.money import cents
from comptasso.problems import Problem

ZERO = Decimal("0")


@dataclass(frozen=True)
class Comparison:
    """Forecast and actual balances of one member (or of the group) over the same days."""

    forecast: tuple[Day, ...]
    actual: tuple[Day, ...]

    @property
    def errors(self) -> tuple[Decimal, ...]:
        """Forecast minus actual, day by day."""
        return tuple(f - a for (_, f), (_, a) in zip(self.forecast, self.actual, strict=True))

    @property
    def mean_absolute_error(self) -> Decimal:
        """Mean of |forecast − actual| over the days compared, to the cent."""
        return cents(sum((abs(e) for e in self.errors), ZERO) / len(self.errors))

    @property
    def bias(self) -> Decimal:
        """Mean of forecast − actual (positive: the forecast was too optimistic), to the cent."""
        return cents(sum(self.errors, ZERO) / len(self.errors))

    @property
    def forecast_min(self) -> Day:
        return lowest(self.forecast)

    @property
    def actual_min(self) -> Day:
        return lowest(self.actual)

    @property
    def min_error(self) -> Decimal:
        """Forecast lowest balance minus actual lowest balance."""
        return self.forecast_min[1] - self.actual_min[1]


@dataclass(frozen=True)
class Backtest:
    """Every member's comparison, and the group's, for the days D+1..`compared_until`."""

    as_of: dt.date
    horizon_days: int
    compared_until: dt.date
    forecast: GroupForecast
    members: dict[str, Comparison]
    group: Comparison

    @property
    def days_compared(self) -> int:
        return (self.compared_until - self.as_of).days


def actual_balances(entries: Sequence[data.Directive], as_of: dt.date, days: int) -> tuple[Day, ...]:
    """The treasury (51x/53x) at the end of each day A+1..A+days, from the full books."""
    opening = ZERO
    moves: dict[dt.date, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if not isinstance(entry, data.Transaction):
            continue
        amount = sum((p.units.number for p in entry.postings
                      if p.units is not None and p.units.number is not None and is_treasury(p.account)), ZERO)
        if entry.date <= as_of:
            opening += amount
        else:
            moves[entry.date] += amount
    return cumulate(opening, moves, as_of, days)


def last_transaction(books: GroupBooks) -> dt.date | None:
    """The date of the latest transaction in any member ledger."""
    dates = [e.date for ledger in books.ledgers.values() for e in ledger.entries if isinstance(e, data.Transaction)]
    return max(dates) if dates else None


def backtest(
    books: GroupBooks, as_of: dt.date, horizon: int, floor_policy: FloorPolicy | None = None
) -> tuple[Backtest | None, list[Problem]]:
    """Forecast from the books as of D and compare with what the books say happened after D.

    Only the days the books cover are compared: up to D + horizon or the latest transaction,
    whichever comes first. ValueError (in French) when the books hold nothing after D.
    """
    check_horizon(horizon)
    last = last_transaction(books)
    if last is None or last <= as_of:
        raise ValueError(f"les livres ne contiennent aucune écriture après le {as_of.isoformat()} : "
                         "rien à comparer (choisissez une date --as-of plus ancienne)")
    days = min(horizon, (last - as_of).days)
    outlook, problems = read_group(books, as_of, days, floor_policy)
    if outlook is None:
        return None, problems
    forecast = forecast_outlook(outlook)
    members = {
        m.member_id: Comparison(m.days, actual_balances(books.ledgers[m.member_id].entries, as_of, days))
        for m in forecast.members
    }
    group_actual = tuple(
        (column[0][0], sum((b for _, b in column), ZERO))
        for column in zip(*(c.actual for c in members.values()), strict=True)
    )
    return Backtest(as_of, horizon, as_of + dt.timedelta(days=days), forecast, members,
                    Comparison(forecast.days, group_actual)), []
