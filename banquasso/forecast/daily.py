"""The daily cash forecast of every member and of the group (SPEC section 7)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from banquasso.forecast.delays import DelayModel, delay_model
from banquasso.forecast.facts import load_facts, save_facts
from banquasso.forecast.flows import Flow, MemberBooks, fixed_flows, read_member, tranche_flow
from banquasso.terms.floors import member_floor, monthly_payroll
from banquasso.terms.policy import FloorPolicy
from comptasso.books.facade import Exclusion, GroupBooks
from comptasso.problems import Problem, ProblemsError

DEFAULT_HORIZON = 91
MAX_HORIZON = 731
ZERO = Decimal("0")

Day = tuple[dt.date, Decimal]


def cumulate(opening: Decimal, moves: Mapping[dt.date, Decimal], as_of: dt.date, days: int) -> tuple[Day, ...]:
    """The balance at the end of each day A+1..A+days: the opening plus the day's moves, day after day."""
    balance, out = opening, []
    for offset in range(1, days + 1):
        day = as_of + dt.timedelta(days=offset)
        balance += moves.get(day, ZERO)
        out.append((day, balance))
    return tuple(out)


def project(opening: Decimal, flows: Iterable[Flow], as_of: dt.date, horizon: int) -> tuple[Day, ...]:
    """The balance of each day A+1..A+horizon: the opening plus every flow dated A+1..that day."""
    by_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    for flow in flows:
        by_day[flow.date] += flow.amount
    return cumulate(opening, by_day, as_of, horizon)


def lowest(days: Sequence[Day]) -> Day:
    """The lowest balance and the first day it is reached."""
    low = min(balance for _, balance in days)
    return next((day, balance) for day, balance in days if balance == low)


def days_below(days: Sequence[Day], floor: Decimal) -> tuple[dt.date, ...]:
    """The days whose projected balance is strictly under the floor."""
    return tuple(day for day, balance in days if balance < floor)


class DailyLows:
    """The low point and the days under the floor of a daily projection (`days`, `floor`)."""

    days: tuple[Day, ...]
    floor: Decimal

    @property
    def min_balance(self) -> Decimal:
        return lowest(self.days)[1]

    @property
    def min_date(self) -> dt.date:
        return lowest(self.days)[0]

    @property
    def below_floor(self) -> tuple[dt.date, ...]:
        return days_below(self.days, self.floor)

    @property
    def days_below_floor(self) -> int:
        return len(self.below_floor)


@dataclass(frozen=True)
class MemberForecast(DailyLows):
    """One member's projection: opening balance, floor, every expected flow and each day's balance."""

    member_id: str
    name: str
    as_of: dt.date
    opening_balance: Decimal
    monthly_payroll: Decimal
    floor: Decimal
    flows: tuple[Flow, ...]
    days: tuple[Day, ...]


@dataclass(frozen=True)
class GroupForecast(DailyLows):
    """The projection of every member and of the group (the sum of the members on every day)."""

    as_of: dt.date
    horizon_days: int
    members: tuple[MemberForecast, ...]
    delays: DelayModel
    days: tuple[Day, ...]

    def member(self, member_id: str) -> MemberForecast:
        for item in self.members:
            if item.member_id == member_id:
                return item
        raise KeyError(member_id)

    @property
    def opening_balance(self) -> Decimal:
        return sum((m.opening_balance for m in self.members), ZERO)

    @property
    def floor(self) -> Decimal:  # type: ignore[override]
        """The sum of the members' floors."""
        return sum((m.floor for m in self.members), ZERO)


@dataclass(frozen=True)
class GroupOutlook:
    """The books of every member as of one day, with the delay model: all a forecast or a simulation needs."""

    as_of: dt.date
    horizon_days: int
    members: tuple[MemberBooks, ...]
    names: Mapping[str, str]
    floors: Mapping[str, Decimal]
    fixed: Mapping[str, tuple[Flow, ...]]
    delays: DelayModel

    @property
    def until(self) -> dt.date:
        return self.as_of + dt.timedelta(days=self.horizon_days)


def check_horizon(horizon: int) -> None:
    """A horizon runs from 1 to 731 days (two years); ValueError with a French message otherwise."""
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"l'horizon doit être compris entre 1 et {MAX_HORIZON} jours, pas {horizon}")


def books_start(books: GroupBooks) -> dt.date | None:
    """The date of the earliest entry of any member ledger (None for empty books)."""
    firsts = [day for ledger in books.ledgers.values() if (day := ledger.first_date) is not None]
    return min(firsts) if firsts else None


#: The reads of the last `readable` call, by member: (entries, day, read, problems); `read_group` reuses them.
_LAST_READS: dict[str, tuple[Sequence[data.Directive], dt.date, MemberBooks, tuple[Problem, ...]]] = {}


def _read(member_id: str, entries: Sequence[data.Directive], as_of: dt.date) -> tuple[MemberBooks, list[Problem]]:
    """`read_member`, or what `readable` just read for the very same entries and day."""
    hit = _LAST_READS.get(member_id)
    if hit is not None and hit[0] is entries and hit[1] == as_of:
        return hit[2], list(hit[3])
    return read_member(member_id, entries, as_of)


def readable(books: GroupBooks, as_of: dt.date) -> GroupBooks:
    """The books without the members whose grants, invoices or previsions cannot be read as of `as_of`.

    Those members are added to `books.excluded` with their errors, like a ledger that does not load:
    one member's broken books never stop the others' forecast, capacity or plan.
    """
    load_facts(books)  # each unchanged member's read of an earlier process (`forecast.facts`)
    reads = {}
    exclusions = []
    for member in books.members:
        entries = books.ledgers[member.id].entries
        read, problems = read_member(member.id, entries, as_of)
        reads[member.id] = (entries, as_of, read, tuple(problems))
        errors = tuple(p for p in problems if p.is_error)
        if errors:
            exclusions.append(Exclusion(member.id, member.name, errors))
    _LAST_READS.clear()
    _LAST_READS.update(reads)
    save_facts(books)
    return books.exclude(exclusions)


def read_group(
    books: GroupBooks,
    as_of: dt.date,
    horizon: int = DEFAULT_HORIZON,
    floor_policy: FloorPolicy | None = None,
    extra_flows: Mapping[str, Sequence[Flow]] | None = None,
) -> tuple[GroupOutlook | None, list[Problem]]:
    """Read every member as of `as_of`; the problems are those of the grants, invoices and previsions read."""
    check_horizon(horizon)
    extra_flows = extra_flows or {}
    unknown = sorted(set(extra_flows) - set(books.group.ids))
    if unknown:
        raise ValueError(f"flux supplémentaires pour des membres inconnus : {', '.join(unknown)}")
    policy = floor_policy or FloorPolicy()
    until = as_of + dt.timedelta(days=horizon)
    problems: list[Problem] = []
    members: list[MemberBooks] = []
    load_facts(books)  # a member's read of an earlier process, if `readable` did not just read it
    for member in books.members:
        read, found = _read(member.id, books.ledgers[member.id].entries, as_of)
        members.append(read)
        problems.extend(found)
    save_facts(books)
    errors = [p for p in problems if p.is_error]
    if errors:
        return None, errors
    delays = delay_model({m.member_id: m.statuses for m in members}, books.reference.funders, as_of)
    outlook = GroupOutlook(
        as_of, horizon, tuple(members),
        {m.id: m.name for m in books.members},
        {m.member_id: member_floor(m.payroll_12m, policy) for m in members},
        {m.member_id: tuple(fixed_flows(m, until, extra_flows.get(m.member_id, ()))) for m in members},
        delays,
    )
    return outlook, []


def forecast_member(outlook: GroupOutlook, books: MemberBooks) -> MemberForecast:
    """One member's deterministic forecast: open tranches shifted by their funder's median delay."""
    tranches = [tranche_flow(t, outlook.delays.delay(t.funder), outlook.as_of) for t in books.open_tranches]
    flows = sorted(
        [f for f in tranches if f.date <= outlook.until] + list(outlook.fixed[books.member_id]),
        key=lambda f: (f.date, f.kind, f.label),
    )
    return MemberForecast(
        books.member_id, outlook.names.get(books.member_id, books.member_id), outlook.as_of,
        books.opening_balance, monthly_payroll(books.payroll_12m), outlook.floors[books.member_id],
        tuple(flows), project(books.opening_balance, flows, outlook.as_of, outlook.horizon_days),
    )


def forecast_outlook(outlook: GroupOutlook) -> GroupForecast:
    """The deterministic forecast of every member and of the group."""
    members = tuple(forecast_member(outlook, m) for m in outlook.members)
    return GroupForecast(outlook.as_of, outlook.horizon_days, members, outlook.delays, sum_days(members))


def sum_days(members: Sequence[MemberForecast]) -> tuple[Day, ...]:
    """The group's balance: the sum of the members' balances on every day."""
    if not members:
        return ()
    columns = zip(*(m.days for m in members), strict=True)
    return tuple((column[0][0], sum((b for _, b in column), ZERO)) for column in columns)


def forecast_group(
    books: GroupBooks,
    as_of: dt.date,
    horizon: int = DEFAULT_HORIZON,
    floor_policy: FloorPolicy | None = None,
    extra_flows: Mapping[str, Sequence[Flow]] | None = None,
) -> GroupForecast:
    """The forecast every consumer calls; raises ProblemsError when the books read cannot be used.

    `extra_flows` maps a member id to further dated flows (approved and disbursed advances);
    flows dated on or before `as_of` are ignored.
    """
    outlook, problems = read_group(books, as_of, horizon, floor_policy, extra_flows)
    if outlook is None:
        raise ProblemsError(problems)
    return forecast_outlook(outlook)

