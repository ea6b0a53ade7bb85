"""The pool plan: needs and lenders read from the forecast, the allocation program, and why needs stay unmet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

from beancount.core import data

from banquasso.forecast.advance_flows import read_group_with_advances
from banquasso.forecast.daily import MAX_HORIZON, GroupForecast, GroupOutlook, forecast_outlook, read_group
from banquasso.forecast.facts import fact, save_facts
from banquasso.forecast.flows import Flow
from banquasso.forecast.scenarios import Scenario, apply_scenarios, excluded_lenders
from banquasso.pool.capacity import Capacity, down, member_capacity
from banquasso.pool.dependence import books_dependence
from banquasso.pool.guard import known_earmarked, opening_net_cash, tranche_securities
from banquasso.pool.memo import content_key, memo_dir, memoised, memoised_on
from banquasso.pool.needs import Need, Security, member_needs
from banquasso.pool.program import (
    AllocationInput,
    BorrowerInput,
    FiscalYear,
    LenderInput,
    Limits,
    NeedInput,
    SecurityInput,
    active,
)
from banquasso.terms.modes import applies
from banquasso.terms.net_cash import financial_year
from banquasso.terms.policy import Policy
from banquasso.terms.rules import (  # noqa: F401 (fiscal_year_start: re-exported)
    NET_CASH_CAP,
    dependence_room,
    fiscal_year_start,
    legal_room,
)
from comptasso.books.facade import GroupBooks
from comptasso.money import money_json
from comptasso.problems import ProblemsError

if TYPE_CHECKING:  # the allocation (scipy) is imported where a program is solved, not to build or read one
    from banquasso.pool.allocation import Allocation

ZERO = Decimal("0.00")
CAPACITY_HORIZON = 180
Progress = Callable[[str], None]

REASONS = {
    "no-grant": "aucune subvention ouverte attendue après le début du besoin ne peut garantir une avance",
    "too-long": "la subvention qui la garantirait n'est attendue qu'au-delà de la durée maximale (limits.max_days)",
    "security": "garanties épuisées : les subventions ouvertes, après décote (haircut), ne couvrent pas davantage",
    "borrower-cap": "plafond d'avances par emprunteur atteint (limits.max_advance_per_borrower)",
    "min-advance": "le reste est inférieur à l'avance minimale (limits.min_advance)",
    "legal-cap": "plafond légal atteint : 50 % de la trésorerie nette des prêteurs à l'ouverture de l'exercice",
    "dependence": "seuil de dépendance atteint envers chaque prêteur (limits.max_dependence_share, "
                  "limits.dependence = \"refuse\")",
    "no-lender": "aucun prêteur n'a d'excédent au-dessus de son plancher sur toute la période "
                 "(limits.max_lender_share)",
}


@dataclass(frozen=True)
class PlannedAdvance:
    """One proposed advance, with its dates and the tranche that secures it."""

    lender: str
    borrower: str
    amount: Decimal
    disburse_on: dt.date
    repay_on: dt.date
    security: Security
    method: str


@dataclass(frozen=True)
class UnmetNeed:
    """What stays under the floor after the plan, for one need, and the rule that binds."""

    need: Need
    amount: Decimal
    reason: str

    @property
    def text(self) -> str:
        return REASONS[self.reason]


@dataclass(frozen=True)
class Plan:
    """The proposed advances and the unmet needs, as of a day."""

    as_of: dt.date
    horizon_days: int
    needs: tuple[Need, ...]
    advances: tuple[PlannedAdvance, ...]
    unmet: tuple[UnmetNeed, ...]
    status: str
    unmet_bound: Decimal = ZERO  # the proven least total unmet need (= total_unmet when `optimal`)
    pruned: bool = False  # kept in --json for readers of older plans: the allocation no longer prunes (always False)

    @property
    def gap(self) -> Decimal:
        """How much more than the optimum this plan may leave unmet (0 when `optimal`)."""
        return max(ZERO, self.total_unmet - self.unmet_bound)

    @property
    def total_need(self) -> Decimal:
        return sum((n.amount for n in self.needs), ZERO)

    @property
    def total_unmet(self) -> Decimal:
        return sum((u.amount for u in self.unmet), ZERO)

    @property
    def total_covered(self) -> Decimal:
        return self.total_need - self.total_unmet

    def to_json(self) -> dict[str, object]:
        """The JSON document of SPEC section 10, with a few extra keys."""
        return {
            "as_of": self.as_of.isoformat(), "horizon_days": self.horizon_days, "status": self.status,
            "advances": [
                {"lender": a.lender, "borrower": a.borrower, "amount": money_json(a.amount),
                 "disburse_on": a.disburse_on.isoformat(), "repay_on": a.repay_on.isoformat(),
                 "days": (a.repay_on - a.disburse_on).days, "method": a.method,
                 "secured_by": {"convention": a.security.convention,
                                "tranche_date": a.security.tranche_date.isoformat(),
                                "funder": a.security.funder, "expected_on": a.security.expected.isoformat(),
                                "open_amount": money_json(a.security.open_amount),
                                "haircut": str(a.security.haircut)}}
                for a in self.advances
            ],
            "needs": [{"member": n.member, "from": n.start.isoformat(), "to": n.end.isoformat(),
                       "amount": money_json(n.amount)} for n in self.needs],
            "unmet": [{"member": u.need.member, "from": u.need.start.isoformat(), "to": u.need.end.isoformat(),
                       "amount": money_json(u.amount), "reason": u.text, "reason_code": u.reason}
                      for u in self.unmet],
            "total_need": money_json(self.total_need), "total_covered": money_json(self.total_covered),
            "total_unmet": money_json(self.total_unmet),
            "unmet_bound": money_json(self.unmet_bound), "gap": money_json(self.gap), "pruned": self.pruned,
        }


def lent_since(books: GroupBooks, member: str, since: dt.date, as_of: dt.date, account: str) -> Decimal:
    """What a member has advanced (debits to its lender-principal accounts) from `since` to `as_of`; a fact
    of its ledger (`forecast.facts`)."""
    entries = books.ledgers[member].entries
    return fact(entries, ("lent", since, as_of, account), lambda: _lent_since(entries, since, as_of, account))


def _lent_since(entries: Sequence[data.Directive], since: dt.date, as_of: dt.date, account: str) -> Decimal:
    total = ZERO
    for entry in entries:
        if since <= entry.date <= as_of and isinstance(entry, data.Transaction):
            for posting in entry.postings:
                number = posting.units.number if posting.units is not None else None
                if number is not None and number > 0 and (
                        posting.account == account or posting.account.startswith(account + ":")):
                    total += number
    return total


def fiscal_years(books: GroupBooks, member: str, forecast_days: Sequence[tuple[dt.date, Decimal]],
                 as_of: dt.date, policy: Policy) -> tuple[FiscalYear, ...]:
    """The member's own financial years (`exercice_debut`) over the forecast, with their legal net cash at
    the opening (`opening_net_cash`, the guard's) and what was lent in them."""
    who = books.group.member(member)
    first_day = as_of + dt.timedelta(days=1)
    out, index, horizon = [], 0, len(forecast_days)
    while index < horizon:
        period = financial_year(who, first_day + dt.timedelta(days=index))
        opening, following = period.start, period.end + dt.timedelta(days=1)
        last = min(horizon - 1, (following - first_day).days - 1)
        eve = opening - dt.timedelta(days=1)
        cash = opening_net_cash(books, policy, member, opening, as_of, forecast_days)
        if eve <= as_of:
            lent = lent_since(books, member, opening, as_of, policy.accounts.lender_principal)
            out.append(FiscalYear(index, last, cash, None, lent))
        else:
            out.append(FiscalYear(index, last, cash, (eve - first_day).days, ZERO))
        index = last + 1
    return tuple(out)


def _security_input(security: Security, as_of: dt.date) -> SecurityInput:
    return SecurityInput(security.member, f"{security.convention}@{security.tranche_date.isoformat()}",
                         (security.repay_on - as_of).days - 1, security.cap)


def member_securities(outlook: GroupOutlook, books: GroupBooks, member: str, policy: Policy) -> list[Security]:
    """The open tranches of a member as securities (the commitment guard reads the same)."""
    return tranche_securities(outlook, books, member, policy)


def read_forecast(books: GroupBooks, as_of: dt.date, horizon: int, policy: Policy,
                  extra_flows: Mapping[str, Sequence[Flow]] | None = None,
                  scenarios: Sequence[Scenario] = ()) -> tuple[GroupOutlook, GroupForecast]:
    """The forecast over `horizon` days with the registry's advances (or the given `extra_flows`),
    under the what-if `scenarios` (banquasso.forecast.scenarios), applied in order.

    Raises ProblemsError when the books cannot be read.
    """
    if extra_flows is None:
        outlook, problems = read_group_with_advances(books, as_of, horizon, policy.floor)
    else:
        outlook, problems = read_group(books, as_of, horizon, policy.floor, extra_flows)
    if outlook is None:
        raise ProblemsError(problems)
    outlook = apply_scenarios(outlook, scenarios)
    return outlook, forecast_outlook(outlook)


@dataclass(frozen=True)
class PlanInputs:
    """The allocation program built from the forecast, with the needs and securities it indexes."""

    problem: AllocationInput
    needs: tuple[Need, ...]
    securities: tuple[Security, ...]
    first_day: dt.date


def plan_inputs(books: GroupBooks, policy: Policy, as_of: dt.date, horizon: int = 91,
                progress: Progress | None = None,
                extra_flows: Mapping[str, Sequence[Flow]] | None = None,
                scenarios: Sequence[Scenario] = ()) -> PlanInputs:
    """Needs within `horizon` days; lenders' floors checked as long as an advance may last (+ limits.max_days).

    A member below its floor on some day of the horizon borrows; every other member may lend.
    """
    window = min(MAX_HORIZON, horizon + policy.limits.max_days)
    if progress:
        progress(f"Prévision de trésorerie sur {window} jours…")
    outlook, forecast = read_forecast(books, as_of, window, policy, extra_flows, scenarios)
    no_lend = excluded_lenders(scenarios)
    first_day = as_of + dt.timedelta(days=1)
    needs: list[Need] = []
    securities: list[Security] = []
    lenders: list[LenderInput] = []
    borrowers: list[BorrowerInput] = []
    for member in forecast.members:
        balances = [b for _, b in member.days]
        mine = member_securities(outlook, books, member.member_id, policy)
        found = member_needs(member.member_id, member.floor, balances[:horizon], first_day, mine,
                             policy.limits.max_days)
        if found:
            needs.extend(found)
            securities.extend(mine)
            borrowers.append(BorrowerInput(member.member_id, tuple(member.floor - b for b in balances)))
        elif member.member_id not in no_lend:
            years = fiscal_years(books, member.member_id, member.days, as_of, policy)
            lenders.append(LenderInput(member.member_id, tuple(b - member.floor for b in balances), years))

    lenders = lenders_by_policy(books, policy, as_of, lenders)
    index = {s: i for i, s in enumerate(securities)}
    need_inputs = tuple(
        NeedInput(n.member, n.episode.start, n.episode.end, tuple(index[s] for s in n.securities)) for n in needs)
    limits = policy.limits
    problem = AllocationInput(
        window, tuple(lenders), tuple(borrowers), tuple(_security_input(s, as_of) for s in securities),
        need_inputs,
        Limits(limits.max_lender_share, limits.max_days, limits.min_advance, limits.max_advance_per_borrower,
               limits.max_lent_share_of_net_cash, dependence_rooms(books, policy, lenders, borrowers, as_of)),
    )
    return PlanInputs(problem, tuple(needs), tuple(securities), first_day)


def lenders_by_policy(books: GroupBooks, policy: Policy, as_of: dt.date,
                      lenders: Sequence[LenderInput]) -> list[LenderInput]:
    """Each lender's surplus less its earmarked cash (not lendable, `terms.net_cash.earmarked_cash`), and
    no financial year to bound it when the mode has no 50 % cap (convention de trésorerie, `terms.modes`)."""
    legal = applies(policy, NET_CASH_CAP)
    out = []
    for lender in lenders:
        kept = known_earmarked(books, lender.id, as_of)
        out.append(replace(lender, surplus=tuple(s - kept for s in lender.surplus),
                           fiscal_years=lender.fiscal_years if legal else ()))
    return out


def dependence_rooms(books: GroupBooks, policy: Policy, lenders: Sequence[LenderInput],
                     borrowers: Sequence[BorrowerInput], as_of: dt.date) -> tuple[tuple[str, str, Decimal], ...]:
    """When `limits.dependence = "refuse"`: the most each borrower may still owe each lender (the rule
    `dependence_room`, over its books on the as-of day), so that no advance past the threshold is proposed."""
    limits = policy.limits
    if limits.dependence != "refuse":
        return ()
    rooms = []
    for borrower in borrowers:
        for lender in lenders:
            figures = books_dependence(books, policy, borrower.id, lender.id, as_of)
            rooms.append((lender.id, borrower.id,
                          dependence_room(figures.resources, limits.max_dependence_share, figures.owed_to_lender)))
    return tuple(rooms)


def plan_group(books: GroupBooks, policy: Policy, as_of: dt.date, horizon: int = 91,
               progress: Progress | None = None,
               extra_flows: Mapping[str, Sequence[Flow]] | None = None,
               scenarios: Sequence[Scenario] = (), memo: Path | None = None) -> Plan:
    """The plan: the optimal advances for the needs within `horizon` days, and why the rest stays unmet.

    The forecast includes the registry's approved and running advances, or `extra_flows` when given.
    With a `memo` folder (`pool.memo`), the solving step is answered from it when the program built
    from the books is the one already solved (`program_key`): only the books are read again.
    """
    inputs = plan_inputs(books, policy, as_of, horizon, progress, extra_flows, scenarios)
    if memo is None:
        return solve_plan(inputs, policy, as_of, horizon, progress)
    save_facts(books)  # the facts the program was built from (net cash, earmarked cash, lent), for the next process
    return memoised_on(memo, program_key(inputs, policy, as_of, horizon), Plan,
                       lambda: solve_plan(inputs, policy, as_of, horizon, progress))


def program_key(inputs: PlanInputs, policy: Policy, as_of: dt.date, horizon: int) -> str:
    """The memo key of solving `inputs`: everything `solve_plan` reads (the program, its needs and
    securities, the policy, the day and horizon) and the engine's code (`pool.memo.content_key`)."""
    return content_key("plan-program", as_of, horizon, policy.model_dump_json(), inputs)


def solve_plan(inputs: PlanInputs, policy: Policy, as_of: dt.date, horizon: int,
               progress: Progress | None = None) -> Plan:
    """The plan of a built program: the allocation, its advances dated, and the reason of each unmet need."""
    from banquasso.pool.allocation import allocate

    problem, needs, securities, first_day = inputs.problem, inputs.needs, inputs.securities, inputs.first_day
    if progress:
        progress(f"Programme linéaire : {len(needs)} besoin(s), {len(problem.lenders)} prêteur(s)…")
    allocation = allocate(problem)
    advances = tuple(
        PlannedAdvance(a.lender, a.borrower, a.amount, first_day + dt.timedelta(days=a.start),
                       securities[a.security].repay_on, securities[a.security], policy.terms.default_method)
        for a in sorted(allocation.advances, key=lambda a: (a.start, a.borrower, a.lender, a.security))
    )
    lifted = LegalQuestion(problem, allocation)
    unmet = tuple(
        UnmetNeed(need, amount, binding_reason(explain(problem, allocation, n, need, securities, policy),
                                               partial(lifted.binds, n)))
        for n, (need, amount) in enumerate(zip(needs, allocation.unmet, strict=True)) if amount > 0
    )
    return Plan(as_of, horizon, needs, advances, unmet, allocation.status, allocation.bound, allocation.pruned)


class LegalQuestion:
    """Whether lifting the legal cap would cover more of a need: asked of the program at most once.

    The legal cap binds a need when the lifted program's least unmet need is lower than the plan's
    (by more than a cent, as the program counts it: `Allocation.optimum`) and its plan covers more
    of that need. First a floor under the lifted program's least unmet need: the one phase 1's
    relaxation prices without solving anything (`Allocation.lifted_floor`), else the optimum of the
    lifted program's own linear relaxation. When that floor is the plan's (within a cent) the cap
    binds no need and no mixed-integer search runs. Otherwise phase 1 of the lifted
    program answers (least unmet need alone: phases 2 and 3 never change it). A program no legal
    cap bounds (no lender with a financial year: a convention de trésorerie) has nothing to lift.
    """

    def __init__(self, problem: AllocationInput, allocation: Allocation) -> None:
        self.problem, self.allocation = problem, allocation

    @cached_property
    def lifted(self) -> Allocation | None:
        """The lifted program's least-unmet plan, or None when it cannot leave less unmet in all."""
        from banquasso.pool.allocation import allocate, least_unmet_floor

        if not any(lender.fiscal_years for lender in self.problem.lenders):  # no cap in the program to lift
            return None
        lifted = without_legal_cap(self.problem)
        least = self.allocation.optimum
        priced = self.allocation.lifted_floor  # from phase 1's relaxation, when it could price the lifted program
        floor = priced if priced is not None and priced >= least - 1.0 else least_unmet_floor(lifted)
        if floor is not None and floor >= least - 1.0:
            return None
        found = allocate(lifted, unmet_only=True)
        return found if found.optimum < least - 1.0 else None

    def binds(self, n: int) -> bool:
        lifted = self.lifted
        return lifted is not None and lifted.unmet[n] < self.allocation.unmet[n] - Decimal("0.01")


def without_legal_cap(problem: AllocationInput) -> AllocationInput:
    """The same program with the legal net-cash cap lifted (no financial year bounds any lender)."""
    return replace(problem, lenders=tuple(replace(lender, fiscal_years=()) for lender in problem.lenders))


def binding_reason(reason: str, legal_binds: Callable[[], bool]) -> str:
    """The reason of an unmet need, the legal cap being named only when it binds.

    When `explain` finds no other rule ("no-lender") or names the legal cap, the program is asked
    again with the legal cap lifted (`LegalQuestion`): the legal cap is the reason exactly when lifting
    it leaves less unmet in all and covers more of the need.
    """
    if reason not in ("no-lender", "legal-cap"):
        return reason
    return "legal-cap" if legal_binds() else "no-lender"


def explain(problem: AllocationInput, allocation: Allocation, n: int,  # noqa: PLR0911 -- one return per reason
            need: Need, securities: Sequence[Security], policy: Policy) -> str:
    """The rule that stops the plan from covering more of a need (a key of REASONS)."""
    later = [s for s in securities if s.member == need.member and s.repay_on > need.start and s.cap > 0]
    if not later:
        return "no-grant"
    if not need.securities:
        return "too-long"
    used = dict.fromkeys(range(len(problem.securities)), ZERO)
    for adv in allocation.advances:
        used[adv.security] += adv.amount
    sec_left = sum((problem.securities[s].cap - used[s] for s in problem.needs[n].securities), ZERO)
    if sec_left < Decimal("0.01"):
        return "security"
    shortfall = next(b.shortfall for b in problem.borrowers if b.id == need.member)
    days = range(need.episode.start, need.episode.end + 1)
    worst = max(days, key=lambda d: shortfall[d])
    borrowed = sum((a.amount for a in allocation.advances
                    if a.borrower == need.member and active(a.start, a.repay, worst)), ZERO)
    if borrowed >= policy.limits.max_advance_per_borrower - Decimal("0.01"):
        return "borrower-cap"
    least = max(policy.limits.min_advance, Decimal("0.01"))
    if problem.limits.pair_rooms and all(_pair_room_left(problem, allocation, lender.id, need.member) < least
                                         for lender in problem.lenders):
        return "dependence"
    mine = [c for c in allocation.candidates if c.need == n]
    if not mine:
        return "no-lender"
    if min(sec_left, max(c.upper for c in mine)) < policy.limits.min_advance:
        return "min-advance"
    if all(_legal_room_left(problem, allocation, c.lender, c.start) < max(policy.limits.min_advance, Decimal("0.01"))
           for c in mine):
        return "legal-cap"
    return "no-lender"


def _pair_room_left(problem: AllocationInput, allocation: Allocation, lender: str, borrower: str) -> Decimal:
    """What the dependence test still lets `borrower` owe `lender` once the plan's advances are counted."""
    planned = sum((a.amount for a in allocation.advances if (a.lender, a.borrower) == (lender, borrower)), ZERO)
    return problem.limits.pair_room(lender, borrower) - planned


def _legal_room_left(problem: AllocationInput, allocation: Allocation, lender_index: int, day: int) -> Decimal:
    lender = problem.lenders[lender_index]
    fy = next((f for f in lender.fiscal_years if f.first <= day <= f.last), None)
    if fy is None:
        return Decimal("1e12")
    share = problem.limits.legal_share
    paid = sum((a.amount for a in allocation.advances
                if a.lender == lender.id and fy.first <= a.start <= fy.last), ZERO)
    if fy.eve is not None:
        paid += share * sum((a.amount for a in allocation.advances
                             if a.lender == lender.id and active(a.start, a.repay, fy.eve)), ZERO)
    return legal_room(fy.opening_cash, share, fy.already_lent) - paid


def group_capacity(books: GroupBooks, policy: Policy, as_of: dt.date,
                   scenarios: Sequence[Scenario] = ()) -> Capacity:
    """What each member can advance from A+1 for 30, 60, 90 and 180 days, after the policy limits
    (nothing for a member a scenario takes out of the lenders)."""
    _, forecast = read_forecast(books, as_of, CAPACITY_HORIZON, policy, scenarios=scenarios)
    no_lend = excluded_lenders(scenarios)
    share = policy.limits.max_lent_share_of_net_cash
    members = []
    for member in forecast.members:
        cap = None
        if member.member_id in no_lend:
            cap = ZERO
        elif applies(policy, NET_CASH_CAP):  # no 50 % cap in a convention de trésorerie (terms.modes)
            first = fiscal_years(books, member.member_id, member.days, as_of, policy)[0]
            cap = down(legal_room(first.opening_cash, share, first.already_lent))
        kept = known_earmarked(books, member.member_id, as_of)
        members.append(member_capacity(member.member_id, [b for _, b in member.days], member.floor, policy, cap,
                                       kept))
    return Capacity(as_of, tuple(members))


def memoised_plan(books: GroupBooks, policy: Policy, as_of: dt.date, horizon: int = 91,
                  progress: Progress | None = None) -> Plan:
    """`plan_group` with the registry's advances, answered from the memo when no input changed (pool.memo),
    and solved only when the program built from the books changed (`program_key`)."""
    return memoised("plan", books, policy, as_of,
                    lambda: plan_group(books, policy, as_of, horizon, progress, memo=memo_dir(books)),
                    horizon=horizon)


def memoised_capacity(books: GroupBooks, policy: Policy, as_of: dt.date) -> Capacity:
    """`group_capacity`, answered from the memo when no input changed (pool.memo)."""
    return memoised("capacity", books, policy, as_of, lambda: group_capacity(books, policy, as_of),
                    horizon=CAPACITY_HORIZON)
