"""What the BanquAsso pages in Fava show, computed by the same engine functions as the CLI."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from beancount.core import data

from banquasso.forecast.advance_flows import read_group_with_advances, registry_flows
from banquasso.forecast.backtest import DelayAccuracy, delay_accuracy, delay_misses
from banquasso.forecast.daily import DEFAULT_HORIZON, GroupForecast, GroupOutlook, MemberForecast, forecast_outlook
from banquasso.forecast.delays import DelayModel, delay_model
from banquasso.forecast.flows import MemberBooks, OpenTranche, fixed_flows, read_member, tranche_flow
from banquasso.forecast.risk import DEFAULT_SCENARIOS, DEFAULT_SEED, GroupRisk, widened_risk
from banquasso.pool.capacity import Capacity
from banquasso.pool.dependence import registry_dependence
from banquasso.pool.plan import Plan, memoised_capacity, memoised_plan
from banquasso.registry import lifecycle
from banquasso.registry.db import database_url, open_registry
from banquasso.registry.location import registry_exists
from banquasso.registry.service import load_views
from banquasso.registry.snapshot import AdvanceView
from banquasso.statement.legal_pdf import decisions_text, long_date
from banquasso.statement.legal_table import decisions_of
from banquasso.terms.dependence import Dependence
from banquasso.terms.floors import member_floor
from banquasso.terms.policy import Policy, load_policy
from banquasso.terms.rules import check_dependence
from banquasso.watch.monitoring import AdvanceOnDay, advances_on, member_alerts
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.group import GROUP_FILE
from comptasso.model.grants import Grant
from comptasso.model.member import member_model
from comptasso.problems import Problem, ProblemsError

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Place:
    """Where a served Beancount file sits in the group: its ledgers folder, rules folder and member."""

    ledgers_dir: Path
    rules_dir: Path
    member_id: str | None  # None: the group view


def rules_folder(ledgers_dir: Path, served: Path | None = None) -> Path:
    """The rules folder of `comptasso serve --rules` (`served`), else `rules/` beside the ledgers folder."""
    return served if served is not None else ledgers_dir.parent / "rules"


def ledgers_folder(beancount_file: Path) -> Path | None:
    """The ledgers folder of a served file: the nearest folder above it holding group.toml."""
    for folder in list(Path(beancount_file).resolve().parents)[:3]:
        if (folder / GROUP_FILE).is_file():
            return folder
    return None


@dataclass(frozen=True)
class TrancheRow:
    """An open grant tranche and when the forecast expects it."""

    convention: str
    funder: str
    funder_name: str
    due: dt.date
    open_amount: Decimal
    delay_days: int
    delay_source: str
    expected: dt.date


@dataclass(frozen=True)
class GrantRow:
    """A notified grant, what its tranches already cover, and what is left to schedule."""

    grant: Grant
    scheduled: Decimal

    @property
    def left(self) -> Decimal:
        return self.grant.amount - self.scheduled


@dataclass(frozen=True)
class Standing:
    """What the board decided on an advance, and the borrower's dependence on its lender that day.

    `decision` is the decisions' sentence of the annex (`decisions_text`, meeting dates the French way);
    `dependence` comes from `banquasso.pool.dependence.registry_dependence` and `over` from the rule
    `banquasso.terms.rules.check_dependence` (past `limits.max_dependence_share`): the guard's functions.
    """

    decision: str
    dependence: Dependence
    over: bool
    max_share: Decimal


def standing(inputs: Inputs, view: AdvanceView, as_of: dt.date) -> Standing:
    """The decision and dependence shown beside an advance, as of `as_of` (advances proposed by then)."""
    known = [v for v in inputs.views if v.proposed_on <= as_of]
    figures = registry_dependence(inputs.books, known, view.borrower, view.lender, as_of)
    limits = inputs.policy.limits
    breach = check_dependence(figures, limits.max_dependence_share, limits.dependence)
    return Standing(decisions_text(*decisions_of(view), day_text=long_date), figures, breach is not None,
                    limits.max_dependence_share)


@dataclass(frozen=True)
class AdvanceRow:
    """An advance seen from one member: given (lender) or received (borrower), at the end of the day."""

    advance: AdvanceOnDay
    side: str  # "donnée" or "reçue"
    counterpart: str
    standing: Standing

    @property
    def view(self) -> AdvanceView:
        return self.advance.view


@dataclass(frozen=True)
class MemberPage:
    """Everything the member page shows."""

    as_of: dt.date
    member: MemberForecast
    forecast: GroupForecast
    risk: GroupRisk
    tranches: tuple[TrancheRow, ...]
    grants: tuple[GrantRow, ...]
    advances: tuple[AdvanceRow, ...]
    alerts: tuple[str, ...]


@dataclass(frozen=True)
class OutstandingRow:
    """An advance still owed at the end of the day."""

    id: str
    lender: str
    borrower: str
    outstanding: Decimal
    repay_on: dt.date
    status: str
    standing: Standing


@dataclass(frozen=True)
class PoolPage:
    """Everything the group's pool page shows."""

    as_of: dt.date
    names: dict[str, str]
    forecast: GroupForecast
    capacity: Capacity
    plan: Plan
    outstanding: tuple[OutstandingRow, ...]
    risk: GroupRisk

    @property
    def total_outstanding(self) -> Decimal:
        return sum((r.outstanding for r in self.outstanding), ZERO)


@dataclass(frozen=True)
class Inputs:
    """The books, the policy and the registry's advances, read once for a page."""

    books: GroupBooks
    policy: Policy
    views: tuple[AdvanceView, ...]


def read_inputs(place: Place) -> tuple[Inputs | None, list[Problem]]:
    """Open the books and the policy as `banquasso` does; the registry only when it exists."""
    books, problems = open_books(place.ledgers_dir, place.rules_dir)
    errors = [p for p in problems if p.is_error]
    if books is None or errors:
        return None, errors or problems
    policy, more = load_policy(place.rules_dir)
    if policy is None or any(p.is_error for p in more):
        return None, more
    return Inputs(books, policy, tuple(registry_views(place.ledgers_dir))), []


def registry_views(ledgers_dir: Path) -> list[AdvanceView]:
    """The registry's advances; none when there is no registry yet (nothing is created)."""
    url = database_url(ledgers_dir)
    if not registry_exists(ledgers_dir):
        return []
    registry = open_registry(ledgers_dir, url)
    try:
        return load_views(registry)
    finally:
        registry.close()


def tranche_rows(tranches: Sequence[OpenTranche], delays: DelayModel, as_of: dt.date) -> tuple[TrancheRow, ...]:
    """Open tranches with the funder's delay and the expected date the forecast uses."""
    rows = []
    for tranche in tranches:
        funder = delays.funders.get(tranche.funder or "")
        delay = delays.delay(tranche.funder)
        rows.append(TrancheRow(
            tranche.convention, tranche.funder or "", funder.name if funder else (tranche.funder or "?"),
            tranche.due, tranche.amount, delay,
            funder.source if funder else "default", tranche_flow(tranche, delay, as_of).date))
    return tuple(sorted(rows, key=lambda r: (r.expected, r.convention, r.due)))


def grant_rows(entries: Sequence[data.Directive], as_of: dt.date | None = None) -> tuple[GrantRow, ...]:
    """The member's notified grants (known at the end of `as_of`) and what their tranches already schedule."""
    book = member_model(entries, as_of).grants
    scheduled: dict[str, Decimal] = {}
    for tranche in book.tranches:
        scheduled[tranche.convention] = scheduled.get(tranche.convention, ZERO) + tranche.amount
    return tuple(GrantRow(g, scheduled.get(c, ZERO)) for c, g in sorted(book.grants.items()))


def _outlook(inputs: Inputs, as_of: dt.date) -> GroupOutlook:
    """The group's books as of `as_of` with the registry's advances; ProblemsError if they cannot be read."""
    outlook, problems = read_group_with_advances(inputs.books, as_of, DEFAULT_HORIZON, inputs.policy.floor)
    if outlook is None:
        raise ProblemsError(problems)
    return outlook


@dataclass(frozen=True)
class FundersHistory:
    """What the group's history says of the funders as of a day: the delay model and its past error.

    Both are learnt over every member's tranches; a member page needs them, not the other members' forecasts.
    """

    delays: DelayModel
    accuracy: tuple[DelayAccuracy, ...]


#: How many (day, tranches, funders) histories are kept; a changed tranche makes a new key, the old one ages out.
HISTORIES_KEPT = 8
_HISTORIES: OrderedDict[Hashable, FundersHistory] = OrderedDict()
_HISTORIES_LOCK = threading.Lock()


def funders_history(books: GroupBooks, as_of: dt.date) -> FundersHistory:
    """The delay model and its past error as of `as_of`, memoised on what they are learnt from.

    The same figures as `read_group` (delays) and `outlook_accuracy` (the band's widening) compute, from
    every member's tranche statuses (its memoised model, `comptasso.model.member.member_model`: after a
    save only the saved member is read again) and the funders. The key is that content: a save that
    changes no tranche nor receipt of a grant (an expense, a comment) finds the same history.
    """
    statuses = {m.id: member_model(books.ledgers[m.id].entries, as_of).statuses for m in books.members}
    funders = books.reference.funders
    key = (as_of, tuple(funders.items()), tuple(statuses.items()))
    with _HISTORIES_LOCK:
        hit = _HISTORIES.get(key)
        if hit is not None:
            _HISTORIES.move_to_end(key)
            return hit
    history = FundersHistory(delay_model(statuses, funders, as_of),
                             delay_accuracy(delay_misses(statuses, funders, as_of)))
    with _HISTORIES_LOCK:
        _HISTORIES[key] = history
        while len(_HISTORIES) > HISTORIES_KEPT:
            _HISTORIES.popitem(last=False)
    return history


def member_outlook(inputs: Inputs, member_id: str, as_of: dt.date,
                   history: FundersHistory) -> GroupOutlook:
    """One member's outlook as `read_group_with_advances` builds it for the group, the others not read.

    Its delays are the group's (`funders_history`); its fixed flows include the registry's advances as of
    `as_of`. ProblemsError when the member's books cannot be read.
    """
    books = inputs.books
    read, problems = read_member(member_id, books.ledgers[member_id].entries, as_of)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ProblemsError(errors)
    ledgers = {m.id: books.ledgers[m.id].entries for m in books.members}
    extra = registry_flows(books.group.ledgers_dir, ledgers, as_of).get(member_id, [])
    until = as_of + dt.timedelta(days=DEFAULT_HORIZON)
    return GroupOutlook(
        as_of, DEFAULT_HORIZON, (read,), {m.id: m.name for m in books.members},
        {member_id: member_floor(read.payroll_12m, inputs.policy.floor)},
        {member_id: tuple(fixed_flows(read, until, extra))}, history.delays)


def member_page(inputs: Inputs, member_id: str, as_of: dt.date,
                scenarios: int = DEFAULT_SCENARIOS, seed: int = DEFAULT_SEED) -> MemberPage:
    """The member page: the member's forecast and widened band, its tranches, advances and alerts.

    Only this member is forecast and simulated (its own draws, seeded by `seed`): the funders' delays and
    the band's widening come from the group's history (`funders_history`), the rest of the group is not
    projected. `forecast` is therefore the forecast of this member alone.
    """
    books = inputs.books
    history = funders_history(books, as_of)
    outlook = member_outlook(inputs, member_id, as_of, history)
    forecast = forecast_outlook(outlook)
    risk = widened_risk(outlook, books.reference.funders, scenarios, seed, accuracy=history.accuracy)
    member = forecast.member(member_id)
    mine: MemberBooks = outlook.members[0]
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    known = advances_on(inputs.views, entries, as_of)
    rows = tuple(
        AdvanceRow(a, "donnée" if a.view.lender == member_id else "reçue",
                   a.view.borrower if a.view.lender == member_id else a.view.lender, standing(inputs, a.view, as_of))
        for a in known if member_id in (a.view.lender, a.view.borrower))
    return MemberPage(
        as_of, member, forecast, risk, tranche_rows(mine.open_tranches, outlook.delays, as_of),
        grant_rows(books.ledgers[member_id].entries, as_of), rows, tuple(member_alerts(member, known)))


def pool_page(inputs: Inputs, as_of: dt.date,
              scenarios: int = DEFAULT_SCENARIOS, seed: int = DEFAULT_SEED) -> PoolPage:
    """The pool page: the forecast's lows and widened band, `banquasso capacity`, `banquasso plan`, advances."""
    books, policy = inputs.books, inputs.policy
    outlook = _outlook(inputs, as_of)
    forecast = forecast_outlook(outlook)
    risk = widened_risk(outlook, books.reference.funders, scenarios, seed)
    capacity = memoised_capacity(books, policy, as_of)
    plan = memoised_plan(books, policy, as_of, DEFAULT_HORIZON)
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    outstanding = tuple(
        OutstandingRow(a.view.id, a.view.lender, a.view.borrower, a.outstanding, a.view.repay_on, a.label,
                       standing(inputs, a.view, as_of))
        for a in advances_on(inputs.views, entries, as_of)
        if a.outstanding > 0 or a.status == lifecycle.APPROVED)
    return PoolPage(as_of, {m.id: m.name for m in books.members}, forecast, capacity, plan, outstanding, risk)
