"""The `comptasso` command: check the books, serve Fava, generate demo groups."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from comptasso.books.facade import open_books
from comptasso.cli.lazy import LazyGroup
from comptasso.cli.util import as_of_option, books_options, check_timezone, dump_json, fail, json_option, progress
from comptasso.model.checks import check_books
from comptasso.problems import Problem

#: Commands that live in their own modules, imported when used.
COMMANDS = {
    "serve": "comptasso.web.serve:serve_command",
    "password-hash": "comptasso.web.access:password_hash_command",
    "totp-secret": "comptasso.web.access:totp_secret_command",
    "import": "comptasso.cli.accounting:import_command",
    "fec": "comptasso.cli.accounting:fec_command",
    "report": "comptasso.cli.accounting:report_command",
    "cloture": "comptasso.cli.accounting:cloture_command",
    "generate": "comptasso.synthetic:generate_command",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="comptasso", help="Afficher la version et quitter.")
def main() -> None:
    """Comptasso : la comptabilité partagée des associations du groupement."""
    check_timezone()


@main.command()
@books_options
@as_of_option
@json_option
def check(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Vérifier tous les livres : Beancount, plan comptable, subventions, factures, prévisions."""
    books, problems = open_books(ledgers_dir, rules_dir, progress=progress)
    if books is None:
        fail(problems)
    problems = check_books(books, as_of)
    from comptasso.reports.closing import closed_period_problems  # a closed year must stay as it was locked
    problems += [p for m in books.members for p in closed_period_problems(m.folder, books.ledgers[m.id].entries)]
    errors = [p for p in problems if p.is_error]
    warnings = [p for p in problems if not p.is_error]
    entries = sum(len(books.ledgers[m.id].entries) for m in books.members)
    if as_json:
        dump_json({
            "members": [m.id for m in books.members], "entries": entries,
            "errors": [_problem_json(p) for p in errors], "warnings": [_problem_json(p) for p in warnings],
        })
    else:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(books.members)} livre(s) vérifié(s), {entries} directive(s) : "
                   f"{len(errors)} erreur(s), {len(warnings)} avertissement(s).")
    raise SystemExit(1 if errors else 0)


def _problem_json(problem: Problem) -> dict[str, object]:
    return {"file": problem.file, "line": problem.line, "message": problem.message, "code": problem.code,
            "subject": problem.subject}
