"""Server-side sessions of `comptasso serve`: the cookie carries a random id, the server keeps the rest.

A session lives in the memory of the server process, keyed by the SHA-256 of its id (the id itself is
kept nowhere but in the browser's cookie). Log-out deletes it, so a copied cookie stops working at
once; a changed password or role (the user's stamp) ends every session of that user; idle and
maximum lifetimes end it too. A restart of the server ends every session. Each session has its own
CSRF token, which every form and every state-changing request must send back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

Clock = Callable[[], float]
COOKIE = "comptasso_session"


@dataclass(frozen=True)
class Session:
    """One open session: who, since when, last seen, and its CSRF token."""

    login: str
    stamp: str
    started: float
    seen: float
    csrf: str


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


@dataclass
class SessionStore:
    """Open sessions by the hash of their id; thread-safe."""

    idle_seconds: float
    max_seconds: float
    clock: Clock = time.time
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, login: str, stamp: str) -> tuple[str, Session]:
        """A new session: its id (for the cookie) and its record."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        record = Session(login, stamp, now, now, secrets.token_urlsafe(32))
        with self._lock:
            for key in [k for k, s in self._sessions.items()
                        if now - s.started > self.max_seconds or now - s.seen > self.idle_seconds]:
                del self._sessions[key]  # forgotten sessions do not pile up
            self._sessions[_key(session_id)] = record
        return session_id, record

    def get(self, session_id: str | None, stamp_of: Callable[[str], str | None]) -> Session | None:
        """The fresh session of this id, seen now; an expired, revoked or stale one is deleted."""
        if not session_id:
            return None
        key = _key(session_id)
        now = self.clock()
        with self._lock:
            record = self._sessions.get(key)
            if record is None:
                return None
            if stamp_of(record.login) != record.stamp or now - record.started > self.max_seconds \
                    or now - record.seen > self.idle_seconds:
                del self._sessions[key]
                return None
            record = replace(record, seen=now)
            self._sessions[key] = record
            return record

    def revoke(self, session_id: str | None) -> None:
        """End one session (log-out)."""
        if session_id:
            with self._lock:
                self._sessions.pop(_key(session_id), None)

    def revoke_login(self, login: str) -> int:
        """End every session of a user; how many were open."""
        with self._lock:
            keys = [k for k, s in self._sessions.items() if s.login == login]
            for key in keys:
                del self._sessions[key]
            return len(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
