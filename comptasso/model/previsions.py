"""Planned flows (`custom "prevision"`): expected cash movements not yet in the books."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import account as bc_account
from beancount.core import data
from beancount.core.amount import Amount

from comptasso.model.grants import Source
from comptasso.money import fr_date
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
    return isinstance(value, str) and dtype == bc_account.TYPE


def parse_prevision(entry: data.Custom) -> Prevision | Problem:  # noqa: PLR0911 -- one return per malformed case
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
        return at(entry.meta, f"prévision « {label} » : la date de fin {fr_date(end)} précède la prévision")
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


def _month_end(year: int, month: int) -> int:
    """The last day of a month."""
    return calendar.monthrange(year, month)[1]


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + count
    return index // 12, index % 12 + 1


def _monthly_dates(first: dt.date, day: int, step: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """Every `step` months from `first`'s month, on `day` clipped to the month's end, within start..end."""
    out: list[dt.date] = []
    skip = max(0, ((start.year - first.year) * 12 + start.month - first.month) // step - 1)
    year, month = _add_months(first.year, first.month, skip * step)
    while True:
        candidate = dt.date(year, month, min(day, _month_end(year, month)))
        if candidate > end:
            return out
        if candidate >= start:
            out.append(candidate)
        year, month = _add_months(year, month, step)


def _weekly_dates(weekday: int, start: dt.date, end: dt.date) -> list[dt.date]:
    """Every ISO weekday (1 = Monday … 7 = Sunday) within start..end."""
    first = start + dt.timedelta(days=(weekday - start.isoweekday()) % 7)
    count = max(0, (end - first).days // 7 + 1)
    return [first + dt.timedelta(weeks=k) for k in range(count)]


STEP_MONTHS = {"mensuel": 1, "trimestriel": 3, "annuel": 12}


def occurrences(prevision: Prevision, start: dt.date, end: dt.date) -> list[dt.date]:
    """The dates of a prevision within start..end (inclusive), on or after its own date, up to its end date.

    `hebdomadaire` falls on an ISO weekday (1 = Monday); `mensuel` on a day of the month clipped to the
    month's end (31 → 28 or 29 in February); `trimestriel` and `annuel` on that day every 3 or 12 months
    counted from the directive's month; `unique` on its date.
    """
    lower = max(start, prevision.declared_on)
    upper = end if prevision.end is None else min(end, prevision.end)
    if lower > upper:
        return []
    if prevision.frequency == "unique":
        assert prevision.on is not None
        return [prevision.on] if lower <= prevision.on <= upper else []
    assert prevision.day is not None
    if prevision.frequency == "hebdomadaire":
        return _weekly_dates(prevision.day, lower, upper)
    return _monthly_dates(prevision.declared_on, prevision.day, STEP_MONTHS[prevision.frequency], lower, upper)


@dataclass(frozen=True)
class Occurrence:
    """One expected cash movement of a prevision."""

    date: dt.date
    amount: Decimal
    prevision: Prevision


def replaced_from(previsions: Sequence[Prevision]) -> dict[Prevision, dt.date]:
    """For each prevision replaced by a later one with the same label, the date the later one starts.

    Previsions of one label are ordered by date, then by file and line; each one stops where the
    next one of its label begins.
    """
    by_label: dict[str, list[Prevision]] = defaultdict(list)
    for prevision in previsions:
        by_label[prevision.label].append(prevision)
    out: dict[Prevision, dt.date] = {}
    for items in by_label.values():
        ordered = sorted(items, key=lambda p: (p.declared_on, p.source.file, p.source.line))
        for earlier, later in itertools.pairwise(ordered):
            out[earlier] = later.declared_on
    return out


def expected_occurrences(previsions: Sequence[Prevision], start: dt.date, end: dt.date) -> list[Occurrence]:
    """Every occurrence within start..end, after replacement by label, in date order."""
    stops = replaced_from(previsions)
    out: list[Occurrence] = []
    for prevision in previsions:
        stop = stops.get(prevision)
        out += [Occurrence(day, prevision.amount, prevision)
                for day in occurrences(prevision, start, end) if stop is None or day < stop]
    out.sort(key=lambda o: (o.date, o.prevision.label))
    return out
