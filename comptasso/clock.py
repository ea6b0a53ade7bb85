"""The group's "today": one date for every command, page and job, in the group's time zone.

The group works in Europe/Paris whatever the machine's own time zone; `$COMPTASSO_TZ` (an IANA name
such as `Europe/Paris` or `America/Cayenne`) sets another one. The machine's local date is never used.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TZ_ENV = "COMPTASSO_TZ"
DEFAULT_TZ = "Europe/Paris"
TIMEZONE_UNKNOWN = "timezone-unknown"


class ClockError(ValueError):
    """The time-zone setting names no known time zone; `code` is the problem's stable code."""

    code = TIMEZONE_UNKNOWN


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: The clock every "today" reads (an aware datetime); tests replace it with a fixed one.
utc_now: Callable[[], dt.datetime] = _utc_now


def group_timezone() -> ZoneInfo:
    """The group's time zone: `$COMPTASSO_TZ`, else Europe/Paris; ClockError when the name is unknown."""
    name = os.environ.get(TZ_ENV, "").strip() or DEFAULT_TZ
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ClockError(f"{TZ_ENV} : fuseau horaire inconnu « {name} » (exemple : {DEFAULT_TZ})") from None


def zone_label() -> str:
    """The time zone in French words, as the commands print it: `heure de Paris` by default."""
    zone = group_timezone()
    return "heure de Paris" if zone.key == DEFAULT_TZ else f"heure {zone.key}"


def now() -> dt.datetime:
    """The current moment in the group's time zone."""
    return utc_now().astimezone(group_timezone())


def today(at: dt.datetime | None = None) -> dt.date:
    """The group's date now (or at the aware moment `at`): the default `--as-of` of every command."""
    return (at or utc_now()).astimezone(group_timezone()).date()
