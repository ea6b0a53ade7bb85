"""Fonds dédiés (ANC 2018-06): the unused part of an earmarked grant, carried over at year end.

A grant is earmarked when its notification transaction carries `fonds_dedies: TRUE` and an `action`
(SPEC section 4 grant metadata; docs/grants.md). For one financial year (`year_start`..`year_end`):

- `opening` is what the 19x accounts held for the convention before the year (postings of
  transactions with that `convention` metadata, dated before `year_start`);
- `granted` is the grant booked in the year (the 441 amount of its notification, when dated in the year);
- `charges` are the action's class-6 charges of the year (transactions with metadata `action` or tag);
- the charges use the oldest resources first: `released` = min(opening, charges), booked through 789;
- `dotation` = max(0, granted − (charges − released)), the unused part booked through 689 to 19x;
- `closing` = opening − released + dotation.

`fund_movements` is the one reading of the funds for the annexe (ANC 2018-06 table of fonds dédiés):
the 19x movements booked over the year, grouped by convention (by account when an entry names none),
each earmarked grant with its unused part from `fonds_dedies_rows`, the one rule; `closing_entries`
gives the proposed entries, as Beancount text flagged `!` for the bookkeeper, from the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.model.budgets import in_action
from comptasso.model.chart import has_prefix, is_grant_receivable
from comptasso.money import cents

ZERO = Decimal(0)
FUND_ACCOUNT = "Liabilities:194-Fonds-Dedies-Subventions"
DOTATION_ACCOUNT = "Expenses:6894-Reports-Fonds-Dedies"
RELEASE_ACCOUNT = "Income:7894-Utilisations-Fonds-Dedies"


@dataclass(frozen=True)
class EarmarkedGrant:
    """A grant its funder earmarked for an action."""

    convention: str
    funder: str
    action: str
    notified_on: dt.date
    amount: Decimal


@dataclass(frozen=True)
class FondsDediesRow:
    """One earmarked grant over one financial year (amounts to the cent, positive)."""

    convention: str
    funder: str
    action: str
    opening: Decimal
    granted: Decimal
    charges: Decimal
    released: Decimal
    dotation: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening - self.released + self.dotation


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "oui", "vrai"))


def earmarked_grants(entries: Iterable[data.Directive]) -> list[EarmarkedGrant]:
    """Every notified grant with `fonds_dedies: TRUE` and an `action`, in date order."""
    out = []
    for entry in entries:
        if not isinstance(entry, data.Transaction) or not _flag(entry.meta.get("fonds_dedies")):
            continue
        convention, action = entry.meta.get("convention"), entry.meta.get("action")
        amount = sum((p.units.number for p in entry.postings
                      if is_grant_receivable(p.account) and p.units is not None and p.units.number is not None), ZERO)
        if convention is not None and action is not None and amount > 0:
            out.append(EarmarkedGrant(str(convention), str(entry.meta.get("funder", "")), str(action), entry.date,
                                      amount))
    return sorted(out, key=lambda g: (g.notified_on, g.convention))


def _fund_postings(entries: Iterable[data.Directive],
                   end: dt.date) -> Iterable[tuple[dt.date, str | None, str, Decimal]]:
    """(date, convention, account, credit) of every 19x posting dated on or before `end` (credit positive)."""
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > end:
            continue
        convention = entry.meta.get("convention")
        for p in entry.postings:
            if p.units is not None and p.units.number is not None and has_prefix(p.account, "19"):
                yield entry.date, None if convention is None else str(convention), p.account, -p.units.number


def _fund_balance(entries: Sequence[data.Directive], convention: str, before: dt.date) -> Decimal:
    """What the 19x accounts hold for a convention (credit positive) after the entries dated before a day."""
    return sum((credit for day, ref, _, credit in _fund_postings(entries, before - dt.timedelta(days=1))
                if ref == convention), ZERO)


def action_charges(entries: Sequence[data.Directive], action: str, start: dt.date, end: dt.date) -> Decimal:
    """The class-6 charges of an action over start..end (debits positive), 6894 dotations left out."""
    total = ZERO
    for entry in entries:
        if isinstance(entry, data.Transaction) and start <= entry.date <= end and in_action(entry, action):
            total += sum((p.units.number for p in entry.postings if p.units is not None
                          and p.units.number is not None and p.account.startswith("Expenses:")
                          and has_prefix(p.account, "6") and not has_prefix(p.account, "689")), ZERO)
    return total


def fonds_dedies_rows(entries: Sequence[data.Directive], year_start: dt.date,
                      year_end: dt.date) -> list[FondsDediesRow]:
    """The fonds dédiés of every earmarked grant known by the year's end (the module's rule)."""
    known = [e for e in entries if e.date <= year_end]
    rows = []
    for grant in earmarked_grants(known):
        opening = cents(_fund_balance(known, grant.convention, year_start))
        granted = grant.amount if year_start <= grant.notified_on <= year_end else ZERO
        if opening == 0 and granted == 0:
            continue
        charges = cents(action_charges(known, grant.action, year_start, year_end))
        released = min(opening, charges)
        dotation = max(ZERO, granted - (charges - released))
        rows.append(FondsDediesRow(grant.convention, grant.funder, grant.action, opening, cents(granted), charges,
                                   cents(released), cents(dotation)))
    return rows


@dataclass(frozen=True)
class FundMovement:
    """One line of the annexe's fonds dédiés: a convention's 19x movements booked over a year.

    `convention` is None for entries that name none (then `account` groups them). `unused` is the
    part of an earmarked grant left unused over the year (`FondsDediesRow.dotation`), None for a fund
    no earmarked grant of the books explains; `released` the part its charges used
    (`FondsDediesRow.released`). A bookkept year shows increases = unused and decreases = released.
    """

    convention: str | None
    account: str
    opening: Decimal
    increases: Decimal
    decreases: Decimal
    action: str | None = None
    unused: Decimal | None = None
    released: Decimal | None = None

    @property
    def closing(self) -> Decimal:
        return self.opening + self.increases - self.decreases


def fund_movements(entries: Sequence[data.Directive], year_start: dt.date,
                   year_end: dt.date) -> list[FundMovement]:
    """The booked 19x movements of the year by convention, with the unused part of each earmarked grant."""
    opening: dict[tuple[str | None, str], Decimal] = {}
    plus: dict[tuple[str | None, str], Decimal] = {}
    minus: dict[tuple[str | None, str], Decimal] = {}
    for day, convention, account, credit in _fund_postings(entries, year_end):
        key = (convention, account)
        for table in (opening, plus, minus):
            table.setdefault(key, ZERO)
        if day < year_start:
            opening[key] += credit
        elif credit > 0:
            plus[key] += credit
        else:
            minus[key] -= credit
    rows = {r.convention: r for r in fonds_dedies_rows(entries, year_start, year_end)}
    out = []
    for convention, account in sorted(opening, key=lambda k: (k[0] or "", k[1])):
        key = (convention, account)
        row = rows.pop(convention, None) if convention is not None else None
        movement = FundMovement(convention, account, cents(opening[key]), cents(plus[key]), cents(minus[key]),
                                None if row is None else row.action, None if row is None else row.dotation,
                                None if row is None else row.released)
        if movement.opening or movement.increases or movement.decreases or row is not None:
            out.append(movement)
    out += [FundMovement(r.convention, FUND_ACCOUNT, r.opening, ZERO, ZERO, r.action, r.dotation, r.released)
            for r in rows.values()]
    return sorted(out, key=lambda m: (m.convention or "", m.account))


def fonds_dedies_table(entries: Sequence[data.Directive], year_start: dt.date,
                       year_end: dt.date) -> list[dict[str, object]]:
    """The annexe's fonds dédiés table: one row per earmarked grant (amounts as Decimal)."""
    return [{"convention": r.convention, "funder": r.funder, "action": r.action, "opening": r.opening,
             "granted": r.granted, "charges": r.charges, "released": r.released, "dotation": r.dotation,
             "closing": r.closing} for r in fonds_dedies_rows(entries, year_start, year_end)]


def _entry(day: dt.date, narration: str, convention: str, debit: str, credit: str, amount: Decimal) -> str:
    return (f'{day.isoformat()} ! "Fonds dédiés" "{narration}"\n'
            f'  convention: "{convention}"\n'
            f'  fonds_dedies_closing: "{day.year}"\n'
            f"  {debit}  {amount:.2f} EUR\n"
            f"  {credit}  {-amount:.2f} EUR\n")


def closing_entries(rows: Sequence[FondsDediesRow], year_end: dt.date, fund_account: str = FUND_ACCOUNT,
                    dotation_account: str = DOTATION_ACCOUNT, release_account: str = RELEASE_ACCOUNT) -> str:
    """The proposed year-end entries, flagged `!`: 689 → 19x for each dotation, 19x → 789 for each release."""
    out = []
    for r in rows:
        if r.released > 0:
            out.append(_entry(year_end, f"Utilisation des fonds dédiés {r.convention} ({r.action})", r.convention,
                              fund_account, release_account, r.released))
        if r.dotation > 0:
            out.append(_entry(year_end, f"Report en fonds dédiés {r.convention} ({r.action})", r.convention,
                              dotation_account, fund_account, r.dotation))
    return "\n".join(out)
