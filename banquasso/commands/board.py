"""The board's commands: `statement` (monthly PDF), `scheduler` (daily and monthly jobs), `jobs`, `accuracy`."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member, member_filter_option
from banquasso.delivery.deliver import Delivery, deliver_statement
from banquasso.delivery.settings import MailSettings, load_mail_settings
from banquasso.forecast.daily import books_start
from banquasso.pool.capacity import WINDOWS
from banquasso.registry.db import open_registry
from banquasso.scheduler.jobs import (
    DAILY,
    JOBS,
    LABELS,
    MONTHLY,
    OK,
    SKIPPED,
    JobContext,
    SchedulerBusyError,
    Times,
    build_scheduler,
    default_reports_dir,
    next_runs,
    scheduler_lock,
    statement_path,
    stored_next_runs,
)
from banquasso.statement.data import Month, MonthError, StatementData, prepare, registry_exists
from banquasso.statement.pdf import render_statement, write_atomically
from banquasso.watch.accuracy import BUCKETS, Accuracy, AccuracyReport, accuracy
from banquasso.watch.monitoring import last_runs, load_snapshots
from comptasso import clock
from comptasso.books.group import Group, load_group
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    fail,
    json_option,
    load_usable,
    progress,
    shorten,
    today,
)
from comptasso.money import fr_date, fr_money, money_json

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
    settings, problems = load_mail_settings(rules_dir)
    group, more = load_group(ledgers_dir)
    if settings is None or group is None:
        fail(problems + more)
    return settings, group


def send_statement(ledgers_dir: Path, mail: tuple[MailSettings, Group], data: StatementData, content: bytes,
                   resend: bool, written_on: dt.date) -> Delivery:
    """E-mail the statement to every board address not reached yet for its month."""
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


def _hhmm(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return hour, minute
    except ValueError:
        pass
    raise click.BadParameter(f"heure invalide « {value} » (attendu HH:MM, par exemple 06:30)")


def _reports_option(func: Any) -> Any:
    return click.option("--reports", "reports_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Dossier des relevés mensuels (défaut : reports/ à côté du dossier des livres).")(func)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s : %(message)s")
    for noisy in ("apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def backfill_days(day: dt.date, days: int, step: int) -> list[dt.date]:
    """The mornings `--backfill` catches up before `day`, oldest first: `day - days`, then every `step` days."""
    return [day - dt.timedelta(days=k) for k in range(days, 0, -step)]


def _backfill(job_ctx: JobContext, days: list[dt.date]) -> bool:
    """Run the daily job as of each past day (a day already done is skipped); one line per day, False on failure.

    A morning's forecast reads only what is dated on or before its day, so a morning caught up later
    stores what the job would have stored that day (advances included, by their dates in the registry).
    """
    quiet = JobContext(job_ctx.ledgers_dir, job_ctx.rules_dir, job_ctx.reports_dir, job_ctx.registry,
                       log=lambda _message: None)
    for day in days:
        outcome = JOBS[DAILY](quiet, day)
        click.echo(f"{LABELS[DAILY]} du {fr_date(day)} (rattrapage) : {outcome.message}")
        if outcome.status not in (OK, SKIPPED):
            return False
    return True


@click.command("scheduler")
@books_options
@as_of_option
@_reports_option
@click.option("--run", "run_job", type=click.Choice([DAILY, MONTHLY]), default=None,
              help="Exécuter ce travail une fois pour --as-of (défaut : aujourd'hui dans le fuseau du groupe), "
                   "puis s'arrêter.")
@click.option("--daily-at", callback=_hhmm, default="06:30", show_default=True,
              help="Heure du travail quotidien (fuseau du groupe, Europe/Paris par défaut).")
@click.option("--monthly-at", callback=_hhmm, default="07:00", show_default=True,
              help="Heure du relevé mensuel, le 1er du mois (fuseau du groupe).")
@click.option("--with-fava", is_flag=True, help="Ouvrir aussi Fava (comme `comptasso serve`) dans le même processus.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port de Fava avec --with-fava.")
@click.option("--backfill", type=click.IntRange(1, 366), default=None, metavar="JOURS",
              help="Avec --run daily : rattraper d'abord les matins des JOURS jours précédant --as-of, chacun avec "
                   "les livres tels qu'ils étaient ce jour-là.")
@click.option("--backfill-step", type=click.IntRange(1, 31), default=1, show_default=True, metavar="JOURS",
              help="Avec --backfill : un matin rattrapé tous les JOURS jours.")
@click.pass_context
def scheduler_command(ctx: click.Context, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None,
                      reports_dir: Path | None, run_job: str | None, daily_at: tuple[int, int],
                      monthly_at: tuple[int, int], with_fava: bool, port: int, backfill: int | None,
                      backfill_step: int) -> None:
    """Le planificateur : prévision et alertes chaque matin, relevé du mois écoulé le 1er (fuseau du groupe)."""
    if backfill is not None and run_job != DAILY:
        raise click.UsageError("--backfill ne s'emploie qu'avec --run daily")
    load_usable(ledgers_dir, rules_dir, quiet=True)
    reports = reports_dir or default_reports_dir(ledgers_dir)
    registry = open_registry(ledgers_dir)
    if run_job is not None:
        def report(message: str) -> None:
            """What the job says (alerts, its summary) is the command's output."""
            click.echo(message)

        try:
            job_ctx = JobContext(Path(ledgers_dir), Path(rules_dir), reports, registry, log=report)
            day = as_of or today()
            if backfill is not None and not _backfill(job_ctx, backfill_days(day, backfill, backfill_step)):
                sys.exit(1)
            outcome = JOBS[run_job](job_ctx, day)
        finally:
            registry.close()
        if outcome.status == SKIPPED:  # a run that did something, or failed, has already said so
            click.echo(f"{LABELS[run_job]} ({fr_date(outcome.run_for)}) : {outcome.message}")
        sys.exit(0 if outcome.status in (OK, SKIPPED) else 1)
    _setup_logging()
    try:
        lock = scheduler_lock(ledgers_dir)
    except SchedulerBusyError as busy:
        registry.close()
        fail([str(busy)])
    try:
        _run_scheduler(ctx, ledgers_dir, rules_dir, reports, registry, Times(daily_at, monthly_at), with_fava, port)
    finally:
        lock.release()
        registry.close()


def _run_scheduler(ctx: click.Context, ledgers_dir: Path, rules_dir: Path, reports: Path, registry: Any,
                   times: Times, with_fava: bool, port: int) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    kind = BackgroundScheduler if with_fava else BlockingScheduler
    scheduler = build_scheduler(ledgers_dir, rules_dir, reports, registry, times=times, scheduler_class=kind)
    for job, when in next_runs(clock.now(), times).items():
        progress(f"{LABELS[job]} : prochaine exécution le {when.strftime('%d/%m/%Y à %H:%M')} ({clock.zone_label()})")
    progress(f"Relevés mensuels dans {reports} ; registre {registry.label} (Ctrl+C pour arrêter)")
    try:
        if with_fava:
            from comptasso.web.serve import serve_command

            scheduler.start()
            ctx.invoke(serve_command, ledgers_dir=ledgers_dir, rules_dir=rules_dir, port=port, host="127.0.0.1",
                       read_only=False)
        else:
            scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        progress("Planificateur arrêté.")


# --------------------------------------------------------------------------------------------------- jobs


def _at(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(clock.group_timezone()).isoformat()


@click.command("jobs")
@books_options
@as_of_option
@json_option
def jobs_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Les travaux planifiés : prochaine exécution et dernier résultat de chacun."""
    zone = clock.group_timezone()
    now = clock.now() if as_of is None else dt.datetime.combine(as_of, dt.time(0), zone)
    planned = next_runs(now)
    stored: dict[str, dt.datetime | None] = {}
    last: dict[str, Any] = {}
    if registry_exists(ledgers_dir):
        registry = open_registry(ledgers_dir)
        try:
            stored = stored_next_runs(registry)
            last = last_runs(registry)
        finally:
            registry.close()
    rows: list[dict[str, Any]] = []
    for job in (DAILY, MONTHLY):
        run = last.get(job)
        next_run = stored.get(job, planned[job]) if job in stored else planned[job]
        rows.append({
            "id": job, "label": LABELS[job], "scheduled": job in stored, "next_run": _at(next_run),
            "last_run": None if run is None else {
                "run_for": run.run_for.isoformat(), "status": run.status, "message": run.message,
                "finished_at": _at(run.finished_at)},
        })
    if as_json:
        dump_json({"time_zone": zone.key, "jobs": rows})
        return
    for row in rows:
        when = dt.datetime.fromisoformat(row["next_run"]).strftime("%d/%m/%Y %H:%M") if row["next_run"] else "—"
        origin = "" if row["scheduled"] else " (planificateur jamais démarré : heure par défaut)"
        click.echo(f"{row['label']} ({row['id']})")
        click.echo(f"  Prochaine exécution : {when} {clock.zone_label()}{origin}")
        if row["last_run"] is None:
            click.echo("  Dernier résultat : jamais exécuté")
        else:
            status = {"ok": "réussi", "failed": "ÉCHEC"}.get(row["last_run"]["status"], row["last_run"]["status"])
            click.echo(f"  Dernier résultat ({fr_date(dt.date.fromisoformat(row['last_run']['run_for']))}) : "
                       f"{status} — {row['last_run']['message']}")


# ----------------------------------------------------------------------------------------------- accuracy


def accuracy_text(report: AccuracyReport, names: dict[str, str]) -> str:
    """The French table of `banquasso accuracy`."""
    lines = [f"Fiabilité des prévisions enregistrées, comparées aux livres du {fr_date(report.as_of)}"]
    if report.empty:
        lines.append("Aucune prévision enregistrée avant cette date : lancez `banquasso scheduler`, qui en garde "
                     "une chaque matin.")
        return "\n".join(lines)
    heads = "".join(f"{'Écart ' + label + ' j':>16}" for label, _, _ in BUCKETS)
    lines += ["", f"{'Membre':<36}{'Prévisions':>11}{'Jours':>8}{heads}{'Biais':>16}"]

    def row(title: str, item: Accuracy) -> str:
        cells = "".join(f"{fr_money(v) if v is not None else '—':>16}" for v in item.buckets.values())
        bias = fr_money(item.bias) if item.bias is not None else "—"
        return f"{title:<36}{item.snapshots:>11}{item.days_compared:>8}{cells}{bias:>16}"

    lines += [row(shorten(names.get(m.member, m.member), 36), m) for m in report.members]
    lines.append(row("Groupe", report.group))
    lines += ["", ("Écart : moyenne de |prévu − réel| selon l'éloignement du jour prévu ; "
                   "biais : moyenne de prévu − réel (positif : trop optimiste).")]
    return "\n".join(lines)


@click.command("accuracy")
@books_options
@as_of_option
@json_option
@member_filter_option
def accuracy_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                     member: str | None) -> None:
    """Comparer les prévisions enregistrées chaque matin avec la trésorerie réellement constatée."""
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json)
    check_member(member, books.group.ids)
    day = as_of or today()
    start = books_start(books)
    if start is not None and day < start:
        raise click.BadParameter(f"les livres commencent le {fr_date(start)} : aucune donnée au "
                                 f"{fr_date(day)}", param_hint="'--as-of'")
    snapshots = []
    if registry_exists(ledgers_dir):
        registry = open_registry(ledgers_dir)
        try:
            snapshots = load_snapshots(registry, day)
        finally:
            registry.close()
    shown = [member] if member else list(books.group.ids)
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    report = accuracy(snapshots, entries, day, shown)
    if as_json:
        dump_json(report.to_json())
    else:
        click.echo(accuracy_text(report, {m.id: m.name for m in books.members}))
