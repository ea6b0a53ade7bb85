"""Grants: notified conventions with their tranches, and receipts arriving late as each funder pays."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from comptasso.synthetic.basics import chance, clip_day, draw_round, fmt, ordinal, share, split_by_weights
from comptasso.synthetic.context import Context
from comptasso.synthetic.funders import Funder, funder
from comptasso.synthetic.model import RANK_PREVISION, Directive, Entry, Posting, Transaction
from comptasso.synthetic.profiles import GrantTemplate, Profile

RECEIVABLE = "Assets:441-Subventions-A-Recevoir"
GRANT_INCOME = "Income:741-Subventions-Exploitation"
SPLIT_RECEIPT_PCT = 15
#: Earmarked project grants of the demo (fonds dédiés, docs/grants.md): the funder and the action of each label.
EARMARKED = {"FDVA — formation des bénévoles": "formation-benevoles",
             "FDVA — fonctionnement et innovation": "fonctionnement-innovation"}
#: The one compte rendu financier the demo leaves unsent, so that a report is late.
LATE_REPORT_LABEL = "FDVA — fonctionnement et innovation"
#: The day of the year after a grant its compte rendu financier is sent.
REPORT_SENT = (5, 15)


@dataclass(frozen=True)
class Grant:
    """A notified grant of one year: reference, funder, date, amount and tranches."""

    ref: str
    funder: Funder
    label: str
    notified: date
    amount: Decimal
    tranches: tuple[tuple[date, Decimal], ...]


def runs_in(template: GrantTemplate, year: int, ctx: Context) -> bool:
    """Whether a template gives a grant in a year."""
    if template.cycle == "even":
        return year % 2 == 0
    if template.cycle == "once":
        return year == ctx.start.year
    if template.cycle == "final":
        return year == ctx.end.year
    return True


def unique_ref(template: GrantTemplate, year: int, rng: random.Random, used: set[str]) -> str:
    """A reference such as `REG-2026-0142`, unique in the group."""
    number = rng.randint(1, 99 if "n:02d" in template.ref else 180)
    while (ref := template.ref.format(y=year, n=number)) in used:
        number += 1
    used.add(ref)
    return ref


def draw_grant(template: GrantTemplate, year: int, rng: random.Random, used: set[str]) -> Grant:
    """The grant of a template for one year, its amount varied by up to 8 %."""
    amount = draw_round(rng, template.amount * 92 // 100, template.amount * 108 // 100, 100)
    notified = clip_day(year, *template.notified)
    dates = [clip_day(year + offset, month, day) for offset, month, day, _ in template.tranches]
    amounts = split_by_weights(amount, [weight for *_, weight in template.tranches])
    source = funder(template.funder)
    return Grant(unique_ref(template, year, rng, used), source, template.label, notified, amount,
                 tuple(zip(dates, amounts, strict=True)))


def notification(grant: Grant) -> Transaction:
    """The notified grant and its tranches (`subvention-echeance`), dated the notification day."""
    account = grant.funder.component
    followers = tuple(
        f'custom "subvention-echeance" "{grant.ref}" {day.isoformat()} {fmt(amount)} EUR'
        for day, amount in grant.tranches
    )
    return Transaction(
        grant.notified, grant.funder.payee, f"Convention {grant.ref} — {grant.label} {grant.notified.year}",
        (Posting(f"{RECEIVABLE}:{account}", grant.amount), Posting(f"{GRANT_INCOME}:{account}", -grant.amount)),
        meta=(("convention", f'"{grant.ref}"'), ("funder", f'"{grant.funder.id}"'), *earmark(grant)),
        followers=followers,
    )


def earmark(grant: Grant) -> tuple[tuple[str, str], ...]:
    """The `action` and `fonds_dedies` metadata of an earmarked project grant (none for the others)."""
    action = EARMARKED.get(grant.label)
    return () if action is None else (("action", f'"{action}"'), ("fonds_dedies", "TRUE"))


def report_sent(grant: Grant, ctx: Context) -> list[Directive]:
    """`custom "compte-rendu"` the year after the grant, once that day is in the books (one report stays late)."""
    day = date(grant.notified.year + 1, *REPORT_SENT)
    late = grant.label == LATE_REPORT_LABEL and grant.notified.year == ctx.end.year - 1
    if late or day > ctx.end:
        return []
    return [Directive(day, f'custom "compte-rendu" "{grant.ref}"', RANK_PREVISION)]


def tranche_name(index: int, count: int) -> str:
    """`de la subvention`, `de la 2e tranche`, `du solde`."""
    if count == 1:
        return "de la subvention"
    return "du solde" if index == count else f"de la {ordinal(index)} tranche"


def receipts(grant: Grant, bank: str, rng: random.Random, ctx: Context) -> list[Transaction]:
    """Receipts of each tranche after the funder's drawn delay (sometimes in two parts), FIFO-safe."""
    out: list[Transaction] = []
    floor = grant.notified
    count = len(grant.tranches)
    for index, (due, amount) in enumerate(grant.tranches, start=1):
        completed = max(due + timedelta(days=rng.randint(*grant.funder.delay_range)), floor + timedelta(days=2))
        what = tranche_name(index, count)
        parts = [(completed, amount, f"Versement {what}")]
        if chance(rng, SPLIT_RECEIPT_PCT):
            first = share(amount, rng.randint(4, 6) * 10)
            early = max(completed - timedelta(days=rng.randint(10, 40)), floor + timedelta(days=1))
            parts = [(early, first, f"Acompte sur le versement {what}"),
                     (completed, amount - first, f"Complément du versement {what}")]
        for day, part, narration in parts:
            if day <= ctx.end:
                out.append(_receipt(grant, bank, day, part, narration))
        floor = completed
    return out


def _receipt(grant: Grant, bank: str, day: date, amount: Decimal, narration: str) -> Transaction:
    """One receipt: the bank debited, the grant receivable credited."""
    return Transaction(
        day, grant.funder.payee, f"{narration} — convention {grant.ref}",
        (Posting(bank, amount), Posting(f"{RECEIVABLE}:{grant.funder.component}", -amount)),
        meta=(("convention", f'"{grant.ref}"'),),
    )


def grants(profile: Profile, ctx: Context, rng: random.Random, bank: str, used: set[str]) -> list[Entry]:
    """Every notified grant of a member over the period, with its receipts and its compte rendu once sent."""
    out: list[Entry] = []
    for year in ctx.years():
        for template in profile.grants:
            if not runs_in(template, year, ctx):
                continue
            grant = draw_grant(template, year, rng, used)
            if not ctx.contains(grant.notified):
                continue
            out.append(notification(grant))
            out += receipts(grant, bank, rng, ctx)
            out += report_sent(grant, ctx)
    return out
