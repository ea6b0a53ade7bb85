"""One call to HiGHS (through SciPy), bounded in time, that says what it proved.

`solve` runs a linear or mixed-integer program under a time limit and returns the best feasible
point it found (if any), the objective of that point, and the best proven lower bound on the
optimum: for a linear program solved to the end, or a mixed-integer program proved optimal, the
bound is the objective itself. When the limit stops the search, the point (when there is one) is
feasible but maybe not optimal and the bound tells how far it may be from the optimum.

`solve_lp` solves a linear program and also returns its reduced costs, which `milp` does not
give: they price every variable against the optimum's duals, so that a later search can leave out,
with a proof, the variables whose use would cost more than the gap left to close.

SciPy's `milp` offers no warm start (no initial point can be given to HiGHS through it): the
phases of `banquasso.pool.allocation` pass the previous phase's answer as a cutoff row instead
(objective ≤ the value already reached) and keep it as the fallback when a phase finds nothing
better in its time.
"""

from __future__ import annotations

import math
import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array, vstack

#: HiGHS's model statuses, as SciPy's message carries them (« (HiGHS Status 4: Solve error) »).
HIGHS_SOLVE_ERROR = 4
HIGHS_NODE_LIMIT = 16
_HIGHS_STATUS = re.compile(r"HiGHS Status (\d+)")

OPTIMAL = "optimal"
TIME_LIMIT = "time-limit"
NODE_LIMIT = "node-limit"
INFEASIBLE = "infeasible"


def highs_status(message: object) -> int | None:
    """HiGHS's model status in SciPy's result message (its code, not its words), None when absent."""
    found = _HIGHS_STATUS.search(str(message))
    return int(found[1]) if found else None


@dataclass(frozen=True)
class Solution:
    """What one solve gave: a feasible point or None, its objective, the proven bound, and the time spent."""

    x: np.ndarray | None
    objective: float
    bound: float
    status: str
    seconds: float

    @property
    def proved(self) -> bool:
        """Whether the point is optimal (the search ended, not the clock)."""
        return self.status == OPTIMAL and self.x is not None


@contextmanager
def quiet_stdout() -> Iterator[None]:
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


def solve(objective: np.ndarray, constraints: Sequence[LinearConstraint], lower: np.ndarray, upper: np.ndarray,
          integrality: np.ndarray, seconds: float, nodes: int | None = None) -> Solution:
    """Minimise `objective · v` under the constraints and bounds, for at most `seconds` (HiGHS's time limit).

    With `nodes`, the mixed-integer search also stops after that many branch-and-bound nodes
    (HiGHS's `node_limit`): a limit in work, not in time, so that where it is reached first the
    answer is the same on a fast or a slow machine.
    """
    options: dict[str, object] = {"disp": False, "presolve": True, "mip_rel_gap": 0.0,
                                  "time_limit": max(float(seconds), 1e-3)}
    if nodes is not None:
        options["node_limit"] = int(nodes)
    start = time.process_time()
    with quiet_stdout():
        result = milp(objective, constraints=list(constraints), integrality=integrality,
                      bounds=Bounds(lower, upper), options=options)
        if highs_status(result.message) == HIGHS_SOLVE_ERROR:
            # HiGHS's presolve can hand back a point its own check then finds a millionth outside a
            # row (a cutoff row, most often), and drop it as a « solve error »: once more without it.
            options["presolve"] = False
            options["time_limit"] = max(float(seconds) - (time.process_time() - start), 1e-3)
            result = milp(objective, constraints=list(constraints), integrality=integrality,
                          bounds=Bounds(lower, upper), options=options)
    spent = time.process_time() - start
    if result.status == 2:
        return Solution(None, math.inf, math.inf, INFEASIBLE, spent)
    x = None if result.x is None else np.asarray(result.x)
    value = math.inf if x is None else float(objective @ x)
    if result.status == 0 and x is not None:
        return Solution(x, value, value, OPTIMAL, spent)
    dual = getattr(result, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and math.isfinite(float(dual)) and integrality.any() else -math.inf
    # HiGHS reports its node limit as status 16, « solution limit reached » (SciPy's status 4)
    stopped = NODE_LIMIT if nodes is not None and highs_status(result.message) == HIGHS_NODE_LIMIT else TIME_LIMIT
    return Solution(x, value, min(bound, value), stopped, spent)


@dataclass(frozen=True)
class Priced:
    """A linear program's solution and, when it was solved to the end, each variable's reduced cost.

    For every point v the program allows, objective · v >= solution.objective + Σ_j cost_j (v_j − x_j)
    and every term of the sum is >= 0 (a positive cost only on a variable at its lower bound, a
    negative one only at its upper bound): a variable at 0 with cost d cannot be raised to a level
    m without raising the objective by at least d × m.
    """

    solution: Solution
    reduced: np.ndarray | None
    #: the optimum's multipliers of each row's upper and lower side (each <= 0; 0 for a side that is
    #: infinite), in the rows' order: `Multipliers.floor` prices a changed program with them
    multipliers: Multipliers | None = None


@dataclass(frozen=True)
class Multipliers:
    """Lagrange multipliers of `lb <= A v <= ub` (`upper`, `lower`: one per row, each <= 0).

    For every such multipliers and every v within the rows and the bounds `lo <= v <= hi`, weak
    duality gives `objective · v >= κ + Σ_j min(d_j lo_j, d_j hi_j)` with `w = upper - lower`,
    `κ = upper · ub - lower · lb` and `d = objective - Aᵀ w`: `floor` computes that bound, for the
    program's own rows or with some of them dropped and other bounds, without solving anything.
    """

    upper: np.ndarray
    lower: np.ndarray

    def floor(self, objective: np.ndarray, constraint: LinearConstraint, lo: np.ndarray, hi: np.ndarray,
              dropped: Sequence[int] = ()) -> float:
        """A lower bound on `objective · v` over the rows of `constraint` (less the `dropped` ones) and the bounds."""
        upper, lower = np.minimum(self.upper, 0.0), np.minimum(self.lower, 0.0)
        if len(dropped):
            upper[list(dropped)] = 0.0
            lower[list(dropped)] = 0.0
        ub, lb = np.asarray(constraint.ub, dtype=float), np.asarray(constraint.lb, dtype=float)
        upper[~np.isfinite(ub)] = 0.0
        lower[~np.isfinite(lb)] = 0.0
        kappa = float(upper @ np.where(np.isfinite(ub), ub, 0.0) - lower @ np.where(np.isfinite(lb), lb, 0.0))
        d = objective - csr_array(constraint.A).T @ (upper - lower)
        with np.errstate(invalid="ignore"):
            box = np.where(d > 0, d * lo, np.where(d < 0, d * hi, 0.0))
        total = float(np.sum(box))
        return kappa + total if math.isfinite(total) else -math.inf


def solve_lp(objective: np.ndarray, constraint: LinearConstraint, lower: np.ndarray, upper: np.ndarray,
             seconds: float) -> Priced:
    """Minimise `objective · v` under one block of rows `lb <= A v <= ub` and the bounds (HiGHS, `linprog`)."""
    matrix = csr_array(constraint.A)
    lb, ub = np.asarray(constraint.lb, dtype=float), np.asarray(constraint.ub, dtype=float)
    above, below = np.isfinite(ub), np.isfinite(lb)
    a_ub = vstack([matrix[above], -matrix[below]]).tocsr()
    b_ub = np.concatenate([ub[above], -lb[below]])
    options = {"disp": False, "presolve": True, "time_limit": max(float(seconds), 1e-3)}
    start = time.process_time()
    with quiet_stdout():
        result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=np.column_stack([lower, upper]),
                         method="highs", options=options)
    spent = time.process_time() - start
    if result.status == 2:
        return Priced(Solution(None, math.inf, math.inf, INFEASIBLE, spent), None)
    if result.status != 0 or result.x is None:
        return Priced(Solution(None, math.inf, -math.inf, TIME_LIMIT, spent), None)
    x = np.asarray(result.x)
    value = float(objective @ x)
    reduced = np.asarray(result.lower.marginals) + np.asarray(result.upper.marginals)
    marginals = np.asarray(result.ineqlin.marginals, dtype=float)
    upper, lower = np.zeros(len(ub)), np.zeros(len(lb))
    upper[above] = marginals[:int(above.sum())]
    lower[below] = marginals[int(above.sum()):]
    return Priced(Solution(x, value, value, OPTIMAL, spent), reduced, Multipliers(upper, lower))
