"""Shared benchmark helpers: timing, generated groups under var/bench, result rows."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from comptasso.books.facade import GroupBooks

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"


@dataclass(frozen=True)
class Result:
    """One measured workload against its baseline, in seconds."""

    name: str
    workload: float
    baseline_name: str
    baseline: float

    @property
    def ratio(self) -> float:
        return self.workload / self.baseline if self.baseline else float("inf")

    def row(self) -> str:
        return (f"| {self.name} | {self.workload:.3f} s | {self.baseline_name} | "
                f"{self.baseline:.3f} s | {self.ratio:.2f} |")


def timed(func: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of `repeat` runs."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cpu_timed(func: Callable[[], object], repeat: int = 3) -> float:
    """Median CPU time (this process, every thread) of `repeat` runs."""
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        func()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def children_cpu(commands: Sequence[Sequence[str]], env: dict[str, str] | None = None) -> float:
    """CPU time (user + system) of running the commands one after the other, as child processes."""
    before = os.times()
    for command in commands:
        subprocess.run(list(command), check=True, capture_output=True, env=env)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def tool(name: str) -> str:
    """A console script of this virtual environment (bean-check, banquasso, …)."""
    return str(Path(sys.executable).parent / name)


def bean_check_cpu(ledgers: Path) -> float:
    """The baseline of the issue's ratios: CPU of `bean-check` run once per member ledger, no cache."""
    from comptasso.books.group import load_group

    group, _ = load_group(ledgers)
    assert group is not None
    env = {"BEANCOUNT_DISABLE_LOAD_CACHE": "1", "PATH": "/usr/bin:/bin"}
    return children_cpu([[tool("bean-check"), str(m.ledger)] for m in group.members], env)


def generated_group(members: int, years: int = 3, seed: int = 2026) -> Path:
    """A synthetic group of `members` × `years`, generated once under var/bench/."""
    import datetime as dt

    from comptasso.synthetic import generate_group

    out = BENCH_DIR / f"group-{members}x{years}-{seed}"
    if not (out / "group.toml").exists():
        end = dt.date(2026, 11, 30)
        generate_group(out, members=members, start=dt.date(end.year - years + 1, 1, 1), end=end, seed=seed)
    return out


def demo_group() -> Path:
    """The committed demo group."""
    return ROOT / "ledgers"


def rules_dir() -> Path:
    return ROOT / "rules"


def sizes(variable: str, default: str = "50x3") -> list[tuple[int, int]]:
    """The generated groups a benchmark runs on: `$variable` as `MEMBERSxYEARS,…` (e.g. `50x3,200x3`)."""
    text = os.environ.get(variable, default)
    return [(int(m), int(y)) for m, y in (part.split("x") for part in text.split(",") if part)]


def with_appended(main: Path, extra: bytes, measure: Callable[[], T]) -> T:
    """`measure()` with `extra` appended to one member's main file, put back as it was afterwards."""
    original = main.read_bytes()
    try:
        main.write_bytes(original + extra)
        return measure()
    finally:
        main.write_bytes(original)


def read_directives(books: GroupBooks) -> GroupBooks:
    """The books with every member's directives read (a cached ledger's are unpickled when first used)."""
    assert all(len(ledger.entries) >= 0 for ledger in books.ledgers.values())
    return books


def empty_memos(ledgers: Path) -> None:
    """No memoised result and no member's facts: the next run computes everything.

    The books opened here are dropped before any measure: a command's process holds one copy of the
    ledgers, and a second one kept alive would only add to the collector's passes.
    """
    from banquasso.forecast.facts import facts_dir
    from banquasso.pool.memo import memo_dir
    from comptasso.books.facade import open_books

    books, _ = open_books(ledgers, rules_dir())
    assert books is not None
    shutil.rmtree(memo_dir(books), ignore_errors=True)
    shutil.rmtree(facts_dir(books), ignore_errors=True)
