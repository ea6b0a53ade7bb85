"""Phase 1 over every candidate: the same unmet need as the plain exact program, and nothing pruned away."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from banquasso.pool import allocation as allocation_module
from banquasso.pool.allocation import allocate, candidates
from banquasso.pool.program import (
    AllocationInput,
    BorrowerInput,
    LenderInput,
    Limits,
    NeedInput,
    SecurityInput,
)
from banquasso.pool.solver import NODE_LIMIT, OPTIMAL, solve, solve_lp
from tests.test_allocation import check_plan, flat, problems

D = Decimal


def plain_exact_unmet(problem: AllocationInput) -> Decimal:
    """The mixed-integer program over every candidate, x and y, solved to the end in one call (cents → EUR)."""
    cands = candidates(problem)
    program = allocation_module._Program(problem, cands, range(len(cands)))
    found = solve(program.objective("unmet"), [program.rows.constraint(program.width)], program.lower,
                  program.upper, program.integral, 60.0)
    assert found.proved
    return Decimal(found.objective).quantize(D("0.01")) / 100


def plain_relaxed_unmet(problem: AllocationInput, semicontinuous: bool) -> float:
    """The linear relaxation, with or without the two rows per candidate that tie x to y (cents)."""
    cands = candidates(problem)
    program = allocation_module._Program(problem, cands, range(len(cands)), relaxed=not semicontinuous)
    found = solve(program.objective("unmet"), [program.rows.constraint(program.width)], program.lower,
                  program.upper, np.zeros(program.width), 60.0)
    assert found.proved
    return found.objective


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems())
def test_allocation_leaves_the_unmet_need_of_the_plain_exact_program(problem: AllocationInput) -> None:
    allocation = allocate(problem)
    if not allocation.candidates:
        return
    cents = D("0.01") * len(problem.needs)  # the plan is rounded to the cent, at most a cent per need
    assert allocation.status == "optimal"
    exact = plain_exact_unmet(problem)
    # Never more unmet than the plain program. It may leave less: a financial year's legal row (with
    # its eve's share) exists only in a program holding a candidate paid in that year, and the rule
    # binds only then (`check_plan`); the plain program holds them all, so it may bind where no plan does.
    assert allocation.total_unmet <= exact + cents
    check_plan(problem, allocation)
    alone = allocate(problem, unmet_only=True)  # phase 1 alone: the same unmet need, no later phase
    assert alone.status == "optimal" and alone.total_unmet <= exact + cents
    assert not {p.name for p in alone.phases} & {"count", "count-relaxed", "spread", "spread-fixed"}
    check_plan(problem, alone)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems())
def test_relaxation_without_y_is_the_relaxation_with_y(problem: AllocationInput) -> None:
    if not candidates(problem):
        return
    with_y, without_y = plain_relaxed_unmet(problem, True), plain_relaxed_unmet(problem, False)
    assert abs(with_y - without_y) <= 1e-4 * max(1.0, with_y)


def _crowded() -> AllocationInput:
    """Five rich lenders all taken by b1's 50 000 €; b2's 6 000 € can only come from two small lenders.

    Pruning kept, for each need, its five best-placed lenders: for b2, the five rich ones (6 000 €
    each, against 3 000 € for the small ones), all of whose cash b1 needs. It left 6 000 € unmet.
    """
    rich = tuple(LenderInput(f"r{i}", flat(10000, 3)) for i in range(5))
    small = (LenderInput("s1", flat(3000, 3)), LenderInput("s2", flat(3000, 3)))
    shortfall = (D(50000), D(-1), D(-1)), (D(6000), D(-1), D(-1))
    return AllocationInput(
        3, rich + small,
        (BorrowerInput("b1", shortfall[0]), BorrowerInput("b2", shortfall[1])),
        (SecurityInput("b1", "T1", 2, D(50000)), SecurityInput("b2", "T2", 2, D(9000))),
        (NeedInput("b1", 0, 0, (0,)), NeedInput("b2", 0, 0, (1,))),
        Limits(min_advance=D(1000)),
    )


def test_every_candidate_covers_what_the_best_placed_lenders_alone_could_not() -> None:
    problem = _crowded()
    allocation = allocate(problem)
    check_plan(problem, allocation)
    assert (allocation.status, allocation.unmet, allocation.pruned) == ("optimal", (D("0.00"), D("0.00")), False)
    lent = {lender.id: sum((a.amount for a in allocation.advances if a.lender == lender.id), D(0))
            for lender in problem.lenders}
    # 56 000 € of needs, 56 000 € of cash: every lender lends all it has, the small ones included
    assert lent == {"r0": D(10000), "r1": D(10000), "r2": D(10000), "r3": D(10000), "r4": D(10000),
                    "s1": D(3000), "s2": D(3000)}
    assert len(allocation.candidates) == 14  # 7 lenders × 2 needs: none left out
    # what the old limit kept for b2 (its five best-placed lenders, the rich ones) left 6 000 € unmet
    kept = AllocationInput(problem.horizon, problem.lenders[:5], problem.borrowers, problem.securities,
                           problem.needs, problem.limits)
    assert allocate(kept).total_unmet == D("6000.00") == plain_exact_unmet(kept)
    assert plain_exact_unmet(problem) == D("0.00")


def _relaxation(problem: AllocationInput) -> tuple[AllocationInput, float, np.ndarray, np.ndarray | None]:
    cands = candidates(problem)
    lp = allocation_module._Program(problem, cands, range(len(cands)), relaxed=True)
    priced = solve_lp(lp.objective("unmet"), lp.rows.constraint(lp.width), lp.lower, lp.upper, 60.0)
    assert priced.solution.proved and priced.solution.x is not None
    return problem, priced.solution.objective, lp.amounts(priced.solution.x, len(cands)), priced.reduced


def test_pricing_leaves_out_a_lender_whose_cash_another_need_must_have() -> None:
    # a needs 1 500 € on day 0; only l1 can lend it (1 000 € that day), through two tranches of
    # 600 €: 500 € stay unmet whatever is done, and each euro of l1's day 0 is worth a euro of a.
    # b's 1 000 € come from l2, which has cash to spare: l1 → b would cost a 1 000 € (the minimum).
    problem = AllocationInput(
        3, (LenderInput("l1", (D(1000), D(2000), D(2000))), LenderInput("l2", (D(5000), D(0), D(0)))),
        (BorrowerInput("a", (D(1500), D(-1), D(-1))), BorrowerInput("b", (D(1000), D(-1), D(-1)))),
        (SecurityInput("a", "TA1", 3, D(600)), SecurityInput("a", "TA2", 3, D(600)),
         SecurityInput("b", "TB", 1, D(9000))),
        (NeedInput("a", 0, 0, (0, 1)), NeedInput("b", 0, 0, (2,))),
        Limits(min_advance=D(100)),
    )
    cands = candidates(problem)
    assert [(c.lender, c.need, c.security) for c in cands] == [(0, 0, 0), (0, 0, 1), (0, 1, 2), (1, 1, 2)]
    _, value, relaxed, reduced = _relaxation(problem)
    assert value == pytest.approx(50000.0)
    minimum = allocation_module.full_minimum(problem)
    assert allocation_module.priced_in(reduced, relaxed, 0.0, minimum) == [0, 1, 3]
    assert allocation_module.priced_in(reduced, relaxed, 10001.0, minimum) == [0, 1, 2, 3]
    assert allocation_module.priced_in(None, relaxed, 0.0, minimum) == [0, 1, 2, 3]
    assert allocate(problem).total_unmet == D("500.00") == plain_exact_unmet(problem)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems())
def test_the_priced_candidates_hold_every_plan_better_than_none(problem: AllocationInput) -> None:
    """With the empty plan as the incumbent, the program on the priced candidates has the full optimum."""
    cands = candidates(problem)
    if not cands:
        return
    _, value, relaxed, reduced = _relaxation(problem)
    empty = float(sum(allocation_module.unmet_after(problem, ()), D(0)) * 100)
    kept = allocation_module.priced_in(reduced, relaxed, empty - value, allocation_module.full_minimum(problem))
    program = allocation_module._Program(problem, cands, kept)
    found = solve(program.objective("unmet"), [program.rows.constraint(program.width)], program.lower,
                  program.upper, program.integral, 60.0)
    assert found.proved
    assert abs(Decimal(found.objective).quantize(D("0.01")) / 100 - plain_exact_unmet(problem)) <= D("0.01")


def test_the_last_search_runs_on_the_priced_candidates_and_proves_the_optimum() -> None:
    from tests.test_allocation import _split_need

    allocation = allocate(_split_need())  # relaxation 0 €, the best plan 500 €: the proof needs the search
    priced = [p for p in allocation.phases if p.name == "unmet-priced"]
    assert len(priced) == 1 and priced[0].candidates <= len(allocation.candidates)
    assert (allocation.status, allocation.total_unmet, allocation.gap) == ("optimal", D("500"), D("0.00"))


def test_a_node_limit_stops_the_search_in_work_not_in_time() -> None:
    """Phases 2 and 3 stop after a number of branch-and-bound nodes: the same answer on any machine."""
    from scipy.optimize import LinearConstraint

    rng = np.random.default_rng(0)
    weights = rng.integers(1000, 5000, 25).astype(float)
    values = weights + rng.integers(0, 100, 25)
    rows = [LinearConstraint(weights.reshape(1, -1), -np.inf, weights.sum() / 2)]
    ones, zeros = np.ones(25), np.zeros(25)
    stopped = solve(-values, rows, zeros, ones, ones, 60.0, nodes=1)
    again = solve(-values, rows, zeros, ones, ones, 60.0, nodes=1)
    full = solve(-values, rows, zeros, ones, ones, 60.0)
    assert stopped.status == NODE_LIMIT and full.status == OPTIMAL
    assert stopped.bound < full.objective  # the proof was not finished within one node
    assert stopped.x is not None and again.x is not None and (stopped.x == again.x).all()
