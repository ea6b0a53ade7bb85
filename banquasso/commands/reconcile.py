"""`banquasso reconcile`: the registry, each lender's receivable and each borrower's debt agree on every advance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from filelock import Timeout

from banquasso.commands.pool import _table as text_table
from banquasso.registry.db import open_registry
from banquasso.registry.desk import load_views
from banquasso.registry.ledger_write import RecoveryConflictError, recover, write_lock
from banquasso.registry.movements import engine_file
from banquasso.registry.reconcile import Reconciliation, reconcile
from banquasso.terms.modes import pivot_member, pivot_problems
from banquasso.terms.policy import POOL_FILE, load_policy
from comptasso.books.group import load_group
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    fail,
    json_option,
    load_or_exit,
    member_label,
    today,
)
from comptasso.money import fr_date, fr_money, money_json
from comptasso.problems import Problem


def reconcile_text(result: Reconciliation, names: dict[str, str]) -> str:
    """The French table of `banquasso reconcile`: one aligned row per advance, members named beside their ids."""
    rows = [["Avance", "Prêteur", "Emprunteur", "Registre", "Créance du prêteur", "Dette de l'emprunteur", "État"]]
    rows += [[a.id, member_label(a.lender, names, 36), member_label(a.borrower, names, 36),
              fr_money(a.registry_outstanding), fr_money(a.lender_receivable), fr_money(a.borrower_debt),
              "ok" if a.ok else "ÉCART"] for a in result.advances]
    verdict = ("Registre et livres concordent." if result.ok
               else f"{len(result.mismatches)} écart(s) entre le registre et les livres.")
    summary = f"{len(result.advances)} avance(s) rapprochée(s) au {fr_date(result.as_of)}. {verdict}"
    if not result.advances:
        return summary
    return text_table(rows, [False, False, False, True, True, True, False]) + "\n\n" + summary


def run_reconcile(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> tuple[Reconciliation, list[str],
                                                                              dict[str, str]]:
    """Undo any interrupted write, then compare the registry with every ledger as of `as_of`.

    Returns the comparison, the messages of any recovered write and each member's name by id.
    """
    group, problems = load_group(ledgers_dir)
    policy, more = load_policy(rules_dir)
    if group is not None and policy is not None:
        more += pivot_problems(policy, group, str(Path(rules_dir) / POOL_FILE))
    if group is None or policy is None or problems or more:
        fail(problems + more)
    registry = open_registry(ledgers_dir)
    try:
        with write_lock(ledgers_dir, [m.ledger for m in group.members]):
            try:
                recovered = recover(ledgers_dir)
            except RecoveryConflictError as conflict:
                fail(conflict.problems)
            books = load_or_exit(ledgers_dir, rules_dir, quiet=True)
            views = load_views(registry)
    except Timeout:
        fail([Problem(str(group.file), 0,
                      "livres occupés par une autre écriture depuis plus d'une minute : réessayez")])
    ledgers = {m.id: books.ledgers[m.id].entries for m in books.members}
    files = {m.id: str(engine_file(m)) for m in books.members}
    pivot = pivot_member(policy, books.group)  # convention de trésorerie: the pivot's ledger is checked too
    names = {m.id: m.name for m in books.members}
    return reconcile(views, books.group, ledgers, policy.accounts, as_of, files,
                     pivot=pivot.id if pivot else None), recovered, names


@click.command("reconcile")
@books_options
@as_of_option
@json_option
def reconcile_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Rapprocher le registre des avances et les livres des membres ; code 1 au moindre écart."""
    result, recovered, names = run_reconcile(ledgers_dir, rules_dir, as_of or today())
    for message in recovered:
        click.echo(message, err=True)
    if as_json:
        dump_json({
            "as_of": result.as_of, "ok": result.ok,
            "advances": [{"id": a.id, "lender": a.lender, "borrower": a.borrower,
                          "registry_outstanding": money_json(a.registry_outstanding),
                          "lender_receivable": money_json(a.lender_receivable),
                          "borrower_debt": money_json(a.borrower_debt), "ok": a.ok} for a in result.advances],
            "mismatches": [{"file": p.file, "line": p.line, "message": p.message, "code": p.code,
                            "subject": p.subject} for p in result.mismatches],
        })
    else:
        click.echo(reconcile_text(result, names))
    if not result.ok:
        fail(result.mismatches)
