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

from comptasso.books.facade import GroupBooks, open_books
from comptasso.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])


def today() -> dt.date:
    """The default `--as-of`: today, on the machine's clock."""
    return dt.date.today()


class IsoDate(click.ParamType):
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
                        default=Path("ledgers"), show_default=True,
                        help="Dossier des livres (contient group.toml).")(func)


def rules_option(func: F) -> F:
    return click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=Path("rules"), show_default=True,
                        help="Dossier des règles (funders.toml, pool.toml, plugins.toml).")(func)


def as_of_option(func: F) -> F:
    return click.option("--as-of", "as_of", type=ISO_DATE, default=None,
                        help="Lire les livres tels qu'ils étaient à la fin de ce jour (défaut : aujourd'hui).")(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Sortie en JSON sur stdout.")(func)


def books_options(func: F) -> F:
    """--ledgers and --rules."""
    return ledgers_option(rules_option(func))


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
