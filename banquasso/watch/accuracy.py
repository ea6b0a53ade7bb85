"""Forecast accuracy over time: each stored snapshot against the treasury the books later recorded."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from banquasso.forecast.backtest import actual_balances
from banquasso.watch.monitoring import Snapshot
from comptasso.money import cents

ZERO = Decimal("0")

#: How far ahead a forecast day was, in days after the snapshot: (label, first, last).
BUCKETS: tuple[tuple[str, int, int], ...] = (("1-7", 1, 7), ("8-30", 8, 30), ("31-91", 31, 91))


@dataclass(frozen=True)
class Pair:
    """One forecast day compared: how many days ahead it was, what was forecast and what happened."""

    taken_on: dt.date
    day: dt.date
    forecast: Decimal
    actual: Decimal

    @property
    def lead(self) -> int:
        return (self.day - self.taken_on).days

    @property
    def error(self) -> Decimal:
        """Forecast minus actual (positive: the forecast was too optimistic)."""
        return self.forecast - self.actual


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return cents(sum(values, ZERO) / len(values)) if values else None


@dataclass(frozen=True)
class Accuracy:
    """The accuracy of one member's forecasts (or the group's, the sum of its members)."""

    member: str
    snapshots: int
    pairs: tuple[Pair, ...]

    @property
    def days_compared(self) -> int:
        return len(self.pairs)

    @property
    def mean_absolute_error(self) -> Decimal | None:
        return _mean([abs(p.error) for p in self.pairs])

    @property
    def bias(self) -> Decimal | None:
        return _mean([p.error for p in self.pairs])

    def bucket_error(self, first: int, last: int) -> Decimal | None:
        """Mean absolute error of the days forecast `first`..`last` days ahead (None when none compared)."""
        return _mean([abs(p.error) for p in self.pairs if first <= p.lead <= last])

    @property
    def buckets(self) -> dict[str, Decimal | None]:
        return {label: self.bucket_error(first, last) for label, first, last in BUCKETS}


@dataclass(frozen=True)
class AccuracyReport:
    """Every member's accuracy and the group's, for snapshots compared up to `as_of`."""

    as_of: dt.date
    members: tuple[Accuracy, ...]
    group: Accuracy

    @property
    def empty(self) -> bool:
        return self.group.snapshots == 0

    def to_json(self) -> dict[str, object]:
        def one(item: Accuracy) -> dict[str, object]:
            def amount(value: Decimal | None) -> str | None:
                return None if value is None else str(value)
            return {"id": item.member, "snapshots": item.snapshots, "days_compared": item.days_compared,
                    "mean_absolute_error": amount(item.mean_absolute_error), "bias": amount(item.bias),
                    "by_lead": {label: amount(v) for label, v in item.buckets.items()}}
        return {"as_of": self.as_of.isoformat(), "buckets": [b[0] for b in BUCKETS],
                "members": [one(m) for m in self.members], "group": one(self.group)}


def member_pairs(snapshot: Snapshot, entries: Sequence[data.Directive], as_of: dt.date) -> list[Pair]:
    """The days of a snapshot that have happened by `as_of`, each with the actual treasury that day."""
    days = [(day, value) for day, value in snapshot.days if day <= as_of]
    if not days:
        return []
    actual = actual_balances([e for e in entries if e.date <= as_of], snapshot.taken_on, len(days))
    return [Pair(snapshot.taken_on, day, value, real)
            for (day, value), (_, real) in zip(days, actual, strict=True)]


def accuracy(snapshots: Iterable[Snapshot], ledgers: Mapping[str, Sequence[data.Directive]], as_of: dt.date,
             members: Sequence[str]) -> AccuracyReport:
    """Compare every snapshot of the given members taken before `as_of` with the books as of `as_of`.

    A member's pairs are the days each snapshot forecast that lie on or before `as_of`; the group's
    pairs add up the members' forecasts and actuals of the same snapshot day and forecast day.
    Snapshots of members no longer in the group are ignored.
    """
    pairs: dict[str, list[Pair]] = defaultdict(list)
    taken: dict[str, set[dt.date]] = defaultdict(set)
    for snapshot in snapshots:
        if snapshot.member not in members or snapshot.taken_on >= as_of:
            continue
        found = member_pairs(snapshot, ledgers.get(snapshot.member, ()), as_of)
        if found:
            pairs[snapshot.member].extend(found)
            taken[snapshot.member].add(snapshot.taken_on)
    per_member = tuple(Accuracy(m, len(taken[m]), tuple(pairs[m])) for m in members)
    total: dict[tuple[dt.date, dt.date], tuple[Decimal, Decimal]] = {}
    count: dict[tuple[dt.date, dt.date], int] = defaultdict(int)
    for item in per_member:
        for pair in item.pairs:
            key = (pair.taken_on, pair.day)
            f, a = total.get(key, (ZERO, ZERO))
            total[key] = (f + pair.forecast, a + pair.actual)
            count[key] += 1
    complete = [k for k in sorted(total) if count[k] == sum(1 for m in per_member if k[0] in taken[m.member])]
    group_pairs = tuple(Pair(k[0], k[1], *total[k]) for k in complete)
    group_days = {k[0] for k in complete}
    return AccuracyReport(as_of, per_member, Accuracy("groupe", len(group_days), group_pairs))
