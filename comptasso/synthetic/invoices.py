"""Customer and supplier invoices: drawing them, numbering them and writing them with their payments."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from comptasso.synthetic.basics import (
    ZERO,
    chance,
    clip_day,
    draw_cents,
    jitter,
    month_label,
    months,
    next_working_day,
    share,
)
from comptasso.synthetic.context import Context, MemberSpec
from comptasso.synthetic.model import InvoiceSpec, Party, Posting, Transaction
from comptasso.synthetic.profiles import InvoiceSource, Profile

CUSTOMERS = "Assets:411-Clients"
SUPPLIERS = "Liabilities:401-Fournisseurs"
STAFF_BILLED = "Income:708-Mise-A-Disposition"
STAFF_BOUGHT = "Expenses:621-Personnel-Exterieur"
GE_ISSUE_DAY, GE_DUE_DAY = 1, 20


def payment_plan(
    rng: random.Random, issued: date, due: date, amount: Decimal,
    delay: tuple[int, int], split_pct: int, ctx: Context,
) -> tuple[tuple[date, Decimal], ...]:
    """When an invoice is paid (in one or two parts), keeping only what is paid by the end date."""
    paid_on = max(issued + timedelta(days=1), due + timedelta(days=rng.randint(*delay)))
    plan: tuple[tuple[date, Decimal], ...]
    if chance(rng, split_pct):
        first = share(amount, rng.randint(4, 6) * 10)
        second_on = paid_on + timedelta(days=rng.randint(15, 40))
        plan = ((paid_on, first), (second_on, amount - first))
    else:
        plan = ((paid_on, amount),)
    return tuple(p for p in plan if p[0] <= ctx.end)


def draw_invoices(source: InvoiceSource, ctx: Context, rng: random.Random) -> list[InvoiceSpec]:
    """The invoices of one source over the period."""
    out = []
    for year, month in months(ctx.start, ctx.end):
        if month not in source.months or not chance(rng, source.chance_pct):
            continue
        issued = clip_day(year, month, rng.randint(2, 26))
        party = source.parties[rng.randrange(len(source.parties))]
        amount = draw_cents(rng, source.low, source.high)
        due = issued + timedelta(days=source.terms_days)
        payments = payment_plan(rng, issued, due, amount, source.pay_delay, source.split_pct, ctx)
        if ctx.contains(issued):
            out.append(InvoiceSpec(issued, due, amount, source.account, party, source.label, payments))
    return out


def own_invoices(profile: Profile, ctx: Context, rng: random.Random) -> list[InvoiceSpec]:
    """Every invoice a member issues or receives, apart from the employer group's."""
    out: list[InvoiceSpec] = []
    for source in profile.invoices:
        out += draw_invoices(source, ctx, rng)
    return out


def ge_billing(
    ge: MemberSpec, clients: Sequence[MemberSpec], ctx: Context,
) -> tuple[list[InvoiceSpec], dict[str, list[InvoiceSpec]]]:
    """The employer group's monthly invoices for staff made available: its own side and each member's."""
    rng = random.Random(f"{ctx.seed}:{ge.id}:mise-a-disposition")
    billed: list[tuple[Party, int, tuple[int, int], MemberSpec | None]] = [
        (Party(c.component, c.name), c.profile.ge_share, c.profile.ge_pay_delay, c) for c in clients
    ]
    billed += [(party, monthly, (-5, 15), None) for party, monthly in ge.profile.externals]
    issued_side: list[InvoiceSpec] = []
    received: dict[str, list[InvoiceSpec]] = defaultdict(list)
    ge_party = Party(ge.component, ge.name)
    for year, month in months(ctx.start, ctx.end):
        issued, due = date(year, month, GE_ISSUE_DAY), date(year, month, GE_DUE_DAY)
        if not ctx.contains(issued):
            continue
        label = f"Mise à disposition de personnel — {month_label(year, month)}"
        for party, monthly, delay, client in billed:
            amount = jitter(rng, Decimal(monthly), 6)
            paid_on = next_working_day(due + timedelta(days=rng.randint(*delay)))
            payments = tuple(p for p in ((paid_on, amount),) if p[0] <= ctx.end)
            issued_side.append(InvoiceSpec(issued, due, amount, STAFF_BILLED, party, label, payments))
            if client is not None:
                mirror = InvoiceSpec(issued, due, amount, STAFF_BOUGHT, ge_party, label, payments)
                received[client.id].append(mirror)
    return issued_side, dict(received)


def number_invoices(specs: Sequence[InvoiceSpec]) -> list[tuple[str, InvoiceSpec]]:
    """Number invoices in date order: `F2026-031` when issued, `A2026-0045` when received."""
    counters: dict[tuple[int, bool], int] = defaultdict(int)
    ordered = sorted(specs, key=lambda s: (s.issued, not s.is_customer, s.party.aux, s.amount, s.label))
    out = []
    for spec in ordered:
        key = (spec.issued.year, spec.is_customer)
        counters[key] += 1
        number = counters[key]
        ref = f"F{spec.issued.year}-{number:03d}" if spec.is_customer else f"A{spec.issued.year}-{number:04d}"
        out.append((ref, spec))
    return out


def third_party_account(spec: InvoiceSpec) -> str:
    """The 411 or 401 auxiliary account of an invoice."""
    root = CUSTOMERS if spec.is_customer else SUPPLIERS
    return f"{root}:{spec.party.aux}"


def invoice_transactions(ref: str, spec: InvoiceSpec, bank: str) -> list[Transaction]:
    """The invoice itself and its payments, all carrying its link."""
    third = third_party_account(spec)
    sign = 1 if spec.is_customer else -1
    legs = (Posting(third, sign * spec.amount), Posting(spec.account, -sign * spec.amount))
    invoice = Transaction(
        spec.issued, spec.party.name, f"Facture {ref} — {spec.label}",
        legs if spec.is_customer else legs[::-1],
        meta=(("echeance", spec.due.isoformat()),), links=(ref,),
    )
    out = [invoice]
    paid = ZERO
    for day, amount in spec.payments:
        paid += amount
        if len(spec.payments) == 1 and paid == spec.amount:
            what = f"Règlement de la facture {ref}"
        elif paid == spec.amount:
            what = f"Solde de la facture {ref}"
        else:
            what = f"Règlement partiel de la facture {ref}"
        out.append(Transaction(
            day, spec.party.name, what,
            (Posting(bank, sign * amount), Posting(third, -sign * amount)), links=(ref,),
        ))
    return out


def all_invoice_transactions(specs: Sequence[InvoiceSpec], bank: str) -> list[Transaction]:
    """Every invoice and payment of a member, numbered."""
    out: list[Transaction] = []
    for ref, spec in number_invoices(specs):
        out += invoice_transactions(ref, spec, bank)
    return out
