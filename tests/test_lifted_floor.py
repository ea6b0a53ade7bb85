"""The legal-cap question priced from phase 1's relaxation: weak duality's floor, never above the true one."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import LinearConstraint, linprog

from banquasso.pool import allocation
from banquasso.pool.plan import plan_group, plan_inputs, without_legal_cap
from banquasso.pool.program import AllocationInput
from banquasso.pool.solver import solve_lp
from banquasso.terms.policy import Policy, load_policy
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import write_group
from tests.test_plan import BORROWER, LENDER, POOL

AS_OF = dt.date(2026, 11, 30)


def _optimum(c: np.ndarray, a: np.ndarray, lb: np.ndarray, ub: np.ndarray, hi: np.ndarray) -> float:
    """The optimum of min c·v, lb <= A v <= ub, 0 <= v <= hi, solved by HiGHS apart from the code under test."""
    above, below = np.isfinite(ub), np.isfinite(lb)
    result = linprog(c, A_ub=np.vstack([a[above], -a[below]]), b_ub=np.concatenate([ub[above], -lb[below]]),
                     bounds=list(zip(np.zeros(len(c)), hi, strict=True)), method="highs")
    assert result.status == 0, result.message
    return float(result.fun)


@st.composite
def programs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A feasible bounded LP: a point in the box, rows around it (some sides infinite), an objective."""
    n, m = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    ints = st.integers(-4, 4)
    a = np.array([[draw(ints) for _ in range(n)] for _ in range(m)], dtype=float)
    hi = np.array([draw(st.integers(1, 9)) for _ in range(n)], dtype=float)
    point = np.array([draw(st.integers(0, int(h))) for h in hi], dtype=float)
    level = a @ point
    ub = np.array([v + draw(st.integers(0, 5)) if draw(st.booleans()) else math.inf for v in level])
    lb = np.array([v - draw(st.integers(0, 5)) if draw(st.booleans()) else -math.inf for v in level])
    c = np.array([draw(ints) for _ in range(n)], dtype=float)
    raised = hi + np.array([draw(st.integers(0, 5)) for _ in range(n)], dtype=float)
    return c, a, lb, ub, hi, raised


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.data())
def test_the_multipliers_floor_is_the_optimum_and_never_above_a_changed_program_s(
        program: tuple[np.ndarray, ...], data: st.DataObject) -> None:
    c, a, lb, ub, hi, raised = program
    priced = solve_lp(c, LinearConstraint(a, lb, ub), np.zeros(len(c)), hi, 10.0)
    assert priced.multipliers is not None and priced.solution.proved
    constraint = LinearConstraint(a, lb, ub)
    own = priced.multipliers.floor(c, constraint, np.zeros(len(c)), hi)
    assert own == pytest.approx(priced.solution.objective, abs=1e-6)  # strong duality: the floor is the optimum
    dropped = data.draw(st.lists(st.integers(0, len(ub) - 1), unique=True))
    kept = [i for i in range(len(ub)) if i not in dropped]
    changed = _optimum(c, a[kept], lb[kept], ub[kept], raised)
    assert priced.multipliers.floor(c, constraint, np.zeros(len(c)), raised, dropped) <= changed + 1e-6


def _problem(tmp_path: Path, lender: str) -> tuple[AllocationInput, GroupBooks, Policy]:
    books, _ = open_books(*write_group(tmp_path, {"prete": lender, "emprunte": BORROWER}, pool=POOL))
    assert books is not None
    policy, problems = load_policy(tmp_path / "rules")
    assert policy is not None, problems
    return plan_inputs(books, policy, AS_OF).problem, books, policy


BINDING = LENDER.replace("50000.00 EUR", "5000.00 EUR") + """
2026-06-01 * "Don"
  Assets:512-Banque  45000.00 EUR
  Equity:102-Fonds-Associatif
"""
NOT_BINDING = LENDER.replace("50000.00 EUR", "7000.00 EUR")


@pytest.mark.parametrize("lender", [BINDING, NOT_BINDING], ids=["the-law-binds", "the-surplus-binds"])
def test_the_priced_floor_is_never_above_the_lifted_relaxation_s(tmp_path: Path, lender: str) -> None:
    problem, _, _ = _problem(tmp_path, lender)
    solved = allocation.allocate(problem)
    lifted = allocation.least_unmet_floor(without_legal_cap(problem))
    assert solved.lifted_floor is not None and lifted is not None
    assert solved.lifted_floor <= lifted + 1e-6


def test_where_the_law_binds_the_priced_floor_says_so_and_the_lifted_program_is_solved(tmp_path: Path) -> None:
    problem, _, _ = _problem(tmp_path, BINDING)
    solved = allocation.allocate(problem)
    assert solved.lifted_floor is not None and solved.lifted_floor < solved.optimum - 1.0
    assert solved.lifted_floor == pytest.approx(0.0, abs=1.0)  # lifted, nothing stays unmet


def test_where_the_law_binds_nothing_no_lifted_program_is_built(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _, books, policy = _problem(tmp_path, NOT_BINDING)

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the relaxation's multipliers already prove the law binds nothing")

    monkeypatch.setattr(allocation, "least_unmet_floor", never)
    plan = plan_group(books, policy, AS_OF)
    assert [(u.amount, u.reason) for u in plan.unmet] == [(Decimal("1400.00"), "no-lender")]


HIDDEN = LENDER.replace("50000.00 EUR", "1500.00 EUR") + """
2026-06-01 * "Don"
  Assets:512-Banque  48500.00 EUR
  Equity:102-Fonds-Associatif
"""


def test_a_candidate_only_the_lifted_cap_allows_leaves_the_floor_unpriced(tmp_path: Path) -> None:
    # « prete » lends 1 600 € (its surplus binds); « bloque » has 750 € of legal room (half of 1 500 € at the
    # opening), under the 1 000 € minimum: its candidate exists only with the cap lifted, and would cover the rest.
    books, _ = open_books(*write_group(tmp_path, {"prete": NOT_BINDING, "bloque": HIDDEN, "emprunte": BORROWER},
                                       pool=POOL))
    assert books is not None
    policy, problems = load_policy(tmp_path / "rules")
    assert policy is not None, problems
    problem = plan_inputs(books, policy, AS_OF).problem
    assert allocation._candidate_groups(problem)[1] == 1
    assert allocation.allocate(problem).lifted_floor is None
    plan = plan_group(books, policy, AS_OF)
    assert [(a.lender, a.amount) for a in plan.advances] == [("prete", Decimal("1600.00"))]
    assert [(u.amount, u.reason) for u in plan.unmet] == [(Decimal("1400.00"), "legal-cap")]
