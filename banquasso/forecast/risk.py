"""Monte Carlo risk of the forecast: grant delays drawn from each funder's observed delays (bootstrap).

Balances are simulated in whole cents (numpy int64), so no float touches an amount; percentiles use
the inverted-CDF rule, so every reported figure is a balance that one scenario actually reaches.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from banquasso.forecast.backtest import DelayAccuracy, delay_accuracy, delay_misses, horizon_of, widening
from banquasso.forecast.daily import GroupOutlook, project
from banquasso.forecast.flows import Flow, OpenTranche
from comptasso.books.reference import Funder
from comptasso.money import cents

DEFAULT_SCENARIOS = 2000
DEFAULT_SEED = 2026
HUNDRED = Decimal(100)

Band = tuple[dt.date, Decimal, Decimal]


@dataclass(frozen=True)
class RiskFigures:
    """The risk of one member (or of the group): chance of going under the floor, low tail, daily band."""

    probability_below_floor: Decimal
    p5_min_balance: Decimal
    band: tuple[Band, ...]

    @property
    def p5_days(self) -> tuple[tuple[dt.date, Decimal], ...]:
        return tuple((day, low) for day, low, _ in self.band)


@dataclass(frozen=True)
class GroupRisk:
    """The simulation of the whole group: per member and for the group, scenario by scenario."""

    as_of: dt.date
    horizon_days: int
    scenarios: int
    seed: int
    members: dict[str, RiskFigures]
    group: RiskFigures
    widening: Mapping[tuple[str, str], int] | None = None  # (funder kind, horizon) → ± days added to draws


def tranche_widening(outlook: GroupOutlook, tranche: OpenTranche, widen: Mapping[tuple[str, str], int]) -> int:
    """The ± days of widening of one open tranche: that of its funder's kind at its horizon (0 when none).

    The horizon is how far ahead the forecast expects it: max(A + 1, tranche date + median delay) − A.
    """
    funder = outlook.delays.funders.get(tranche.funder or "")
    if funder is None:
        return 0
    expected = max(outlook.as_of + dt.timedelta(days=1), tranche.due + dt.timedelta(days=funder.median_days))
    return widen.get((funder.kind, horizon_of((expected - outlook.as_of).days)), 0)


def to_cents(amount: Decimal) -> int:
    """An amount in whole cents (rounded half up to the cent first)."""
    return int(cents(amount) * HUNDRED)


def from_cents(value: int | np.integer) -> Decimal:
    """Whole cents back to a Decimal amount."""
    return Decimal(int(value)).scaleb(-2)


def quantile(values: np.ndarray, share: float | list[float], axis: int | None = None) -> np.ndarray:
    """The inverted-CDF quantile: the smallest value with at least `share` of the values at or below it."""
    result: np.ndarray = np.quantile(values, share, axis=axis, method="inverted_cdf")
    return result


def figures(balances: np.ndarray, floor_cents: int, days: Sequence[dt.date]) -> RiskFigures:
    """Summarise a (scenarios × days) matrix of balances in cents."""
    scenarios = balances.shape[0]
    below = int(np.count_nonzero((balances < floor_cents).any(axis=1)))
    lows = balances.min(axis=1)
    p5, p95 = quantile(balances, [0.05, 0.95], axis=0)
    band = tuple((day, from_cents(lo), from_cents(hi)) for day, lo, hi in zip(days, p5, p95, strict=True))
    return RiskFigures(Decimal(below) / Decimal(scenarios), from_cents(int(quantile(lows, 0.05))), band)


def base_balances(opening: Decimal, flows: Sequence[Flow], as_of: dt.date, horizon: int) -> np.ndarray:
    """Each day's balance from the opening and the flows that do not depend on a funder, in cents."""
    return np.array([to_cents(b) for _, b in project(opening, flows, as_of, horizon)], dtype=np.int64)


def simulate(
    outlook: GroupOutlook,
    scenarios: int = DEFAULT_SCENARIOS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
    widen: Mapping[tuple[str, str], int] | None = None,
) -> GroupRisk:
    """Draw every open tranche's delay from its funder's observed delays, `scenarios` times, seeded.

    A scenario draws each tranche independently (bootstrap over the funder's matched tranches, or its
    single default delay when it has no history); the tranche lands on max(A+1, date + delay) like
    the deterministic forecast. Members share the scenario index, so the group's balance in a
    scenario is the sum of its members' balances in that same scenario.

    `widen` (banquasso.forecast.backtest.widening) maps a funder kind and horizon to E days: each draw
    of a tranche of that kind and horizon then also moves by an integer drawn uniformly in −E..+E,
    where the delay model has been that wrong in the past (docs/forecast.md).
    """
    if scenarios < 1:
        raise ValueError(f"au moins 1 scénario, pas {scenarios}")
    rng = np.random.default_rng(seed)
    horizon, as_of = outlook.horizon_days, outlook.as_of
    days = [as_of + dt.timedelta(days=k) for k in range(1, horizon + 1)]
    rows = np.arange(scenarios)
    group = np.zeros((scenarios, horizon), dtype=np.int64)
    group_floor = 0
    members: dict[str, RiskFigures] = {}
    for index, books in enumerate(outlook.members):
        if progress and index % 10 == 0:
            progress(f"Simulation : membre {index + 1}/{len(outlook.members)}…")
        delta = np.zeros((scenarios, horizon + 1), dtype=np.int64)
        for tranche in books.open_tranches:
            samples = np.asarray(outlook.delays.samples(tranche.funder), dtype=np.int64)
            drawn = samples[rng.integers(0, len(samples), size=scenarios)]
            extra = tranche_widening(outlook, tranche, widen) if widen else 0
            if extra > 0:
                drawn = drawn + rng.integers(-extra, extra + 1, size=scenarios)
            offset = np.maximum(1, (tranche.due - as_of).days + drawn)
            column = np.minimum(offset, horizon + 1) - 1  # beyond the horizon → the spare last column
            delta[rows, column] += to_cents(tranche.amount)
        balances = base_balances(books.opening_balance, outlook.fixed[books.member_id], as_of, horizon)
        balances = balances[None, :] + np.cumsum(delta[:, :horizon], axis=1)
        floor = to_cents(outlook.floors[books.member_id])
        members[books.member_id] = figures(balances, floor, days)
        group += balances
        group_floor += floor
    return GroupRisk(as_of, horizon, scenarios, seed, members, figures(group, group_floor, days), widen)


def outlook_accuracy(outlook: GroupOutlook, funders: Mapping[str, Funder]) -> tuple[DelayAccuracy, ...]:
    """The delay model's past error per funder kind and horizon, from the tranches of the outlook's books."""
    statuses = {m.member_id: m.statuses for m in outlook.members}
    return delay_accuracy(delay_misses(statuses, funders, outlook.as_of))


def widened_risk(
    outlook: GroupOutlook,
    funders: Mapping[str, Funder],
    scenarios: int = DEFAULT_SCENARIOS,
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
    accuracy: Sequence[DelayAccuracy] | None = None,
) -> GroupRisk:
    """The Monte Carlo band as every page draws it: `simulate`, widened by the delay model's past error.

    `accuracy` defaults to `outlook_accuracy(outlook, funders)`; `banquasso forecast` passes the one it
    measured before applying its what-if scenarios, and `()` for `--no-widen`. `banquasso forecast --risk`,
    the Fava member, pool and scenario pages and the board's statement all go through this function
    (docs/forecast.md, « the band widens »).
    """
    measured = outlook_accuracy(outlook, funders) if accuracy is None else accuracy
    return simulate(outlook, scenarios, seed, progress, widening(measured) or None)
