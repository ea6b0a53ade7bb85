"""The board's running commands: `scheduler` (the daily and monthly jobs), `jobs`, `accuracy`."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member, member_filter_option
from banquasso.forecast.daily import books_start
from banquasso.registry.db import open_registry
from banquasso.registry.location import registry_exists
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
    stored_next_runs,
)
from banquasso.watch.accuracy import BUCKETS, Accuracy, AccuracyReport, accuracy
from banquasso.watch.monitoring import last_runs, load_snapshots
from comptasso import clock
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
from comptasso.money import fr_date, fr_money


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
