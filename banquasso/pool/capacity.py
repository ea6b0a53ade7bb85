"""Capacity: the most each member can advance from A+1 for 30, 60, 90 or 180 days without going under its floor.

Earmarked cash (`banquasso.terms.net_cash.earmarked_cash`: open fonds dédiés and treasury in a local
currency) stays in the forecast balances but comes off the lendable surplus: a member lends only
what it holds above its floor *and* above that cash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from banquasso.terms.policy import Policy
from banquasso.terms.rules import lender_room

WINDOWS: tuple[int, ...] = (30, 60, 90, 180)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MemberCapacity:
    """What one member can lend for each window, after the policy limits."""

    member: str
    floor: Decimal
    lendable: dict[int, Decimal]
    net_cash_cap: Decimal | None  # what the legal net-cash cap still allows this financial year
    earmarked: Decimal = ZERO  # cash held but not lendable (fonds dédiés, local currency), as of A


@dataclass(frozen=True)
class Capacity:
    """Every member's capacity and the pool's (their sum), as of a day."""

    as_of: dt.date
    members: tuple[MemberCapacity, ...]

    @property
    def pool(self) -> dict[int, Decimal]:
        return {w: sum((m.lendable[w] for m in self.members), ZERO) for w in WINDOWS}

    def to_json(self) -> dict[str, object]:
        """The JSON document of SPEC section 10."""
        return {
            "as_of": self.as_of.isoformat(),
            "windows": list(WINDOWS),
            "members": [
                {"id": m.member, "floor": str(m.floor),
                 "lendable": {str(w): str(m.lendable[w]) for w in WINDOWS},
                 "net_cash_cap": None if m.net_cash_cap is None else str(m.net_cash_cap),
                 "earmarked": str(m.earmarked)}
                for m in self.members
            ],
            "pool": {str(w): str(v) for w, v in self.pool.items()},
        }


def down(value: Decimal) -> Decimal:
    """Round down to the cent: a lendable amount never exceeds what the floor allows."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def lendable(balances: Sequence[Decimal], floor: Decimal, days: int, policy: Policy,
             net_cash_cap: Decimal | None = None, earmarked: Decimal = ZERO) -> Decimal:
    """The most one advance paid on A+1 and repaid on A+1+days can reach.

    It is the lowest surplus over the floor and the earmarked cash on days A+1..A+days, times
    `limits.max_lender_share`,
    capped by the legal net-cash cap; zero when the window is longer than `limits.max_days` or
    than the forecast, or when the result is under `limits.min_advance`.
    """
    limits = policy.limits
    if days > limits.max_days or days > len(balances):
        return ZERO
    surplus = min(balances[:days]) - floor - earmarked
    amount = lender_room(surplus, limits.max_lender_share)
    if net_cash_cap is not None:
        amount = min(amount, down(max(net_cash_cap, ZERO)))
    return amount if amount >= limits.min_advance and amount > 0 else ZERO


def member_capacity(member: str, balances: Sequence[Decimal], floor: Decimal, policy: Policy,
                    net_cash_cap: Decimal | None = None, earmarked: Decimal = ZERO) -> MemberCapacity:
    """A member's capacity for every window (`earmarked`: the cash it holds but may not lend)."""
    return MemberCapacity(member, floor,
                          {w: lendable(balances, floor, w, policy, net_cash_cap, earmarked) for w in WINDOWS},
                          net_cash_cap, earmarked)
