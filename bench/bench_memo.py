"""The plan's memo on a generated group: cold, warm (unchanged), after one member's edit; CPU against bean-check.

`python -m bench memo` measures, as of 2026-11-30 on the 50-member × 3-year generated group (set
BENCH_MEMO_SIZES, e.g. `50x3,50x5,200x3`, for others), the CPU seconds of what `banquasso plan`
does once its modules are imported: the memo's quick path (`recall_quick`, file stamps), and when it
misses, reading the books (cached) and `memoised_plan`. Five cases: no memo (the solver runs), the
same inputs (the stamps answer, no ledger is read), every file touched (stamps differ, contents are
hashed, still no ledger read), a comment appended to one member's ledger (that member re-parsed,
the program built again from the books: the same program, whose solved plan the memo holds) and a
payment of 100 € on the as-of day appended to one member's ledger (the program changes: solved
again). It also runs `banquasso plan --json` as a command on the unchanged group and after a
comment appended to one member's ledger (CPU of the child: Python's start and the imports
included). The baseline is `bean-check` run once per member ledger on the same files (CPU of the
children).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import time
from pathlib import Path

from banquasso.forecast.daily import readable
from banquasso.pool.memo import recall_quick
from banquasso.pool.plan import memoised_plan
from banquasso.terms.policy import load_policy
from bench.common import (
    Result,
    bean_check_cpu,
    children_cpu,
    empty_memos,
    generated_group,
    rules_dir,
    sizes,
    tool,
    with_appended,
)
from comptasso.books import cache
from comptasso.books.facade import open_books

AS_OF = dt.date(2026, 11, 30)


def _plan_cpu(ledgers: Path) -> float:
    """CPU seconds (this process and its workers) of the plan as the command gets it: quick path, else books + memo."""
    cache.forget_memory()  # as a new process: no ledger kept in memory
    start, children = time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    policy, problems = load_policy(rules_dir())
    assert policy is not None, problems
    if recall_quick("plan", ledgers, rules_dir(), AS_OF, horizon=91) is None:
        books, problems = open_books(ledgers, rules_dir())
        assert books is not None, problems
        memoised_plan(readable(books.without_broken(), AS_OF), policy, AS_OF)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() - start + (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)


def _command_cpu(ledgers: Path) -> float:
    """CPU seconds of `banquasso plan --json` as a child process (start and imports included)."""
    return children_cpu([[tool("banquasso"), "plan", "--ledgers", str(ledgers), "--rules", str(rules_dir()),
                          "--as-of", AS_OF.isoformat(), "--json"]])


def _touch_all(ledgers: Path) -> None:
    for path in ledgers.rglob("*"):
        if path.is_file():
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def _payment(main: Path) -> bytes:
    """A payment of 100 € from the member's bank account on the as-of day: its forecast changes, so the program."""
    text = main.read_text(encoding="utf-8")
    bank = re.search(r"^\d{4}-\d\d-\d\d open (Assets:512\S*)", text, re.MULTILINE)
    expense = re.search(r"^\d{4}-\d\d-\d\d open (Expenses:\S*)", text, re.MULTILINE)
    assert bank is not None, main
    assert expense is not None, main
    return (f'\n{AS_OF.isoformat()} * "bench_memo" "Paiement"\n  {expense[1]}  100.00 EUR\n'
            f'  {bank[1]}  -100.00 EUR\n').encode()


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    empty_memos(ledgers)
    label = f"{members} membres × {years} ans"
    cold = _plan_cpu(ledgers)
    warm = _plan_cpu(ledgers)
    command = _command_cpu(ledgers)
    _touch_all(ledgers)
    touched = _plan_cpu(ledgers)
    edited = min(ledgers.glob("*/main.beancount"))
    after_edit = with_appended(edited, b"\n; bench_memo: one member edited\n", lambda: _plan_cpu(ledgers))
    after_payment = with_appended(edited, _payment(edited), lambda: _plan_cpu(ledgers))
    command_edit = with_appended(edited, b"\n; bench_memo: the command after an edit\n", lambda: _command_cpu(ledgers))
    base = "bean-check per member (CPU)"
    return [
        Result(f"memo: plan, no memo (solver) — {label}", cold, base, baseline),
        Result(f"memo: plan, unchanged group (memo, file stamps) — {label}", warm, base, baseline),
        Result(f"memo: `banquasso plan --json` command, unchanged group — {label}", command, base, baseline),
        Result(f"memo: plan, every file touched, no change (hashed) — {label}", touched, base, baseline),
        Result(f"memo: plan after one member's edit — {label}", after_edit, base, baseline),
        Result(f"memo: plan after one member's payment (the program changes) — {label}", after_payment, base,
               baseline),
        Result(f"memo: `banquasso plan --json` command after one member's edit — {label}", command_edit, base,
               baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in sizes("BENCH_MEMO_SIZES"):
        results.extend(_measure(members, years))
    return results
