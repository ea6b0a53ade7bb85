"""Budgets (`custom "budget"`): the budget prévisionnel of a member, and budget vs réalisé.

A line is `custom "budget" PREFIX START END AMOUNT EUR ["ACTION"]` (SPEC section 4). PREFIX is a PCG
prefix (`"64"`) or a full account name (`Expenses:64-Personnel`). The actual of a line is what was
posted, in transactions dated START..END and on or before the as-of day, to the matching accounts:
class 6 (and 86) as debited, class 7 (and 87) as credited, so both positive in the usual case. With
an action, only transactions whose metadata `action` equals it, or that carry the tag `#ACTION`, count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import account as bc_account
from beancount.core import data
from beancount.core.amount import Amount

from comptasso.model.chart import pcg_number
from comptasso.model.grants import Source
from comptasso.model.previsions import Prevision, expected_occurrences
from comptasso.money import cents, fr_date
from comptasso.problems import Problem

BUDGET = "budget"
ZERO = Decimal(0)
SYNTAX = 'attendu : custom "budget" "PRÉFIXE" DATE_DÉBUT DATE_FIN MONTANT EUR ["ACTION"]'
BUDGET_CODES = {
    "malformed": "budget-malformed",
    "prefix": "budget-prefix-invalid",
    "period": "budget-period-invalid",
    "amount": "budget-amount-negative",
}


@dataclass(frozen=True)
class BudgetLine:
    """One budget line: a PCG prefix (or an account), a period, an amount and an optional action."""

    prefix: str
    start: dt.date
    end: dt.date
    amount: Decimal
    currency: str
    action: str | None
    declared_on: dt.date
    source: Source

    @property
    def is_account(self) -> bool:
        """True when the line names a full account rather than a PCG prefix."""
        return ":" in self.prefix

    @property
    def number(self) -> str:
        """The PCG prefix of the line (the account's PCG number when it names an account)."""
        if self.is_account:
            return pcg_number(self.prefix) or ""
        return self.prefix

    @property
    def sign(self) -> int:
        """+1 for products (class 7 and 87, credited), -1 for charges (class 6 and 86, debited)."""
        return 1 if _is_product(self.number) else -1

    def matches(self, account: str) -> bool:
        """True when a posting to `account` counts towards this line."""
        if self.is_account:
            return account == self.prefix or account.startswith(self.prefix + ":")
        number = pcg_number(account)
        return number is not None and number.startswith(self.prefix) and account.split(":", 1)[0] in (
            "Expenses", "Income")


def _is_product(number: str) -> bool:
    return number.startswith(("7", "87"))


def _is_charge(number: str) -> bool:
    return number.startswith(("6", "86"))


def _problem(entry: data.Custom, kind: str, message: str, subject: str = "") -> Problem:
    meta = entry.meta or {}
    return Problem(str(meta.get("filename", "<inconnu>")), int(meta.get("lineno", 0) or 0), message, "error",
                   BUDGET_CODES[kind], subject)


def _prefix_problem(entry: data.Custom, prefix: object, is_account: bool) -> Problem | None:
    if not isinstance(prefix, str) or not prefix:
        return _problem(entry, "malformed", f"budget : le premier argument doit être un préfixe PCG ; {SYNTAX}")
    number = (pcg_number(prefix) or "") if is_account else prefix
    if not number.isdigit() or not (_is_charge(number) or _is_product(number)):
        return _problem(entry, "prefix", f"budget « {prefix} » : préfixe ou compte de charges (classe 6) ou de "
                        "produits (classe 7) attendu", prefix)
    return None


def _values_problem(entry: data.Custom, prefix: str, values: Sequence[object]) -> Problem | None:
    start, end, amount = values[1:4]
    action = values[4] if len(values) == 5 else None
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        return _problem(entry, "malformed", f"budget « {prefix} » : dates de début et de fin attendues ; {SYNTAX}",
                        prefix)
    if end < start:
        return _problem(entry, "period",
                        f"budget « {prefix} » : la fin {fr_date(end)} précède le début {fr_date(start)}", prefix)
    if not isinstance(amount, Amount) or amount.number is None:
        return _problem(entry, "malformed", f"budget « {prefix} » : montant attendu ; {SYNTAX}", prefix)
    if amount.number < 0:
        return _problem(entry, "amount", f"budget « {prefix} » : le montant budgété doit être positif "
                        f"({amount.number} EUR)", prefix)
    if action is not None and (not isinstance(action, str) or not action):
        return _problem(entry, "malformed", f"budget « {prefix} » : l'action doit être un texte ; {SYNTAX}", prefix)
    return None


def parse_budget(entry: data.Custom) -> BudgetLine | Problem:
    """Read one `budget` directive, or say precisely what is wrong with it (with a stable code)."""
    values = [v.value for v in entry.values]
    if len(values) not in (4, 5):
        return _problem(entry, "malformed", f"budget mal formé ({len(values)} arguments) ; {SYNTAX}")
    prefix = values[0]
    problem = _prefix_problem(entry, prefix, entry.values[0].dtype == bc_account.TYPE or ":" in str(prefix))
    if problem is None:
        problem = _values_problem(entry, prefix, values)
    if problem is not None:
        return problem
    start, end, amount = values[1:4]
    action = values[4] if len(values) == 5 else None
    return BudgetLine(prefix, start, end, amount.number, amount.currency, action, entry.date, Source.of(entry.meta))


def extract_budgets(entries: Iterable[data.Directive]) -> tuple[list[BudgetLine], list[Problem]]:
    """Every well-formed `budget` line, in file order, and a problem for each malformed one."""
    lines: list[BudgetLine] = []
    problems: list[Problem] = []
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == BUDGET:
            parsed = parse_budget(entry)
            if isinstance(parsed, Problem):
                problems.append(parsed)
            else:
                lines.append(parsed)
    return lines, problems


def in_action(entry: data.Transaction, action: str | None) -> bool:
    """True when the transaction belongs to the action (metadata `action` or tag `#ACTION`); any without one."""
    if action is None:
        return True
    return str(entry.meta.get("action", "")) == action or action in (entry.tags or frozenset())


def posted(line: BudgetLine, entry: data.Transaction) -> Decimal:
    """What one transaction posted to the line's accounts, positive as debited (class 6) or credited (class 7)."""
    total = ZERO
    for posting in entry.postings:
        if posting.units is not None and posting.units.number is not None and line.matches(posting.account):
            total += posting.units.number
    return -total if line.sign > 0 else total


def _counted(line: BudgetLine, entry: data.Directive, as_of: dt.date) -> bool:
    return (isinstance(entry, data.Transaction) and line.start <= entry.date <= min(line.end, as_of)
            and in_action(entry, line.action))


def actual(line: BudgetLine, entries: Iterable[data.Directive], as_of: dt.date) -> Decimal:
    """The réalisé of a line as of a day (SPEC section 4)."""
    return sum((posted(line, e) for e in entries if isinstance(e, data.Transaction) and _counted(line, e, as_of)),
               ZERO)


def month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first day of every month that meets start..end."""
    out = []
    year, month = start.year, start.month
    while dt.date(year, month, 1) <= end:
        out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)


def monthly_actuals(line: BudgetLine, entries: Sequence[data.Directive],
                    as_of: dt.date) -> list[tuple[dt.date, Decimal]]:
    """The réalisé of each month of the line's period (months after the as-of day are zero)."""
    totals = dict.fromkeys(month_starts(line.start, line.end), ZERO)
    for entry in entries:
        if isinstance(entry, data.Transaction) and _counted(line, entry, as_of):
            totals[entry.date.replace(day=1)] += posted(line, entry)
    return sorted(totals.items())


def prorata(line: BudgetLine, day: dt.date) -> Decimal:
    """The share of the budget for the days of the period up to `day` (prorata temporis, to the cent)."""
    if day < line.start:
        return ZERO
    if day >= line.end:
        return line.amount
    elapsed = (day - line.start).days + 1
    return cents(line.amount * elapsed / ((line.end - line.start).days + 1))


def monthly_budget(line: BudgetLine) -> list[tuple[dt.date, Decimal]]:
    """The budget of each month, prorata temporis; the months sum exactly to the line's amount."""
    out = []
    before = ZERO
    for month in month_starts(line.start, line.end):
        upto = prorata(line, min(_next_month(month) - dt.timedelta(days=1), line.end))
        out.append((month, upto - before))
        before = upto
    return out


def expected(line: BudgetLine, previsions: Sequence[Prevision], as_of: dt.date) -> Decimal:
    """What the previsions still expect on the line's accounts after the as-of day, up to the period's end.

    A prevision has no action: lines with an action expect nothing from them.
    """
    if line.action is not None or as_of >= line.end:
        return ZERO
    start = max(as_of + dt.timedelta(days=1), line.start)
    total = ZERO
    for occurrence in expected_occurrences(previsions, start, line.end):
        if line.matches(occurrence.prevision.account):
            total += occurrence.amount
    return total if line.sign > 0 else -total


@dataclass(frozen=True)
class BudgetStatus:
    """A budget line against its réalisé as of a day, with the year's landing."""

    line: BudgetLine
    as_of: dt.date
    actual: Decimal
    expected: Decimal
    months: tuple[tuple[dt.date, Decimal, Decimal], ...]

    @property
    def remaining(self) -> Decimal:
        """Budget − actual."""
        return self.line.amount - self.actual

    @property
    def budget_to_date(self) -> Decimal:
        """The budget of the period's days up to the as-of day, prorata temporis."""
        return prorata(self.line, self.as_of)

    @property
    def landing(self) -> Decimal:
        """Réalisé + what the previsions still expect within the period."""
        return self.actual + self.expected


def budget_status(line: BudgetLine, entries: Sequence[data.Directive], previsions: Sequence[Prevision],
                  as_of: dt.date) -> BudgetStatus:
    """One line's budget vs réalisé, month by month, and its landing."""
    spent = dict(monthly_actuals(line, entries, as_of))
    months = tuple((month, budget, spent[month]) for month, budget in monthly_budget(line))
    return BudgetStatus(line, as_of, actual(line, entries, as_of), expected(line, previsions, as_of), months)


def budget_report(entries: Sequence[data.Directive], previsions: Sequence[Prevision],
                  as_of: dt.date) -> tuple[list[BudgetStatus], list[Problem]]:
    """Every budget line known on the as-of day against its réalisé; problems for malformed lines."""
    known = [e for e in entries if e.date <= as_of]
    lines, problems = extract_budgets(known)
    return [budget_status(line, known, previsions, as_of) for line in lines], problems
