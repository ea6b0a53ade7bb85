"""Planned flows (`custom "prevision"`): expected cash movements not yet in the books."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from comptasso.grants import Source
from comptasso.problems import Problem, at

PREVISION = "prevision"
FREQUENCIES = ("hebdomadaire", "mensuel", "trimestriel", "annuel", "unique")
SYNTAX = ('attendu : custom "prevision" Compte "Libellé" MONTANT EUR '
          '"hebdomadaire|mensuel|trimestriel|annuel|unique" JOUR|DATE [DATE_FIN]')


@dataclass(frozen=True)
class Prevision:
    """One planned flow: signed amount seen from the treasury (negative = money out)."""

    declared_on: dt.date
    account: str
    label: str
    amount: Decimal
    currency: str
    frequency: str
    day: int | None
    on: dt.date | None
    end: dt.date | None
    source: Source


def _is_account(value: object, dtype: object) -> bool:
    return isinstance(value, str) and dtype == data.ACCOUNT_TYPE


def parse_prevision(entry: data.Custom) -> Prevision | Problem:
    """Read one `prevision` directive, or say precisely what is wrong with it."""
    values = [v.value for v in entry.values]
    dtypes = [v.dtype for v in entry.values]
    if len(values) not in (5, 6):
        return at(entry.meta, f"prévision mal formée ({len(values)} arguments) ; {SYNTAX}")
    account, label, amount, frequency, param = values[:5]
    end = values[5] if len(values) == 6 else None
    if not _is_account(account, dtypes[0]):
        return at(entry.meta, f"prévision : le premier argument doit être un compte ; {SYNTAX}")
    if not isinstance(label, str) or not isinstance(amount, Amount) or amount.number is None:
        return at(entry.meta, f"prévision : libellé puis montant attendus ; {SYNTAX}")
    if frequency not in FREQUENCIES:
        return at(entry.meta, f"prévision « {label} » : fréquence inconnue « {frequency} » ({', '.join(FREQUENCIES)})")
    if end is not None and not isinstance(end, dt.date):
        return at(entry.meta, f"prévision « {label} » : la date de fin doit être une date AAAA-MM-JJ")
    day: int | None = None
    on: dt.date | None = None
    if frequency == "unique":
        if not isinstance(param, dt.date):
            return at(entry.meta, f"prévision « {label} » : « unique » demande une date AAAA-MM-JJ")
        on = param
    else:
        limit = 7 if frequency == "hebdomadaire" else 31
        if not isinstance(param, Decimal) or param != param.to_integral_value() or not 1 <= param <= limit:
            what = "un jour de semaine de 1 à 7" if limit == 7 else "un jour du mois de 1 à 31"
            return at(entry.meta, f"prévision « {label} » : « {frequency} » demande {what}, pas « {param} »")
        day = int(param)
    if end is not None and end < entry.date:
        return at(entry.meta, f"prévision « {label} » : la date de fin {end} précède la prévision")
    return Prevision(entry.date, account, label, amount.number, amount.currency, frequency, day, on, end,
                     Source.of(entry.meta))


def extract_previsions(entries: Iterable[data.Directive]) -> tuple[list[Prevision], list[Problem]]:
    """Every well-formed `prevision`, in date order, and a problem for each malformed one."""
    previsions: list[Prevision] = []
    problems: list[Problem] = []
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == PREVISION:
            parsed = parse_prevision(entry)
            if isinstance(parsed, Problem):
                problems.append(parsed)
            else:
                previsions.append(parsed)
    return previsions, problems
