"""The scheduler started beside Fava by `comptasso serve --scheduler` (through an entry point)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from banquasso.jobs import build_scheduler, default_reports_dir
from banquasso.registry.db import open_registry, var_dir


class SchedulerBusy(RuntimeError):
    """Another scheduler already runs for these books."""


def start_beside_fava(ledgers_dir: Path, rules_dir: Path) -> Callable[[], None]:
    """Start the daily and monthly jobs in a background thread; return the function that stops them.

    The same lock as `banquasso scheduler` keeps one scheduler per group of books.
    """
    lock_path = var_dir(ledgers_dir) / "locks" / "scheduler.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise SchedulerBusy(f"{lock_path}:0: un autre planificateur tourne déjà pour ces livres") from None
    from apscheduler.schedulers.background import BackgroundScheduler

    registry = open_registry(ledgers_dir)
    scheduler = build_scheduler(ledgers_dir, rules_dir, default_reports_dir(ledgers_dir), registry,
                                scheduler_class=BackgroundScheduler)
    scheduler.start()

    def stop() -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        registry.close()
        lock.release()

    return stop
