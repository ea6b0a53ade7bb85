"""The board's monthly statement on a generated group: with and without the plan's memo; CPU against bean-check.

`python -m bench statement` runs, on the 50-member × 3-year generated group (BENCH_STATEMENT_SIZES,
e.g. `50x3,200x3`, for others), as of 2026-11-30 for the month 2026-11, with the books cache warm:
`banquasso statement` as a command with the memo and the members' facts emptied (everything is
computed, the plan solved), the same command again (nothing changed: the statement's memo answers
before any ledger is read), the command after a comment appended to one member's ledger (the
statement is computed again, only that member read again, the plan's program found solved), and in
this process the statement's numbers alone after such an edit (`banquasso.statement.data.prepare`,
no PDF). The commands' figures are the CPU of the child (Python's start and the imports included). The baseline is
`bean-check` once per member ledger on the same files, Beancount's cache off (CPU of the children),
measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

from banquasso.statement.data import Month, prepare
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

AS_OF = dt.date(2026, 11, 30)
MONTH = "2026-11"


def _command_cpu(ledgers: Path, output: Path) -> float:
    """CPU seconds of `banquasso statement` as a child process (start and imports included)."""
    return children_cpu([[tool("banquasso"), "statement", "--ledgers", str(ledgers), "--rules", str(rules_dir()),
                          "--as-of", AS_OF.isoformat(), "--month", MONTH, "-o", str(output)]])


def _numbers_cpu(ledgers: Path) -> float:
    """CPU seconds of the statement's numbers in this process (books cache on disk, no PDF)."""
    cache.forget_memory()
    start = time.process_time()
    data, problems = prepare(ledgers, rules_dir(), Month.parse(MONTH), AS_OF)
    assert data is not None, problems
    return time.process_time() - start


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    empty_memos(ledgers)  # the books cache stays warm, as the bookkeeper's day has it
    label = f"{members} membres × {years} ans"
    edited = min(ledgers.glob("*/main.beancount"))
    with tempfile.TemporaryDirectory() as work:
        cold = _command_cpu(ledgers, Path(work) / "cold.pdf")
        warm = _command_cpu(ledgers, Path(work) / "warm.pdf")
        after_edit = with_appended(edited, b"\n; bench_statement: the command\n",
                                   lambda: _command_cpu(ledgers, Path(work) / "edit.pdf"))
        same = (Path(work) / "cold.pdf").read_bytes() == (Path(work) / "warm.pdf").read_bytes()
    numbers = with_appended(edited, b"\n; bench_statement: the numbers\n", lambda: _numbers_cpu(ledgers))
    base = "bean-check per member (CPU)"
    print(f"# statement {label}: the PDF from the memo is the computed one byte for byte: {same}", file=sys.stderr)
    return [
        Result(f"statement: `banquasso statement`, memo and facts emptied (all computed) — {label}", cold, base,
               baseline),
        Result(f"statement: `banquasso statement` again, nothing changed (memo, no ledger read) — {label}", warm,
               base, baseline),
        Result(f"statement: `banquasso statement` after one member's edit — {label}", after_edit, base, baseline),
        Result(f"statement: the numbers alone after one member's edit (`prepare`, no PDF) — {label}", numbers, base,
               baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in sizes("BENCH_STATEMENT_SIZES"):
        results.extend(_measure(members, years))
    return results
