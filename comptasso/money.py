"""Money and dates: Decimal amounts to the cent, French formatting, ISO parsing."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(text: str) -> Decimal:
    """Parse a decimal amount written with a dot (`1234.5`); ValueError if it is not one."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"montant invalide : {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"montant invalide : {text!r}")
    return value


def fr_number(value: Decimal, places: int = 2) -> str:
    """`12345.6` → `12 345,60` (plain spaces, so terminals and PDF fonts show them)."""
    pattern = "#,##0." + "0" * places if places else "#,##0"
    text = format_decimal(value, format=pattern, locale="fr_FR", decimal_quantization=True)
    return text.replace("\u202f", " ").replace("\xa0", " ")


def fr_money(value: Decimal) -> str:
    """`Decimal('12345.67')` → `12 345,67 €`."""
    return f"{fr_number(cents(value))} €"


def fr_date(day: dt.date) -> str:
    """`2026-11-30` → `30/11/2026`."""
    return day.strftime("%d/%m/%Y")


def parse_iso_date(text: str) -> dt.date:
    """Parse `YYYY-MM-DD`; ValueError with a French message otherwise."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"date invalide « {text} » (attendu AAAA-MM-JJ)") from exc


def money_json(value: Decimal) -> str:
    """The JSON form of an amount: a decimal string with two places."""
    return str(cents(value))
