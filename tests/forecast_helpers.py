"""Inline ledgers shared by the forecast tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import write_group

OPEN = """
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Assets:531-Caisse EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR
2025-01-01 open Assets:441-Subventions-A-Recevoir EUR
2025-01-01 open Income:741-Subventions EUR
2025-01-01 open Expenses:641-Salaires EUR
2025-01-01 open Expenses:645-Charges-Sociales EUR
2025-01-01 open Expenses:606-Achats EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Assets:411-Clients EUR
2025-01-01 open Liabilities:401-Fournisseurs EUR
"""


def opening(amount: str, day: str = "2025-01-02") -> str:
    """A transaction putting `amount` on the bank account."""
    return f"""
{day} * "Apport" "Fonds associatifs"
  Assets:512-Banque  {amount} EUR
  Equity:102-Fonds-Associatifs  -{amount} EUR
"""


def grant(convention: str, funder: str, day: str, tranches: list[tuple[str, str]]) -> str:
    """A notified grant and its tranches (date, amount)."""
    total = sum((Decimal(a) for _, a in tranches), Decimal(0))
    text = f"""
{day} * "Financeur" "Convention {convention}"
  convention: "{convention}"
  funder: "{funder}"
  Assets:441-Subventions-A-Recevoir  {total} EUR
  Income:741-Subventions  -{total} EUR
"""
    for due, amount in tranches:
        text += f'\n{day} custom "subvention-echeance" "{convention}" {due} {amount} EUR\n'
    return text


def receipt(convention: str, day: str, amount: str) -> str:
    """A grant payment received on the bank."""
    return f"""
{day} * "Financeur" "Versement {convention}"
  convention: "{convention}"
  Assets:512-Banque  {amount} EUR
  Assets:441-Subventions-A-Recevoir  -{amount} EUR
"""


def salary(day: str, amount: str) -> str:
    """Salaries paid from the bank."""
    return f"""
{day} * "Personnel" "Salaires"
  Expenses:641-Salaires  {amount} EUR
  Assets:512-Banque  -{amount} EUR
"""


def books_of(tmp_path: Path, ledgers: Mapping[str, str], **kwargs: str) -> GroupBooks:
    """Write an inline group and open it; fail the test on any error."""
    ledgers_dir, rules_dir = write_group(tmp_path, {k: OPEN + v for k, v in ledgers.items()}, **kwargs)
    books, problems = open_books(ledgers_dir, rules_dir, cache_dir=False, jobs=1)
    assert books is not None, problems
    assert not [p for p in problems if p.is_error], problems
    return books


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


__all__ = ["books_of", "d", "grant", "opening", "receipt", "salary"]
