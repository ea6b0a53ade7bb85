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
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from banquasso.forecast.facts import facts_dir
from banquasso.pool.memo import memo_dir
from banquasso.statement.data import Month, prepare
from bench.common import Result, bean_check_cpu, children_cpu, generated_group, rules_dir, tool
from comptasso.books import cache
from comptasso.books.facade import open_books

AS_OF = dt.date(2026, 11, 30)
MONTH = "2026-11"


def _sizes() -> list[tuple[int, int]]:
    text = os.environ.get("BENCH_STATEMENT_SIZES", "50x3")
    return [(int(m), int(y)) for m, y in (part.split("x") for part in text.split(",") if part)]


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


def _edited(main: Path, note: str, measure: Callable[[], float]) -> float:
    """`measure()` with a comment appended to one member's main file (put back afterwards)."""
    original = main.read_bytes()
    try:
        main.write_bytes(original + f"\n; bench_statement: {note}\n".encode())
        return measure()
    finally:
        main.write_bytes(original)


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    books, _ = open_books(ledgers, rules_dir())  # the books cache warm, as the bookkeeper's day has it
    assert books is not None
    shutil.rmtree(memo_dir(books), ignore_errors=True)
    shutil.rmtree(facts_dir(books), ignore_errors=True)
    del books
    label = f"{members} membres × {years} ans"
    edited = min(ledgers.glob("*/main.beancount"))
    with tempfile.TemporaryDirectory() as work:
        cold = _command_cpu(ledgers, Path(work) / "cold.pdf")
        warm = _command_cpu(ledgers, Path(work) / "warm.pdf")
        after_edit = _edited(edited, "the command", lambda: _command_cpu(ledgers, Path(work) / "edit.pdf"))
        same = (Path(work) / "cold.pdf").read_bytes() == (Path(work) / "warm.pdf").read_bytes()
    numbers = _edited(edited, "the numbers", lambda: _numbers_cpu(ledgers))
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
    for members, years in _sizes():
        results.extend(_measure(members, years))
    return results
