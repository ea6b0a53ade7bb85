"""The numbers of the board's monthly statement, gathered from the engine for the books as of one day."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from beancount.core import data

from banquasso.forecast.advance_flows import advance_flows
from banquasso.forecast.daily import DEFAULT_HORIZON, GroupForecast, books_start, forecast_outlook, read_group
from banquasso.forecast.delays import DelayModel
from banquasso.forecast.flows import MemberBooks, tranche_flow
from banquasso.forecast.risk import DEFAULT_SCENARIOS, DEFAULT_SEED, GroupRisk, RiskFigures, widened_risk
from banquasso.pool.capacity import WINDOWS, Capacity
from banquasso.pool.memo import content_key, memoised, recall_quick
from banquasso.pool.plan import Plan, group_capacity, memoised_capacity, memoised_plan, plan_group
from banquasso.registry import lifecycle
from banquasso.registry.balance import DueLine
from banquasso.registry.db import Registry, open_registry
from banquasso.registry.location import registry_exists
from banquasso.registry.service import load_views
from banquasso.registry.snapshot import AdvanceView
from banquasso.statement.legal_table import LenderYear, statement_annex
from banquasso.terms.policy import Policy, load_policy
from banquasso.terms.tmop import load_tmop
from banquasso.watch.accuracy import AccuracyReport, accuracy
from banquasso.watch.at_risk import Bucket, delinquency
from banquasso.watch.monitoring import AdvanceOnDay, Snapshot, advances_on, load_snapshots, member_alerts
from comptasso.books.facade import GroupBooks, open_books
from comptasso.money import fr_date
from comptasso.problems import Problem, ProblemsError

ZERO = Decimal("0.00")
#: Repayments falling due within this many days after the books' date are listed on the cover.
DUE_SOON_DAYS = 30
Progress = Callable[[str], None]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthError(ValueError):
    """A month that cannot be used for a statement (format, or no books for it); the message is French."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11` → Month(2026, 11); MonthError in French otherwise."""
        found = _MONTH.match(text.strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
            raise MonthError(f"mois invalide « {text} » (attendu AAAA-MM, par exemple 2026-11)")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        following = dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - dt.timedelta(days=1)

    def previous(self) -> Month:
        return Month.of(self.first - dt.timedelta(days=1))

    @property
    def iso(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """`novembre 2026`."""
        return format_date(self.first, "MMMM y", locale="fr_FR")


def books_date(month: Month, today: dt.date, start: dt.date | None) -> dt.date:
    """The day the statement reads the books at: the month's last day, or `today` if earlier.

    MonthError when the month has not started by `today`, or ends before the books start.
    """
    if month.first > today:
        raise MonthError(f"le mois {month.iso} n'a pas commencé au {fr_date(today)} : aucun livre pour ce mois")
    if start is None:
        raise MonthError(f"les livres sont vides : aucun relevé possible pour {month.iso}")
    if month.last < start:
        raise MonthError(f"aucun livre pour {month.iso} : les livres commencent le {fr_date(start)}")
    return min(month.last, today)


# ----------------------------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class TrancheRow:
    """An open grant tranche of a member, with the date the forecast expects it."""

    convention: str
    funder: str
    due: dt.date
    amount: Decimal
    expected: dt.date


@dataclass(frozen=True)
class DueSoon:
    """A repayment line falling due soon."""

    advance: AdvanceOnDay
    line: DueLine


def granted(advance: AdvanceOnDay, month: Month) -> bool:
    """Whether an advance counts as granted in the month's statement (« consentie »).

    Approved, disbursed or being repaid at the books' date, or repaid in full during the month; a
    proposal the lender's board has not approved yet is not granted, nor is one repaid before the month.
    """
    if advance.status == lifecycle.PROPOSED:
        return False
    if advance.status != lifecycle.REPAID:
        return True
    repaid = [p.date for p in advance.view.repayments if p.date <= advance.day]
    return bool(repaid) and max(repaid) >= month.first


def awaiting_approval(advance: AdvanceOnDay) -> bool:
    """Whether an advance is a proposal the lender's board still has to approve or reject."""
    return advance.status == lifecycle.PROPOSED


@dataclass(frozen=True)
class MemberPage:
    """Everything one member's page shows.

    `given` and `received` hold the granted advances only (see `granted`); `proposed` the proposals
    the member is a party to, awaiting its lender's board.
    """

    id: str
    name: str
    treasury: Decimal
    lendable: Mapping[int, Decimal]
    forecast_index: int
    risk: RiskFigures
    tranches: tuple[TrancheRow, ...]
    given: tuple[AdvanceOnDay, ...]
    received: tuple[AdvanceOnDay, ...]
    alerts: tuple[str, ...]
    proposed: tuple[AdvanceOnDay, ...] = ()

    @property
    def lent_outstanding(self) -> Decimal:
        return sum((a.outstanding for a in self.given), ZERO)

    @property
    def borrowed_outstanding(self) -> Decimal:
        return sum((a.outstanding for a in self.received), ZERO)


#: The advances one lender granted, as it must disclose them (banquasso.statement.legal_table, one function
#: for the statement's annex and the attestation pack).
LenderAnnex = LenderYear


@dataclass(frozen=True)
class StatementData:
    """The whole statement: cover, pool, group forecast, member pages, annex, accuracy."""

    group_name: str
    month: Month
    books_date: dt.date
    forecast: GroupForecast
    risk: GroupRisk
    capacity: Capacity
    advances: tuple[AdvanceOnDay, ...]
    members: tuple[MemberPage, ...]
    annex: tuple[LenderAnnex, ...]
    accuracy: AccuracyReport
    names: Mapping[str, str]
    plan: Plan | None = None

    @property
    def pool_capacity(self) -> dict[int, Decimal]:
        return self.capacity.pool

    @property
    def running(self) -> tuple[AdvanceOnDay, ...]:
        return tuple(a for a in self.advances if a.running)

    @property
    def outstanding(self) -> Decimal:
        """Principal advanced and not yet repaid, over every running advance."""
        return sum((a.outstanding for a in self.running), ZERO)

    @property
    def due_soon(self) -> tuple[DueSoon, ...]:
        """Repayment lines of running advances due in the 30 days after the books' date."""
        until = self.books_date + dt.timedelta(days=DUE_SOON_DAYS)
        rows = [DueSoon(a, line) for a in self.running for line in a.remaining
                if self.books_date < line.date <= until]
        return tuple(sorted(rows, key=lambda r: (r.line.date, r.advance.view.id, r.line.n)))

    @property
    def decisions(self) -> tuple[AdvanceOnDay, ...]:
        """The proposals awaiting a lender's board at the books' date: the next meeting's decisions."""
        return tuple(a for a in self.advances if awaiting_approval(a))

    @property
    def late(self) -> tuple[AdvanceOnDay, ...]:
        return tuple(a for a in self.advances if a.late_since is not None)

    @property
    def under_floor(self) -> tuple[str, ...]:
        """Ids of the members whose forecast goes under their floor within the horizon."""
        return tuple(m.member_id for m in self.forecast.members if m.below_floor)


# ---------------------------------------------------------------------------------------------- gather


def _tranches(member: MemberBooks, delays: DelayModel, funders: Mapping[str, str],
              as_of: dt.date) -> tuple[TrancheRow, ...]:
    rows = []
    for tranche in member.open_tranches:
        expected = tranche_flow(tranche, delays.delay(tranche.funder), as_of).date
        funder = funders.get(tranche.funder or "", tranche.funder or "—")
        rows.append(TrancheRow(tranche.convention, funder, tranche.due, tranche.amount, expected))
    return tuple(sorted(rows, key=lambda r: (r.expected, r.convention, r.due)))


def _annex(books: GroupBooks, policy: Policy, views: Sequence[AdvanceView], day: dt.date) -> tuple[LenderAnnex, ...]:
    """Per lender: the advances paid in its financial year (its `exercice_debut`) containing `day`, or still owed."""
    tmop, problems = load_tmop(books.reference.rules_dir)
    if tmop is None:
        raise ProblemsError(problems)
    return statement_annex(books, policy, tmop, views, day)


def gather(
    books: GroupBooks,
    policy: Policy,
    month: Month,
    today: dt.date,
    views: Sequence[AdvanceView] = (),
    snapshots: Sequence[Snapshot] = (),
    *,
    scenarios: int = DEFAULT_SCENARIOS,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    memo: bool = False,
) -> StatementData:
    """The statement of `month` from the books as of its last day (or `today` if earlier).

    The forecast includes the registry's approved and running advances; the Monte Carlo band is
    seeded, so the same books and registry give the same numbers. Raises MonthError for a month
    without books and ProblemsError when the books cannot be read.

    `memo`: `views` are the group's own registry as of the books' date (what `prepare` reads beside the
    ledgers), so the capacity and the plan are those of `banquasso capacity` and `banquasso plan` for
    that day, answered from their memo (`banquasso.pool.memo`) when no input changed.
    """
    day = books_date(month, today, books_start(books))
    entries: dict[str, list[data.Directive]] = {m.id: books.ledgers[m.id].entries for m in books.members}
    known_views = [v for v in views if v.proposed_on <= day]
    extra = advance_flows(known_views, entries, day)
    if progress:
        progress(f"Prévision de trésorerie au {fr_date(day)}…")
    outlook, problems = read_group(books, day, DEFAULT_HORIZON, policy.floor, extra)
    if outlook is None:
        raise ProblemsError(problems)
    forecast = forecast_outlook(outlook)
    if progress:
        progress(f"Simulation de {scenarios} tirages des délais de paiement…")
    risk = widened_risk(outlook, books.reference.funders, scenarios, seed)
    capacity = memoised_capacity(books, policy, day) if memo else group_capacity(books, policy, day)
    advances = advances_on(known_views, entries, day)
    names = {m.id: m.name for m in books.members}
    funders = {fid: f.name for fid, f in books.reference.funders.items()}
    lendable = {c.member: c.lendable for c in capacity.members}
    pages = []
    for index, (member, member_books) in enumerate(zip(forecast.members, outlook.members, strict=True)):
        mine = [a for a in advances if member.member_id in (a.view.lender, a.view.borrower)]
        pages.append(MemberPage(
            member.member_id, member.name, member.opening_balance,
            lendable.get(member.member_id, dict.fromkeys(WINDOWS, ZERO)), index, risk.members[member.member_id],
            _tranches(member_books, outlook.delays, funders, day),
            tuple(a for a in mine if a.view.lender == member.member_id and granted(a, month)),
            tuple(a for a in mine if a.view.borrower == member.member_id and granted(a, month)),
            tuple(member_alerts(member, mine)),
            tuple(a for a in mine if awaiting_approval(a))))
    report = accuracy(snapshots, entries, day, [m.id for m in books.members])
    if progress:
        progress("Plan d'avances du jour…")
    plan = (memoised_plan(books, policy, day, progress=progress) if memo
            else plan_group(books, policy, day, extra_flows=extra))
    return StatementData(books.group.name, month, day, forecast, risk, capacity, advances, tuple(pages),
                         _annex(books, policy, known_views, day), report, names, plan)


# --------------------------------------------------------------------------------------------- sources


def read_registry(registry: Registry, before: dt.date) -> tuple[list[AdvanceView], list[Snapshot]]:
    """Every advance as it stood at the end of `before` and the forecast snapshots taken before `before`."""
    return load_views(registry, before), load_snapshots(registry, before)


#: The memo's name of a month's statement (banquasso.pool.memo: keyed on every input, quick path on file stamps).
STATEMENT_MEMO = "statement"


def prepare(
    ledgers_dir: Path,
    rules_dir: Path,
    month: Month,
    today: dt.date,
    registry: Registry | None = None,
    progress: Progress | None = None,
) -> tuple[StatementData | None, list[Problem]]:
    """Open the books, the policy and the registry (when there is one) and gather the statement.

    Returns the problems when the books or the policy are invalid; raises MonthError for a month
    without books. A group without a registry yet has no advances and no snapshots (nothing is created).

    The statement's numbers are memoised (`STATEMENT_MEMO`): on the content of the books, the policy,
    the registry's advances and the snapshots it shows, and, before any ledger is read, on the stamps
    of every input file (the registry's SQLite file among them): a second statement of the same month
    with nothing changed reads no ledger and draws the very same PDF.
    """
    if registry is None and month.first <= today:
        quick = recall_quick(STATEMENT_MEMO, Path(ledgers_dir), Path(rules_dir), min(month.last, today),
                             month=month.iso)
        if quick is not None and isinstance(quick[0], StatementData):
            return quick[0], []  # no input file changed since this statement was computed: no ledger read
    books, problems = open_books(Path(ledgers_dir), Path(rules_dir), progress=progress)
    errors = [p for p in problems if p.is_error]
    if books is None or errors:
        return None, errors or problems
    policy, policy_problems = load_policy(Path(rules_dir))
    if policy is None or any(p.is_error for p in policy_problems):
        return None, policy_problems
    books_date(month, today, books_start(books))
    views: list[AdvanceView] = []
    snapshots: list[Snapshot] = []
    day = min(month.last, today)
    if registry is not None:
        views, snapshots = read_registry(registry, day)
    elif registry_exists(Path(ledgers_dir)):
        opened = open_registry(Path(ledgers_dir))
        try:
            views, snapshots = read_registry(opened, day)
        finally:
            opened.close()
    try:
        if registry is not None:  # a caller's own registry: computed, not memoised
            return gather(books, policy, month, today, views, snapshots, progress=progress), []
        return memoised(STATEMENT_MEMO, books, policy, day,
                        lambda: gather(books, policy, month, today, views, snapshots, progress=progress, memo=True),
                        also=content_key("snapshots", snapshots), month=month.iso), []
    except ProblemsError as exc:
        return None, exc.problems


# ------------------------------------------------------------------------------- delinquency (own section)


def delinquency_section(advances: Sequence[AdvanceOnDay]) -> tuple[Bucket, ...]:
    """The statement's delinquency buckets: what running advances still owe, 1–30, 31–90 or over 90 days late.

    One function classifies (banquasso.watch.at_risk.delinquency); this section only picks the running advances.
    """
    return delinquency(a for a in advances if a.running)
