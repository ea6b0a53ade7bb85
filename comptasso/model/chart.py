"""The French association chart of accounts (PCG): account numbers, classes and treasury accounts."""

from __future__ import annotations

import re
from functools import lru_cache

_DIGITS = re.compile(r"^(\d+)")

#: Which Beancount roots a PCG class may live under (SPEC section 4).
ROOTS_BY_CLASS: dict[str, frozenset[str]] = {
    "1": frozenset({"Equity", "Liabilities"}),
    "2": frozenset({"Assets"}),
    "3": frozenset({"Assets"}),
    "4": frozenset({"Assets", "Liabilities"}),
    "5": frozenset({"Assets"}),
    "6": frozenset({"Expenses"}),
    "7": frozenset({"Income"}),
    "8": frozenset({"Income", "Expenses"}),
}


@lru_cache(maxsize=65536)
def pcg_number(account: str) -> str | None:
    """Leading digits of the deepest component that starts with digits (`…:641-Salaires` → `641`)."""
    for component in reversed(account.split(":")[1:]):
        match = _DIGITS.match(component)
        if match:
            return match.group(1)
    return None


def auxiliary(account: str) -> str | None:
    """The auxiliary account below a numbered one (`Liabilities:401-F:Imprimerie` → `Imprimerie`)."""
    parts = account.split(":")
    for index in range(len(parts) - 1, 0, -1):
        if _DIGITS.match(parts[index]):
            rest = parts[index + 1:]
            return ":".join(rest) if rest else None
    return None


def class_problem(account: str) -> str | None:
    """Why an account breaks the chart, in French, or None when it is fine."""
    number = pcg_number(account)
    if number is None:
        return f"le compte « {account} » n'a pas de numéro du plan comptable (ex. 512-Banque)"
    root = account.split(":", 1)[0]
    allowed = ROOTS_BY_CLASS.get(number[0])
    if allowed is None:
        return f"le compte « {account} » a un numéro de classe {number[0]} inconnue du plan comptable"
    if root not in allowed:
        roots = " ou ".join(sorted(allowed))
        return f"le compte « {account} » (classe {number[0]}) doit être sous {roots}, pas {root}"
    return None


def has_prefix(account: str, *prefixes: str) -> bool:
    """True when the account's PCG number starts with one of the prefixes."""
    number = pcg_number(account)
    return number is not None and number.startswith(prefixes)


def is_treasury(account: str) -> bool:
    """Treasury accounts are classes 51 (banks) and 53 (cash)."""
    return account.startswith("Assets:") and has_prefix(account, "51", "53")


def is_grant_receivable(account: str) -> bool:
    """441: grants receivable (subventions à recevoir)."""
    return has_prefix(account, "441")


def is_customer(account: str) -> bool:
    """411: customers."""
    return has_prefix(account, "411")


def is_supplier(account: str) -> bool:
    """401: suppliers."""
    return has_prefix(account, "401")


def is_payroll(account: str) -> bool:
    """64: staff costs (salaries and social charges)."""
    return account.startswith("Expenses:") and has_prefix(account, "64")
