"""The « Comptes annuels » page: the bilan and compte de résultat of `comptasso report`, in Fava.

The figures are those of `comptasso.reports.annual.annual_accounts`, the function the command calls,
on the member's books as `comptasso` reads them (safety-checked, cached); only the layout is the page's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from banquasso.fava_ext.views import Place
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.group import Member
from comptasso.money import fr_date, fr_money
from comptasso.reports.annual import AnnualAccounts, Pair, Section, annual_accounts
from comptasso.reports.period import FinancialYear
from comptasso.web.access import User

#: How many years back the year menu offers.
YEARS_OFFERED = 6


@dataclass(frozen=True)
class Row:
    """One line of a table: a heading and its amounts for N and N-1 (formatted), or a total."""

    heading: str
    n: str
    n1: str
    total: bool = False


@dataclass(frozen=True)
class Table:
    """One statement (compte de résultat, actif, passif) as rows."""

    id: str
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class AnnualPage:
    """What the template shows: the member, the year and its menu, the tables, the result, the warnings."""

    member: Member
    period: FinancialYear
    previous: FinancialYear
    years: tuple[int, ...]
    tables: tuple[Table, ...]
    result_label: str
    result: str
    total_actif: str
    total_passif: str
    warnings: tuple[str, ...]


def current_year(day: dt.date, first: tuple[int, int]) -> int:
    """The closing year of the financial year holding `day`."""
    period = FinancialYear.closing_in(day.year, first)
    return day.year + 1 if day > period.end else day.year


def _row(heading: str, pair: Pair, *, total: bool = False) -> Row:
    return Row(heading, fr_money(pair.n), fr_money(pair.n1), total)


def _rows(sections: Sequence[Section], total_heading: str, total: Pair) -> list[Row]:
    rows: list[Row] = []
    for section in sections:
        rows += [Row(line.heading, fr_money(line.n), fr_money(line.n1)) for line in section.lines]
        rows.append(_row(f"Total {section.title[:1].lower()}{section.title[1:]}",
                         Pair(section.total_n, section.total_n1), total=True))
    rows.append(_row(total_heading, total, total=True))
    return rows


def tables(accounts: AnnualAccounts) -> tuple[Table, ...]:
    """The compte de résultat (produits, charges, result), then the bilan's actif and passif."""
    result = accounts.result
    label = "Excédent de l'exercice" if result.n >= 0 else "Déficit de l'exercice"
    income = _rows(accounts.income, "Total des produits", accounts.total_income)
    expenses = _rows(accounts.expenses, "Total des charges", accounts.total_expenses)
    return (
        Table("bqa-produits", "Compte de résultat — produits", tuple(income)),
        Table("bqa-charges", "Compte de résultat — charges",
              (*expenses, _row(label, Pair(abs(result.n), abs(result.n1)), total=True))),
        Table("bqa-actif", "Bilan — actif", tuple(_rows(accounts.actif, "Total de l'actif", accounts.total_actif))),
        Table("bqa-passif", "Bilan — passif",
              tuple(_rows(accounts.passif, "Total du passif", accounts.total_passif))),
    )


def annual_page(books: GroupBooks, member_id: str, year: int | None, as_of: dt.date) -> AnnualPage:
    """The page of one member for the year closing in `year` (default: the year holding `as_of`)."""
    member = books.group.member(member_id)
    now = current_year(as_of, member.year_start)
    chosen = year or now
    accounts = annual_accounts(books.ledgers[member_id].entries, chosen, as_of, member_id=member.id,
                               member_name=member.name, siren=member.siren, where=str(member.ledger),
                               year_start=member.year_start)
    result = accounts.result.n
    return AnnualPage(
        member, accounts.period, accounts.previous_period,
        tuple(range(now, now - YEARS_OFFERED, -1)), tables(accounts),
        "Excédent de l'exercice" if result >= 0 else "Déficit de l'exercice", fr_money(abs(result)),
        fr_money(accounts.total_actif.n), fr_money(accounts.total_passif.n),
        tuple(p.message for p in accounts.problems),
    )


def _year(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) == 4 else None


def annual_context(place: Place | None, day: dt.date, user: User | None, member_arg: str,
                   year_arg: str) -> dict[str, Any]:
    """The template's variables: on a member's ledger its own accounts; on the group view, a chosen member.

    A treasurer sees only their own member (the access guard keeps them off other ledgers; this
    keeps them off other members here too).
    """
    context: dict[str, Any] = {"page": None, "members": [], "error": "", "as_of": day, "date": fr_date}
    if place is None:
        context["error"] = "aucun group.toml au-dessus de ce livre : les comptes annuels ne peuvent pas être lus"
        return context
    books, problems = open_books(place.ledgers_dir, place.rules_dir)
    if books is None:
        context["error"] = "; ".join(str(p) for p in problems[:3])
        return context
    visible = [m for m in books.group.members if user is None or user.may_see_member(m.id)]
    if place.member_id is None:
        context["members"] = visible
    wanted = place.member_id or member_arg or (visible[0].id if visible else "")
    if wanted not in {m.id for m in visible}:
        context["error"] = f"accès refusé : les comptes de « {wanted} » ne sont pas dans votre périmètre"
        return context
    ledger = books.ledgers.get(wanted)
    broken = [p for p in (ledger.problems if ledger else []) if p.is_error]
    if ledger is None or broken:
        context["error"] = f"livre de « {wanted} » illisible : " + "; ".join(str(p) for p in broken[:3])
        return context
    year = _year(year_arg)
    if year_arg and year is None:
        context["error"] = f"exercice invalide « {year_arg} » (attendu AAAA) : exercice en cours affiché"
    context["page"] = annual_page(books, wanted, year, day)
    return context
