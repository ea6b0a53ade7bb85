"""Forecast and Monte Carlo for the demo group and a generated 50-member group, against the cached load.

Each forecast is timed on books opened as a new process opens them (the ledger cache on disk,
nothing kept in memory, the members' facts folder emptied: `banquasso.forecast.facts`), so that it
measures the computation, not a memo; one row shows the forecast when an earlier process left the
members' facts. The baseline is `open_books` from the disk cache, nothing in memory, every member's
directives read (a cached ledger's are unpickled when first used: `comptasso.books.deferred`); the
forecasts without facts are timed once the directives are read, so they measure the computation.
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from banquasso.forecast.daily import forecast_outlook, read_group
from banquasso.forecast.facts import facts_dir
from banquasso.forecast.risk import simulate
from banquasso.terms.policy import load_policy
from bench.common import Result, demo_group, generated_group, read_directives, rules_dir, timed
from comptasso.books import cache as books_cache
from comptasso.books.facade import GroupBooks, open_books

AS_OF = dt.date(2026, 11, 30)


def _rules_for(ledgers: Path) -> Path:
    """The project's rules, or (for a generated group without them) the generator's funders beside it."""
    if (rules_dir() / "funders.toml").exists():
        return rules_dir()
    from comptasso.synthetic.funders import funders_toml

    rules = ledgers.parent / f"{ledgers.name}-rules"
    rules.mkdir(exist_ok=True)
    (rules / "funders.toml").write_text(funders_toml(), encoding="utf-8")
    (rules / "plugins.toml").write_text("allowed = []\n", encoding="utf-8")
    return rules


def _fresh_books(ledgers: Path, rules: Path, cache: Path) -> GroupBooks:
    """The books as a new process opens them (the ledger cache on disk, nothing in memory, no facts), read."""
    books_cache.forget_memory()
    books, _ = open_books(ledgers, rules, cache_dir=cache, jobs=2)
    assert books is not None
    shutil.rmtree(facts_dir(books), ignore_errors=True)
    return read_directives(books)


def _timed_fresh(ledgers: Path, rules: Path, cache: Path, work: Callable[[GroupBooks], object],
                 repeat: int = 3) -> float:
    """Median wall time of `work(books)` over fresh books each time (their opening is not timed)."""
    samples = []
    for _ in range(repeat):
        books = _fresh_books(ledgers, rules, cache)
        start = time.perf_counter()
        work(books)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _measure(label: str, ledgers: Path) -> list[Result]:
    rules = _rules_for(ledgers)
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        open_books(ledgers, rules, cache_dir=cache, jobs=2)  # warm the cache on disk

        def load() -> None:
            books_cache.forget_memory()
            books = open_books(ledgers, rules, cache_dir=cache, jobs=2)[0]
            assert books is not None
            read_directives(books)

        load_time = timed(load, repeat=3)
        policy, _ = load_policy(rules)
        assert policy is not None
        floor = policy.floor

        def forecast(books: GroupBooks, horizon: int = 91) -> Any:
            outlook, problems = read_group(books, AS_OF, horizon, floor)
            assert outlook is not None, problems
            return outlook

        forecast_time = _timed_fresh(ledgers, rules, cache, lambda b: forecast_outlook(forecast(b)))
        forecast(_fresh_books(ledgers, rules, cache))  # the facts written, as an earlier process would leave them
        samples = []
        for _ in range(3):  # each time as a later process: its own books, the facts on disk
            books_cache.forget_memory()
            again = open_books(ledgers, rules, cache_dir=cache, jobs=2)[0]
            assert again is not None
            start = time.perf_counter()
            forecast_outlook(forecast(again))
            samples.append(time.perf_counter() - start)
            del again
        from_facts = statistics.median(samples)
        books = _fresh_books(ledgers, rules, cache)
        outlook = forecast(books)
        members = len(books.members)
        long_time = _timed_fresh(ledgers, rules, cache, lambda b: simulate(forecast(b, 731), 2000), repeat=1)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    base = "open_books cached (disk), directives read"
    return [
        Result(f"{label}: forecast 91 days ({members} members)", forecast_time, base, load_time),
        Result(f"{label}: forecast 91 days, the members' facts from an earlier process", from_facts, base,
               load_time),
        Result(f"{label}: Monte Carlo 2,000 scenarios × 91 days", timed(lambda: simulate(outlook, 2000), repeat=3),
               base, load_time),
        Result(f"{label}: forecast + Monte Carlo 731 days", long_time, base, load_time),
    ]


def run() -> list[Result]:
    demo = demo_group()
    results = _measure("demo (6 members × 3 years)", demo) if (demo / "group.toml").exists() else []
    if not results:
        print("demo group absent (ledgers/group.toml): skipped", file=sys.stderr)
    return results + _measure("generated (50 members × 3 years)", generated_group(50))
