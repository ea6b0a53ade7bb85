"""`banquasso statement`: the board's monthly PDF, and its e-mail to each member's board (`--send`).

Its own module so that the command imports neither the scheduler (APScheduler) nor the mail
delivery unless `--send` asks for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from banquasso.pool.capacity import WINDOWS
from banquasso.statement.data import Month, MonthError, StatementData, prepare
from banquasso.statement.paths import default_reports_dir, statement_path
from banquasso.statement.pdf import render_statement, write_atomically
from comptasso.books.group import Group, load_group
from comptasso.cli.util import as_of_option, books_options, dump_json, fail, json_option, progress, today
from comptasso.money import money_json

if TYPE_CHECKING:
    from banquasso.delivery.deliver import Delivery
    from banquasso.delivery.settings import MailSettings


# ---------------------------------------------------------------------------------------------- statement


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> Month:
    try:
        return Month.parse(value)
    except MonthError as exc:
        raise click.BadParameter(str(exc)) from None


def check_output(path: Path) -> str | None:
    """Why a PDF cannot be written at `path` (French), or None: it must not be a folder, nor lie under a file."""
    if path.is_dir():
        return f"« {path} » est un dossier : donnez un nom de fichier, par exemple {path / 'releve.pdf'}"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"impossible d'écrire « {path} » : « {parent} » est un fichier, pas un dossier"
    return None


def statement_json(data: StatementData, path: Path, content: bytes) -> dict[str, Any]:
    """What `banquasso statement --json` prints: the file written and the main numbers it shows."""
    forecast = data.forecast
    return {
        "month": data.month.iso, "books_date": data.books_date.isoformat(), "path": str(path),
        "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content),
        "pool": {
            "treasury": money_json(forecast.opening_balance),
            "capacity": {str(w): money_json(data.pool_capacity[w]) for w in WINDOWS},
            "outstanding": money_json(data.outstanding),
            "due_soon": [{"advance": d.advance.view.id, "n": d.line.n, "date": d.line.date.isoformat(),
                          "payment": money_json(d.line.payment), "planned": d.line.planned} for d in data.due_soon],
            "late": [{"advance": a.view.id, "since": a.late_since.isoformat() if a.late_since else None,
                      "outstanding": money_json(a.outstanding)} for a in data.late],
            "under_floor": list(data.under_floor),
        },
        "group": {"min_balance": money_json(forecast.min_balance), "min_date": forecast.min_date.isoformat(),
                  "probability_below_floor": str(data.risk.group.probability_below_floor)},
        "members": [
            {"id": page.id, "treasury": money_json(page.treasury),
             "floor": money_json(forecast.members[page.forecast_index].floor),
             "min_balance": money_json(forecast.members[page.forecast_index].min_balance),
             "min_date": forecast.members[page.forecast_index].min_date.isoformat(),
             "days_below_floor": forecast.members[page.forecast_index].days_below_floor,
             "lent_outstanding": money_json(page.lent_outstanding),
             "borrowed_outstanding": money_json(page.borrowed_outstanding), "alerts": list(page.alerts)}
            for page in data.members
        ],
        "annex": [{"lender": a.lender, "year_start": a.year_start.isoformat(), "granted": money_json(a.granted),
                   "outstanding": money_json(a.outstanding), "advances": [x.view.id for x in a.advances]}
                  for a in data.annex],
        "decisions": [{"advance": a.view.id, "lender": a.view.lender, "borrower": a.view.borrower,
                       "principal": money_json(a.view.principal), "disburse_on": a.view.disburse_on.isoformat(),
                       "repay_on": a.view.repay_on.isoformat(), "convention": a.view.convention,
                       "tranche_date": a.view.tranche_date.isoformat() if a.view.tranche_date else None}
                      for a in data.decisions],
        "accuracy": data.accuracy.to_json(),
    }


@click.command("statement")
@books_options
@as_of_option
@json_option
@click.option("--month", "month", required=True, callback=_month, metavar="AAAA-MM",
              help="Mois du relevé ; les livres sont lus à son dernier jour (ou à --as-of s'il est antérieur).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Fichier PDF à écrire (défaut : reports/AAAA-MM.pdf à côté du dossier des livres).")
@click.option("--send", is_flag=True,
              help="Envoyer aussi le relevé par courriel au conseil de chaque membre (rules/mail.toml), "
                   "une seule fois par mois et par adresse.")
@click.option("--resend", is_flag=True, help="Avec --send : renvoyer même aux adresses qui l'ont déjà reçu.")
def statement_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, month: Month,
                      output: Path | None, send: bool = False, resend: bool = False) -> None:
    """Le relevé mensuel du conseil, en PDF : trésorerie, prévision, avances, annexe des prêteurs."""
    path = output or statement_path(default_reports_dir(ledgers_dir), month)
    refused = check_output(path)
    if refused:
        raise click.BadParameter(refused, param_hint="'-o' / '--output'")
    if resend and not send:
        raise click.UsageError("--resend ne s'emploie qu'avec --send")
    mail = mail_settings_or_exit(ledgers_dir, rules_dir) if send else None
    try:
        data, problems = prepare(ledgers_dir, rules_dir, month, as_of or today(), progress=progress)
    except MonthError as exc:
        raise click.BadParameter(str(exc), param_hint="'--month'") from None
    if data is None:
        fail(problems)
    progress(f"Mise en page du relevé de {month.label}…")
    content = render_statement(data)
    try:
        write_atomically(path, content)
    except OSError as exc:
        raise click.BadParameter(f"impossible d'écrire « {path} » : {exc.strerror or exc}",
                                 param_hint="'-o' / '--output'") from None
    delivery = send_statement(ledgers_dir, mail, data, content, resend, as_of or today()) if mail else None
    if as_json:
        report = statement_json(data, path, content)
        if delivery is not None:
            report["delivery"] = delivery_json(delivery)
        dump_json(report)
    else:
        click.echo(str(path))
        if delivery is not None:
            echo_delivery(delivery)
    if delivery is not None and delivery.problems:
        fail(delivery.problems)


def mail_settings_or_exit(ledgers_dir: Path, rules_dir: Path) -> tuple[MailSettings, Group]:
    """The SMTP settings and the group's addresses, checked before anything is written (exit 1 otherwise)."""
    from banquasso.delivery.settings import load_mail_settings

    settings, problems = load_mail_settings(rules_dir)
    group, more = load_group(ledgers_dir)
    if settings is None or group is None:
        fail(problems + more)
    return settings, group


def send_statement(ledgers_dir: Path, mail: tuple[MailSettings, Group], data: StatementData, content: bytes,
                   resend: bool, written_on: dt.date) -> Delivery:
    """E-mail the statement to every board address not reached yet for its month."""
    from banquasso.delivery.deliver import deliver_statement
    from banquasso.registry.db import open_registry

    settings, group = mail
    registry = open_registry(ledgers_dir)
    try:
        progress(f"Envoi du relevé de {data.month.label} au conseil de chaque membre…")
        return deliver_statement(registry, settings, group, month_iso=data.month.iso, month_label=data.month.label,
                                 pdf=content, written_on=written_on, resend=resend)
    finally:
        registry.close()


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """The `delivery` part of `statement --send --json`."""
    return {"sent": list(delivery.sent), "skipped": list(delivery.skipped),
            "failed": [{"recipient": p.subject, "message": p.message, "code": p.code} for p in delivery.problems]}


def echo_delivery(delivery: Delivery) -> None:
    """One line per address reached or skipped, then the summary."""
    for address in delivery.sent:
        click.echo(f"envoyé à {address}")
    for address in delivery.skipped:
        click.echo(f"déjà envoyé à {address} (--resend pour renvoyer)")
    click.echo(f"Courriels : {delivery.summary}")


# ---------------------------------------------------------------------------------------------- scheduler
