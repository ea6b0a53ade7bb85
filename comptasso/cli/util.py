"""What every command shares: the common options, loading the books, errors and JSON output."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from comptasso import clock
from comptasso.books.facade import GroupBooks, open_books
from comptasso.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


def today() -> dt.date:
    """The default `--as-of`: today in the group's time zone (comptasso.clock), never the machine's date."""
    try:
        return clock.today()
    except clock.ClockError as exc:
        fail([timezone_problem(exc)])


def timezone_problem(exc: clock.ClockError) -> Problem:
    """The problem of an unknown `$COMPTASSO_TZ`."""
    return Problem(clock.TZ_ENV, 0, str(exc), "error", exc.code, clock.TZ_ENV)


def check_timezone() -> None:
    """Exit 1 with a French message when `$COMPTASSO_TZ` names no time zone (run by both commands first)."""
    try:
        clock.group_timezone()
    except clock.ClockError as exc:
        fail([timezone_problem(exc)])


class IsoDate(click.ParamType[dt.date]):
    """A `YYYY-MM-DD` date option."""

    name = "AAAA-MM-JJ"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"date invalide « {value} » (attendu AAAA-MM-JJ)", param, ctx)


ISO_DATE = IsoDate()


def ledgers_option(func: F) -> F:
    return click.option("--ledgers", "ledgers_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("ledgers"), show_default=True, metavar="DOSSIER",
                        help="Dossier des livres (contient group.toml).")(func)


def rules_option(func: F) -> F:
    return click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("rules"), show_default=True, metavar="DOSSIER",
                        help="Dossier des règles (funders.toml, pool.toml, plugins.toml).")(func)


def as_of_option(func: F) -> F:
    return click.option("--as-of", "as_of", type=ISO_DATE, default=None,
                        help="Lire les livres tels qu'ils étaient à la fin de ce jour (défaut : aujourd'hui).")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Sortie en JSON sur stdout.")(func)


def books_options(func: F) -> F:
    """--ledgers and --rules."""
    return ledgers_option(rules_option(func))


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters, an ellipsis marking the cut (« Caisse d'allocations fam… »)."""
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def member_label(member_id: str, names: dict[str, str], width: int = 48) -> str:
    """A member as tables show it: its name beside its id, cut with an ellipsis (`Vélo Club… (velo-gap)`)."""
    name = names.get(member_id)
    if not name:
        return member_id
    return f"{shorten(name, max(width - len(member_id) - 3, 8))} ({member_id})"


def member_names(books: GroupBooks) -> dict[str, str]:
    """Each member's name by id."""
    return {m.id: m.name for m in books.group.members}


def progress(message: str) -> None:
    """Progress of long work, on stderr so that `--json` output stays clean."""
    click.echo(message, err=True)


def fail(problems: Iterable[Problem | str], code: int = 1) -> NoReturn:
    """Print every problem as `file:line: message` on stderr and exit."""
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(code)


def load_or_exit(ledgers_dir: Path, rules_dir: Path, *, quiet: bool = False) -> GroupBooks:
    """Open the books; exit 1 listing every error if they cannot be used."""
    books, problems = open_books(ledgers_dir, rules_dir, progress=None if quiet else progress)
    errors = [p for p in problems if p.is_error]
    if books is None or errors:
        fail(errors or problems)
    return books


def load_usable(ledgers_dir: Path, rules_dir: Path, *, member: str | None = None,
                quiet: bool = False, report: bool = True) -> GroupBooks:
    """Open the books for a group computation: the members whose ledger is broken are left out.

    Exit 1 when the group file or the rules are invalid. With `report` (the default), then
    `report_exclusions`; without, the caller leaves out more members first and reports after.
    """
    books, problems = open_books(ledgers_dir, rules_dir, progress=None if quiet else progress)
    if books is None:
        fail(errors_first(problems))
    group_errors = [p for p in books.problems if p.is_error]
    if group_errors:
        fail(group_errors)
    usable = books.without_broken()
    return report_exclusions(usable, member) if report else usable


def report_exclusions(books: GroupBooks, member: str | None = None) -> GroupBooks:
    """Warn on stderr about each member left out (naming it and file:line); the others' results come out.

    Exit 1 when `member` (the one asked for) is itself left out, with its errors, or when no member is left.
    """
    asked = next((e for e in books.excluded if e.member_id == member), None)
    if asked is not None:
        fail(asked.problems)
    if not books.members:
        fail([p for e in books.excluded for p in e.problems])
    for exclusion in books.excluded:
        click.echo(str(exclusion.warning()), err=True)
    return books


def excluded_json(books: GroupBooks) -> list[dict[str, object]]:
    """The `excluded` list of a JSON output: `[{"id", "problems": ["file:line: message"]}]`."""
    return [e.to_json() for e in books.excluded]


def errors_first(problems: Iterable[Problem]) -> list[Problem]:
    """The errors if there are any, else every problem."""
    problems = list(problems)
    return [p for p in problems if p.is_error] or problems


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_json(document: Any) -> None:
    """Print one JSON document: amounts as decimal strings, dates as ISO strings."""
    click.echo(json.dumps(document, default=_default, ensure_ascii=False, indent=2))
