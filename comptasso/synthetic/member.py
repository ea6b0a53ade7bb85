"""One member ledger: all its operations, the opening balance that tells its story, and its text."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from comptasso.synthetic.actions import action_budget_lines, tag_action_charges
from comptasso.synthetic.basics import ZERO, french_date, money, months
from comptasso.synthetic.budgets import budget_lines
from comptasso.synthetic.context import Context, MemberSpec
from comptasso.synthetic.grants import grants
from comptasso.synthetic.invoices import all_invoice_transactions, own_invoices
from comptasso.synthetic.model import RANK_BALANCE, Book, Directive, InvoiceSpec, Posting, Transaction
from comptasso.synthetic.operations import CASH, URSSAF, cash_box, investment, payroll, regular_flows
from comptasso.synthetic.previsions import previsions
from comptasso.synthetic.render import body_text, header_text, opens_text

EQUITY = "Equity:102-Fonds-Associatifs"
PAYROLL_PREFIX = "Expenses:64-"
MIN_HISTORY_BALANCE = Decimal(1000)


def build_book(
    member: MemberSpec, ctx: Context, ge_invoices: Sequence[InvoiceSpec], ge_billed: int, used_refs: set[str],
) -> Book:
    """Every operation of a member, opening balances and monthly bank balance assertions included."""
    rng = random.Random(f"{ctx.seed}:{member.id}")
    profile, bank = member.profile, member.bank
    book = Book(bank)
    salaries, urssaf_owed = payroll(profile, ctx, bank)
    book.extend(salaries)
    book.extend(regular_flows(profile, ctx, rng, bank))
    book.extend(cash_box(profile, ctx, rng, bank))
    book.extend(investment(profile, ctx, bank))
    book.extend(all_invoice_transactions([*own_invoices(profile, ctx, rng), *ge_invoices], bank))
    book.extend(grants(profile, ctx, rng, bank, used_refs))
    book.extend(previsions(profile, ctx, ge_billed, has_ge=bool(ge_invoices) or profile.is_employer_group))
    opening_bank = calibrated_opening(book, ctx, target_balance(book, ctx, profile.target_months))
    book.add_first(opening(ctx, bank, opening_bank, Decimal(profile.cash_float), urssaf_owed))
    book.extend(balance_assertions(book, ctx))
    book.extend(budget_lines(book, ctx))
    tag_action_charges(book)
    book.extend(action_budget_lines(book, ctx))
    return book


def average_payroll(book: Book, ctx: Context) -> Decimal:
    """Average monthly 64x cost over the 365 days ending on the end date."""
    since = ctx.end - timedelta(days=364)
    total = sum(
        (p.amount for t in book.transactions() if since <= t.date <= ctx.end
         for p in t.postings if p.account.startswith(PAYROLL_PREFIX)),
        ZERO,
    )
    return money(total / 12)


def target_balance(book: Book, ctx: Context, months_of_payroll: Decimal) -> Decimal:
    """The bank balance the member should hold at the end: so many months of payroll, to 100 EUR."""
    return money((average_payroll(book, ctx) * months_of_payroll / 100).quantize(Decimal(1), ROUND_HALF_UP) * 100)


def bank_deltas(book: Book) -> dict[date, Decimal]:
    """Net bank movement of each day."""
    out: dict[date, Decimal] = {}
    for txn in book.transactions():
        delta = txn.delta(book.bank)
        if delta:
            out[txn.date] = out.get(txn.date, ZERO) + delta
    return out


def calibrated_opening(book: Book, ctx: Context, target: Decimal) -> Decimal:
    """Opening bank balance reaching `target` at the end, raised if history would dip under 1,000 EUR."""
    deltas = bank_deltas(book)
    opening_balance = target - sum(deltas.values(), ZERO)
    running, lowest = opening_balance, opening_balance
    for day in sorted(deltas):
        running += deltas[day]
        lowest = min(lowest, running)
    if lowest < MIN_HISTORY_BALANCE:
        opening_balance += MIN_HISTORY_BALANCE - lowest
    return opening_balance


def opening(ctx: Context, bank: str, bank_amount: Decimal, cash: Decimal, urssaf: Decimal) -> Transaction:
    """The opening balances: bank, cash box and URSSAF still owed, against the association's funds."""
    funds = bank_amount + cash - urssaf
    postings = [Posting(bank, bank_amount), Posting(CASH, money(cash))]
    if urssaf:
        postings.append(Posting(URSSAF, -urssaf))
    postings.append(Posting(EQUITY, -funds))
    return Transaction(ctx.start, "Reprise des soldes", f"Soldes d'ouverture au {french_date(ctx.start)}",
                       tuple(postings))


def balance_assertions(book: Book, ctx: Context) -> list[Directive]:
    """The bank balance at the start of the 1st of every month after the opening."""
    deltas = sorted(bank_deltas(book).items())
    out: list[Directive] = []
    index, running = 0, ZERO
    for year, month in months(ctx.start, ctx.end):
        first = date(year, month, 1)
        if first <= ctx.start:
            continue
        while index < len(deltas) and deltas[index][0] < first:
            running += deltas[index][1]
            index += 1
        out.append(Directive(first, f"balance {book.bank} {running:.2f} EUR", RANK_BALANCE))
    return out


#: Opened in every ledger although no generated entry uses it: the suspense account where
#: `comptasso import` puts the bank operations that no categorisation rule recognises.
SUSPENSE = "Assets:471-Operations-En-Attente"


def accounts_of(book: Book) -> list[str]:
    """Every account a member's entries use (postings and previsions), and the suspense account."""
    accounts = {p.account for t in book.transactions() for p in t.postings} | {SUSPENSE}
    for _, entry in book.entries:
        if isinstance(entry, Directive) and entry.body.startswith('custom "prevision" '):
            accounts.add(entry.body.split(" ")[2])
    return sorted(accounts)


def main_text(member: MemberSpec, book: Book, ctx: Context) -> str:
    """The whole `main.beancount` of a member."""
    note = (f"Livre généré par comptasso.synthetic (graine {ctx.seed}, "
            f"du {ctx.start.isoformat()} au {ctx.end.isoformat()}).")
    return header_text(member.name, ctx.start, note) + opens_text(accounts_of(book), ctx.start) + body_text(
        book.sorted_entries())
