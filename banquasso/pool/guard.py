"""The commitment guard: would this advance, added to every committed one, break a pool rule?

The registry calls it (through its desk) inside its lock and transaction, at `approve`, `disburse`
and `propose` with typed-in terms, with every approved and running advance of the group. It
projects the books as of the day (the forecast of SPEC section 7) with the committed advances, and
asks each rule of `banquasso.terms.rules` — the functions the planner sizes its advances with:

- the lender stays at or above its floor on every day the advance runs (`floor.*`);
- the advance takes at most `limits.max_lender_share` of the lender's lowest surplus over its floor
  and its earmarked cash (`banquasso.terms.net_cash.earmarked_cash`), the other commitments applied
  (as the planner computes it);
- `limits.min_advance`, `limits.max_days` (and the legal five years, in `prets` mode), `terms.max_rate`;
- on every day, the borrower owes at most `limits.max_advance_per_borrower` on all its advances;
- the securing tranche is open and secures at most haircut × its open amount across all advances;
- what the lender grants in its own financial year (`exercice_debut`) of the disbursement stays within
  `limits.max_lent_share_of_net_cash` of its trésorerie nette disponible at the year's opening
  (legal cap, `banquasso.terms.net_cash`; `prets` mode only, `banquasso.terms.modes`);
- what the borrower owes the lender, the advance included, stays within `limits.max_dependence_share`
  of its annual resources (`banquasso.pool.dependence`; refused or only warned of, `limits.dependence`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from beancount.core import data

from banquasso.forecast.advance_flows import advance_flows
from banquasso.forecast.daily import MAX_HORIZON, Day, GroupOutlook, forecast_outlook, project, read_group
from banquasso.forecast.facts import fact
from banquasso.forecast.flows import Flow, tranche_flow
from banquasso.pool.dependence import registry_dependence
from banquasso.pool.needs import Security, securities_for
from banquasso.registry import lifecycle
from banquasso.registry.balance import due_lines, remaining_lines, securing_receipt
from banquasso.registry.snapshot import AdvanceView
from banquasso.terms import rules
from banquasso.terms.modes import applies, legal_max_days
from banquasso.terms.net_cash import NetCash, deductions, earmarked_cash, financial_year, opening_figures
from banquasso.terms.policy import Policy
from banquasso.terms.rules import Breach
from banquasso.terms.tmop import load_tmop, rate_cap
from comptasso.books.facade import GroupBooks
from comptasso.money import fr_date
from comptasso.problems import ProblemsError

ZERO = Decimal("0.00")


def tranche_securities(outlook: GroupOutlook, books: GroupBooks, member: str, policy: Policy) -> list[Security]:
    """The open tranches of a member as securities, expected on max(A+1, tranche date + funder delay)."""
    kinds = {fid: f.kind for fid, f in books.reference.funders.items()}
    member_books = next(m for m in outlook.members if m.member_id == member)
    rows = []
    for tranche in member_books.open_tranches:
        expected = tranche_flow(tranche, outlook.delays.delay(tranche.funder), outlook.as_of).date
        rows.append((tranche.convention, tranche.funder, tranche.due, expected, tranche.amount))
    return securities_for(member, rows, kinds, policy)


def known_net_cash(books: GroupBooks, policy: Policy, member: str, opening: dt.date, as_of: dt.date) -> NetCash:
    """The net-cash figures of `member` at `opening`, from its books as of `as_of` (entries up to the earlier);
    a fact of its ledger (`forecast.facts`)."""
    entries, day = books.ledgers[member].entries, min(opening, as_of)
    currency, principal = books.group.currency, policy.accounts.borrower_principal
    return fact(entries, ("net-cash", day, currency, principal),
                lambda: opening_figures(entries, day, currency, principal))


def known_earmarked(books: GroupBooks, member: str, as_of: dt.date) -> Decimal:
    """The cash `member` holds but may not lend as of `as_of` (fonds dédiés, local currency): capacity,
    planner and guard all deduct it from the lendable surplus; a fact of its ledger (`forecast.facts`)."""
    entries, currency = books.ledgers[member].entries, books.group.currency
    return fact(entries, ("earmarked", as_of, currency), lambda: earmarked_cash(entries, as_of, currency).total)


def opening_net_cash(books: GroupBooks, policy: Policy, member: str, opening: dt.date, as_of: dt.date,
                     days: Sequence[Day]) -> Decimal:
    """A lender's trésorerie nette disponible at the opening of its financial year (the legal 50 % base).

    A year opened by A: from the books, after every entry dated on or before its first day. A year
    opening later: the forecast treasury on its eve, less the debts and earmarked cash known at A.
    """
    known = known_net_cash(books, policy, member, opening, as_of)
    eve = opening - dt.timedelta(days=1)
    if eve <= as_of:
        return known.value
    balance = next((b for day, b in days if day == eve), days[-1][1])
    return balance - deductions(known)


def _with(days: Sequence[Day], flows: Sequence[Flow], as_of: dt.date) -> tuple[Day, ...]:
    """A projection with more flows added (those dated A+1 onwards)."""
    extra = project(ZERO, flows, as_of, len(days))
    return tuple((day, balance + delta) for (day, balance), (_, delta) in zip(days, extra, strict=True))


def _starts(view: AdvanceView, as_of: dt.date) -> dt.date:
    """The day an advance's principal leaves the lender: its disbursement, or max(A+1, planned date)."""
    if view.disbursement is not None:
        return view.disbursement.date
    return max(as_of + dt.timedelta(days=1), view.disburse_on)


def _principal_steps(view: AdvanceView, ledgers: Mapping[str, Sequence[data.Directive]],
                     as_of: dt.date) -> list[tuple[dt.date, Decimal]]:
    """When the principal the borrower owes on this advance goes up and down (dates from A on)."""
    tomorrow = as_of + dt.timedelta(days=1)
    owed = view.principal if view.disbursement is None else view.outstanding_on(as_of)
    start = max(as_of, _starts(view, as_of)) if view.disbursement is None else as_of
    received = securing_receipt(view, ledgers.get(view.borrower, ()), as_of)
    lines = due_lines(view, received)
    left = remaining_lines(view, lines) if view.disbursement is not None else lines
    return [(start, owed), *((max(tomorrow, line.date), -line.principal) for line in left)]


def _end(view: AdvanceView, ledgers: Mapping[str, Sequence[data.Directive]], as_of: dt.date) -> dt.date:
    received = securing_receipt(view, ledgers.get(view.borrower, ()), as_of)
    return max([view.repay_on, *(line.date for line in due_lines(view, received))])


def _peak(views: Sequence[AdvanceView], ledgers: Mapping[str, Sequence[data.Directive]], as_of: dt.date,
          window: tuple[dt.date, dt.date]) -> tuple[Decimal, dt.date]:
    """The most the advances owe together at the end of a day within `window` (first, last), and that day."""
    moves: dict[dt.date, Decimal] = defaultdict(Decimal)
    for view in views:
        for day, amount in _principal_steps(view, ledgers, as_of):
            moves[day] += amount
    first, last = window
    total, points = ZERO, [(ZERO, first)]
    for day in sorted(moves):
        total += moves[day]
        if day <= first:
            points[0] = (total, first)
        elif day <= last:
            points.append((total, day))
    return max(points, key=lambda point: (point[0], -point[1].toordinal()))


def _open_principal(view: AdvanceView, as_of: dt.date) -> Decimal:
    return view.principal if view.disbursement is None else view.outstanding_on(as_of)


def _granted_in(views: Sequence[AdvanceView], lender: str, first: dt.date, following: dt.date,
                as_of: dt.date) -> Decimal:
    """The principal of the advances a lender grants (pays) within a financial year."""
    return sum((v.principal for v in views if v.lender == lender and first <= _starts(v, as_of) < following), ZERO)


def commitment_guard(books: GroupBooks, policy: Policy, committed: Sequence[AdvanceView], candidate: AdvanceView,
                     as_of: dt.date) -> list[Breach]:
    """Every rule `candidate` breaks once added to the `committed` advances, as of `as_of` (empty: it may go)."""
    limits = policy.limits
    found: list[Breach | None] = [
        rules.check_min_advance(candidate.principal, limits.min_advance),
        rules.check_duration(candidate.disburse_on, candidate.repay_on, limits.max_days, legal_max_days(policy)),
        _rate(books, policy, candidate, as_of),
    ]
    ledgers = {m.id: books.ledgers[m.id].entries for m in books.members}
    end = _end(candidate, ledgers, as_of)
    horizon = max(1, min(MAX_HORIZON, (end - as_of).days))
    outlook, problems = read_group(books, as_of, horizon, policy.floor)
    if outlook is None:
        raise ProblemsError(problems)
    base = forecast_outlook(outlook)
    read = {m.member_id for m in base.members}
    unread = [m for m in (candidate.lender, candidate.borrower) if m not in read]
    if unread:  # a member left out because its ledger does not load: nothing can be checked, nothing committed
        return [*(b for b in found if b is not None), *(rules.unreadable_member(m) for m in unread)]
    others = [v for v in committed if v.id != candidate.id and v.state in lifecycle.COMMITTED]
    every = [*others, candidate]
    lender = base.member(candidate.lender)
    start = _starts(candidate, as_of)
    window = [d for d in lender.days if start <= d[0] < end] or list(lender.days[:1])
    first, last = window[0][0], window[-1][0]
    with_all = _with(lender.days, advance_flows(every, ledgers, as_of).get(candidate.lender, []), as_of)
    without = _with(lender.days, advance_flows(others, ledgers, as_of).get(candidate.lender, []), as_of)
    found.append(rules.check_floor(candidate.lender, [d for d in with_all if first <= d[0] <= last], lender.floor))
    low_day, low = min(((d, b) for d, b in without if first <= d <= last), key=lambda x: (x[1], x[0]))
    kept = known_earmarked(books, candidate.lender, as_of)
    found.append(rules.check_lender_share(candidate.lender, _open_principal(candidate, as_of),
                                          low - lender.floor - kept, low_day, limits.max_lender_share, kept))
    mine = [v for v in every if v.borrower == candidate.borrower]
    peak, peak_day = _peak(mine, ledgers, as_of, (first, last))
    found.append(rules.check_borrower_cap(candidate.borrower, peak, peak_day, limits.max_advance_per_borrower))
    found.append(_security(outlook, books, policy, every, candidate, as_of))
    found.append(_net_cash(books, policy, every, candidate, as_of, without))
    found.append(_dependence(books, policy, every, candidate, as_of))
    return [b for b in found if b is not None]


def _dependence(books: GroupBooks, policy: Policy, every: Sequence[AdvanceView], candidate: AdvanceView,
                as_of: dt.date) -> Breach | None:
    """limits.max_dependence_share: the borrower's debt to the lender, the candidate included, against its
    annual resources (`limits.dependence`: refuse or warn)."""
    figures = registry_dependence(books, every, candidate.borrower, candidate.lender, as_of)
    return rules.check_dependence(figures, policy.limits.max_dependence_share, policy.limits.dependence)


def _rate(books: GroupBooks, policy: Policy, candidate: AdvanceView, as_of: dt.date) -> Breach | None:
    """The rate against the TMOP of the decision's half-year (`rules/tmop.toml`: the board's meeting date,
    else the approval's day), else `terms.max_rate`."""
    table, problems = load_tmop(books.reference.rules_dir)
    if table is None:
        raise ProblemsError(problems)
    cap = rate_cap(table, candidate.decided_on or as_of, policy.terms.max_rate)
    return rules.check_rate(candidate.rate, cap.rate, cap.key)


def _security(outlook: GroupOutlook, books: GroupBooks, policy: Policy, every: Sequence[AdvanceView],
              candidate: AdvanceView, as_of: dt.date) -> Breach | None:
    if candidate.convention is None or candidate.tranche_date is None:
        return None
    label = f"{candidate.convention} du {fr_date(candidate.tranche_date)}"
    if candidate.disbursement is not None:
        return None  # already paid: the tranche may have been received since; nothing more is committed
    security = next((s for s in tranche_securities(outlook, books, candidate.borrower, policy)
                     if (s.convention, s.tranche_date) == (candidate.convention, candidate.tranche_date)), None)
    if security is None:
        return rules.missing_security(label)
    kinds = {fid: f.kind for fid, f in books.reference.funders.items()}
    secured = sum((_open_principal(v, as_of) for v in every if v.borrower == candidate.borrower
                   and (v.convention, v.tranche_date) == (candidate.convention, candidate.tranche_date)), ZERO)
    return rules.check_security(label, secured, security.cap, f"haircut.{kinds.get(security.funder or '', 'autre')}")


def _net_cash(books: GroupBooks, policy: Policy, every: Sequence[AdvanceView], candidate: AdvanceView,
              as_of: dt.date, lender_days: Sequence[Day]) -> Breach | None:
    if not applies(policy, rules.NET_CASH_CAP):  # a convention de trésorerie has no 50 % cap
        return None
    start = _starts(candidate, as_of)
    period = financial_year(books.group.member(candidate.lender), start)
    opening, following = period.start, period.end + dt.timedelta(days=1)
    cash = opening_net_cash(books, policy, candidate.lender, opening, as_of, lender_days)
    granted = _granted_in(every, candidate.lender, opening, following, as_of)
    return rules.check_net_cash_cap(candidate.lender, opening, cash, policy.limits.max_lent_share_of_net_cash,
                                    granted)
