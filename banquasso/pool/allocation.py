"""The allocation of advances as a mixed-integer linear program solved by HiGHS, on plain inputs.

Days are indices 0..H-1 (day 0 is A+1). An advance of candidate k is paid on day `start` and
repaid on day `repay`: it lowers its lender's balance and raises its borrower's on every day
`start`..`repay`-1 (and up to the end of the forecast when `repay` lies beyond it).

The program works in cents, as floats (HiGHS is a floating-point solver); the amounts it returns
are rounded to the nearest cent, then checked exactly in Decimal against every constraint and, in
the rare case a solver tolerance shows through, reduced by the excess cent(s); the cents rounding
took are then given back where every rule still holds. An advance that falls under the minimum
is dropped. Unmet amounts are recomputed exactly from the rounded advances.

Lexicographic objectives, each phase keeping the optimum of the previous ones:
1. minimise the total unmet need (the sum, over needs, of the largest shortfall left);
2. minimise the number of advances (never split a need over more lenders than needed);
3. minimise the largest share of its lendable surplus any lender commits (spread the advances
   over the lenders in proportion to what they can lend).

One path for every size (`allocate`): phase 1 is exact — the relaxation over every candidate is
the proven lower bound, the mixed-integer program on its support then on every candidate closes
the gap or reports it (`Allocation.status`, `bound`, `gap`); phases 2 and 3 run only where they
can change something (the needs phase 1 splits; the most committed lenders' advances). Every
phase has a time limit (`TimeLimits`) and keeps the best feasible answer found; the searches of
phases 2 and 3 also stop after `COUNT_NODES` / `SPREAD_NODES` branch-and-bound nodes, a limit in
work that they reach first, so that their answer does not depend on the machine's speed or load.

No candidate is ever pruned. The linear relaxations (phase 1's bound, phase 2's filling) are
solved without the variables y and the two rows per candidate that tie x to y: relaxed, those rows
say no more than 0 <= x <= upper, and the program is half as wide and a third as tall. That is
what makes every candidate affordable: at 200 members × 3 years (70 149 candidates) the relaxation
takes 1,7 s of HiGHS where the one with y did not end in 18 s, and where the 19 575 candidates
pruning used to keep gave a bound of 602 364,24 € unmet instead of the true 229 249,09 €.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

import numpy as np
from scipy.optimize import LinearConstraint
from scipy.sparse import coo_array

from banquasso.pool.program import AllocationInput, FiscalYear, LenderInput, Limits, active
from banquasso.pool.solver import INFEASIBLE, Priced, solve, solve_lp

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ALTERNATIVES = 12  # phase 3 may move an advance to one of the 12 largest candidates of its need
TOP_UP_CENTS = 5  # settle gives back at most 5 cents per advance that rounding took
SPREAD_ROUNDS = 20  # phase 3's rounds of moves at most
COUNT_NODES = 200  # phase 2's search stops after 200 branch-and-bound nodes (its time limit is a backstop)
SPREAD_NODES = 200  # each round of phase 3 likewise
SPREAD_STEP = 1e-6  # a round of phase 3 must lower the largest share by this fraction of it at least


@dataclass(frozen=True)
class Candidate:
    """A possible advance: from a lender, for a need, secured by a security, with its upper bound."""

    lender: int
    need: int
    security: int
    start: int
    repay: int
    upper: Decimal
    #: the upper bound were the legal cap lifted (`LegalQuestion`); None when the same as `upper`
    lifted: Decimal | None = field(default=None, compare=False)


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
    """The plan: its advances and, for each need, what stays unmet (its largest shortfall left).

    `status` is `optimal` when the total unmet need is proven least, `gap` when a time limit
    stopped the proof; `bound` is the proven least total unmet need (EUR, rounded down to the
    cent), so `gap` is how much more than the optimum the plan may leave unmet at most. Both hold
    over every candidate: none is ever pruned (`pruned` stays False; the field is kept for `plan
    --json`, whose `pruned` key says so).
    """

    advances: tuple[Advance, ...]
    unmet: tuple[Decimal, ...]
    candidates: tuple[Candidate, ...]
    status: str
    bound: Decimal = ZERO
    phases: tuple[PhaseReport, ...] = field(default=(), compare=False)
    possible: int = 0  # every candidate there is: always len(candidates) since pruning was removed
    #: phase 1's least total unmet need as the program counts it (the solver's cents, before rounding to the cent)
    optimum: float = math.inf
    #: a floor (cents) under the least total unmet need of the same program with the legal cap lifted,
    #: priced from phase 1's relaxation (`lifted_floor`); None when it could not be priced so
    lifted_floor: float | None = field(default=None, compare=False)

    @property
    def pruned(self) -> bool:
        """Whether some candidates were left out of the program: never (kept for `plan --json`)."""
        return self.possible > len(self.candidates)

    @property
    def total_unmet(self) -> Decimal:
        return sum(self.unmet, ZERO)

    @property
    def gap(self) -> Decimal:
        return max(ZERO, self.total_unmet - self.bound)


def down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def _legal_room(fy: FiscalYear, share: Decimal) -> Decimal:
    return max(ZERO, share * fy.opening_cash - fy.already_lent)


def fiscal_year_of(lender: LenderInput, day: int) -> FiscalYear | None:
    return next((fy for fy in lender.fiscal_years if fy.first <= day <= fy.last), None)


def candidates(problem: AllocationInput) -> list[Candidate]:
    """Every (lender, need, security) that could carry an advance of at least the minimum, in a fixed order.

    All of them, whatever their number: the relaxation over every candidate is one linear program
    without the x–y rows (70 149 candidates at 200 members × 3 years: 1,7 s of HiGHS), so no
    candidate is ever left out of the program and its bound.
    """
    return [c for g in _candidate_groups(problem)[0] for c in g]


def _candidate_groups(problem: AllocationInput) -> tuple[list[list[Candidate]], int]:
    """The candidates of each (need, security), and how many more there would be were the legal cap lifted."""
    limits, horizon = problem.limits, problem.horizon
    hidden = 0
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    lenders = sorted(enumerate(problem.lenders), key=lambda p: p[1].id)
    groups: list[list[Candidate]] = []
    for n, need in enumerate(problem.needs):
        kept = [s for s in need.securities if 0 < problem.securities[s].repay - need.start <= limits.max_days]
        lasts = sorted({min(problem.securities[s].repay, horizon) for s in kept})
        by_lender = [_need_rooms(lender, need.borrower, need.start, lasts, limits) for _, lender in lenders]
        for s in kept:
            security = problem.securities[s]
            last = min(security.repay, horizon)
            most_needed = max(shortfall[need.borrower][need.start:last])
            bound = min(security.cap, limits.max_per_borrower, max(most_needed, limits.min_advance))
            group = []
            for (l_index, _), (rooms, legal) in zip(lenders, by_lender, strict=True):
                unlawful = min(rooms[last], bound)
                lifted = down(unlawful)
                upper = lifted if unlawful <= legal else down(legal)
                if upper > 0 and upper >= limits.min_advance:
                    group.append(Candidate(l_index, n, s, need.start, security.repay, upper,
                                           lifted if lifted != upper else None))
                elif lifted > 0 and lifted >= limits.min_advance:
                    hidden += 1
            groups.append(group)
    return groups, hidden


def _need_rooms(lender: LenderInput, borrower: str, start: int, lasts: Sequence[int],
                limits: Limits) -> tuple[dict[int, Decimal], Decimal]:
    """What a lender may advance from day `start` to each of `lasts` (its share of its least surplus over the
    days, within its dependence room toward `borrower`), and its legal room in the financial year of `start`."""
    rooms: dict[int, Decimal] = {}
    least: Decimal | None = None
    for at, last in itertools.pairwise([start, *lasts]):  # the least surplus over start..last-1
        low = min(lender.surplus[at:last])  # extends the one before: `lasts` increase, all after `start`
        least = low if least is None else min(least, low)
        rooms[last] = min(least * limits.max_lender_share, limits.pair_room(lender.id, borrower))
    fy = fiscal_year_of(lender, start)
    return rooms, _legal_room(fy, limits.legal_share) if fy else Decimal("1e12")


def _segments(points: set[int], horizon: int) -> list[tuple[int, int]]:
    edges = sorted(p for p in points | {horizon} if 0 <= p <= horizon)
    return [(a, b) for a, b in itertools.pairwise(edges) if a < b]


class _Outstanding:
    """The candidates of `ks` outstanding at the end of a day (`active`), in the order of `ks`, by numpy masks."""

    def __init__(self, cands: Sequence[Candidate], ks: Sequence[int]) -> None:
        self.ks = np.asarray(ks, dtype=np.int64)
        self.starts = np.fromiter((cands[k].start for k in ks), dtype=np.int64, count=len(ks))
        self.repays = np.fromiter((cands[k].repay for k in ks), dtype=np.int64, count=len(ks))

    def on(self, day: int) -> list[int]:
        return self.ks[(self.starts <= day) & (day < self.repays)].tolist()  # type: ignore[no-any-return]


class _Rows:
    """Sparse constraint rows `lo <= a·v <= hi`."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.legal: list[int] = []  # the rows of the legal cap (`_lender_rows`), which `lifted_floor` drops

    def add(self, terms: dict[int, float], lo: float, hi: float) -> None:
        self.rows.extend(itertools.repeat(len(self.lo), len(terms)))
        self.cols.extend(terms)
        self.vals.extend(terms.values())
        self.lo.append(lo)
        self.hi.append(hi)

    def constraint(self, width: int) -> LinearConstraint:
        matrix = coo_array((self.vals, (self.rows, self.cols)), shape=(len(self.lo), width)).tocsr()
        return LinearConstraint(matrix, np.array(self.lo), np.array(self.hi))


def _c(amount: Decimal) -> float:
    """EUR → cents, as the solver's float."""
    return float(amount * 100)


def _groups(problem: AllocationInput, cands: Sequence[Candidate],
            ) -> tuple[dict[int, list[int]], dict[str, list[int]], dict[int, list[int]]]:
    """The candidates by lender, by borrower and by security."""
    by_lender: dict[int, list[int]] = defaultdict(list)
    by_borrower: dict[str, list[int]] = defaultdict(list)
    by_security: dict[int, list[int]] = defaultdict(list)
    for k, cand in enumerate(cands):
        by_lender[cand.lender].append(k)
        by_borrower[problem.needs[cand.need].borrower].append(k)
        by_security[cand.security].append(k)
    return by_lender, by_borrower, by_security


def _lender_rows(problem: AllocationInput, cands: Sequence[Candidate], l_index: int, ks: Sequence[int],
                 rows: _Rows) -> None:
    """A lender's floor (and share of its surplus) on every day, and its legal cap in every financial year."""
    limits, horizon, lender = problem.limits, problem.horizon, problem.lenders[l_index]
    points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
    outstanding = _Outstanding(cands, ks)
    for a, b in _segments(points, horizon):
        live = outstanding.on(a)
        if live:
            room = min(lender.surplus[a:b]) * limits.max_lender_share
            rows.add(dict.fromkeys(live, 1.0), -math.inf, max(0.0, _c(room)))
    for fy in lender.fiscal_years:
        paid = [k for k in ks if fy.first <= cands[k].start <= fy.last]
        if not paid:
            continue
        terms = dict.fromkeys(paid, 1.0)
        if fy.eve is not None:
            for k in ks:
                if active(cands[k].start, cands[k].repay, fy.eve):
                    terms[k] = terms.get(k, 0.0) + float(limits.legal_share)
        rows.legal.append(len(rows.lo))
        rows.add(terms, -math.inf, _c(_legal_room(fy, limits.legal_share)))


def build_rows(problem: AllocationInput, cands: Sequence[Candidate], semicontinuous: bool = True,
               ) -> tuple[_Rows, int]:
    """The constraints of the program over variables [x (K), y (K), u (needs), t].

    Without `semicontinuous` (the linear relaxation), the two rows per candidate that tie x to y
    (x = 0 or min <= x <= upper) are left out: relaxed, they only say 0 <= x <= upper, which the
    bounds of x already say, and y is unused (a program half the size, solved several times faster).
    """
    k_count, n_count = len(cands), len(problem.needs)
    width = 2 * k_count + n_count + 1
    limits, horizon = problem.limits, problem.horizon
    rows = _Rows()
    inf = math.inf
    for k, cand in enumerate(cands if semicontinuous else ()):
        # minimum advance: x = 0 or min <= x <= upper
        rows.add({k: 1.0, k_count + k: -_c(cand.upper)}, -inf, 0.0)
        rows.add({k: 1.0, k_count + k: -_c(limits.min_advance)}, 0.0, inf)
    by_lender, by_borrower, by_security = _groups(problem, cands)
    for l_index, ks in by_lender.items():
        _lender_rows(problem, cands, l_index, ks, rows)
    for s, ks in by_security.items():
        rows.add(dict.fromkeys(ks, 1.0), -inf, _c(problem.securities[s].cap))
    for l_id, b_id, room in limits.pair_rooms:
        pair = [k for k, cand in enumerate(cands)
                if problem.lenders[cand.lender].id == l_id and problem.needs[cand.need].borrower == b_id]
        if pair:
            rows.add(dict.fromkeys(pair, 1.0), -inf, _c(room))
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    outstanding_of = {borrower: _Outstanding(cands, ks) for borrower, ks in by_borrower.items()}
    for borrower, ks in by_borrower.items():
        points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
        for a, _b in _segments(points, horizon):
            live = outstanding_of[borrower].on(a)
            if live:
                rows.add(dict.fromkeys(live, 1.0), -inf, _c(limits.max_per_borrower))
    for n, need in enumerate(problem.needs):
        ks = by_borrower.get(need.borrower, [])
        points = {cands[k].start for k in ks} | {min(cands[k].repay, horizon) for k in ks}
        points |= {need.start, need.end + 1}
        for a, b in _segments(points, horizon):
            if a < need.start or b > need.end + 1:
                continue
            worst = max(shortfall[need.borrower][a:b])
            terms = dict.fromkeys(outstanding_of[need.borrower].on(a) if ks else [], 1.0)
            terms[2 * k_count + n] = 1.0
            rows.add(terms, _c(worst), inf)
    return rows, width


@dataclass(frozen=True)
class TimeLimits:
    """The most time (seconds, HiGHS's clock) each phase may take; the best feasible answer found is kept.

    `relaxed` bounds the linear relaxation of phase 1 (the proven lower bound on the unmet need);
    `unmet` the mixed-integer search of phase 1 (first on the relaxation's support, then on every
    candidate with what is left); `count` phase 2 (fewest advances); `spread` phase 3. Phases 2
    and 3 stop first at their node limits (`COUNT_NODES`, `SPREAD_NODES`): their time limits are
    backstops.
    """

    relaxed: float = 30.0
    unmet: float = 10.0
    count: float = 5.0
    spread: float = 5.0


@dataclass(frozen=True)
class PhaseReport:
    """How one phase ended: its objective and proven bound (solver units), status, time and program size."""

    name: str
    status: str
    objective: float
    bound: float
    seconds: float
    candidates: int


class _Program:
    """The program over a subset of the candidates, variables [x (K), y (K), u (needs), t]."""

    def __init__(self, problem: AllocationInput, cands: Sequence[Candidate], subset: Sequence[int],
                 relaxed: bool = False) -> None:
        self.subset = list(subset)
        self.cands = [cands[k] for k in self.subset]
        self.k = len(self.cands)
        self.rows, self.width = build_rows(problem, self.cands, semicontinuous=not relaxed)
        self.u = slice(2 * self.k, 2 * self.k + len(problem.needs))
        self.t = self.width - 1
        self.lower = np.zeros(self.width)
        self.upper = np.full(self.width, np.inf)
        self.upper[:self.k] = [_c(c.upper) for c in self.cands]
        self.upper[self.k:2 * self.k] = 0.0 if relaxed else 1.0
        self.integral = np.zeros(self.width)
        self.integral[self.k:2 * self.k] = 1
        self.minimum = _c(problem.limits.min_advance)

    def objective(self, what: str) -> np.ndarray:
        c = np.zeros(self.width)
        if what == "unmet":
            c[self.u] = 1.0
        elif what == "count":
            c[self.k:2 * self.k] = 1.0
        else:
            c[self.t] = 1.0
        return c

    def row(self, what: str, hi: float) -> LinearConstraint:
        """objective(what) · v <= hi, as a constraint (a cutoff, or a pin on an earlier phase's optimum)."""
        c = self.objective(what)
        return LinearConstraint(c.reshape(1, -1), -np.inf, hi)

    def spread_rows(self, weights: dict[int, Decimal]) -> LinearConstraint:
        rows = _Rows()
        for l_index, ks in _by_lender(self.cands).items():
            terms = dict.fromkeys(ks, 1.0)
            terms[self.t] = -_c(weights[l_index])
            rows.add(terms, -math.inf, 0.0)
        return rows.constraint(self.width)

    def amounts(self, x: np.ndarray, size: int) -> np.ndarray:
        """The solver's cents back on the full candidate list."""
        out = np.zeros(size)
        out[self.subset] = x[:self.k]
        return out

    def point(self, amounts: np.ndarray) -> np.ndarray:
        """A full-candidate amounts vector as a point of this program (y = 1 where paid; u and t left at 0)."""
        v = np.zeros(self.width)
        v[:self.k] = amounts[self.subset]
        v[self.k:2 * self.k] = (v[:self.k] > 0.5).astype(float)
        return v


def _pin(value: float) -> float:
    """The slack kept when a later phase keeps an earlier phase's optimum (solver tolerances)."""
    return value + 1e-3 + 1e-9 * abs(value)


def _support(amounts: np.ndarray) -> list[int]:
    return [int(k) for k in np.flatnonzero(amounts > 0.5)]


def _below_minimum(x: np.ndarray, k_count: int, minimum: float) -> list[int]:
    """Candidates a relaxed solution pays something under the minimum advance (they break its integrality)."""
    return [k for k in range(k_count) if 0.5 < x[k] < minimum - 0.5]


def _round_out(program: _Program, x: np.ndarray, seconds: float) -> np.ndarray:
    """A feasible point from a relaxed one: drop what is paid under the minimum and solve the LP again.

    Zero advances is always feasible, so this ends on a point every advance of which is either 0 or
    at least the minimum (after a few rounds, only the advances already at the minimum are kept).
    """
    upper = program.upper.copy()
    for rounds in range(1, 50):
        small = _below_minimum(x, program.k, program.minimum)
        if not small:
            return x
        if rounds > 3:
            small = [k for k in range(program.k) if x[k] < program.minimum - 0.5]
        upper[small] = 0.0
        upper[[program.k + k for k in small]] = 0.0
        found = solve(program.objective("unmet"), [program.rows.constraint(program.width)], program.lower, upper,
                      np.zeros(program.width), seconds)
        if found.x is None:
            break
        x = found.x
    return np.zeros(program.width)


def _unmet_cents(problem: AllocationInput, cands: Sequence[Candidate], amounts: np.ndarray) -> float:
    """The total unmet need (cents) the amounts leave, as the program counts it (floats, like the solver)."""
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    paid = _support(amounts)
    total = 0.0
    for need in problem.needs:
        mine = [k for k in paid if problem.needs[cands[k].need].borrower == need.borrower]
        worst = max(_c(shortfall[need.borrower][d]) - sum(float(amounts[k]) for k in mine
                                                          if active(cands[k].start, cands[k].repay, d))
                    for d in range(need.start, need.end + 1))
        total += max(0.0, worst)
    return total


def _phase1(problem: AllocationInput, cands: Sequence[Candidate], limits: TimeLimits,
            reports: list[PhaseReport], lp: _Program, priced: Priced) -> tuple[np.ndarray, float, float] | None:
    """Least total unmet need: (amounts, unmet, proven bound), in cents; None when the program is infeasible.

    The relaxation over every candidate (`lp`, solved: `priced`; see `_relaxation`) gives the bound;
    when it pays nothing under the minimum it is the optimum. Otherwise the mixed-integer program is
    solved on the relaxation's support (small, usually optimal), then, if that does not reach the
    bound, on every candidate a better plan may use (`priced_in`: the others are proven useless by
    the relaxation's reduced costs, so the search and its bound hold over every candidate) with what
    remains of `limits.unmet`, with the best answer so far as a cutoff and as the fallback. The
    first fallback is the rounded relaxation (what it pays under the minimum dropped, solved again);
    with `limits.unmet` = 0 it is the answer.
    """
    size = len(cands)
    relaxed = priced.solution
    reports.append(PhaseReport("unmet-relaxed", relaxed.status, relaxed.objective, relaxed.bound, relaxed.seconds,
                               size))
    if relaxed.status == INFEASIBLE:
        return None
    bound = max(0.0, relaxed.bound)
    first = lp.amounts(relaxed.x, size) if relaxed.x is not None else np.zeros(size)
    if relaxed.proved and not _below_minimum(first, size, lp.minimum):
        return first, relaxed.objective, relaxed.objective
    start = time.process_time()
    sub = _Program(problem, cands, _support(first))
    best = sub.amounts(_round_out(sub, sub.point(first), limits.relaxed), size)
    best_value = _unmet_cents(problem, cands, best)
    reports.append(PhaseReport("unmet-rounded", "feasible", best_value, bound, time.process_time() - start, sub.k))
    if limits.unmet > 0 and best_value > _pin(bound):
        found = solve(sub.objective("unmet"), [sub.rows.constraint(sub.width), sub.row("unmet", _pin(best_value))],
                      sub.lower, sub.upper, sub.integral, limits.unmet)
        reports.append(PhaseReport("unmet-support", found.status, found.objective, found.bound, found.seconds,
                                   sub.k))
        if found.x is not None and found.objective < best_value:
            best, best_value = sub.amounts(found.x, size), found.objective
    if best_value <= _pin(bound):
        return best, best_value, best_value
    left = limits.unmet - (time.process_time() - start)
    if left <= 0:
        return best, best_value, bound
    full = _Program(problem, cands, priced_in(priced.reduced, first, best_value - bound, full_minimum(problem)))
    search = solve(full.objective("unmet"), [full.rows.constraint(full.width), full.row("unmet", _pin(best_value))],
                   full.lower, full.upper, full.integral, left)
    reports.append(PhaseReport("unmet-priced", search.status, search.objective, search.bound, search.seconds, full.k))
    if search.x is not None and search.objective < best_value:
        best, best_value = full.amounts(search.x, size), search.objective
    if search.proved or search.status == INFEASIBLE:  # infeasible: nothing beats the cutoff, `best` is optimal
        return best, best_value, best_value
    return best, best_value, min(best_value, max(bound, search.bound))


def lifted_floor(problem: AllocationInput, lp: _Program, priced: Priced, hidden: int) -> float | None:
    """A floor (cents) under the least total unmet need of the program with the legal cap lifted, priced
    from phase 1's relaxation `lp` without solving anything.

    The relaxation's multipliers, the legal cap's rows dropped, bound every plan of the lifted
    program whose candidates are those of `lp` with their lifted upper bounds (`Candidate.lifted`;
    weak duality, `solver.Multipliers.floor`). When some candidate exists only with the cap lifted
    (`hidden`), the relaxation does not price it: None, as when the relaxation was not solved to the
    end or no legal cap is in the program. Where the cap binds nothing the floor is the relaxation's
    own optimum, and the lifted program needs no solving (`banquasso.pool.plan.LegalQuestion`).
    """
    if hidden or priced.multipliers is None or not priced.solution.proved or not lp.rows.legal:
        return None
    hi = lp.upper.copy()
    hi[:lp.k] = [_c(c.upper if c.lifted is None else c.lifted) for c in lp.cands]
    floor = priced.multipliers.floor(lp.objective("unmet"), lp.rows.constraint(lp.width), lp.lower, hi, lp.rows.legal)
    return max(0.0, floor)


def _relaxation(problem: AllocationInput, cands: Sequence[Candidate], limits: TimeLimits) -> tuple[_Program, Priced]:
    """Phase 1's linear relaxation over every candidate (least total unmet need, amounts only), and its answer."""
    lp = _Program(problem, cands, range(len(cands)), relaxed=True)
    return lp, solve_lp(lp.objective("unmet"), lp.rows.constraint(lp.width), lp.lower, lp.upper, limits.relaxed)


def least_unmet_floor(problem: AllocationInput, limits: TimeLimits = TimeLimits()) -> float | None:
    """A floor (cents) under the total unmet need of every plan of the program: the optimum of phase 1's
    linear relaxation over every candidate; None when `limits.relaxed` stopped it first."""
    cands = candidates(problem)
    if not cands:
        return _c(sum(unmet_after(problem, ()), ZERO))
    relaxed = _relaxation(problem, cands, limits)[1].solution
    if relaxed.status == INFEASIBLE:
        return math.inf
    return max(0.0, relaxed.bound) if relaxed.proved else None


def full_minimum(problem: AllocationInput) -> float:
    """The least amount (cents) an advance that is paid at all carries: the minimum advance, or a cent."""
    return max(_c(problem.limits.min_advance), 1.0)


def priced_in(reduced: np.ndarray | None, relaxed: np.ndarray, gap: float, minimum: float) -> list[int]:
    """The candidates a plan better than the incumbent may use, proven from the relaxation's reduced costs.

    Any plan that pays candidate k (at least `minimum` cents) leaves at least the relaxation's
    optimum + reduced_k × `minimum` unmet (`solver.Priced`). A candidate the relaxation leaves at 0
    whose reduced cost makes that reach the incumbent (`gap` = incumbent − relaxation, cents) cannot
    be part of a better plan, and is left out. Every other one is kept (a cent of slack against the
    solver's tolerances); without reduced costs (a relaxation stopped by its limit) every one is.
    """
    size = len(relaxed)
    if reduced is None:
        return list(range(size))
    costs = reduced[:size] * minimum
    return [int(k) for k in np.flatnonzero((relaxed > 0.5) | (costs < gap + 1.0))]


def _split_needs(cands: Sequence[Candidate], amounts: np.ndarray) -> set[int]:
    seen: dict[int, int] = defaultdict(int)
    for k in _support(amounts):
        seen[cands[k].need] += 1
    return {n for n, count in seen.items() if count > 1}


def _phase2(problem: AllocationInput, cands: Sequence[Candidate], amounts: np.ndarray, unmet: float,
            limits: TimeLimits, reports: list[PhaseReport]) -> np.ndarray:
    """Fewest advances keeping the unmet need, where merging can happen: the needs phase 1 splits.

    The candidates are phase 1's advances and every candidate of a need it splits. A linear program
    first fills the largest possible advances (min Σ x/upper, a sparse answer); the mixed-integer
    program then chooses among phase 1's advances and that answer's, within `limits.count`, with
    phase 1's number of advances as the cutoff and the fallback.
    """
    split = _split_needs(cands, amounts)
    used = set(_support(amounts))
    if not split:
        reports.append(PhaseReport("count", "optimal", float(len(used)), float(len(used)), 0.0, len(used)))
        return amounts
    start = time.process_time()
    wide = _Program(problem, cands, sorted(used | {k for k, c in enumerate(cands) if c.need in split}), relaxed=True)
    fill = np.zeros(wide.width)
    fill[:wide.k] = [1.0 / max(u, 1.0) for u in wide.upper[:wide.k]]
    filled = solve(fill, [wide.rows.constraint(wide.width), wide.row("unmet", _pin(unmet))],
                   wide.lower, wide.upper, np.zeros(wide.width), limits.count)
    reports.append(PhaseReport("count-relaxed", filled.status, filled.objective, filled.bound, filled.seconds,
                               wide.k))
    more = set(_support(wide.amounts(filled.x, len(cands)))) if filled.x is not None else set()
    left = limits.count - (time.process_time() - start)
    sub = _Program(problem, cands, sorted(used | more))
    found = solve(sub.objective("count"), [sub.rows.constraint(sub.width), sub.row("unmet", _pin(unmet)),
                                           sub.row("count", len(used) - 0.5)],
                  sub.lower, sub.upper, sub.integral, max(left, 0.1), COUNT_NODES)
    reports.append(PhaseReport("count", found.status, found.objective, found.bound, found.seconds, sub.k))
    if found.x is None or round(found.objective) >= len(used):
        return amounts
    return sub.amounts(found.x, len(cands))


def _alternatives(cands: Sequence[Candidate], chosen: Sequence[int], needs: set[int], per_need: int) -> list[int]:
    """The chosen advances and, for each of `needs`, its `per_need` largest candidates (ties by order)."""
    by_need: dict[int, list[int]] = defaultdict(list)
    for k, cand in enumerate(cands):
        if cand.need in needs:
            by_need[cand.need].append(k)
    keep = set(chosen)
    for ks in by_need.values():
        keep.update(sorted(ks, key=lambda k: (-cands[k].upper, k))[:per_need])
    return sorted(keep)


def _shares(cands: Sequence[Candidate], amounts: np.ndarray, weights: dict[int, Decimal]) -> dict[int, float]:
    """Each lender's committed share of its lendable surplus (what phase 3 lowers the largest of)."""
    out: dict[int, float] = defaultdict(float)
    for k in _support(amounts):
        out[cands[k].lender] += float(amounts[k]) / _c(weights[cands[k].lender])
    return out


def _phase3(problem: AllocationInput, cands: Sequence[Candidate], amounts: np.ndarray, unmet: float,
            limits: TimeLimits, reports: list[PhaseReport]) -> np.ndarray:
    """Spread over the lenders, keeping phases 1 and 2's optimum.

    First a linear program: phase 2's advances kept (each at or above the minimum), their amounts
    chosen to lower the largest share any lender commits. Then rounds of a small mixed-integer
    program that may move the advances of the most committed lender(s) to another lender (one of
    the `ALTERNATIVES` largest candidates of each need they serve), never with more advances and
    each round lowering the largest share, until none can or `limits.spread` is spent.
    """
    chosen = _support(amounts)
    if not chosen:
        return amounts
    weights = _weights(problem, cands)
    fixed = _Program(problem, cands, chosen)
    lower = fixed.lower.copy()
    lower[fixed.k:2 * fixed.k] = 1.0  # every advance of phase 2 stays, at or above the minimum; no other
    start = time.process_time()
    found = solve(fixed.objective("spread"), [fixed.rows.constraint(fixed.width), fixed.row("unmet", _pin(unmet)),
                                              fixed.spread_rows(weights)],
                  lower, fixed.upper, np.zeros(fixed.width), limits.spread)
    reports.append(PhaseReport("spread-fixed", found.status, found.objective, found.bound, found.seconds, fixed.k))
    if found.x is None:
        return amounts
    best, spread = fixed.amounts(found.x, len(cands)), found.objective
    count = len(chosen)
    for _ in range(SPREAD_ROUNDS):
        left = limits.spread - (time.process_time() - start)
        if left <= 0 or spread <= 0:
            break
        shares = _shares(cands, best, weights)
        top = {lender for lender, share in shares.items() if share >= spread * (1 - 1e-6)}
        moving = {cands[k].need for k in _support(best) if cands[k].lender in top}
        sub = _Program(problem, cands, _alternatives(cands, _support(best), moving, ALTERNATIVES))
        moved = solve(sub.objective("spread"), [sub.rows.constraint(sub.width), sub.row("unmet", _pin(unmet)),
                                                sub.row("count", count + 0.5), sub.spread_rows(weights),
                                                sub.row("spread", spread * (1 - SPREAD_STEP))],
                      sub.lower, sub.upper, sub.integral, left, SPREAD_NODES)
        reports.append(PhaseReport("spread", moved.status, moved.objective, moved.bound, moved.seconds, sub.k))
        if moved.x is None or moved.objective >= spread * (1 - SPREAD_STEP):
            break
        best, spread = sub.amounts(moved.x, len(cands)), moved.objective
    return best


def allocate(problem: AllocationInput, limits: TimeLimits = TimeLimits(), unmet_only: bool = False) -> Allocation:
    """The plan for the input, with its status: `optimal` when its total unmet need is proven least.

    Phase 1 (least unmet need) is exact whatever the size, within `limits`; phase 2 (fewest
    advances) and phase 3 (spread) work where they can change something (see the phase functions).
    When a time limit stops phase 1 before its proof, the plan is the best found, its status is
    `gap` and `bound` the proven least unmet need (`gap` = total unmet − bound). With
    `unmet_only`, phases 2 and 3 are skipped: for a question on the unmet need alone (what lifting
    a rule would cover), which they never change.
    """
    groups, hidden = _candidate_groups(problem)
    cands = [c for g in groups for c in g]
    possible = len(cands)
    if not cands:
        empty = unmet_after(problem, ())
        return Allocation((), empty, (), "no-candidate", sum(empty, ZERO), possible=possible,
                          optimum=_c(sum(empty, ZERO)))
    reports: list[PhaseReport] = []
    lp, priced = _relaxation(problem, cands, limits)
    floor = None if unmet_only else lifted_floor(problem, lp, priced, hidden)
    first = _phase1(problem, cands, limits, reports, lp, priced)
    if first is None:
        empty = unmet_after(problem, ())
        return Allocation((), empty, tuple(cands), "infeasible", ZERO, tuple(reports), possible)
    amounts, unmet, bound = first
    if not unmet_only:
        amounts = _phase2(problem, cands, amounts, unmet, limits, reports)
        amounts = _phase3(problem, cands, amounts, unmet, limits, reports)
    advances = settle(problem, cands, [float(v) for v in amounts])
    left = unmet_after(problem, advances)
    total = sum(left, ZERO)
    proved = bound >= unmet - 1e-3 - 1e-9 * unmet
    proven = total if proved else min(total, down(Decimal(max(0.0, bound)) / 100))
    return Allocation(advances, left, tuple(cands), "optimal" if proved else "gap", proven, tuple(reports),
                      possible, unmet, floor)


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
    minimum = problem.limits.min_advance
    amounts = [a if a >= minimum and a > 0 else ZERO
               for a in (min(a, c.upper) for a, c in zip(amounts, cands, strict=True))]
    # A rule the rounded amounts keep is never broken by a cut (every rule bounds a sum of amounts from
    # above): the rules broken now, mended in their order, one cut at a time, are every cut to make.
    used = [k for k, a in enumerate(amounts) if a > 0]
    for rule in [r for r in _rules(problem, cands, used) if r.broken(amounts) is not None]:
        for _ in range(len(cands) + 1):
            excess = rule.broken(amounts)
            if excess is None:
                break
            ks, over = excess
            k = max(ks, key=lambda i: (amounts[i], -i))
            amounts[k] = max(ZERO, amounts[k] - over.quantize(CENT, rounding=ROUND_UP))
            if amounts[k] < minimum:
                amounts[k] = ZERO
    amounts = _top_up(problem, cands, amounts)
    return tuple(
        Advance(problem.lenders[c.lender].id, problem.needs[c.need].borrower, c.need, c.security,
                c.start, c.repay, a)
        for c, a in zip(cands, amounts, strict=True) if a > 0
    )


@dataclass(frozen=True)
class _Rule:
    """One rule of the program as `Σ weight × amount <= cap` over paid candidates; a cut to one of `cut`
    (those the rule's excess is charged to) mends it."""

    terms: tuple[tuple[int, Decimal], ...]
    cut: tuple[int, ...]
    cap: Decimal

    def broken(self, amounts: Sequence[Decimal]) -> tuple[list[int], Decimal] | None:
        """The candidates still paid that the excess may be cut from, and the excess; None when kept."""
        live = [k for k in self.cut if amounts[k] > 0]
        if not live:
            return None
        over = sum((w * amounts[k] for k, w in self.terms if amounts[k] > 0), ZERO) - self.cap
        return (live, over) if over > 0 else None


def _rules(problem: AllocationInput, cands: Sequence[Candidate], used: Sequence[int],
           around: Candidate | None = None) -> Iterator[_Rule]:
    """Every rule over the paid candidates `used`, in a fixed order: each lender's floor on each day and
    legal cap in each financial year, each security's cap, each borrower's cap on each day, each pair's
    dependence room (`Limits.pair_rooms`). With `around`, only the rules of its lender, its security,
    its borrower and its pair."""
    limits, horizon, one = problem.limits, problem.horizon, Decimal(1)
    for l_index in range(len(problem.lenders)):
        if around is None or l_index == around.lender:
            yield from _lender_rules(problem, cands, l_index, [k for k in used if cands[k].lender == l_index])
    for s, security in enumerate(problem.securities):
        secured = tuple(k for k in used if cands[k].security == s) if around is None or s == around.security else ()
        if secured:
            yield _Rule(tuple((k, one) for k in secured), secured, security.cap)
    for borrower in problem.borrowers:
        if around is not None and borrower.id != problem.needs[around.need].borrower:
            continue
        owed = tuple(k for k in used if problem.needs[cands[k].need].borrower == borrower.id)
        for day in range(horizon if owed else 0):
            live = tuple(k for k in owed if active(cands[k].start, cands[k].repay, day))
            if live:
                yield _Rule(tuple((k, one) for k in live), live, limits.max_per_borrower)
    for l_id, b_id, room in limits.pair_rooms:
        if around is not None and _pair(problem, around) != (l_id, b_id):
            continue
        pair = tuple(k for k in used if _pair(problem, cands[k]) == (l_id, b_id))
        if pair:
            yield _Rule(tuple((k, one) for k in pair), pair, room)


def _lender_rules(problem: AllocationInput, cands: Sequence[Candidate], l_index: int,
                  ks: Sequence[int]) -> Iterator[_Rule]:
    """One lender's rules over its paid candidates `ks`: its floor on each day, its legal cap in each year."""
    limits, lender, one = problem.limits, problem.lenders[l_index], Decimal(1)
    for day in range(problem.horizon if ks else 0):
        live = tuple(k for k in ks if active(cands[k].start, cands[k].repay, day))
        if live:
            yield _Rule(tuple((k, one) for k in live), live, lender.surplus[day] * limits.max_lender_share)
    for fy in lender.fiscal_years:
        paid = tuple(k for k in ks if fy.first <= cands[k].start <= fy.last)
        if not paid:
            continue
        terms = [(k, one) for k in paid]
        if fy.eve is not None:
            terms += [(k, limits.legal_share) for k in ks if active(cands[k].start, cands[k].repay, fy.eve)]
        yield _Rule(tuple(terms), paid, _legal_room(fy, limits.legal_share))


def _pair(problem: AllocationInput, cand: Candidate) -> tuple[str, str]:
    """A candidate's (lender, borrower), as the dependence test's rooms name them (`Limits.pair_rooms`)."""
    return problem.lenders[cand.lender].id, problem.needs[cand.need].borrower


def _need_left(problem: AllocationInput, cands: Sequence[Candidate], amounts: Sequence[Decimal], n: int,
               paid: Sequence[int]) -> Decimal:
    """The largest shortfall of need `n` the amounts leave (`paid`: the candidates with an amount)."""
    need = problem.needs[n]
    shortfall = next(b.shortfall for b in problem.borrowers if b.id == need.borrower)
    mine = [k for k in paid if problem.needs[cands[k].need].borrower == need.borrower]
    return max(shortfall[d] - sum((amounts[k] for k in mine if active(cands[k].start, cands[k].repay, d)), ZERO)
               for d in range(need.start, need.end + 1))


def _top_up(problem: AllocationInput, cands: Sequence[Candidate], amounts: list[Decimal]) -> list[Decimal]:
    """Give back the cents rounding took: an advance of a need left short grows a cent at a time
    (at most `TOP_UP_CENTS`) while that lowers the need's shortfall and every rule still holds."""
    paid = [k for k, a in enumerate(amounts) if a > 0]
    for k in paid:
        n = cands[k].need
        left = _need_left(problem, cands, amounts, n, paid)
        for _ in range(TOP_UP_CENTS):
            if left <= 0 or amounts[k] + CENT > cands[k].upper:
                break
            amounts[k] += CENT
            now = _need_left(problem, cands, amounts, n, paid)
            if now >= left or _first_violation(problem, cands, amounts, cands[k], paid) is not None:
                amounts[k] -= CENT
                break
            left = now
    return amounts


def _first_violation(problem: AllocationInput, cands: Sequence[Candidate], amounts: Sequence[Decimal],
                     around: Candidate | None = None, paid: Sequence[int] | None = None,
                     ) -> tuple[list[int], Decimal] | None:
    """The first rule (`_rules`, in their order) the amounts break: the candidates its excess may be cut
    from, and the excess, checked exactly; None when every rule holds.

    With `around`, only the rules of its lender, its security, its borrower and its pair are checked;
    `paid`, when given, lists every candidate with an amount (else they are looked for).
    """
    used = [k for k, a in enumerate(amounts) if a > 0] if paid is None else [k for k in paid if amounts[k] > 0]
    return next((found for rule in _rules(problem, cands, used, around)
                 if (found := rule.broken(amounts)) is not None), None)


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
