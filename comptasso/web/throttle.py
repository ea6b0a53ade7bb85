"""Failed log-ins, counted per client address and per account, so that nobody outside can lock an account.

Each try is counted as a failure *before* the password is checked (and forgiven when it is right), so
parallel tries cannot all pass the check at once. After n failures, the next try waits base·2^(n-1) s,
capped:

- per address: an address that failed waits, whatever the account it tries;
- per account: an account that failed waits too, but only for addresses that have failed themselves.
  A locked account still accepts the right password from an address that has not failed, so an
  attacker cannot lock the bookkeeper out from outside.

The client address is the one werkzeug's ProxyFix leaves in `request.remote_addr`: the peer, or the
address a trusted proxy reports (`comptasso serve --trusted-proxies N`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass
class _Counter:
    count: int
    last: float


@dataclass
class Throttle:
    """Failures per address and per account, with exponential, capped waits."""

    clock: Clock = time.monotonic
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    forget_after: float = 3600.0
    _by_address: dict[str, _Counter] = field(default_factory=dict)
    _by_account: dict[str, _Counter] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _wait(self, counter: _Counter | None, now: float) -> float:
        if counter is None or counter.count == 0 or now - counter.last > self.forget_after:
            return 0.0
        delay = min(self.max_seconds, self.base_seconds * float(2 ** (counter.count - 1)))
        return max(0.0, counter.last + delay - now)

    def wait(self, account: str, address: str) -> float:
        """Seconds before this address may try this account (0: now)."""
        with self._lock:
            return self._wait_locked(account, address, self.clock())

    def _wait_locked(self, account: str, address: str, now: float) -> float:
        by_address = self._wait(self._by_address.get(address), now)
        if by_address == 0 and address not in self._by_address:
            return 0.0  # an address that never failed: the account's failures do not stop it
        return max(by_address, self._wait(self._by_account.get(account), now))

    def begin(self, account: str, address: str) -> float:
        """Start a try: 0 and the try counted as a failure until `succeeded`, else the seconds to wait."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            wait = self._wait_locked(account, address, now)
            if wait > 0:
                return wait
            for table, key in ((self._by_address, address), (self._by_account, account)):
                counter = table.get(key)
                if counter is None or now - counter.last > self.forget_after:
                    table[key] = _Counter(1, now)
                else:
                    table[key] = _Counter(counter.count + 1, now)
            return 0.0

    def succeeded(self, account: str, address: str) -> None:
        """The password was right: forget this address's and this account's failures."""
        with self._lock:
            self._by_address.pop(address, None)
            self._by_account.pop(account, None)

    def _forget(self, now: float) -> None:
        for table in (self._by_address, self._by_account):
            for key in [k for k, c in table.items() if now - c.last > self.forget_after]:
                del table[key]
