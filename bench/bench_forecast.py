"""Forecast and Monte Carlo for the demo group and a generated 50-member group, against the cached load."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
from pathlib import Path

from banquasso.forecast.daily import forecast_outlook, read_group
from banquasso.forecast.risk import simulate
from banquasso.terms.policy import load_policy
from bench.common import Result, demo_group, generated_group, rules_dir, timed
from comptasso.books.facade import open_books

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


def _measure(label: str, ledgers: Path) -> list[Result]:
    rules = _rules_for(ledgers)
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        open_books(ledgers, rules, cache_dir=cache, jobs=2)  # warm the cache
        load = timed(lambda: open_books(ledgers, rules, cache_dir=cache, jobs=2), repeat=3)
        books, _ = open_books(ledgers, rules, cache_dir=cache, jobs=2)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    assert books is not None
    policy, _ = load_policy(rules)
    assert policy is not None

    def forecast() -> object:
        outlook, problems = read_group(books, AS_OF, 91, policy.floor)
        assert outlook is not None, problems
        return forecast_outlook(outlook)

    outlook, _ = read_group(books, AS_OF, 91, policy.floor)
    assert outlook is not None
    members = len(books.members)
    return [
        Result(f"{label}: forecast 91 days ({members} members)", timed(forecast), "open_books cached", load),
        Result(f"{label}: Monte Carlo 2,000 scenarios × 91 days", timed(lambda: simulate(outlook, 2000), repeat=3),
               "open_books cached", load),
        Result(f"{label}: forecast + Monte Carlo 731 days", timed(
            lambda: simulate(read_group(books, AS_OF, 731, policy.floor)[0], 2000), repeat=1),  # type: ignore[arg-type]
               "open_books cached", load),
    ]


def run() -> list[Result]:
    demo = demo_group()
    results = _measure("demo (6 members × 3 years)", demo) if (demo / "group.toml").exists() else []
    if not results:
        print("demo group absent (ledgers/group.toml): skipped", file=sys.stderr)
    return results + _measure("generated (50 members × 3 years)", generated_group(50))
