"""Stress tests: the standard set of what-ifs, and what each does to every member, the group and the advances.

The standard set (`standard_scenarios`): each funder kind holding an open tranche 90 days late; the
largest open tranche of each member cancelled; the payroll previsions (lines on 64x) scaled by 1.1.
For each, `stress` reports per member and for the group the low point, the days under the floor
and the need no plan can cover (the plan's unmet need under the scenario), and the advances — of
the plan of the day and running in the registry — whose securing tranche would come after their
repayment date (`banquasso.forecast.secured`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from banquasso.forecast.daily import DEFAULT_HORIZON, GroupForecast, GroupOutlook
from banquasso.forecast.scenarios import Cancel, DelayShift, Scale, Scenario
from banquasso.forecast.secured import (
    AdvanceAtRisk,
    SecuredAdvance,
    advances_at_risk,
    expected_tranches,
    registry_views,
    running_secured,
)
from banquasso.pool.plan import Plan, plan_group, read_forecast
from banquasso.terms.policy import Policy
from comptasso.books.facade import GroupBooks
from comptasso.books.reference import FUNDER_KINDS
from comptasso.model.chart import is_payroll
from comptasso.money import money_json

ZERO = Decimal("0.00")
LATE_DAYS = 90
PAYROLL_FACTOR = Decimal("1.1")
KIND_NAMES = {"etat": "État", "region": "Région", "departement": "Département", "commune": "Communes",
              "epci": "Intercommunalités", "caf": "CAF", "europe": "Europe", "fondation": "Fondations",
              "autre": "Autres financeurs"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Lows:
    """What a scenario does to one member (or to the group): low point, days under the floor, unmet need."""

    id: str
    min_balance: Decimal
    min_date: dt.date
    days_below_floor: int
    unmet: Decimal

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "min_balance": money_json(self.min_balance), "min_date": self.min_date.isoformat(),
                "days_below_floor": self.days_below_floor, "unmet": money_json(self.unmet)}


@dataclass(frozen=True)
class StressResult:
    """One scenario's outcome (the baseline when `scenario` is None)."""

    scenario: Scenario | None
    members: tuple[Lows, ...]
    group: Lows
    at_risk: tuple[AdvanceAtRisk, ...]

    @property
    def amount_at_risk(self) -> Decimal:
        return sum((a.secured.amount for a in self.at_risk), ZERO)

    def to_json(self) -> dict[str, object]:
        return {"scenario": self.scenario.to_json() if self.scenario else None,
                "members": [m.to_json() for m in self.members], "group": self.group.to_json(),
                "advances_at_risk": [a.to_json() for a in self.at_risk],
                "amount_at_risk": money_json(self.amount_at_risk)}


@dataclass(frozen=True)
class Stress:
    """The baseline and every scenario of a stress test, as of a day."""

    as_of: dt.date
    horizon_days: int
    baseline: StressResult
    results: tuple[StressResult, ...]
    secured: tuple[SecuredAdvance, ...]

    def to_json(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "horizon_days": self.horizon_days,
                "baseline": self.baseline.to_json(), "scenarios": [r.to_json() for r in self.results],
                "advances_checked": len(self.secured)}


def standard_scenarios(outlook: GroupOutlook) -> tuple[Scenario, ...]:
    """The standard set, built from the books: kinds with an open tranche, largest tranches, payroll labels."""
    funders = outlook.delays.funders
    kinds = {funders[t.funder].kind for m in outlook.members for t in m.open_tranches
             if t.funder is not None and t.funder in funders}
    out = [Scenario(f"retard-{kind}-{LATE_DAYS}", f"{KIND_NAMES[kind]} : {LATE_DAYS} jours de retard",
                    delays=(DelayShift(LATE_DAYS, kind=kind),))
           for kind in FUNDER_KINDS if kind in kinds]
    cancels = []
    for books in outlook.members:
        if books.open_tranches:
            largest = max(books.open_tranches, key=lambda t: (t.amount, -t.due.toordinal(), t.convention))
            cancels.append(Cancel(largest.convention, largest.due))
    if cancels:
        out.append(Scenario("annulation-plus-grosse-tranche", "la plus grosse tranche ouverte de chaque membre annulée",
                            cancels=tuple(dict.fromkeys(cancels))))
    scales = tuple(dict.fromkeys(Scale(p.label, PAYROLL_FACTOR, books.member_id)
                                 for books in outlook.members for p in books.previsions if is_payroll(p.account)))
    if scales:
        out.append(Scenario("masse-salariale-10", "prévisions de personnel (comptes 64) + 10 %", scales=scales))
    return tuple(out)


def plan_secured(plan: Plan) -> tuple[SecuredAdvance, ...]:
    """The advances of a plan with the tranche each is secured by."""
    return tuple(SecuredAdvance("plan", "", a.lender, a.borrower, a.amount, a.repay_on, a.security.convention,
                                a.security.tranche_date) for a in plan.advances)


def lows(forecast: GroupForecast, plan: Plan) -> tuple[tuple[Lows, ...], Lows]:
    """Each member's and the group's low point, days under the floor and unmet need."""
    unmet: dict[str, Decimal] = {}
    for item in plan.unmet:
        unmet[item.need.member] = unmet.get(item.need.member, ZERO) + item.amount
    members = tuple(Lows(m.member_id, m.min_balance, m.min_date, m.days_below_floor, unmet.get(m.member_id, ZERO))
                    for m in forecast.members)
    return members, Lows("groupe", forecast.min_balance, forecast.min_date, forecast.days_below_floor,
                         plan.total_unmet)


def run_one(books: GroupBooks, policy: Policy, as_of: dt.date, horizon: int, scenario: Scenario | None,
            secured: Sequence[SecuredAdvance], funders: dict[tuple[str, str, dt.date], str | None],
            plan: Plan | None = None) -> StressResult:
    """One scenario's forecast over `horizon` days, its plan, and the advances it puts at risk."""
    chosen = [scenario] if scenario else []
    outlook, forecast = read_forecast(books, as_of, horizon, policy, scenarios=chosen)
    plan = plan or plan_group(books, policy, as_of, horizon, scenarios=chosen)
    members, group = lows(forecast, plan)
    return StressResult(scenario, members, group, advances_at_risk(secured, outlook, funders))


def stress(books: GroupBooks, policy: Policy, as_of: dt.date, horizon: int = DEFAULT_HORIZON,
           scenarios: Sequence[Scenario] | None = None, progress: Progress | None = None) -> Stress:
    """The stress test: the baseline, then each scenario (the standard set when none is given).

    The advances checked are those of the baseline plan and the registry's running ones (as of A).
    Raises ProblemsError when the books cannot be read.
    """
    outlook, _ = read_forecast(books, as_of, horizon, policy)
    base_plan = plan_group(books, policy, as_of, horizon)
    secured = plan_secured(base_plan) + running_secured(registry_views(books.group.ledgers_dir, as_of), as_of)
    funders = {key: funder for key, (_, funder) in expected_tranches(outlook).items()}
    chosen = standard_scenarios(outlook) if scenarios is None else tuple(scenarios)
    baseline = run_one(books, policy, as_of, horizon, None, secured, funders, base_plan)
    results = []
    for index, scenario in enumerate(chosen, 1):
        if progress:
            progress(f"Scénario {index}/{len(chosen)} : {scenario.name}…")
        results.append(run_one(books, policy, as_of, horizon, scenario, secured, funders))
    return Stress(as_of, horizon, baseline, tuple(results), secured)
