"""The group's bookkeeping rules (`comptasso check`): chart, grants, invoices, budgets, engine file, currency.

The conventions (grants, invoices, previsions) are read through `comptasso.model.member.build_model`,
the same extraction every consumer uses; budget lines through `comptasso.model.budgets.extract_budgets`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from beancount.core import data

from comptasso.books.facade import GroupBooks
from comptasso.books.fava_rules import load_fava_rules
from comptasso.books.group import Member
from comptasso.books.loading import unsafe_problems
from comptasso.books.reference import Reference
from comptasso.books.safety import fava_entry_problems
from comptasso.model.budgets import extract_budgets
from comptasso.model.chart import class_problem
from comptasso.model.grants import GrantBook, tranche_sum_warnings
from comptasso.model.member import build_model
from comptasso.problems import Problem, at

ENGINE_FILE = "banquasso.beancount"


def check_chart(entries: Sequence[data.Directive]) -> list[Problem]:
    """Every open account carries a PCG number whose class agrees with its root."""
    out = []
    for entry in entries:
        if isinstance(entry, data.Open):
            reason = class_problem(entry.account)
            if reason:
                out.append(at(entry.meta, reason))
    return out


def check_currency(entries: Sequence[data.Directive], currency: str) -> list[Problem]:
    """Every posting is in the group's currency."""
    return [at(posting.meta or entry.meta,
               f"montant en {posting.units.currency} : seule la devise {currency} est admise")
            for entry in entries if isinstance(entry, data.Transaction)
            for posting in entry.postings
            if posting.units is not None and posting.units.currency != currency]


def check_grants(book: GrantBook, reference: Reference) -> list[Problem]:
    """Every grant's funder known, tranches summing to the grant (the extraction's own problems aside)."""
    problems = [Problem(grant.source.file, grant.source.line,
                        f"financeur inconnu « {grant.funder} » (absent de rules/funders.toml)")
                for grant in book.grants.values()
                if grant.funder is not None and reference.funder(grant.funder) is None]
    return problems + tranche_sum_warnings(book)


def check_engine_file(member: Member, options: Mapping[str, Any]) -> list[Problem]:
    """The member ledger includes the engine's own file beside it."""
    expected = str((member.folder / ENGINE_FILE).resolve())
    if expected in options.get("include", []):
        return []
    return [Problem(str(member.ledger), 0, f'le livre doit inclure le fichier du moteur : include "{ENGINE_FILE}"')]


def check_member(member: Member, entries: Sequence[data.Directive], options: Mapping[str, Any],
                 reference: Reference, currency: str) -> list[Problem]:
    """Every rule of the group on one member's ledger."""
    model = build_model(entries, None)
    problems = check_chart(entries) + check_currency(entries, currency)
    problems += [*model.grant_problems, *check_grants(model.grants, reference), *model.other_problems]
    problems += extract_budgets(entries)[1]
    problems += check_engine_file(member, options)
    return problems


def check_fava_requests(books: GroupBooks) -> list[Problem]:
    """What each member ledger asks of Fava, against `rules/fava.toml` and `rules/plugins.toml`."""
    rules, problems = load_fava_rules(books.reference.rules_dir)
    for member in books.members:
        entries = books.ledgers[member.id].entries
        if not entries:  # refused before booking: read its directives without running anything
            entries, _unsafe = unsafe_problems(member.ledger, member.folder, books.reference.allowed_plugins)
        problems += fava_entry_problems(entries, member.folder, books.reference.allowed_plugins, rules)
    return problems


def check_books(books: GroupBooks, as_of: dt.date | None = None) -> list[Problem]:
    """Beancount's own errors plus the group's rules (on entries up to `as_of`), sorted by file and line."""
    problems = list(books.problems) + check_fava_requests(books)
    for member in books.members:
        ledger = books.ledgers[member.id]
        problems.extend(ledger.problems)
        entries = ledger.entries if as_of is None else [e for e in ledger.entries if e.date <= as_of]
        if entries:
            problems.extend(check_member(member, entries, ledger.options, books.reference,
                                         books.group.currency))
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.message))
