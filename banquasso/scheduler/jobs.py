"""The scheduler's jobs (daily forecast snapshot and alerts, monthly statement) and their APScheduler setup.

The jobs are plain functions of a context and a date, idempotent through the unique (job, date)
key of the `job_run` table: run twice for the same date, the second run stores nothing. APScheduler
only calls them, at fixed times in the group's time zone (Europe/Paris unless `$COMPTASSO_TZ` says
otherwise, see comptasso.clock), coalescing missed runs into one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from filelock import FileLock, Timeout
from sqlalchemy.exc import IntegrityError

from banquasso.delivery.deliver import Delivery, deliver_alerts, deliver_statement
from banquasso.delivery.settings import MAIL_MISSING, MailSettings, load_mail_settings
from banquasso.forecast.advance_flows import advance_flows
from banquasso.forecast.daily import DEFAULT_HORIZON, GroupForecast, forecast_outlook, read_group, readable
from banquasso.registry.db import Registry, open_registry, var_dir
from banquasso.registry.service import load_views
from banquasso.statement.data import Month, MonthError, prepare
from banquasso.statement.paths import default_reports_dir, statement_path
from banquasso.statement.pdf import render_statement, write_atomically
from banquasso.terms.policy import load_policy
from banquasso.watch.at_risk import at_risk_alerts
from banquasso.watch.grant_reports import report_alerts
from banquasso.watch.monitoring import (
    Alert,
    JobRun,
    advances_on,
    alert_row,
    find_run,
    floor_alerts,
    late_alerts,
    load_alerts,
    snapshot_rows,
)
from comptasso import clock
from comptasso.books.facade import Exclusion, open_books
from comptasso.books.group import Group, load_group
from comptasso.money import fr_date
from comptasso.problems import Problem

DAILY, MONTHLY = "daily", "monthly"
LABELS = {DAILY: "Prévision et alertes du matin", MONTHLY: "Relevé mensuel du conseil"}
#: A daily run may start up to 23 hours late (after that, the next day's run is due anyway).
DAILY_GRACE_SECONDS = 23 * 3600
#: The monthly statement may be written up to 27 days late (a machine off on the 1st catches up).
MONTHLY_GRACE_SECONDS = 27 * 24 * 3600
OK, SKIPPED, FAILED = "ok", "skipped", "failed"
#: The alert kind (in `alert.kind`) telling the bookkeeper that a member was left out of the morning's run.
EXCLUDED_LEDGER = "livre-exclu"

logger = logging.getLogger("banquasso.scheduler.jobs")


def _log(message: str) -> None:
    logger.info(message)


@dataclass(frozen=True)
class JobContext:
    """Where a job reads the books and writes its results."""

    ledgers_dir: Path
    rules_dir: Path
    reports_dir: Path
    registry: Registry
    log: Callable[[str], None] = _log


@dataclass(frozen=True)
class JobOutcome:
    """What a run did: `ok`, `skipped` (already done for that key) or `failed`, with a French message."""

    job: str
    run_for: dt.date
    status: str
    message: str
    path: Path | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ------------------------------------------------------------------------------------------ bookkeeping


class SchedulerBusyError(RuntimeError):
    """Another scheduler already runs for these books."""


def scheduler_lock(ledgers_dir: Path) -> FileLock:
    """The lock that keeps one scheduler per group of books, acquired; SchedulerBusyError if another holds it."""
    path = var_dir(ledgers_dir) / "locks" / "scheduler.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise SchedulerBusyError(f"{path}: un autre planificateur tourne déjà pour ces livres") from None
    return lock


def already_done(registry: Registry, job: str, key: dt.date) -> bool:
    """Whether `job` already succeeded for `key`."""
    with registry.session() as session:
        run = find_run(session, job, key)
        return run is not None and run.status == OK


def _commit(registry: Registry, job: str, key: dt.date, started: dt.datetime, status: str, message: str,
            rows: Sequence[object] = ()) -> bool:
    """Record the run with its rows in one transaction; False when a successful run got there first."""
    try:
        with registry.session() as session, session.begin():
            run = find_run(session, job, key)
            if run is not None and run.status == OK:
                return False
            if run is None:
                run = JobRun(job=job, run_for=key, status=status, started_at=started, message=message)
                session.add(run)
            run.status, run.started_at, run.finished_at, run.message = status, started, _now(), message
            session.add_all(list(rows))
        return True
    except IntegrityError:
        return False


def _fail(ctx: JobContext, job: str, key: dt.date, started: dt.datetime, message: str) -> JobOutcome:
    _commit(ctx.registry, job, key, started, FAILED, message)
    ctx.log(f"{LABELS[job]} du {fr_date(key)} : échec — {message}")
    return JobOutcome(job, key, FAILED, message)


def _problems_text(problems: Sequence[Problem], limit: int = 5) -> str:
    shown = "; ".join(str(p) for p in problems[:limit])
    more = f" (et {len(problems) - limit} autre(s))" if len(problems) > limit else ""
    return f"livres ou règles invalides : {shown}{more}"


# -------------------------------------------------------------------------------------------- daily


@dataclass(frozen=True)
class Watch:
    """What the morning's watch found: the forecast (None when it could not be made), alerts, problems.

    `excluded` names the members left out because their ledger is broken; each one also has an alert.
    """

    forecast: GroupForecast | None
    alerts: list[Alert]
    problems: list[Problem]
    excluded: tuple[Exclusion, ...] = ()


def exclusion_alert(exclusion: Exclusion, today: dt.date) -> Alert:
    """The bookkeeper's alert about a member whose ledger is broken: it names the member and file:line."""
    first = exclusion.problems[0]
    return Alert(today, EXCLUDED_LEDGER, exclusion.member_id, f"{Path(first.file).name}:{first.line}", None, None,
                 f"{exclusion.name} ({exclusion.member_id}) exclu de la prévision du {fr_date(today)} : son livre "
                 f"a des erreurs — {first}")


def daily_watch(ctx: JobContext, today: dt.date) -> Watch:
    """The forecast of the books as of `today` (with the registry's advances) and the alerts it raises.

    A member whose ledger is broken is left out; the others are forecast and alerted as usual.
    """
    opened, problems = open_books(ctx.ledgers_dir, ctx.rules_dir)
    if opened is None or any(p.is_error for p in opened.problems):
        return Watch(None, [], [p for p in problems if p.is_error] or problems)
    books = readable(opened.without_broken(), today)
    if not books.members:
        return Watch(None, [], [p for e in books.excluded for p in e.problems], books.excluded)
    policy, policy_problems = load_policy(ctx.rules_dir)
    if policy is None or any(p.is_error for p in policy_problems):
        return Watch(None, [], policy_problems, books.excluded)
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    views = [v for v in load_views(ctx.registry) if v.proposed_on <= today]
    flows = {m: f for m, f in advance_flows(views, entries, today).items() if m in books.group.ids}
    outlook, problems = read_group(books, today, DEFAULT_HORIZON, policy.floor, flows)
    if outlook is None:
        return Watch(None, [], problems, books.excluded)
    forecast = forecast_outlook(outlook)
    known = [v for v in views if v.borrower in books.group.ids]
    alerts = [exclusion_alert(e, today) for e in books.excluded]
    running = advances_on(known, entries, today)
    alerts += floor_alerts(forecast) + late_alerts(running) + at_risk_alerts(outlook, running)
    alerts += report_alerts(books, today)
    return Watch(forecast, alerts, [], books.excluded)


def daily_job(ctx: JobContext, today: dt.date) -> JobOutcome:
    """Store the morning's forecast snapshot and alerts (late advance lines, members soon under their floor).

    Idempotent: a second run for the same day stores nothing.
    """
    if already_done(ctx.registry, DAILY, today):
        return JobOutcome(DAILY, today, SKIPPED, f"déjà exécuté pour le {fr_date(today)} : rien à refaire"
                          + mail_alerts(ctx, today))
    started = _now()
    watch = daily_watch(ctx, today)
    forecast, alerts = watch.forecast, watch.alerts
    if forecast is None:
        return _fail(ctx, DAILY, today, started, _problems_text(watch.problems))
    message = f"{len(forecast.members)} prévision(s) enregistrée(s), {len(alerts)} alerte(s)"
    if watch.excluded:
        message += f" ; {len(watch.excluded)} membre(s) exclu(s), livre invalide : " + ", ".join(
            f"{e.member_id} ({e.problems[0]})" for e in watch.excluded)
    rows: list[object] = [*snapshot_rows(forecast), *(alert_row(a) for a in alerts)]
    if not _commit(ctx.registry, DAILY, today, started, OK, message, rows):
        return JobOutcome(DAILY, today, SKIPPED, f"déjà exécuté pour le {fr_date(today)} : rien à refaire")
    for alert in alerts:
        ctx.log(f"ALERTE {alert.message}")
    message += mail_alerts(ctx, today)
    ctx.log(f"{LABELS[DAILY]} du {fr_date(today)} : {message}")
    return JobOutcome(DAILY, today, OK, message)


# ------------------------------------------------------------------------------------------- monthly


def monthly_key(today: dt.date) -> dt.date:
    """The monthly job's key: the first day of the month it runs in (one statement per month)."""
    return today.replace(day=1)


def monthly_job(ctx: JobContext, today: dt.date) -> JobOutcome:
    """Write the previous month's statement to `reports/YYYY-MM.pdf` (atomically); once per month."""
    key = monthly_key(today)
    month = Month.of(today).previous()
    path = statement_path(ctx.reports_dir, month)
    if already_done(ctx.registry, MONTHLY, key):
        sent = mail_statement(ctx, month, path.read_bytes(), today) if path.is_file() else ""
        return JobOutcome(MONTHLY, key, SKIPPED,
                          f"relevé de {month.iso} déjà écrit ce mois-ci : rien à refaire{sent}", path)
    started = _now()
    try:
        data, problems = prepare(ctx.ledgers_dir, ctx.rules_dir, month, today, registry=ctx.registry)
    except MonthError as exc:
        return _fail(ctx, MONTHLY, key, started, str(exc))
    if data is None:
        return _fail(ctx, MONTHLY, key, started, _problems_text(problems))
    content = render_statement(data)
    try:
        write_atomically(path, content)
    except OSError as exc:
        return _fail(ctx, MONTHLY, key, started, f"impossible d'écrire {path} : {exc.strerror or exc}")
    message = f"relevé de {month.iso} écrit dans {path}"
    if not _commit(ctx.registry, MONTHLY, key, started, OK, message):
        return JobOutcome(MONTHLY, key, SKIPPED, f"relevé de {month.iso} déjà écrit ce mois-ci : rien à refaire", path)
    message += mail_statement(ctx, month, content, today)
    ctx.log(f"{LABELS[MONTHLY]} : {message}")
    return JobOutcome(MONTHLY, key, OK, message, path)


# ------------------------------------------------------------------------------------------- delivery


def mail_settings(ctx: JobContext) -> tuple[MailSettings, Group] | None:
    """The SMTP settings and the group's addresses; None (nothing is sent) while `rules/mail.toml` sets none.

    A broken `mail.toml` or group file is logged, and nothing is sent.
    """
    settings, problems = load_mail_settings(ctx.rules_dir)
    if settings is None and all(p.code == MAIL_MISSING for p in problems):
        return None  # delivery is not set up: not an error
    group, more = load_group(ctx.ledgers_dir)
    if settings is None or group is None:
        for problem in problems + more:
            ctx.log(f"COURRIEL {problem}")
        return None
    return settings, group


def _delivered(ctx: JobContext, what: str, delivery: Delivery) -> str:
    for problem in delivery.problems:
        ctx.log(f"COURRIEL {problem}")
    if not (delivery.sent or delivery.skipped or delivery.problems):
        return ""
    return f" ; courriels ({what}) : {delivery.summary}"


def mail_alerts(ctx: JobContext, today: dt.date) -> str:
    """E-mail the day's stored alerts to the treasurer and bookkeeper concerned, once; the message's tail."""
    mail = mail_settings(ctx)
    if mail is None:
        return ""
    alerts = load_alerts(ctx.registry, today)
    return _delivered(ctx, "alertes", deliver_alerts(ctx.registry, mail[0], mail[1], alerts, today))


def mail_statement(ctx: JobContext, month: Month, content: bytes, today: dt.date) -> str:
    """E-mail the month's statement to every member's board, once per address; the message's tail."""
    mail = mail_settings(ctx)
    if mail is None:
        return ""
    delivery = deliver_statement(ctx.registry, mail[0], mail[1], month_iso=month.iso, month_label=month.label,
                                 pdf=content, written_on=today)
    return _delivered(ctx, "relevé", delivery)


JOBS: dict[str, Callable[[JobContext, dt.date], JobOutcome]] = {DAILY: daily_job, MONTHLY: monthly_job}


# ------------------------------------------------------------------------------------------ APScheduler


@dataclass(frozen=True)
class Times:
    """When the jobs run, in the group's time zone (Europe/Paris by default).

    The daily job at hh:mm, the monthly job on the 1st at hh:mm.
    """

    daily: tuple[int, int] = (6, 30)
    monthly: tuple[int, int] = (7, 0)


def triggers(times: Times = Times()) -> dict[str, CronTrigger]:
    """The cron trigger of each job."""
    zone = clock.group_timezone()
    return {
        DAILY: CronTrigger(hour=times.daily[0], minute=times.daily[1], timezone=zone),
        MONTHLY: CronTrigger(day=1, hour=times.monthly[0], minute=times.monthly[1], timezone=zone),
    }


GRACE = {DAILY: DAILY_GRACE_SECONDS, MONTHLY: MONTHLY_GRACE_SECONDS}


def next_runs(now: dt.datetime, times: Times = Times()) -> dict[str, dt.datetime]:
    """The next fire time of each job after `now` (an aware datetime)."""
    out = {}
    for job, trigger in triggers(times).items():
        fire = trigger.get_next_fire_time(None, now)
        assert fire is not None  # a cron trigger without end date always fires again
        out[job] = fire
    return out


def run_scheduled(job: str, ledgers_dir: str, rules_dir: str, reports_dir: str) -> str:
    """What APScheduler calls (by reference, so the job store can persist it): run `job` for the group's today."""
    registry = open_registry(Path(ledgers_dir))
    try:
        ctx = JobContext(Path(ledgers_dir), Path(rules_dir), Path(reports_dir), registry)
        outcome = JOBS[job](ctx, clock.today())
        if outcome.status == SKIPPED:
            ctx.log(f"{LABELS[job]} : {outcome.message}")
        return outcome.status
    finally:
        registry.close()


def build_scheduler(
    ledgers_dir: Path,
    rules_dir: Path,
    reports_dir: Path,
    registry: Registry,
    *,
    times: Times = Times(),
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    jobstore: Any = None,
    executor: Any = None,
) -> BaseScheduler:
    """A scheduler whose jobs live in the registry's database (SQLAlchemyJobStore), in the group's time zone.

    Each job: coalesce missed runs into one, one instance at a time, a misfire grace time so that a
    machine switched off catches up once when it comes back.
    """
    scheduler = scheduler_class(
        timezone=clock.group_timezone(),
        jobstores={"default": jobstore if jobstore is not None else SQLAlchemyJobStore(engine=registry.engine)},
        executors={"default": executor if executor is not None else ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    args = [str(Path(ledgers_dir).resolve()), str(Path(rules_dir).resolve()), str(Path(reports_dir).resolve())]
    for job, trigger in triggers(times).items():
        scheduler.add_job(run_scheduled, trigger=trigger, args=[job, *args], id=job, name=LABELS[job],
                          replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=GRACE[job])
    return scheduler


def stored_next_runs(registry: Registry) -> dict[str, dt.datetime | None]:
    """The next run of each job as the job store holds it (empty when the scheduler never started)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=clock.group_timezone(),
                                    jobstores={"default": SQLAlchemyJobStore(engine=registry.engine)})
    scheduler.start(paused=True)
    try:
        return {job.id: job.next_run_time for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)


__all__ = [
    "DAILY",
    "EXCLUDED_LEDGER",
    "MONTHLY",
    "JobContext",
    "JobOutcome",
    "SchedulerBusyError",
    "Times",
    "Watch",
    "already_done",
    "build_scheduler",
    "daily_job",
    "daily_watch",
    "default_reports_dir",
    "exclusion_alert",
    "mail_alerts",
    "mail_statement",
    "monthly_job",
    "next_runs",
    "run_scheduled",
    "scheduler_lock",
    "statement_path",
    "stored_next_runs",
    "triggers",
]
