"""Fava pages never wait for the solver: the latest computed page at once, a recompute in the background.

`Pages` keeps, for each page (kind, place, day), the latest result with the fingerprint of the files it
was computed from and its time. A request whose files are unchanged gets that result; one whose files
changed (a save) gets the previous result marked « recalcul en cours » while one background thread,
holding the engine's lock, computes the new one. Only a page never computed in this process waits,
and then the books cache and the plan's memo (`banquasso.pool.memo`) answer for whatever did not change.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from comptasso.clock import now

T = TypeVar("T")

#: How many pages (kind, place, day) are kept.
PAGES_KEPT = 16


@dataclass(frozen=True)
class Shown(Generic[T]):
    """What a page shows: a computed result, when it was computed, and whether a newer one is being computed."""

    value: T
    computed_at: dt.datetime
    recomputing: bool


@dataclass(frozen=True)
class _Latest(Generic[T]):
    fingerprint: Hashable
    value: T
    computed_at: dt.datetime


class Pages(Generic[T]):
    """The latest result of each page and the background recomputes (one at a time, under `engine_lock`)."""

    def __init__(self, engine_lock: threading.Lock | None = None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.engine_lock = engine_lock or threading.Lock()
        self._clock = clock or now
        self._lock = threading.Lock()
        self._latest: dict[Hashable, _Latest[T]] = {}
        self._running: dict[Hashable, threading.Thread] = {}

    def show(self, page: Hashable, fingerprint: Hashable, compute: Callable[[], T]) -> Shown[T]:
        """The page's result for files with `fingerprint`: at once when any result exists, else computed now."""
        with self._lock:
            latest = self._latest.get(page)
            if latest is not None and (latest.fingerprint == fingerprint or page in self._running):
                return Shown(latest.value, latest.computed_at, latest.fingerprint != fingerprint)
            if latest is not None:
                thread = threading.Thread(target=self._recompute, args=(page, fingerprint, compute),
                                          name=f"banquasso-recompute-{len(self._running)}", daemon=True)
                self._running[page] = thread
                thread.start()
                return Shown(latest.value, latest.computed_at, True)
        with self.engine_lock:
            value = compute()
        self._store(page, fingerprint, value)
        with self._lock:
            stored = self._latest[page]
        return Shown(stored.value, stored.computed_at, False)

    def _recompute(self, page: Hashable, fingerprint: Hashable, compute: Callable[[], T]) -> None:
        try:
            with self.engine_lock:
                value = compute()
            self._store(page, fingerprint, value)
        finally:
            with self._lock:
                self._running.pop(page, None)

    def _store(self, page: Hashable, fingerprint: Hashable, value: T) -> None:
        with self._lock:
            self._latest.pop(page, None)
            self._latest[page] = _Latest(fingerprint, value, self._clock())
            while len(self._latest) > PAGES_KEPT:
                self._latest.pop(next(iter(self._latest)))

    def recomputing(self, page: Hashable) -> bool:
        """Whether a background recompute of `page` is running."""
        with self._lock:
            return page in self._running

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running recomputes (tests, shutdown)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)
