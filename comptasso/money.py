"""Money and dates: Decimal amounts to the cent, French formatting and parsing, ISO dates."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import NumberFormatError, format_decimal, parse_decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal | int | str) -> Decimal:
    """Round to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


_SEPARATORS = re.compile(r"[ \u00a0\u202f]")
_PLAIN = re.compile(r"[+-]?\d+(\.\d+)?")
_TYPED = re.compile(r"[+-]?\d[\d \u00a0\u202f]*([.,]\d+)?")


def parse_amount(text: str) -> Decimal:
    """Parse an amount as people type it: `1 000,00`, `1000,00`, `1000.00`, `-12,5`.

    The one parser of typed amounts (command options, JSON files, Fava forms). Thousands may be
    grouped by spaces (plain, no-break or narrow), the decimal mark is a comma or a dot; babel's
    fr_FR parser checks the grouping. ValueError with a French message otherwise.
    """
    if not isinstance(text, str):
        raise ValueError(f"montant invalide : {text!r}")
    raw = text.strip()
    if _PLAIN.fullmatch(raw):
        return Decimal(raw)
    if not _TYPED.fullmatch(raw):
        raise ValueError(f"montant invalide « {text} » (ex. 1 000,00 ou 1000.00)")
    try:
        value = parse_decimal(_SEPARATORS.sub("\u202f", raw), locale="fr_FR", strict=True)
    except (NumberFormatError, InvalidOperation, ValueError) as exc:
        raise ValueError(f"montant invalide « {text} » (ex. 1 000,00 ou 1000.00)") from exc
    if not value.is_finite():
        raise ValueError(f"montant invalide « {text} » (ex. 1 000,00 ou 1000.00)")
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
    """`2026-12-01` → `01/12/2026`: the one way a date is written for readers, in tables and in sentences.

    Sentences say « versée le 01/12/2026 », never the ISO form (kept for `--json`, options and ledgers).
    """
    return format_date(day, "dd/MM/yyyy", locale="fr_FR")


def parse_iso_date(text: str) -> dt.date:
    """Parse `YYYY-MM-DD`; ValueError with a French message otherwise."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"date invalide « {text} » (attendu AAAA-MM-JJ)") from exc


def money_json(value: Decimal) -> str:
    """The JSON form of an amount: a decimal string with two places."""
    return str(cents(value))
