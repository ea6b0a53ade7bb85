"""The tranche form: check a grant's new tranches and write them as `subvention-echeance` directives."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from comptasso import money
from comptasso.model.grants import TRANCHE, GrantBook
from comptasso.money import fr_date, fr_money

ROWS = 3
CENT = Decimal("0.01")


@dataclass(frozen=True)
class NewTranche:
    """One tranche to add: when it is due and how much."""

    due: dt.date
    amount: Decimal


@dataclass(frozen=True)
class FormResult:
    """The checked form: the tranches to write, or a message per field (field name → French message)."""

    convention: str
    tranches: tuple[NewTranche, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.tranches)


def parse_amount(text: str) -> Decimal | None:
    """`1 234,50` or `1234.5` → Decimal('1234.50') (comptasso.money's parser); None if not in cents."""
    try:
        value = money.parse_amount(text)
    except ValueError:
        return None
    return value.quantize(CENT) if value == value.quantize(CENT) else None


def check_form(form: Mapping[str, str], book: GrantBook) -> FormResult:
    """Check the convention, each row's date and amount, and that the total stays within the grant."""
    convention = form.get("convention", "").strip()
    errors: dict[str, str] = {}
    grant = book.grants.get(convention)
    if grant is None:
        known = ", ".join(sorted(book.grants)) or "aucune"
        errors["convention"] = f"convention inconnue « {convention} » dans ce livre (conventions : {known})"
        return FormResult(convention, (), errors)
    existing = {t.due for t in book.tranches if t.convention == convention}
    scheduled = sum((t.amount for t in book.tranches if t.convention == convention), Decimal("0"))
    rows: list[tuple[int, NewTranche]] = []
    for index in range(ROWS):
        due_text = form.get(f"due-{index}", "").strip()
        amount_text = form.get(f"amount-{index}", "").strip()
        if not due_text and not amount_text:
            continue
        tranche, row_errors = _check_row(index, due_text, amount_text, grant.notified_on,
                                         existing | {r.due for _, r in rows})
        errors.update(row_errors)
        if tranche is not None:
            rows.append((index, tranche))
    if not rows and not errors:
        errors["due-0"] = "indiquez au moins une échéance (date et montant)"
    _check_total(rows, scheduled, grant.amount, errors)
    if errors:
        return FormResult(convention, (), errors)
    return FormResult(convention, tuple(t for _, t in rows), {})


def _check_row(index: int, due_text: str, amount_text: str, notified_on: dt.date,
               taken: set[dt.date]) -> tuple[NewTranche | None, dict[str, str]]:
    """One row of the form: its tranche when its date and amount are valid, else None; the errors of its fields.

    `taken` holds the due dates the convention already has, in the book or on the rows above.
    """
    errors: dict[str, str] = {}
    due = _date(due_text)
    amount = parse_amount(amount_text)
    if due is None:
        errors[f"due-{index}"] = f"date invalide « {due_text} » (attendu JJ/MM/AAAA)"
    elif due < notified_on:
        errors[f"due-{index}"] = (f"l'échéance du {fr_date(due)} précède la notification de la convention "
                                  f"(le {fr_date(notified_on)})")
    elif due in taken:
        errors[f"due-{index}"] = f"une échéance existe déjà le {fr_date(due)} pour cette convention"
    if amount is None:
        errors[f"amount-{index}"] = f"montant invalide « {amount_text} » (par exemple 12 000,00)"
    elif amount <= 0:
        errors[f"amount-{index}"] = "le montant doit être positif"
    if due is None or amount is None or errors:
        return None, errors
    return NewTranche(due, amount), errors


def _check_total(rows: Sequence[tuple[int, NewTranche]], scheduled: Decimal, granted: Decimal,
                 errors: dict[str, str]) -> None:
    """The error of the first row that takes the scheduled total beyond the grant, if any."""
    total = scheduled
    for index, tranche in rows:
        total += tranche.amount
        if total > granted:
            left = max(granted - scheduled, Decimal(0))
            errors[f"amount-{index}"] = (
                f"dépasse la subvention notifiée : {fr_money(granted)} notifiés, "
                f"{fr_money(scheduled)} déjà échelonnés, il reste {fr_money(left)}")
            break


def _date(text: str) -> dt.date | None:
    """An ISO date (what a browser's date field sends) or a French JJ/MM/AAAA date."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern).replace(tzinfo=dt.UTC).date()
        except ValueError:
            continue
    return None


def directive_lines(day: dt.date, convention: str, tranches: Sequence[NewTranche], currency: str) -> list[str]:
    """The `subvention-echeance` directives, dated `day`, in due-date order."""
    if '"' in convention or "\\" in convention or "\n" in convention:
        raise ValueError(f"référence de convention impossible à écrire : {convention!r}")
    return [f'{day.isoformat()} custom "{TRANCHE}" "{convention}" {t.due.isoformat()} {t.amount:.2f} {currency}'
            for t in sorted(tranches, key=lambda t: t.due)]


def insert_after_grant(source: str, grant_line: int, tranche_lines: Sequence[int], new: Sequence[str]) -> str:
    """The file text with `new` lines placed after the grant's transaction and its existing tranches.

    `grant_line` is the 1-based line of the grant's transaction; `tranche_lines` the 1-based lines
    of the convention's tranches already in this file.
    """
    lines = source.split("\n")
    end = grant_line  # 0-based index of the line after the transaction's header
    while end < len(lines) and lines[end][:1] in (" ", "\t") and lines[end].strip():
        end += 1
    after = [n for n in tranche_lines if n > grant_line]
    at, block = (max(after), list(new)) if after else (end, ["", *new])
    return "\n".join(lines[:at] + block + lines[at:])
