"""Needs: every episode of a member's forecast below its floor, and the grant tranches that can secure it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from banquasso.terms.policy import Policy
from banquasso.terms.rules import security_cap
from comptasso.money import cents

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Episode:
    """A run of consecutive days (indices `start`..`end`, inclusive) below the floor."""

    start: int
    end: int
    shortfalls: tuple[Decimal, ...]  # floor − balance on each day of the run, all > 0

    @property
    def amount(self) -> Decimal:
        """What would keep the member at its floor on every day of the run."""
        return max(self.shortfalls)


@dataclass(frozen=True)
class Security:
    """An open grant tranche that may secure advances to its member, after the funder-kind haircut."""

    member: str
    convention: str
    funder: str | None
    tranche_date: dt.date
    expected: dt.date
    open_amount: Decimal
    haircut: Decimal
    repay_on: dt.date  # expected date + grace days

    @property
    def cap(self) -> Decimal:
        """The most all advances secured by this tranche may reach (haircut × open amount, to the cent, down)."""
        return security_cap(self.haircut, self.open_amount)


@dataclass(frozen=True)
class Need:
    """One episode of a member below its floor, dated, with the securities that can back an advance."""

    member: str
    floor: Decimal
    episode: Episode
    start: dt.date
    end: dt.date
    securities: tuple[Security, ...]

    @property
    def amount(self) -> Decimal:
        return self.episode.amount


def episodes(balances: Sequence[Decimal], floor: Decimal) -> list[Episode]:
    """Every maximal run of days whose balance is strictly under the floor."""
    out: list[Episode] = []
    start: int | None = None
    for index, balance in enumerate([*balances, None]):
        below = balance is not None and balance < floor
        if below and start is None:
            start = index
        elif not below and start is not None:
            out.append(Episode(start, index - 1, tuple(floor - b for b in balances[start:index])))
            start = None
    return out


def securities_for(
    member: str,
    tranches: Iterable[tuple[str, str | None, dt.date, dt.date, Decimal]],
    kinds: dict[str, str],
    policy: Policy,
) -> list[Security]:
    """Securities from open tranches `(convention, funder, tranche date, expected date, open amount)`.

    The haircut is that of the funder's kind (`autre` for an unknown funder); the advance is repaid
    `terms.grace_days` after the tranche's expected date.
    """
    grace = dt.timedelta(days=policy.terms.grace_days)
    out = []
    for convention, funder, due, expected, amount in tranches:
        if amount <= 0:
            continue
        haircut = policy.haircut.for_kind(kinds.get(funder or ""))
        out.append(Security(member, convention, funder, due, expected, cents(amount), haircut, expected + grace))
    return sorted(out, key=lambda s: (s.expected, s.tranche_date, s.convention))


def usable(security: Security, disburse_on: dt.date, max_days: int) -> bool:
    """A tranche can secure an advance disbursed on a day if it is repaid later, within `max_days`."""
    days = (security.repay_on - disburse_on).days
    return 0 < days <= max_days and security.cap > 0


def member_needs(
    member: str,
    floor: Decimal,
    balances: Sequence[Decimal],
    first_day: dt.date,
    securities: Sequence[Security],
    max_days: int,
) -> list[Need]:
    """The needs of one member: its episodes below floor, each with the tranches that can secure it."""
    out = []
    for episode in episodes(balances, floor):
        start = first_day + dt.timedelta(days=episode.start)
        end = first_day + dt.timedelta(days=episode.end)
        out.append(Need(member, floor, episode, start, end,
                        tuple(s for s in securities if usable(s, start, max_days))))
    return out


def total_need(needs: Iterable[Need]) -> Decimal:
    return sum((n.amount for n in needs), ZERO)
