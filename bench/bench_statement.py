"""The board's monthly statement on a generated group: with and without the plan's memo; CPU against bean-check.

`python -m bench statement` runs, on the 50-member × 3-year generated group (BENCH_STATEMENT_SIZES,
e.g. `50x3,200x3`, for others), as of 2026-11-30 for the month 2026-11, with the books cache warm:
`banquasso statement` as a command with the memo folder emptied (the plan is solved), the same
command again (the plan and the capacity come from the memo: nothing is solved), and in this process
the statement's numbers alone (`banquasso.statement.data.prepare`, memo warm, no PDF). The commands'
figures are the CPU of the child (Python's start and the imports included). The baseline is
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
from pathlib import Path

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
    """CPU seconds of the statement's numbers in this process (books cache on disk, memo warm, no PDF)."""
    cache.forget_memory()
    start = time.process_time()
    data, problems = prepare(ledgers, rules_dir(), Month.parse(MONTH), AS_OF)
    assert data is not None, problems
    return time.process_time() - start


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    books, _ = open_books(ledgers, rules_dir())  # the books cache warm, as the bookkeeper's day has it
    assert books is not None
    shutil.rmtree(memo_dir(books), ignore_errors=True)
    label = f"{members} membres × {years} ans"
    with tempfile.TemporaryDirectory() as work:
        cold = _command_cpu(ledgers, Path(work) / "cold.pdf")
        warm = _command_cpu(ledgers, Path(work) / "warm.pdf")
        same = (Path(work) / "cold.pdf").read_bytes() == (Path(work) / "warm.pdf").read_bytes()
    numbers = _numbers_cpu(ledgers)
    base = "bean-check per member (CPU)"
    print(f"# statement {label}: the PDF from the memo is the solved one byte for byte: {same}", file=sys.stderr)
    return [
        Result(f"statement: `banquasso statement`, memo emptied (plan solved) — {label}", cold, base, baseline),
        Result(f"statement: `banquasso statement`, memo warm (nothing solved) — {label}", warm, base, baseline),
        Result(f"statement: the numbers alone (`prepare`, memo warm, no PDF) — {label}", numbers, base, baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in _sizes():
        results.extend(_measure(members, years))
    return results
