"""The pool plan on generated groups of 50 and 200 members: the LP alone and end to end, against loading."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from banquasso.pool.allocation import EXACT_LIMIT, allocate
from banquasso.pool.plan import plan_group, plan_inputs
from banquasso.terms.policy import load_policy
from bench.common import Result, generated_group, rules_dir, timed
from comptasso.books.facade import GroupBooks, open_books

AS_OF = dt.date(2026, 11, 30)
SIZES = (50, 200)


def _load(ledgers: Path) -> GroupBooks:
    books, _ = open_books(ledgers, rules_dir(), cache_dir=False, jobs=2)
    assert books is not None
    return books


def _measure(members: int) -> list[Result]:
    ledgers = generated_group(members, 3)
    policy, problems = load_policy(rules_dir())
    assert policy is not None, problems
    load = timed(lambda: _load(ledgers), repeat=1)
    books = _load(ledgers)
    inputs = plan_inputs(books, policy, AS_OF)
    start = time.perf_counter()
    allocation = allocate(inputs.problem)
    print(f"# {members} members: {len(inputs.needs)} needs, {len(inputs.problem.lenders)} lenders, "
          f"{len(allocation.candidates)} candidates, {len(allocation.advances)} advances, "
          f"status {allocation.status}, LP {time.perf_counter() - start:.3f} s", file=sys.stderr)
    lp = timed(lambda: allocate(inputs.problem), repeat=1)
    plan_only = timed(lambda: plan_group(books, policy, AS_OF), repeat=1)
    end_to_end = timed(lambda: plan_group(_load(ledgers), policy, AS_OF), repeat=1)
    label = f"{members} membres × 3 ans"
    mode = "heuristic" if len(allocation.candidates) > EXACT_LIMIT else "3 phases"
    return [
        Result(f"plan: LP ({mode}) — {label}", lp, "load (cold, 2 jobs)", load),
        Result(f"plan: forecast + LP — {label}", plan_only, "load (cold, 2 jobs)", load),
        Result(f"plan: end to end (load + plan) — {label}", end_to_end, "load (cold, 2 jobs)", load),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members in SIZES:
        results.extend(_measure(members))
    return results
