"""The `--scenario NOM` option shared by `forecast`, `capacity` and `plan`: read and check the what-ifs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from banquasso.forecast.daily import GroupOutlook, read_group
from banquasso.forecast.scenarios import Scenario, known_of, load_scenarios
from banquasso.terms.policy import Policy
from comptasso.books.facade import GroupBooks
from comptasso.cli.util import fail

F = TypeVar("F", bound=Callable[..., Any])


def scenario_option(func: F) -> F:
    """`--scenario NOM` (repeatable): rules/scenarios/NOM.toml, applied in the order given."""
    return click.option(
        "--scenario", "scenario_names", multiple=True, metavar="NOM",
        help="Scénario « et si » rules/scenarios/NOM.toml (répétable, appliqués dans l'ordre ; docs/scenarios.md).",
    )(func)


def scenarios_for(books: GroupBooks, rules_dir: Path, outlook: GroupOutlook,
                  names: Sequence[str]) -> tuple[Scenario, ...]:
    """The named scenarios checked against the books read in `outlook`; exit 1 naming file, line and key."""
    if not names:
        return ()
    scenarios, problems = load_scenarios(rules_dir, names, known_of(outlook, books.reference.funders))
    if problems:
        fail(problems)
    return scenarios


def scenarios_of_books(books: GroupBooks, rules_dir: Path, policy: Policy, day: dt.date,
                       names: Sequence[str]) -> tuple[Scenario, ...]:
    """`scenarios_for` when the command has no outlook of its own (one day read, the member models are cached)."""
    if not names:
        return ()
    outlook, problems = read_group(books, day, 1, policy.floor)
    if outlook is None:
        fail(problems)
    return scenarios_for(books, rules_dir, outlook, names)


def scenarios_json(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """The `scenarios` key of a command's JSON: each what-if applied, in order, as read."""
    return [s.to_json() for s in scenarios]


def scenarios_line(scenarios: Sequence[Scenario]) -> str:
    """The French line that heads a table computed under scenarios ('' when there is none)."""
    if not scenarios:
        return ""
    names = ", ".join(f"« {s.name} »" + (f" ({s.description})" if s.description else "") for s in scenarios)
    return f"Sous le(s) scénario(s) {names}"
