"""Money, calendar and French wording helpers of the synthetic ledger generator."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")

MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)


def money(value: Decimal | int | str) -> Decimal:
    """An amount quantized to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def fmt(amount: Decimal) -> str:
    """An amount as Beancount writes it: `-1234.50`."""
    return f"{money(amount):.2f}"


def chance(rng: random.Random, percent: int) -> bool:
    """True `percent` times out of a hundred."""
    return rng.randint(1, 100) <= percent


def draw_cents(rng: random.Random, low: int, high: int) -> Decimal:
    """An amount in cents between `low` and `high` euros."""
    return money(Decimal(rng.randint(low * 100, high * 100)) / 100)


def draw_round(rng: random.Random, low: int, high: int, step: int) -> Decimal:
    """A round amount: a multiple of `step` euros between `low` and `high`."""
    return money(rng.randint(low // step, high // step) * step)


def jitter(rng: random.Random, amount: Decimal, percent: int) -> Decimal:
    """An amount varied by up to `percent` per cent either way."""
    if percent == 0:
        return money(amount)
    return money(amount * Decimal(100 + rng.randint(-percent, percent)) / 100)


def share(amount: Decimal, percent: int) -> Decimal:
    """`percent` per cent of an amount, to the cent."""
    return money(amount * percent / 100)


def split_by_weights(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """Split an amount by integer weights; the last part absorbs the rounding."""
    whole = sum(weights)
    parts = [money(total * weight / whole) for weight in weights[:-1]]
    return [*parts, money(total - sum(parts, ZERO))]


def last_day(year: int, month: int) -> date:
    """The last day of a month."""
    year2, month2 = add_months(year, month, 1)
    return date(year2, month2, 1) - timedelta(days=1)


def clip_day(year: int, month: int, day: int) -> date:
    """A day of a month, clipped to the month's end."""
    return date(year, month, min(day, last_day(year, month).day))


def add_months(year: int, month: int, count: int) -> tuple[int, int]:
    """The (year, month) `count` months later."""
    index = year * 12 + month - 1 + count
    return index // 12, index % 12 + 1


def months(start: date, end: date) -> Iterator[tuple[int, int]]:
    """Every (year, month) from start's month to end's month."""
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        year, month = add_months(year, month, 1)


def previous_working_day(day: date) -> date:
    """The day itself, or the Friday before when it falls on a weekend."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def next_working_day(day: date) -> date:
    """The day itself, or the Monday after when it falls on a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def month_title(year: int, month: int) -> str:
    """`Novembre 2026`."""
    return f"{MONTHS_FR[month - 1].capitalize()} {year}"


def month_label(year: int, month: int) -> str:
    """`novembre 2026`."""
    return f"{MONTHS_FR[month - 1]} {year}"


def of_month(year: int, month: int) -> str:
    """`de novembre 2026`, `d'avril 2026`."""
    name = MONTHS_FR[month - 1]
    return f"d'{name} {year}" if name[0] in "aeiouo" else f"de {name} {year}"


def french_date(day: date) -> str:
    """`1er janvier 2024`, `15 mars 2026`."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS_FR[day.month - 1]} {day.year}"


def component(slug: str) -> str:
    """A slug as a Beancount account component: `velo-gap-017` → `Velo-Gap-017`."""
    return "-".join(part[:1].upper() + part[1:] for part in slug.split("-"))


def ordinal(number: int) -> str:
    """`1re`, `2e`, `3e` (feminine, for a tranche)."""
    return "1re" if number == 1 else f"{number}e"
