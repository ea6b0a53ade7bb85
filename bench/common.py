"""Shared benchmark helpers: timing, generated groups under var/bench, result rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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
