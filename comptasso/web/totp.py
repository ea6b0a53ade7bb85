"""The optional second factor of `comptasso serve`: time-based one-time codes (TOTP, RFC 6238, with pyotp).

A user of `rules/users.toml` with `totp_secret` (the bookkeeper and the board may have one) must type,
after the password, the 6-digit code of their authenticator app. A code is accepted within one
30-second step of the server's clock, and only once: a code seen once cannot log in again.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyotp

Clock = Callable[[], float]
STEP_SECONDS = 30
SECRET = re.compile(r"^[A-Z2-7]{16,64}$")
ISSUER = "Comptasso"


def new_secret() -> str:
    """A fresh base32 secret, to paste into users.toml and into the authenticator app."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    """The `otpauth://` address an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


@dataclass
class SecondFactor:
    """Checks codes; remembers each user's last accepted step so that a code is used once."""

    clock: Clock = time.time
    _last_step: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, login: str, secret: str, code: str) -> bool:
        """Whether `code` is this user's code now (one step early or late allowed), never seen before."""
        code = code.strip().replace(" ", "")
        if not re.fullmatch(r"\d{6}", code):
            return False
        totp = pyotp.TOTP(secret)
        now_step = int(self.clock() // STEP_SECONDS)
        with self._lock:
            last = self._last_step.get(login, -1)
            for step in (now_step - 1, now_step, now_step + 1):
                if step > last and hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
                    self._last_step[login] = step
                    return True
        return False
