"""The pool plan on generated groups (50 × 3, 50 × 5, 200 × 3 years), in CPU seconds against `bean-check`.

For each group, in one run: `bean-check` once per member ledger (the baseline), `banquasso plan
--json` as a command with a warm ledger cache but no memo of the plan (it is deleted before each
measured run, so the solver runs), and the allocation program alone. The solver's
answer is printed on stderr (status, unmet need and its proven bound, advances, largest lender
share, the time of every phase) so that docs/performance.md can quote it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from banquasso.pool.allocation import Allocation, allocate
from banquasso.pool.memo import MEMO_FOLDER
from banquasso.pool.plan import plan_inputs
from banquasso.pool.program import AllocationInput
from banquasso.terms.policy import load_policy
from bench.common import Result, bean_check_cpu, children_cpu, generated_group, rules_dir, tool
from comptasso.books.facade import GroupBooks, default_cache_dir, open_books

AS_OF = dt.date(2026, 11, 30)
GROUPS = ((50, 3), (50, 5), (200, 3))


def _books(ledgers: Path) -> GroupBooks:
    books, problems = open_books(ledgers, rules_dir(), cache_dir=False, jobs=2)
    assert books is not None, problems
    return books


def largest_share(problem: AllocationInput, allocation: Allocation) -> Decimal:
    """Phase 3's objective: the largest share of its lendable surplus any lender commits."""
    weights: dict[int, Decimal] = {}
    for cand in allocation.candidates:
        weights[cand.lender] = max(weights.get(cand.lender, Decimal(0)), cand.upper)
    index = {lender.id: i for i, lender in enumerate(problem.lenders)}
    lent: dict[str, Decimal] = defaultdict(Decimal)
    for adv in allocation.advances:
        lent[adv.lender] += adv.amount
    return max((amount / weights[index[lender]] for lender, amount in lent.items()), default=Decimal(0))


def _describe(label: str, problem: AllocationInput, allocation: Allocation, cpu: float) -> None:
    print(f"# {label}: {len(problem.needs)} needs, {len(problem.lenders)} lenders, "
          f"{len(allocation.candidates)} candidates (pruned {allocation.pruned}), "
          f"{len(allocation.advances)} advances, status {allocation.status}, unmet {allocation.total_unmet}, "
          f"bound {allocation.bound}, gap {allocation.gap}, largest share {largest_share(problem, allocation):.3f}, "
          f"allocation {cpu:.2f} s CPU", file=sys.stderr)
    for phase in allocation.phases:
        print(f"#   {phase.name}: {phase.status}, objective {phase.objective:.6g}, bound {phase.bound:.6g}, "
              f"{phase.candidates} candidates, {phase.seconds:.2f} s", file=sys.stderr)


def _plan_command(ledgers: Path) -> list[str]:
    return [tool("banquasso"), "plan", "--ledgers", str(ledgers), "--rules", str(rules_dir()),
            "--as-of", AS_OF.isoformat(), "--json"]


def _forget_plans(ledgers: Path) -> None:
    """Delete the plan's memo (not the ledger cache): the measured command must run the solver."""
    shutil.rmtree(default_cache_dir(ledgers) / MEMO_FOLDER, ignore_errors=True)


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    label = f"{members} membres × {years} ans"
    policy, problems = load_policy(rules_dir())
    assert policy is not None, problems
    check = bean_check_cpu(ledgers)
    subprocess.run(_plan_command(ledgers), check=True, capture_output=True)  # warms the ledger cache
    _forget_plans(ledgers)
    command = children_cpu([_plan_command(ledgers)])
    _forget_plans(ledgers)
    out = subprocess.run(_plan_command(ledgers), check=True, capture_output=True, text=True).stdout
    document = json.loads(out)
    print(f"# {label}: plan --json status {document['status']}, total_unmet {document['total_unmet']}, "
          f"unmet_bound {document['unmet_bound']}, gap {document['gap']}, pruned {document['pruned']}",
          file=sys.stderr)
    problem = plan_inputs(_books(ledgers), policy, AS_OF).problem
    start = time.process_time()
    allocation = allocate(problem)
    cpu = time.process_time() - start
    _describe(label, problem, allocation, cpu)
    return [
        Result(f"`banquasso plan --json`, warm cache (CPU) — {label}", command, "bean-check per ledger (CPU)", check),
        Result(f"allocation alone, status {allocation.status} (CPU) — {label}", cpu, "bean-check per ledger (CPU)",
               check),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in GROUPS:
        results.extend(_measure(members, years))
    return results
