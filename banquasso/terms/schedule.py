"""Repayment schedules of an advance: bullet, on-receipt, linear and annuity, to the cent."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from comptasso.money import cents, fr_date, money_json

METHODS = ("bullet", "on-receipt", "linear", "annuity")
DAY_COUNTS = ("ACT/365", "30/360")
MAX_MONTHS = 60  # five years, the legal ceiling


class ScheduleError(ValueError):
    """Terms that cannot make a schedule (the message is French, for the user)."""


@dataclass(frozen=True)
class ScheduleLine:
    """One repayment: its number, date, principal and interest parts, payment and what remains due."""

    n: int
    date: dt.date
    principal: Decimal
    interest: Decimal
    payment: Decimal
    remaining: Decimal


@dataclass(frozen=True)
class Schedule:
    """The repayment schedule of one advance; the lines' principal sums exactly to the principal."""

    principal: Decimal
    rate: Decimal
    method: str
    day_count: str
    start: dt.date
    lines: tuple[ScheduleLine, ...]

    @property
    def total_interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), Decimal("0.00"))

    @property
    def total_paid(self) -> Decimal:
        return sum((line.payment for line in self.lines), Decimal("0.00"))

    @property
    def end(self) -> dt.date:
        return self.lines[-1].date

    def to_json(self) -> dict[str, Any]:
        """The JSON document of SPEC section 10 (amounts as decimal strings, ISO dates)."""
        return {
            "principal": money_json(self.principal), "rate": str(self.rate), "method": self.method,
            "day_count": self.day_count, "start": self.start.isoformat(),
            "lines": [
                {"n": line.n, "date": line.date.isoformat(), "principal": money_json(line.principal),
                 "interest": money_json(line.interest), "payment": money_json(line.payment),
                 "remaining": money_json(line.remaining)}
                for line in self.lines
            ],
            "total_interest": money_json(self.total_interest), "total_paid": money_json(self.total_paid),
        }


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clipped to the end of a shorter month (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def days_30_360(start: dt.date, end: dt.date) -> int:
    """Days between two dates in the European 30E/360 convention (every month has 30 days)."""
    d1, d2 = min(start.day, 30), min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


def year_fraction(start: dt.date, end: dt.date, day_count: str) -> Decimal:
    """The fraction of a year between two dates: actual days / 365, or 30E/360."""
    if day_count == "ACT/365":
        return Decimal((end - start).days) / Decimal(365)
    if day_count == "30/360":
        return Decimal(days_30_360(start, end)) / Decimal(360)
    raise ScheduleError(f"base de calcul inconnue « {day_count} » (attendu : {', '.join(DAY_COUNTS)})")


def interest(amount: Decimal, rate: Decimal, start: dt.date, end: dt.date, day_count: str) -> Decimal:
    """Simple interest on `amount` from `start` to `end`, to the cent (half up)."""
    return cents(amount * rate * year_fraction(start, end, day_count))


def annuity_payment(principal: Decimal, rate: Decimal, months: int) -> Decimal:
    """The equal monthly payment of a loan at a nominal annual rate, to the cent (numpy-financial's pmt)."""
    if rate == 0:
        return cents(principal / months)
    periodic = rate / 12
    return cents(principal * periodic / (1 - (1 + periodic) ** -months))


def _check(principal: Decimal, rate: Decimal, method: str, day_count: str) -> None:
    if principal <= 0:
        raise ScheduleError(f"le capital doit être positif (reçu {principal})")
    if cents(principal) != principal:
        raise ScheduleError(f"le capital se compte au centime (reçu {principal})")
    if rate < 0 or rate >= 1:
        raise ScheduleError(f"taux annuel attendu entre 0 et 1 (reçu {rate})")
    if method not in METHODS:
        raise ScheduleError(f"méthode inconnue « {method} » (attendu : {', '.join(METHODS)})")
    if day_count not in DAY_COUNTS:
        raise ScheduleError(f"base de calcul inconnue « {day_count} » (attendu : {', '.join(DAY_COUNTS)})")


def _single_date(start: dt.date, method: str, months: int | None, end: dt.date | None,
                 repay_on: dt.date | None) -> dt.date:
    day = repay_on or end or (add_months(start, months) if months else None)
    if day is None:
        what = "la date d'encaissement (--repay-on)" if method == "on-receipt" else "une durée (--months ou --end)"
        raise ScheduleError(f"méthode « {method} » : il faut {what}")
    if day <= start:
        raise ScheduleError(f"le remboursement ({fr_date(day)}) doit suivre le versement ({fr_date(start)})")
    return day


def _months(months: int | None, method: str) -> int:
    if months is None:
        raise ScheduleError(f"méthode « {method} » : il faut un nombre de mois (--months)")
    if not 1 <= months <= MAX_MONTHS:
        raise ScheduleError(f"durée attendue entre 1 et {MAX_MONTHS} mois (reçu {months})")
    return months


def _amortising(principal: Decimal, rate: Decimal, start: dt.date, months: int, method: str,
                day_count: str) -> tuple[ScheduleLine, ...]:
    """Monthly lines; each pays the interest of its period on what remains; the last clears the rest."""
    lines: list[ScheduleLine] = []
    remaining = principal
    equal_principal = cents(principal / months)
    payment = annuity_payment(principal, rate, months)
    previous = start
    for n in range(1, months + 1):
        day = add_months(start, n)
        owed = interest(remaining, rate, previous, day, day_count)
        if n == months:
            part = remaining
        elif method == "linear":
            part = min(equal_principal, remaining)
        else:
            part = min(max(payment - owed, Decimal("0.00")), remaining)
        remaining -= part
        lines.append(ScheduleLine(n, day, part, owed, part + owed, remaining))
        previous = day
    return tuple(lines)


def build_schedule(
    principal: Decimal,
    *,
    rate: Decimal,
    start: dt.date,
    method: str,
    day_count: str,
    months: int | None = None,
    end: dt.date | None = None,
    repay_on: dt.date | None = None,
) -> Schedule:
    """The schedule of an advance disbursed on `start`.

    bullet: one repayment of principal and interest at `end` (or `start` + `months`);
    on-receipt: one repayment on `repay_on`, the securing grant's expected date plus grace;
    linear: `months` monthly lines of equal principal; annuity: `months` equal monthly payments
    (numpy-financial's pmt at the nominal rate / 12). Interest accrues on what remains, by the day
    count, rounded to the cent half up; the last line absorbs every rounding so the principal
    parts sum exactly to the principal. Raises ScheduleError with a French message on bad terms.
    """
    _check(principal, rate, method, day_count)
    principal = cents(principal)
    if method in ("bullet", "on-receipt"):
        day = _single_date(start, method, months, end, repay_on)
        if day > add_months(start, MAX_MONTHS):
            raise ScheduleError("une avance dure au plus 5 ans (60 mois)")
        owed = interest(principal, rate, start, day, day_count)
        lines: tuple[ScheduleLine, ...] = (
            ScheduleLine(1, day, principal, owed, principal + owed, Decimal("0.00")),)
    else:
        lines = _amortising(principal, rate, start, _months(months, method), method, day_count)
    return Schedule(principal, rate, method, day_count, start, lines)
