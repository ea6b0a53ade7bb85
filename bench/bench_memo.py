"""The plan's memo on a generated group: cold, warm (unchanged), after one member's edit; CPU against bean-check.

`python -m bench memo` measures, as of 2026-11-30 on the 50-member × 3-year generated group (set
BENCH_MEMO_SIZES, e.g. `50x3,50x5,200x3`, for others), the CPU seconds of reading the books (cached)
and `memoised_plan`: with no memo (the solver runs), with the memo of the same inputs (it answers),
and after a comment is appended to one member's ledger (that member re-read, the plan re-solved).
The baseline is `bean-check` run once per member ledger on the same files (CPU of the children).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from banquasso.pool.memo import memo_dir
from banquasso.pool.plan import memoised_plan
from banquasso.terms.policy import load_policy
from bench.common import Result, generated_group, rules_dir
from comptasso.books.facade import open_books

AS_OF = dt.date(2026, 11, 30)


def _sizes() -> list[tuple[int, int]]:
    text = os.environ.get("BENCH_MEMO_SIZES", "50x3")
    return [(int(m), int(y)) for m, y in (part.split("x") for part in text.split(",") if part)]


def bean_check_cpu(ledgers: Path) -> float:
    """CPU seconds of `bean-check` over every member's main ledger, one process each."""
    bean_check = shutil.which("bean-check") or str(Path(sys.executable).with_name("bean-check"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for main in sorted(ledgers.glob("*/main.beancount")):
        subprocess.run([bean_check, str(main)], check=False, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _plan_cpu(ledgers: Path) -> float:
    """CPU seconds (this process and its workers) of reading the books and the memoised plan."""
    policy, problems = load_policy(rules_dir())
    assert policy is not None, problems
    start, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    books, problems = open_books(ledgers, rules_dir())
    assert books is not None, problems
    memoised_plan(books, policy, AS_OF)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() - start + (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    books, _ = open_books(ledgers, rules_dir())
    assert books is not None
    shutil.rmtree(memo_dir(books), ignore_errors=True)
    label = f"{members} membres × {years} ans"
    cold = _plan_cpu(ledgers)
    warm = _plan_cpu(ledgers)
    edited = min(ledgers.glob("*/main.beancount"))
    original = edited.read_bytes()
    try:
        edited.write_bytes(original + b"\n; bench_memo: one member edited\n")
        after_edit = _plan_cpu(ledgers)
    finally:
        edited.write_bytes(original)
    base = "bean-check per member (CPU)"
    return [
        Result(f"memo: plan, no memo (solver) — {label}", cold, base, baseline),
        Result(f"memo: plan, unchanged group (memo) — {label}", warm, base, baseline),
        Result(f"memo: plan after one member's edit — {label}", after_edit, base, baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in _sizes():
        results.extend(_measure(members, years))
    return results
