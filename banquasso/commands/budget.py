"""`banquasso budget`: each member's budget lines against the réalisé (table, JSON, CSV)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member, member_filter_option
from comptasso.books.facade import GroupBooks
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    excluded_json,
    fail,
    json_option,
    load_usable,
    today,
)
from comptasso.model.budgets import BudgetStatus, budget_report
from comptasso.model.member import member_model
from comptasso.money import fr_date, fr_money, money_json
from comptasso.problems import Problem


@dataclass(frozen=True)
class MemberBudget:
    """One member's budget lines as of a day."""

    member_id: str
    name: str
    lines: tuple[BudgetStatus, ...]


def group_budgets(books: GroupBooks, day: dt.date,
                  member: str | None = None) -> tuple[list[MemberBudget], list[Problem]]:
    """The budget of every member (or of one), and the problems of their `budget` lines."""
    out: list[MemberBudget] = []
    problems: list[Problem] = []
    for m in books.members:
        if member is not None and m.id != member:
            continue
        entries = books.ledger(m.id).entries
        statuses, found = budget_report(entries, member_model(entries, day).previsions, day)
        problems += found
        out.append(MemberBudget(m.id, m.name, tuple(statuses)))
    return out, problems


def line_json(status: BudgetStatus) -> dict[str, Any]:
    """One line of `banquasso budget --json` (SPEC section 10 keys, then extras)."""
    line = status.line
    return {
        "prefix": line.prefix, "action": line.action, "start": line.start.isoformat(), "end": line.end.isoformat(),
        "budget": money_json(line.amount), "actual": money_json(status.actual),
        "remaining": money_json(status.remaining),
        "budget_to_date": money_json(status.budget_to_date), "expected": money_json(status.expected),
        "landing": money_json(status.landing),
        "months": [{"month": month.isoformat()[:7], "budget": money_json(budget), "actual": money_json(spent)}
                   for month, budget, spent in status.months],
    }


def budget_json(day: dt.date, budgets: Sequence[MemberBudget]) -> dict[str, Any]:
    """`{"as_of", "members": [{"id", "lines": [...]}]}`."""
    return {"as_of": day.isoformat(),
            "members": [{"id": b.member_id, "name": b.name, "lines": [line_json(s) for s in b.lines]}
                        for b in budgets]}


CSV_HEADER = ["member", "prefix", "action", "start", "end", "budget", "actual", "remaining", "expected", "landing"]


def budget_csv(budgets: Sequence[MemberBudget]) -> str:
    """One row per budget line; amounts with a dot, comma-separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for b in budgets:
        for s in b.lines:
            writer.writerow([b.member_id, s.line.prefix, s.line.action or "", s.line.start.isoformat(),
                             s.line.end.isoformat(), money_json(s.line.amount), money_json(s.actual),
                             money_json(s.remaining), money_json(s.expected), money_json(s.landing)])
    return out.getvalue()


def _percent(status: BudgetStatus) -> str:
    if status.line.amount == 0:
        return ""
    return f"{(status.actual * 100 / status.line.amount).quantize(1)} %"


def budget_text(day: dt.date, budgets: Sequence[MemberBudget], monthly: bool) -> str:
    """The French tables: one per member, one line per budget line; with `monthly`, the months below."""
    out = [f"Budget et réalisé au {fr_date(day)}"]
    for b in budgets:
        out += ["", f"{b.name} ({b.member_id})"]
        if not b.lines:
            out.append("  Aucune ligne de budget.")
            continue
        header = (f"  {'Compte':<24} {'Action':<14} {'Période':<23} {'Budget':>14} {'Réalisé':>14} "
                  f"{'Reste':>14} {'Atterrissage':>14} {'Réalisé %':>9}")
        out += [header, "  " + "-" * (len(header) - 2)]
        for s in b.lines:
            period = f"{fr_date(s.line.start)}–{fr_date(s.line.end)}"
            out.append(f"  {s.line.prefix[:24]:<24} {(s.line.action or '')[:14]:<14} {period:<23} "
                       f"{fr_money(s.line.amount):>14} {fr_money(s.actual):>14} {fr_money(s.remaining):>14} "
                       f"{fr_money(s.landing):>14} {_percent(s):>9}")
            if monthly:
                for month, budget, spent in s.months:
                    out.append(f"      {month.strftime('%m/%Y'):<10} budget {fr_money(budget):>14}   "
                               f"réalisé {fr_money(spent):>14}")
    return "\n".join(out)


@click.command("budget")
@books_options
@as_of_option
@json_option
@member_filter_option
@click.option("--csv", "as_csv", is_flag=True, help="Sortie CSV (une ligne par ligne de budget) sur stdout.")
@click.option("--monthly", is_flag=True, help="Détailler chaque ligne mois par mois (budget au prorata, réalisé).")
def budget_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, member: str | None,
                   as_csv: bool, monthly: bool) -> None:
    """Budget prévisionnel et réalisé de chaque membre, par compte et par action."""
    if as_json and as_csv:
        raise click.UsageError("choisissez --json ou --csv, pas les deux")
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json or as_csv)
    check_member(member, books.group.ids)
    day = as_of or today()
    budgets, problems = group_budgets(books, day, member)
    if problems:
        fail(problems)
    if as_json:
        dump_json({**budget_json(day, budgets), "excluded": excluded_json(books)})
    elif as_csv:
        click.echo(budget_csv(budgets), nl=False)
    else:
        click.echo(budget_text(day, budgets, monthly))
