"""The allocation of advances as a mixed-integer linear program solved by HiGHS, on plain inputs.

Days are indices 0..H-1 (day 0 is A+1). An advance of candidate k is paid on day `start` and
repaid on day `repay`: it lowers its lender's balance and raises its borrower's on every day
`start`..`repay`-1 (and up to the end of the forecast when `repay` lies beyond it).

The program works in cents, as floats (HiGHS is a floating-point solver); the amounts it returns
are rounded DOWN to the cent, then checked exactly in Decimal against every constraint and, in
the rare case a solver tolerance shows through, reduced by the excess cent(s). Rounding down can
only loosen the lender, borrower-cap, security and legal constraints; an advance that falls under
the minimum is dropped. Unmet amounts are then recomputed exactly from the rounded advances.

Lexicographic objectives, each phase keeping the optimum of the previous ones:
1. minimise the total unmet need (the sum, over needs, of the largest shortfall left);
2. minimise the number of advances (never split a need over more lenders than needed);
3. minimise the largest share of its lendable surplus any lender commits (spread the advances
   over the lenders in proportion to what they can lend).
"""

from __future__ import annotations

import math
import os
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
NODE_LIMIT = 1  # phases 2 and 3 keep the root node's best solution (deterministic, unlike a time limit)
EXACT_LIMIT = 5000  # above this many candidates, the LP heuristic of `allocate`
CANDIDATE_LIMIT = 20000  # above this many, each need keeps its best-placed lenders only


@dataclass(frozen=True)
class FiscalYear:
    """A lender's financial year seen by the forecast: all advances paid in it stay under the legal cap.

    `first`..`last` are the day indices it covers; `opening_cash` its treasury at the opening; when it
    opens inside the forecast, `eve` is the index of the day before, and the planned advances still
    outstanding that day lower its opening cash. `already_lent` counts advances already paid in it.
    """

    first: int
    last: int
    opening_cash: Decimal
    eve: int | None = None
    already_lent: Decimal = ZERO


@dataclass(frozen=True)
class LenderInput:
    """A member that may lend: its daily surplus over its floor (balance − floor) and financial years."""

    id: str
    surplus: tuple[Decimal, ...]
    fiscal_years: tuple[FiscalYear, ...] = ()


@dataclass(frozen=True)
class BorrowerInput:
    """A member that needs advances: its daily shortfall under its floor (floor − balance, ≤ 0 when above)."""

    id: str
    shortfall: tuple[Decimal, ...]


@dataclass(frozen=True)
class SecurityInput:
    """A grant tranche of a borrower: advances it secures are repaid on day `repay`, up to `cap` in all."""

    borrower: str
    key: str
    repay: int
    cap: Decimal


@dataclass(frozen=True)
class NeedInput:
    """An episode below the floor: days `start`..`end` of a borrower, and the securities that may back it."""

    borrower: str
    start: int
    end: int
    securities: tuple[int, ...]


@dataclass(frozen=True)
class Limits:
    """The policy limits the program keeps (amounts in EUR, shares 0–1, days)."""

    max_lender_share: Decimal = Decimal("1")
    max_days: int = 1826
    min_advance: Decimal = ZERO
    max_per_borrower: Decimal = Decimal("1e12")
    legal_share: Decimal = Decimal("0.5")


@dataclass(frozen=True)
class AllocationInput:
    """Everything the program needs; `horizon` is the length of every daily series."""

    horizon: int
    lenders: tuple[LenderInput, ...]
    borrowers: tuple[BorrowerInput, ...]
    securities: tuple[SecurityInput, ...]
    needs: tuple[NeedInput, ...]
    limits: Limits


@dataclass(frozen=True)
class Candidate:
    """A possible advance: from a lender, for a need, secured by a security, with its upper bound."""

    lender: int
    need: int
    security: int
    start: int
    repay: int
    upper: Decimal


@dataclass(frozen=True)
class Advance:
    """An advance of the plan (amount in EUR, to the cent)."""

    lender: str
    borrower: str
    need: int
    security: int
    start: int
    repay: int
    amount: Decimal


@dataclass(frozen=True)
class Allocation:
    """The plan: its advances and, for each need, what stays unmet (its largest shortfall left)."""

    advances: tuple[Advance, ...]
    unmet: tuple[Decimal, ...]
    candidates: tuple[Candidate, ...]
    status: str

    @property
    def total_unmet(self) -> Decimal:
        return sum(self.unmet, ZERO)


def down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def active(start: int, repay: int, day: int) -> bool:
    """Whether an advance paid on `start` and repaid on `repay` is outstanding at the end of `day`."""
    return start <= day < repay


def _legal_room(fy: FiscalYear, share: Decimal) -> Decimal:
    return max(ZERO, share * fy.opening_cash - fy.already_lent)


def fiscal_year_of(lender: LenderInput, day: int) -> FiscalYear | None:
    return next((fy for fy in lender.fiscal_years if fy.first <= day <= fy.last), None)


def candidates(problem: AllocationInput, limit: int = CANDIDATE_LIMIT) -> list[Candidate]:
    """Every (lender, need, security) that could carry an advance of at least the minimum, in a fixed order.

    When there would be more than `limit`, each (need, security) keeps only the lenders that could
    lend it the most (ties by lender id), as many as keep the total near `limit`.
    """
    limits, horizon = problem.limits, problem.horizon
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    lenders = sorted(enumerate(problem.lenders), key=lambda p: p[1].id)
    groups: list[list[Candidate]] = []
    for n, need in enumerate(problem.needs):
        for s in need.securities:
            security = problem.securities[s]
            if not 0 < security.repay - need.start <= limits.max_days:
                continue
            last = min(security.repay, horizon)
            most_needed = max(shortfall[need.borrower][need.start:last])
            group = []
            for l_index, lender in lenders:
                room = min(lender.surplus[need.start:last]) * limits.max_lender_share
                fy = fiscal_year_of(lender, need.start)
                legal = _legal_room(fy, limits.legal_share) if fy else Decimal("1e12")
                upper = down(min(room, security.cap, limits.max_per_borrower, legal,
                                 max(most_needed, limits.min_advance)))
                if upper > 0 and upper >= limits.min_advance:
                    group.append(Candidate(l_index, n, s, need.start, security.repay, upper))
            groups.append(group)
    if sum(len(g) for g in groups) > limit:
        keep = max(5, limit // max(1, len(groups)))
        groups = [sorted(sorted(g, key=lambda c: -c.upper)[:keep], key=lambda c: problem.lenders[c.lender].id)
                  for g in groups]
    return [c for g in groups for c in g]


def _segments(points: set[int], horizon: int) -> list[tuple[int, int]]:
    edges = sorted(p for p in points | {horizon} if 0 <= p <= horizon)
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if a < b]


class _Rows:
    """Sparse constraint rows `lo <= a·v <= hi`."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    def add(self, terms: dict[int, float], lo: float, hi: float) -> None:
        row = len(self.lo)
        for col, val in terms.items():
            self.rows.append(row)
            self.cols.append(col)
            self.vals.append(val)
        self.lo.append(lo)
        self.hi.append(hi)

    def constraint(self, width: int) -> LinearConstraint:
        matrix = coo_array((self.vals, (self.rows, self.cols)), shape=(len(self.lo), width)).tocsr()
        return LinearConstraint(matrix, np.array(self.lo), np.array(self.hi))


def _c(amount: Decimal) -> float:
    """EUR → cents, as the solver's float."""
    return float(amount * 100)


def build_rows(problem: AllocationInput, cands: Sequence[Candidate]) -> tuple[_Rows, int]:
    """The constraints of the program over variables [x (K), y (K), u (needs), t]."""
    k_count, n_count = len(cands), len(problem.needs)
    width = 2 * k_count + n_count + 1
    limits, horizon = problem.limits, problem.horizon
    rows = _Rows()
    inf = math.inf
    by_lender: dict[int, list[int]] = defaultdict(list)
    by_borrower: dict[str, list[int]] = defaultdict(list)
    by_security: dict[int, list[int]] = defaultdict(list)
    for k, cand in enumerate(cands):
        by_lender[cand.lender].append(k)
        by_borrower[problem.needs[cand.need].borrower].append(k)
        by_security[cand.security].append(k)
        # minimum advance: x = 0 or min <= x <= upper
        rows.add({k: 1.0, k_count + k: -_c(cand.upper)}, -inf, 0.0)
        rows.add({k: 1.0, k_count + k: -_c(limits.min_advance)}, 0.0, inf)
    for l_index, ks in by_lender.items():
        lender = problem.lenders[l_index]
        points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
        for a, b in _segments(points, horizon):
            live = [k for k in ks if active(cands[k].start, cands[k].repay, a)]
            if live:
                room = min(lender.surplus[a:b]) * limits.max_lender_share
                rows.add({k: 1.0 for k in live}, -inf, max(0.0, _c(room)))
        for fy in lender.fiscal_years:
            paid = [k for k in ks if fy.first <= cands[k].start <= fy.last]
            if not paid:
                continue
            terms = {k: 1.0 for k in paid}
            if fy.eve is not None:
                for k in ks:
                    if active(cands[k].start, cands[k].repay, fy.eve):
                        terms[k] = terms.get(k, 0.0) + float(limits.legal_share)
            rows.add(terms, -inf, _c(_legal_room(fy, limits.legal_share)))
    for s, ks in by_security.items():
        rows.add({k: 1.0 for k in ks}, -inf, _c(problem.securities[s].cap))
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    for borrower, ks in by_borrower.items():
        points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
        for a, b in _segments(points, horizon):
            live = [k for k in ks if active(cands[k].start, cands[k].repay, a)]
            if live:
                rows.add({k: 1.0 for k in live}, -inf, _c(limits.max_per_borrower))
    for n, need in enumerate(problem.needs):
        ks = by_borrower.get(need.borrower, [])
        points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
        points |= {need.start, need.end + 1}
        for a, b in _segments(points, horizon):
            if a < need.start or b > need.end + 1:
                continue
            worst = max(shortfall[need.borrower][a:b])
            terms = {k: 1.0 for k in ks if active(cands[k].start, cands[k].repay, a)}
            terms[2 * k_count + n] = 1.0
            rows.add(terms, _c(worst), inf)
    return rows, width


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS may print a stray debug line on the process's stdout; keep `--json` output clean."""
    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _solve(objective: np.ndarray, rows: _Rows, extra: list[LinearConstraint], width: int,
           integrality: np.ndarray, upper: np.ndarray, node_limit: int | None) -> np.ndarray | None:
    options: dict[str, object] = {"disp": False, "presolve": True, "mip_rel_gap": 0.0}
    if node_limit is not None:
        options["node_limit"] = node_limit
    with _quiet_stdout():
        result = milp(objective, constraints=[rows.constraint(width), *extra], integrality=integrality,
                      bounds=Bounds(np.zeros(width), upper), options=options)
    return None if result.x is None else np.asarray(result.x)


def _below_minimum(x: np.ndarray, k_count: int, minimum: float) -> list[int]:
    """Candidates the LP relaxation pays something under the minimum advance (they break its integrality)."""
    return [k for k in range(k_count) if 0.5 < x[k] < minimum - 0.5]


def allocate(problem: AllocationInput, exact_limit: int = EXACT_LIMIT) -> Allocation:
    """The optimal plan for the input (same input, same plan).

    Phase 1 solves the LP relaxation first: when it pays no advance under the minimum it is the
    optimum of the mixed-integer program; otherwise the MILP is solved (up to `exact_limit`
    candidates) or, for larger groups, the candidates paid under the minimum are excluded and the
    LP solved again until none is (a heuristic, documented in docs/pool.md). Phases 2 and 3 use
    the MILP with a node limit (deterministic) up to `exact_limit` candidates; above it, phase 2 is
    the LP that fills the largest candidates first (min Σ x/upper) and phase 3 is skipped.
    """
    cands = candidates(problem)
    k_count, n_count = len(cands), len(problem.needs)
    if k_count == 0:
        return Allocation((), unmet_after(problem, ()), (), "no-candidate")
    exact = k_count <= exact_limit
    rows, width = build_rows(problem, cands)
    integrality = np.zeros(width)
    integrality[k_count:2 * k_count] = 1
    relaxed = np.zeros(width)
    upper = np.full(width, np.inf)
    upper[:k_count] = [_c(c.upper) for c in cands]
    upper[k_count:2 * k_count] = 1.0
    u_cols = slice(2 * k_count, 2 * k_count + n_count)
    t_col = width - 1
    minimum = _c(problem.limits.min_advance)

    phase1 = np.zeros(width)
    phase1[u_cols] = 1.0
    x = _solve(phase1, rows, [], width, relaxed, upper, None)
    if x is None:
        return Allocation((), unmet_after(problem, ()), tuple(cands), "infeasible")
    status = "optimal"
    small = _below_minimum(x, k_count, minimum)
    if small and exact:
        x = _solve(phase1, rows, [], width, integrality, upper, None)
        if x is None:
            return Allocation((), unmet_after(problem, ()), tuple(cands), "infeasible")
    rounds = 0
    while small and not exact:
        status, rounds = "heuristic", rounds + 1
        if rounds > 3:  # then keep only the advances already at or above the minimum: few more rounds
            small = [k for k in range(k_count) if x[k] < minimum - 0.5]
        upper[small] = 0.0
        x = _solve(phase1, rows, [], width, relaxed, upper, None)
        assert x is not None  # zero advances is always feasible
        small = _below_minimum(x, k_count, minimum)
    best_unmet = float(x[u_cols].sum())
    extra = _Rows()
    extra.add({c: 1.0 for c in range(u_cols.start, u_cols.stop)}, -math.inf, best_unmet + 1e-3 + 1e-9 * best_unmet)

    if not exact:
        phase2 = np.zeros(width)
        phase2[:k_count] = [1.0 / max(u, 1.0) for u in upper[:k_count]]
        x2 = _solve(phase2, rows, [extra.constraint(width)], width, relaxed, upper, None)
        x = x2 if x2 is not None else x
        advances = settle(problem, cands, [x[k] for k in range(k_count)])
        return Allocation(advances, unmet_after(problem, advances), tuple(cands), status)

    phase2 = np.zeros(width)
    phase2[k_count:2 * k_count] = 1.0
    x2 = _solve(phase2, rows, [extra.constraint(width)], width, integrality, upper, NODE_LIMIT)
    if x2 is not None:
        x = x2
        count = float(np.round(x[k_count:2 * k_count]).sum())
        extra.add({c: 1.0 for c in range(k_count, 2 * k_count)}, -math.inf, count + 0.5)
        weights = _weights(problem, cands)
        for l_index, ks in _by_lender(cands).items():
            terms = {k: 1.0 for k in ks}
            terms[t_col] = -_c(weights[l_index])
            extra.add(terms, -math.inf, 0.0)
        phase3 = np.zeros(width)
        phase3[t_col] = 1.0
        x3 = _solve(phase3, rows, [extra.constraint(width)], width, integrality, upper, NODE_LIMIT)
        if x3 is not None:
            x = x3
    advances = settle(problem, cands, [x[k] for k in range(k_count)])
    return Allocation(advances, unmet_after(problem, advances), tuple(cands), status)


def _by_lender(cands: Sequence[Candidate]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for k, cand in enumerate(cands):
        out[cand.lender].append(k)
    return out


def _weights(problem: AllocationInput, cands: Sequence[Candidate]) -> dict[int, Decimal]:
    """A lender's lendable surplus: the largest advance it could make on any of its candidate windows."""
    out: dict[int, Decimal] = {}
    for cand in cands:
        out[cand.lender] = max(out.get(cand.lender, ZERO), cand.upper)
    return out


def settle(problem: AllocationInput, cands: Sequence[Candidate], cents_values: Sequence[float]) -> tuple[Advance, ...]:
    """Round the solver's cents to the nearest cent (half up), cut any exact excess, drop what falls under the minimum.

    The solver's float cents are converted exactly to Decimal and rounded there; every later check
    is exact, in Decimal.
    """
    amounts = [(max(ZERO, Decimal(float(v)).to_integral_value(ROUND_HALF_UP)) / 100).quantize(CENT)
               for v in cents_values]
    amounts = [min(a, c.upper) for a, c in zip(amounts, cands, strict=True)]
    for _ in range(len(cands) + 1):
        amounts = [a if a >= problem.limits.min_advance and a > 0 else ZERO for a in amounts]
        excess = _first_violation(problem, cands, amounts)
        if excess is None:
            break
        ks, over = excess
        k = max(ks, key=lambda i: (amounts[i], -i))
        amounts[k] = max(ZERO, amounts[k] - over.quantize(CENT, rounding=ROUND_UP))
    return tuple(
        Advance(problem.lenders[c.lender].id, problem.needs[c.need].borrower, c.need, c.security,
                c.start, c.repay, a)
        for c, a in zip(cands, amounts, strict=True) if a > 0
    )


def _first_violation(problem: AllocationInput, cands: Sequence[Candidate],
                     amounts: Sequence[Decimal]) -> tuple[list[int], Decimal] | None:
    """The first constraint the amounts break (the candidates involved and the excess), checked exactly."""
    limits, horizon = problem.limits, problem.horizon
    used = [k for k, a in enumerate(amounts) if a > 0]
    for l_index, lender in enumerate(problem.lenders):
        ks = [k for k in used if cands[k].lender == l_index]
        if not ks:
            continue
        for day in range(horizon):
            live = [k for k in ks if active(cands[k].start, cands[k].repay, day)]
            over = sum((amounts[k] for k in live), ZERO) - lender.surplus[day] * limits.max_lender_share
            if live and over > 0:
                return live, over
        for fy in lender.fiscal_years:
            paid = [k for k in ks if fy.first <= cands[k].start <= fy.last]
            lent = sum((amounts[k] for k in paid), ZERO)
            if fy.eve is not None:
                lent += limits.legal_share * sum(
                    (amounts[k] for k in ks if active(cands[k].start, cands[k].repay, fy.eve)), ZERO)
            over = lent - _legal_room(fy, limits.legal_share)
            if paid and over > 0:
                return paid, over
    for s, security in enumerate(problem.securities):
        ks = [k for k in used if cands[k].security == s]
        over = sum((amounts[k] for k in ks), ZERO) - security.cap
        if ks and over > 0:
            return ks, over
    for borrower in problem.borrowers:
        ks = [k for k in used if problem.needs[cands[k].need].borrower == borrower.id]
        for day in range(horizon):
            live = [k for k in ks if active(cands[k].start, cands[k].repay, day)]
            over = sum((amounts[k] for k in live), ZERO) - limits.max_per_borrower
            if live and over > 0:
                return live, over
    return None


def inflow(advances: Sequence[Advance], borrower: str, day: int) -> Decimal:
    """What a borrower has received and not yet repaid at the end of a day."""
    return sum((a.amount for a in advances if a.borrower == borrower and active(a.start, a.repay, day)), ZERO)


def outflow(advances: Sequence[Advance], lender: str, day: int) -> Decimal:
    """What a lender has paid out and not yet been repaid at the end of a day."""
    return sum((a.amount for a in advances if a.lender == lender and active(a.start, a.repay, day)), ZERO)


def unmet_after(problem: AllocationInput, advances: Sequence[Advance]) -> tuple[Decimal, ...]:
    """For each need, the largest shortfall left on its days once the advances are paid."""
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    out = []
    for need in problem.needs:
        left = max(shortfall[need.borrower][d] - inflow(advances, need.borrower, d)
                   for d in range(need.start, need.end + 1))
        out.append(max(ZERO, left))
    return tuple(out)
