"""Backtest: the forecast made from the books as they stood on D, against the actual treasury after D."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from beancount.core import data

from banquasso.forecast.daily import Day, GroupForecast, check_horizon, cumulate, forecast_outlook, lowest, read_group
from banquasso.forecast.delays import DelayModel, delay_model, matched_tranches
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import GroupBooks
from comptasso.books.reference import FUNDER_KINDS, Funder
from comptasso.model.chart import is_treasury
from comptasso.model.grants import TrancheStatus
from comptasso.money import cents, fr_date
from comptasso.problems import Problem

ZERO = Decimal("0")
TENTH = Decimal("0.1")


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
        raise ValueError(f"les livres ne contiennent aucune écriture après le {fr_date(as_of)} : "
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


# ------------------------------------------------------------------------------ the delay model's own errors

#: How far ahead a tranche was expected when forecast, in days: (label, first, last); None: no end.
DELAY_HORIZONS: tuple[tuple[str, int, int | None], ...] = (("1-30", 1, 30), ("31-90", 31, 90), ("91+", 91, None))
#: The fewest compared tranches of a funder kind and horizon before their error widens the Monte Carlo band.
MIN_COMPARED = 3


def horizon_of(lead_days: int) -> str:
    """The label of `DELAY_HORIZONS` a lead (days from the forecast to the expected payment, ≥ 1) falls in."""
    for label, first, last in DELAY_HORIZONS:
        if lead_days >= first and (last is None or lead_days <= last):
            return label
    return DELAY_HORIZONS[0][0]


@dataclass(frozen=True)
class DelayMiss:
    """One paid tranche: when the forecast made on its tranche date expected it, and when it came."""

    member: str
    convention: str
    funder: str
    kind: str
    forecast_on: dt.date
    expected: dt.date
    paid_on: dt.date

    @property
    def lead(self) -> int:
        return (self.expected - self.forecast_on).days

    @property
    def error_days(self) -> int:
        """Paid minus expected (positive: the funder paid later than forecast)."""
        return (self.paid_on - self.expected).days


@dataclass(frozen=True)
class DelayAccuracy:
    """The delay model's error for one funder kind and horizon, over the tranches compared."""

    kind: str
    horizon: str
    compared: int
    mean_absolute_error_days: Decimal
    bias_days: Decimal

    @property
    def widening_days(self) -> int:
        """The ± days the Monte Carlo adds to each draw of this kind and horizon (0 under MIN_COMPARED)."""
        if self.compared < MIN_COMPARED:
            return 0
        return int(self.mean_absolute_error_days.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "horizon": self.horizon, "compared": self.compared,
                "mean_absolute_error_days": str(self.mean_absolute_error_days), "bias_days": str(self.bias_days),
                "widening_days": self.widening_days}


def delay_misses(statuses_by_member: Mapping[str, Iterable[TrancheStatus]], funders: Mapping[str, Funder],
                 as_of: dt.date) -> tuple[DelayMiss, ...]:
    """Every tranche paid by `as_of`, against the forecast made on its tranche date D from the books as of D.

    That forecast expected it on max(D + 1, D + delay(funder) as of D) — the delay model knew only the
    tranches paid by D, so nothing after D leaks in.
    """
    statuses = {m: tuple(s) for m, s in statuses_by_member.items()}
    models: dict[dt.date, DelayModel] = {}
    out = []
    for item in matched_tranches(statuses, as_of):
        day = item.due
        if day not in models:
            models[day] = delay_model(statuses, funders, day)
        model = models[day]
        expected = max(day + dt.timedelta(days=1), day + dt.timedelta(days=model.delay(item.funder)))
        kind = model.funders[item.funder].kind if item.funder in model.funders else "autre"
        out.append(DelayMiss(item.member_id, item.convention, item.funder, kind, day, expected, item.completed_on))
    return tuple(out)


def delay_accuracy(misses: Iterable[DelayMiss]) -> tuple[DelayAccuracy, ...]:
    """The error per funder kind and horizon, in the order of FUNDER_KINDS then DELAY_HORIZONS."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for miss in misses:
        groups[(miss.kind, horizon_of(miss.lead))].append(miss.error_days)
    order = {k: i for i, k in enumerate(FUNDER_KINDS)}
    horizons = {label: i for i, (label, _, _) in enumerate(DELAY_HORIZONS)}
    out = []
    for (kind, horizon), errors in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), horizons[kv[0][1]])):
        count = Decimal(len(errors))
        mae = (Decimal(sum(abs(e) for e in errors)) / count).quantize(TENTH, rounding=ROUND_HALF_UP)
        bias = (Decimal(sum(errors)) / count).quantize(TENTH, rounding=ROUND_HALF_UP)
        out.append(DelayAccuracy(kind, horizon, len(errors), mae, bias))
    return tuple(out)


def widening(accuracy: Iterable[DelayAccuracy]) -> dict[tuple[str, str], int]:
    """(funder kind, horizon) → the ± days the Monte Carlo widens by, where the model has been wrong."""
    return {(a.kind, a.horizon): a.widening_days for a in accuracy if a.widening_days > 0}
