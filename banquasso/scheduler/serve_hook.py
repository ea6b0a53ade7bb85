"""The scheduler started beside Fava by `comptasso serve --scheduler` (through an entry point)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from banquasso.registry.db import open_registry
from banquasso.scheduler.jobs import SchedulerBusyError, build_scheduler, default_reports_dir, scheduler_lock

__all__ = ["SchedulerBusyError", "start_beside_fava"]


def start_beside_fava(ledgers_dir: Path, rules_dir: Path) -> Callable[[], None]:
    """Start the daily and monthly jobs in a background thread; return the function that stops them.

    The same lock as `banquasso scheduler` keeps one scheduler per group of books.
    """
    lock = scheduler_lock(ledgers_dir)
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
