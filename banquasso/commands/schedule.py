"""`banquasso schedule`: the repayment schedule of an advance for given terms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from banquasso.terms.policy import DAY_COUNTS, METHODS, Policy, load_policy
from banquasso.terms.rules import check_rate
from banquasso.terms.schedule import Schedule, ScheduleError, build_schedule
from comptasso.cli.util import (
    ISO_DATE,
    as_of_option,
    dump_json,
    fail,
    json_option,
    ledgers_option,
    rules_option,
    today,
)
from comptasso.money import fr_date, fr_money, fr_number, parse_amount


class DecimalParam(click.ParamType[Decimal]):
    """A decimal number, French or dotted (`10 000,00`, `0,03`, `0.03`), read by comptasso.money.parse_amount."""

    name = "NOMBRE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            return parse_amount(str(value))
        except ValueError:
            self.fail(f"nombre invalide « {value} » (ex. 10 000,00 ou 0,03)", param, ctx)


DECIMAL = DecimalParam()


def policy_or_exit(rules_dir: Path) -> Policy:
    """The pool policy; exit 1 listing every error when `pool.toml` is invalid."""
    policy, problems = load_policy(rules_dir)
    if policy is None:
        fail(problems)
    return policy


def schedule_table(schedule: Schedule) -> str:
    """The schedule as a French text table."""
    method = {"bullet": "in fine", "on-receipt": "à l'encaissement de la subvention",
              "linear": "amortissement constant", "annuity": "échéances constantes"}[schedule.method]
    head = (f"Capital {fr_money(schedule.principal)} versé le {fr_date(schedule.start)}, "
            f"taux annuel {fr_number(schedule.rate * 100, 3)} % ({schedule.day_count}), remboursement {method}")
    rows = [("N°", "Date", "Capital", "Intérêts", "Échéance", "Restant dû")]
    rows.extend((str(line.n), fr_date(line.date), fr_money(line.principal), fr_money(line.interest),
                 fr_money(line.payment), fr_money(line.remaining)) for line in schedule.lines)
    rows.append(("", "Total", fr_money(schedule.principal), fr_money(schedule.total_interest),
                 fr_money(schedule.total_paid), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = [head, ""]
    for index, row in enumerate(rows):
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def show_schedule(schedule: Schedule, as_json: bool) -> None:
    """Print a schedule as JSON (SPEC section 10) or as a French table."""
    if as_json:
        dump_json(schedule.to_json())
    else:
        click.echo(schedule_table(schedule))


def registered_schedule(ledgers_dir: Path, advance_id: str) -> Schedule:
    """The schedule of an advance as the registry holds it; exit 1 if the advance is unknown."""
    from banquasso.registry.db import database_url, open_registry
    from banquasso.registry.service import load_view

    url = database_url(ledgers_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        fail([f"{url.removeprefix('sqlite:///')}: aucun registre des avances : avance inconnue « {advance_id} »"])
    registry = open_registry(ledgers_dir, url)
    try:
        view = load_view(registry, advance_id)
    finally:
        registry.close()
    if view is None:
        fail([f"registre des avances : avance inconnue « {advance_id} »"])
    return Schedule(view.principal, view.rate, view.method, view.day_count, view.disburse_on, view.lines)


@click.command("schedule")
@ledgers_option
@rules_option
@as_of_option
@json_option
@click.option("--advance", "advance_id", default=None,
              help="Identifiant d'une avance du registre (BQA-AAAA-NNNN) : afficher son échéancier.")
@click.option("--principal", type=DECIMAL, default=None, help="Capital avancé (EUR).")
@click.option("--rate", type=DECIMAL, default=None, help="Taux annuel (0.03 = 3 %) ; défaut : terms.rate.")
@click.option("--start", type=ISO_DATE, default=None, help="Date du versement (défaut : le lendemain de --as-of).")
@click.option("--months", type=click.IntRange(1, 60), default=None, help="Durée en mois.")
@click.option("--end", type=ISO_DATE, default=None, help="Date du remboursement in fine.")
@click.option("--repay-on", type=ISO_DATE, default=None, help="Date d'encaissement attendue (méthode on-receipt).")
@click.option("--method", type=click.Choice(METHODS), default=None, help="Méthode ; défaut : terms.default_method.")
@click.option("--day-count", type=click.Choice(DAY_COUNTS), default=None,
              help="Base de calcul ; défaut : terms.day_count.")
def schedule_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                     advance_id: str | None, principal: Decimal | None, rate: Decimal | None, start: dt.date | None,
                     months: int | None, end: dt.date | None,
                     repay_on: dt.date | None, method: str | None, day_count: str | None) -> None:
    """Échéancier de remboursement d'une avance du registre (--advance) ou pour des conditions données."""
    if advance_id is not None:
        if principal is not None:
            raise click.UsageError("--advance et --principal s'excluent : l'avance a déjà ses conditions")
        show_schedule(registered_schedule(ledgers_dir, advance_id), as_json)
        return
    if principal is None:
        raise click.UsageError("indiquez --principal (et les conditions) ou --advance ID")
    policy = policy_or_exit(rules_dir)
    terms = policy.terms
    rate = terms.rate if rate is None else rate
    too_high = check_rate(rate, terms.max_rate)  # the guard's rule, at the same place
    if too_high is not None:
        raise click.BadParameter(too_high.message, param_hint="--rate")
    start = start or (as_of or today()) + dt.timedelta(days=1)
    try:
        schedule = build_schedule(principal, rate=rate, start=start, method=method or terms.default_method,
                                  day_count=day_count or terms.day_count, months=months, end=end,
                                  repay_on=repay_on)
    except ScheduleError as exc:
        raise click.UsageError(str(exc)) from None
    show_schedule(schedule, as_json)
