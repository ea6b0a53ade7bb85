"""Regular operations of a member: payroll, direct debits and receipts, and the cash box."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from comptasso.synthetic.basics import (
    ZERO,
    add_months,
    chance,
    clip_day,
    draw_cents,
    french_date,
    jitter,
    last_day,
    money,
    month_label,
    months,
    next_working_day,
    of_month,
    previous_working_day,
)
from comptasso.synthetic.context import Context
from comptasso.synthetic.model import Posting, Transaction
from comptasso.synthetic.profiles import Employee, Flow, Profile

SALARIES = "Expenses:64-Personnel:641-Salaires"
CHARGES = "Expenses:64-Personnel:645-Charges-Sociales"
URSSAF = "Liabilities:431-URSSAF"
CASH = "Assets:530-Caisse"
CHARGES_RATE = Decimal("0.42")
RAISE = Decimal("1.02")
DEPOSIT_THRESHOLD = Decimal(150)


def employee_net(employee: Employee, year: int) -> Decimal:
    """Monthly net pay of an employee in a year (2 % raise every January from 2024)."""
    return money(Decimal(employee.net_2024) * RAISE ** (year - 2024))


def staff_on(profile: Profile, ctx: Context, first: date) -> list[Employee]:
    """The employees on the payroll in the month starting on `first`."""
    return [
        e for e in profile.staff
        if e.hired_months_before_end is None or ctx.hire_date(e.hired_months_before_end) <= first
    ]


def monthly_net(profile: Profile, ctx: Context, year: int, month: int) -> tuple[Decimal, int]:
    """Net salaries of a month and the headcount."""
    staff = staff_on(profile, ctx, date(year, month, 1))
    return sum((employee_net(e, year) for e in staff), ZERO), len(staff)


def charges_of(net: Decimal) -> Decimal:
    """Social charges owed to the URSSAF for a month's net salaries."""
    return money(net * CHARGES_RATE)


def _txn(day: date, payee: str, narration: str, debit: str, credit: str, amount: Decimal) -> Transaction:
    """A two-leg transaction: `amount` debited on one account, credited on the other."""
    return Transaction(day, payee, narration, (Posting(debit, amount), Posting(credit, -amount)))


def owed_before(profile: Profile, ctx: Context) -> Decimal:
    """URSSAF charges of the month before the start, still owed on the start date."""
    year, month = add_months(ctx.start.year, ctx.start.month, -1)
    if next_working_day(date(ctx.start.year, ctx.start.month, 15)) < ctx.start:
        return ZERO
    return charges_of(monthly_net(profile, ctx, year, month)[0])


def month_payroll(profile: Profile, ctx: Context, bank: str, year: int, month: int, owed: Decimal,
                  ) -> tuple[list[Transaction], Decimal]:
    """One month: last month's URSSAF on the 15th, salaries on the 28th, charges at month end."""
    out = []
    paid_on = next_working_day(date(year, month, 15))
    if owed and ctx.contains(paid_on):
        label = f"Prélèvement URSSAF — cotisations {of_month(*add_months(year, month, -1))}"
        out.append(_txn(paid_on, "URSSAF", label, URSSAF, bank, owed))
    net, headcount = monthly_net(profile, ctx, year, month)
    salary_day = previous_working_day(date(year, month, 28))
    if ctx.contains(salary_day):
        label = f"Salaires nets {of_month(year, month)} ({headcount} salarié{'s' if headcount > 1 else ''})"
        out.append(_txn(salary_day, "Salariés", label, SALARIES, bank, net))
    charges = charges_of(net)
    if ctx.contains(last_day(year, month)):
        label = f"Charges sociales {of_month(year, month)}"
        out.append(_txn(last_day(year, month), "URSSAF", label, CHARGES, URSSAF, charges))
    return out, charges


def payroll(profile: Profile, ctx: Context, bank: str) -> tuple[list[Transaction], Decimal]:
    """Every month's payroll entries, and the URSSAF charges owed at the start."""
    out: list[Transaction] = []
    owed = owed_at_start = owed_before(profile, ctx)
    for year, month in months(ctx.start, ctx.end):
        entries, owed = month_payroll(profile, ctx, bank, year, month, owed)
        out += entries
    return out, owed_at_start


def flow_transaction(flow: Flow, day: date, amount: Decimal, treasury: str, narration: str) -> Transaction:
    """A flow's movement between its account and a treasury account."""
    if flow.account.startswith("Income:"):
        return _txn(day, flow.payee, narration, treasury, flow.account, amount)
    return _txn(day, flow.payee, narration, flow.account, treasury, amount)


def monthly_flow(flow: Flow, ctx: Context, rng: random.Random, bank: str) -> list[Transaction]:
    """A flow paid or received once a month (on `day`, clipped to the month's end)."""
    out = []
    for year, month in months(ctx.start, ctx.end):
        base = flow.amount_for(month)
        day = clip_day(year, month, flow.day)
        if base > 0 and ctx.contains(day):
            amount = jitter(rng, Decimal(base), flow.jitter_pct)
            out.append(flow_transaction(flow, day, amount, bank, f"{flow.label} — {month_label(year, month)}"))
    return out


def weekly_flow(flow: Flow, ctx: Context, rng: random.Random, bank: str) -> list[Transaction]:
    """A flow received every week on ISO weekday `day`."""
    day = ctx.start + timedelta(days=(flow.day - ctx.start.isoweekday()) % 7)
    out = []
    while day <= ctx.end:
        amount = jitter(rng, Decimal(flow.base), flow.jitter_pct)
        out.append(flow_transaction(flow, day, amount, bank, f"{flow.label} du {french_date(day)}"))
        day += timedelta(days=7)
    return out


def cash_box(profile: Profile, ctx: Context, rng: random.Random, bank: str) -> list[Transaction]:
    """Cash takings, deposits at the bank, withdrawals and petty purchases; the box never goes negative."""
    cash_flows = [f for f in profile.flows if f.cash]
    box = CashBox(Decimal(profile.cash_float), Decimal(profile.cash_float), bank)
    out: list[Transaction] = []
    for year, month in months(ctx.start, ctx.end):
        events = _cash_takings(cash_flows, ctx, rng, year, month)
        events += _petty_purchases(ctx, rng, year, month)
        for event in sorted(events, key=lambda t: t.date):
            out += box.apply(event, ctx)
    return out


def _cash_takings(flows: list[Flow], ctx: Context, rng: random.Random, year: int, month: int) -> list[Transaction]:
    """A month's cash takings of each cash flow, in two or three days."""
    out = []
    for flow in flows:
        total = flow.amount_for(month)
        if total <= 0:
            continue
        count = rng.randint(2, 3)
        for index in range(count):
            day = clip_day(year, month, rng.randint(1 + index * 10, 8 + index * 10))
            amount = jitter(rng, money(Decimal(total) / count), flow.jitter_pct)
            if ctx.contains(day):
                out.append(flow_transaction(flow, day, amount, CASH, f"{flow.label} — {french_date(day)}"))
    return out


def _petty_purchases(ctx: Context, rng: random.Random, year: int, month: int) -> list[Transaction]:
    """Now and then, small supplies paid from the cash box."""
    if not chance(rng, 60):
        return []
    day = clip_day(year, month, rng.randint(3, 27))
    amount = draw_cents(rng, 12, 75)
    if not ctx.contains(day):
        return []
    return [_txn(day, "Caisse", "Petites fournitures payées en espèces",
                 "Expenses:606-Achats-Non-Stockes", CASH, amount)]


@dataclass
class CashBox:
    """The cash box: what it holds, the float it keeps, and the bank it deposits to."""

    balance: Decimal
    float_: Decimal
    bank: str

    def apply(self, event: Transaction, ctx: Context) -> list[Transaction]:
        """Book one cash event; top the box up before a purchase it cannot pay, deposit what exceeds the float."""
        delta = event.delta(CASH)
        produced: list[Transaction] = []
        if delta < 0 and self.balance + delta < 0:
            top_up = Decimal(200)
            produced.append(_txn(event.date, "Caisse", "Retrait d'espèces pour alimenter la caisse",
                                 CASH, self.bank, top_up))
            self.balance += top_up
        produced.append(event)
        self.balance += delta
        surplus = money(((self.balance - self.float_) // 10) * 10)
        deposit_day = next_working_day(event.date + timedelta(days=1))
        if delta > 0 and surplus >= DEPOSIT_THRESHOLD and ctx.contains(deposit_day):
            produced.append(_txn(deposit_day, "Caisse", "Remise d'espèces en banque", self.bank, CASH, surplus))
            self.balance -= surplus
        return produced


def regular_flows(profile: Profile, ctx: Context, rng: random.Random, bank: str) -> list[Transaction]:
    """Every direct (non-cash) flow of the profile."""
    out: list[Transaction] = []
    for flow in profile.flows:
        if flow.cash:
            continue
        out += weekly_flow(flow, ctx, rng, bank) if flow.weekly else monthly_flow(flow, ctx, rng, bank)
    return out


def investment(profile: Profile, ctx: Context, bank: str) -> list[Transaction]:
    """The equipment bought outright in the last year, if the profile has one."""
    item = profile.investment
    if item is None:
        return []
    day = clip_day(ctx.end.year, item.month, item.day)
    if not ctx.contains(day):
        return []
    return [_txn(day, item.payee, item.label, item.account, bank, money(item.amount))]
