"""Planned flows (`custom "prevision"`): the yearly budget of each member, and its updates."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from comptasso.synthetic.basics import MONTHS_FR, add_months, fmt, last_day, money
from comptasso.synthetic.context import Context
from comptasso.synthetic.invoices import GE_DUE_DAY, STAFF_BILLED, STAFF_BOUGHT
from comptasso.synthetic.model import RANK_PREVISION, Directive
from comptasso.synthetic.operations import CHARGES, SALARIES, charges_of, monthly_net
from comptasso.synthetic.profiles import Flow, Profile

SALARY_LABEL = "Salaires nets"
URSSAF_LABEL = "Charges sociales (URSSAF)"


def prevision(day: date, account: str, label: str, amount: Decimal, frequency: str, arg: str,
              until: date | None = None) -> Directive:
    """One `prevision` directive; `amount` is signed from the treasury's point of view."""
    tail = f" {until.isoformat()}" if until else ""
    body = f'custom "prevision" {account} "{label}" {fmt(amount)} EUR "{frequency}" {arg}{tail}'
    return Directive(day, body, RANK_PREVISION)


def rounded(amount: Decimal, step: int = 10) -> Decimal:
    """A budget figure: rounded to `step` euros."""
    return money((amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def signed(flow: Flow, amount: Decimal) -> Decimal:
    """A flow's amount seen from the treasury."""
    return amount if flow.account.startswith("Income:") else -amount


def payroll_previsions(profile: Profile, ctx: Context, day: date) -> list[Directive]:
    """Net salaries on the 28th and URSSAF on the 15th, as they stand on `day`."""
    net, _ = monthly_net(profile, ctx, day.year, day.month)
    return [
        prevision(day, SALARIES, SALARY_LABEL, -net, "mensuel", "28"),
        prevision(day, CHARGES, URSSAF_LABEL, -charges_of(net), "mensuel", "15"),
    ]


def flow_previsions(flow: Flow, ctx: Context, year: int, day: date) -> list[Directive]:
    """The budget of one regular flow for a year: its monthly or weekly base, and its peaks."""
    out = []
    label = flow.label
    if flow.base:
        frequency = "hebdomadaire" if flow.weekly else "mensuel"
        out.append(prevision(day, flow.account, label, signed(flow, rounded(Decimal(flow.base))), frequency,
                             str(flow.day)))
    for month, extra in flow.peaks:
        peak_day = date(year, month, 1)
        if ctx.start <= peak_day <= ctx.end:
            out.append(prevision(peak_day, flow.account, f"{label} ({MONTHS_FR[month - 1]})",
                                 signed(flow, rounded(Decimal(extra))), "annuel", str(flow.day)))
    return out


def ge_prevision(profile: Profile, day: date, members_billed: int, has_ge: bool) -> list[Directive]:
    """The staff made available by the employer group, paid (or collected) on the 20th."""
    if profile.is_employer_group:
        total = sum(monthly for _, monthly in profile.externals) + members_billed
        return [prevision(day, STAFF_BILLED, "Facturation des mises à disposition", rounded(Decimal(total), 100),
                          "mensuel", str(GE_DUE_DAY))]
    if not has_ge or not profile.ge_share:
        return []
    return [prevision(day, STAFF_BOUGHT, "Mise à disposition de personnel (GE)",
                      -rounded(Decimal(profile.ge_share)), "mensuel", str(GE_DUE_DAY))]


def hire_updates(profile: Profile, ctx: Context) -> list[Directive]:
    """A new hire replaces the payroll previsions (same labels) from the first day of its month."""
    out = []
    for employee in profile.staff:
        if employee.hired_months_before_end is None:
            continue
        day = ctx.hire_date(employee.hired_months_before_end)
        if ctx.start < day <= ctx.end:
            out += payroll_previsions(profile, ctx, day)
    return out


def extra_previsions(profile: Profile, ctx: Context) -> list[Directive]:
    """One-off planned flows written on the first day of the end month, with an end date."""
    day = date(ctx.end.year, ctx.end.month, 1)
    out = []
    for extra in profile.extras:
        until = last_day(*add_months(ctx.end.year, ctx.end.month, extra.months))
        out.append(prevision(max(day, ctx.start), extra.account, extra.label, money(extra.amount),
                             "mensuel", str(extra.day), until))
    return out


def previsions(profile: Profile, ctx: Context, members_billed: int, has_ge: bool) -> list[Directive]:
    """Every planned flow of a member: a budget each January, hires and one-off extras."""
    out: list[Directive] = []
    for year in ctx.years():
        day = max(date(year, 1, 1), ctx.start)
        if day > ctx.end:
            continue
        out += payroll_previsions(profile, ctx, day)
        for flow in profile.flows:
            out += flow_previsions(flow, ctx, year, day)
        out += ge_prevision(profile, day, members_billed, has_ge)
    return out + hire_updates(profile, ctx) + extra_previsions(profile, ctx)
