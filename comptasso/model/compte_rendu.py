"""The figures of the compte rendu financier of an action (CERFA 15059): charges and produits, budget vs réalisé.

The table follows the CERFA's rows: two-digit PCG groups of charges (60 … 69) and produits (70 … 79),
then the contributions in kind (86 emplois, 87 contributions). The réalisé of a row is what the
transactions of the action (metadata `action` or tag, see `comptasso.model.budgets.in_action`) posted
to its accounts over the grant's financial year, charges as debited and produits as credited; the
budget of a row is the sum of the action's `budget` lines whose prefix starts with the row's digits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.model.budgets import BudgetLine, extract_budgets, in_action
from comptasso.model.chart import pcg_number
from comptasso.model.grant_files import GrantFile
from comptasso.money import cents

ZERO = Decimal(0)

CHARGES = {
    "60": "Achats", "61": "Services extérieurs", "62": "Autres services extérieurs", "63": "Impôts et taxes",
    "64": "Charges de personnel", "65": "Autres charges de gestion courante", "66": "Charges financières",
    "67": "Charges exceptionnelles", "68": "Dotations aux amortissements et provisions",
    "69": "Impôt sur les bénéfices",
}
PRODUITS = {
    "70": "Ventes de produits finis, prestations de services", "71": "Production stockée",
    "72": "Production immobilisée", "73": "Concours publics", "74": "Subventions d'exploitation",
    "75": "Autres produits de gestion courante", "76": "Produits financiers", "77": "Produits exceptionnels",
    "78": "Reprises sur amortissements et provisions", "79": "Transferts de charges",
}
IN_KIND = {"86": "Emplois des contributions volontaires en nature",
           "87": "Contributions volontaires en nature"}


@dataclass(frozen=True)
class Row:
    """One row of the table: a two-digit PCG group, its budget and its réalisé."""

    group: str
    label: str
    budget: Decimal
    actual: Decimal

    @property
    def percent(self) -> Decimal | None:
        """Réalisé as a share of the budget, in per cent to one decimal (None without a budget)."""
        if self.budget == 0:
            return None
        return (self.actual * 100 / self.budget).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class CompteRendu:
    """The figures of one convention's compte rendu financier."""

    file: GrantFile
    start: dt.date
    end: dt.date
    charges: tuple[Row, ...]
    produits: tuple[Row, ...]
    in_kind: tuple[Row, ...]

    @property
    def total_charges(self) -> Decimal:
        return sum((r.actual for r in self.charges), ZERO)

    @property
    def total_produits(self) -> Decimal:
        return sum((r.actual for r in self.produits), ZERO)

    @property
    def grant_amount(self) -> Decimal:
        return self.file.grant.amount

    @property
    def grant_share(self) -> Decimal | None:
        """The grant as a share of the action's charges, in per cent to one decimal."""
        if self.total_charges == 0:
            return None
        return (self.grant_amount * 100 / self.total_charges).quantize(Decimal("0.1"))


def _actuals(entries: Sequence[data.Directive], action: str, start: dt.date, end: dt.date) -> dict[str, Decimal]:
    """Postings of the action by two-digit PCG group, signed positive for charges (debit) and produits (credit)."""
    out: dict[str, Decimal] = {}
    for entry in entries:
        if not (isinstance(entry, data.Transaction) and start <= entry.date <= end and in_action(entry, action)):
            continue
        for posting in entry.postings:
            number = pcg_number(posting.account)
            if number is None or posting.units is None or posting.units.number is None \
                    or posting.account.split(":", 1)[0] not in ("Expenses", "Income"):
                continue
            group = number[:2]
            sign = -1 if group.startswith("7") or group == "87" else 1
            out[group] = out.get(group, ZERO) + sign * posting.units.number
    return out


def _budgets(lines: Sequence[BudgetLine], action: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in lines:
        if line.action == action and len(line.number) >= 2:
            out[line.number[:2]] = out.get(line.number[:2], ZERO) + line.amount
    return out


def _rows(labels: dict[str, str], budgets: dict[str, Decimal], actuals: dict[str, Decimal]) -> tuple[Row, ...]:
    return tuple(Row(group, label, cents(budgets.get(group, ZERO)), cents(actuals.get(group, ZERO)))
                 for group, label in labels.items() if budgets.get(group) or actuals.get(group))


def compte_rendu(entries: Sequence[data.Directive], file: GrantFile) -> CompteRendu | None:
    """The CERFA 15059 figures of a grant file's action over its financial year (None without an action)."""
    if file.action is None:
        return None
    end = file.year_end
    start = dt.date(end.year - 1, end.month, end.day) + dt.timedelta(days=1) if not (
        end.month == 2 and end.day == 29) else dt.date(end.year - 1, 3, 1)
    known = [e for e in entries if e.date <= file.as_of]
    lines, _ = extract_budgets(known)
    budgets = _budgets(lines, file.action)
    actuals = _actuals(known, file.action, start, end)
    return CompteRendu(file, start, end, _rows(CHARGES, budgets, actuals), _rows(PRODUITS, budgets, actuals),
                       _rows(IN_KIND, budgets, actuals))
