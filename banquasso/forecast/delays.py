"""The payment-delay model of each funder: observed delays of matched grant tranches, or the default."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

from comptasso.books.reference import Funder
from comptasso.model.grants import TrancheStatus

Source = Literal["history", "default"]


@dataclass(frozen=True)
class MatchedTranche:
    """A fully paid grant tranche and its delay (days from the tranche date to the completing receipt)."""

    member_id: str
    convention: str
    funder: str
    due: dt.date
    completed_on: dt.date
    amount: Decimal

    @property
    def delay_days(self) -> int:
        return (self.completed_on - self.due).days


@dataclass(frozen=True)
class FunderDelay:
    """One funder's delay: its median (used by the forecast), 80th and 90th percentiles, and their source."""

    funder_id: str
    name: str
    kind: str
    matched: tuple[MatchedTranche, ...]
    median_days: int
    p80_days: int
    p90_days: int
    source: Source
    default_days: int | None

    @property
    def samples(self) -> tuple[int, ...]:
        """The delays a Monte Carlo scenario draws from: the observed ones, else the single default."""
        if self.matched:
            return tuple(m.delay_days for m in self.matched)
        return (self.median_days,)


@dataclass(frozen=True)
class DelayModel:
    """The delay of every funder known to `rules/funders.toml` or seen in a ledger, as of one day."""

    as_of: dt.date
    funders: Mapping[str, FunderDelay]

    def delay(self, funder_id: str | None) -> int:
        """The forecast delay of a funder: median of history, else its default, else 0."""
        if funder_id is None or funder_id not in self.funders:
            return 0
        return self.funders[funder_id].median_days

    def samples(self, funder_id: str | None) -> tuple[int, ...]:
        """The delays to draw from for a funder (a funder unknown to the model has delay 0)."""
        if funder_id is None or funder_id not in self.funders:
            return (0,)
        return self.funders[funder_id].samples


def round_days(value: Decimal) -> int:
    """Round a number of days to a whole day, half up (Decimal ROUND_HALF_UP: halves go away from zero)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percentile(values: Sequence[int], share: Decimal) -> Decimal:
    """Exact percentile with linear interpolation between closest ranks (numpy's default, `linear`).

    The sorted values x[0..n-1] sit at positions 0..n-1; the percentile of `share` (0–1) is read at
    position (n-1)·share, interpolating linearly between its two neighbours. Share 0.5 is the median
    (the mean of the two middle values for an even count).
    """
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = Decimal(len(ordered) - 1) * share
    low = int(position.to_integral_value(rounding=ROUND_FLOOR))
    high = min(low + 1, len(ordered) - 1)
    fraction = position - low
    return ordered[low] + fraction * (ordered[high] - ordered[low])


def matched_tranches(
    statuses_by_member: Mapping[str, Iterable[TrancheStatus]], as_of: dt.date
) -> list[MatchedTranche]:
    """Fully matched tranches with a funder, dated (tranche date) on or before `as_of`, in every ledger."""
    out = []
    for member_id, statuses in statuses_by_member.items():
        for status in statuses:
            if status.completed_on is None or status.funder is None or status.tranche.due > as_of:
                continue
            if status.completed_on > as_of:
                continue
            out.append(MatchedTranche(member_id, status.tranche.convention, status.funder,
                                      status.tranche.due, status.completed_on, status.tranche.amount))
    out.sort(key=lambda m: (m.funder, m.due, m.member_id, m.convention))
    return out


def funder_delay(funder_id: str, funder: Funder | None, matched: Sequence[MatchedTranche]) -> FunderDelay:
    """The delay of one funder from its matched tranches, or its default (0 when it has none)."""
    name = funder.name if funder else funder_id
    kind = funder.kind if funder else "autre"
    default = funder.default_delay_days if funder else None
    if matched:
        delays = [m.delay_days for m in matched]
        return FunderDelay(
            funder_id, name, kind, tuple(matched),
            round_days(percentile(delays, Decimal("0.5"))),
            round_days(percentile(delays, Decimal("0.8"))),
            round_days(percentile(delays, Decimal("0.9"))),
            "history", default,
        )
    days = default or 0
    return FunderDelay(funder_id, name, kind, (), days, days, days, "default", default)


def delay_model(
    statuses_by_member: Mapping[str, Iterable[TrancheStatus]],
    funders: Mapping[str, Funder],
    as_of: dt.date,
) -> DelayModel:
    """The delay of every funder of `rules/funders.toml`, in its order, then any other funder seen in the ledgers."""
    matched = matched_tranches(statuses_by_member, as_of)
    by_funder: dict[str, list[MatchedTranche]] = {fid: [] for fid in funders}
    for item in matched:
        by_funder.setdefault(item.funder, []).append(item)
    return DelayModel(as_of, {
        fid: funder_delay(fid, funders.get(fid), items) for fid, items in by_funder.items()
    })
