"""The scheduler's jobs, driven with explicit dates, and its APScheduler setup, checked with a fixed `now`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from click.testing import CliRunner
from pypdf import PdfReader

from banquasso.commands.main import main
from banquasso.registry.db import Registry, open_registry
from banquasso.scheduler.jobs import (
    DAILY,
    DAILY_GRACE_SECONDS,
    EXCLUDED_LEDGER,
    MONTHLY,
    JobContext,
    build_scheduler,
    daily_job,
    monthly_job,
    next_runs,
)
from banquasso.watch.monitoring import BELOW_FLOOR, LATE_LINE, count_rows, last_runs, load_alerts, load_snapshots
from tests.test_statement import lending_group

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def group(tmp_path: Path) -> Iterator[tuple[JobContext, list[str]]]:
    ledgers, rules = lending_group(tmp_path)
    registry = open_registry(ledgers)
    log: list[str] = []
    yield JobContext(ledgers, rules, tmp_path / "reports", registry, log=log.append), log
    registry.close()


def test_daily_run_stores_one_snapshot_per_member_and_a_second_run_nothing(group: tuple[JobContext, list[str]]) -> None:
    ctx, log = group
    day = dt.date(2026, 4, 20)
    first = daily_job(ctx, day)
    assert first.status == "ok", first.message
    counts = count_rows(ctx.registry)
    assert counts == {"snapshots": 2, "alerts": 1, "runs": 1}
    snapshots = load_snapshots(ctx.registry)
    assert [(s.taken_on, s.member) for s in snapshots] == [(day, "alpha"), (day, "beta")]
    beta = snapshots[1]
    assert len(beta.days) == 91 and beta.days[0] == (dt.date(2026, 4, 21), beta.days[0][1])
    assert str(beta.days[0][1]) == "4000.00" and str(beta.min_balance) == "1000.00"
    [alert] = load_alerts(ctx.registry, day)
    assert (alert.kind, alert.member, alert.reference) == (BELOW_FLOOR, "beta", "2026-04-21")
    assert any("ALERTE" in line and "Beta" in line for line in log)

    second = daily_job(ctx, day)
    assert second.status == "skipped" and "déjà exécuté" in second.message
    assert count_rows(ctx.registry) == counts
    assert daily_job(ctx, day + dt.timedelta(days=1)).status == "ok"
    assert count_rows(ctx.registry)["snapshots"] == 4


def test_daily_marks_late_advance_lines(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    day = dt.date(2026, 5, 20)  # the bullet line fell due on 15/05 and nothing came back
    assert daily_job(ctx, day).status == "ok"
    late = [a for a in load_alerts(ctx.registry, day) if a.kind == LATE_LINE]
    assert [(a.member, a.reference, a.due_on, str(a.amount)) for a in late] == [
        ("beta", "BQA-2026-0001#1", dt.date(2026, 5, 15), "3000.00")]
    assert "en retard" in late[0].message
    before = load_alerts(ctx.registry, dt.date(2026, 5, 14))
    assert before == []


def test_a_failed_run_is_recorded_and_retried(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    files = [ctx.ledgers_dir / m / "main.beancount" for m in ("alpha", "beta")]
    good = [f.read_text(encoding="utf-8") for f in files]
    for file, text in zip(files, good, strict=True):  # every member broken: nothing is left to forecast
        file.write_text(text + '\n2026-02-01 * "Cassé"\n  Assets:Inconnu 5 EUR\n', encoding="utf-8")
    day = dt.date(2026, 4, 20)
    failed = daily_job(ctx, day)
    assert failed.status == "failed" and "main.beancount" in failed.message
    assert count_rows(ctx.registry) == {"snapshots": 0, "alerts": 0, "runs": 1}
    assert last_runs(ctx.registry)[DAILY].status == "failed"
    for file, text in zip(files, good, strict=True):
        file.write_text(text, encoding="utf-8")
    assert daily_job(ctx, day).status == "ok"
    assert count_rows(ctx.registry) == {"snapshots": 2, "alerts": 1, "runs": 1}


def test_a_broken_member_is_left_out_and_the_bookkeeper_alerted(group: tuple[JobContext, list[str]]) -> None:
    ctx, log = group
    main_file = ctx.ledgers_dir / "alpha" / "main.beancount"
    good = main_file.read_text(encoding="utf-8")
    main_file.write_text(good + '\n2026-02-01 * "Typo"\n  Assets:512-Banque  12,50 EUR\n', encoding="utf-8")
    broken_line = len(good.splitlines()) + 3
    day = dt.date(2026, 4, 20)
    outcome = daily_job(ctx, day)
    assert outcome.status == "ok", outcome.message
    assert "1 membre(s) exclu(s)" in outcome.message and "alpha" in outcome.message
    assert [s.member for s in load_snapshots(ctx.registry)] == ["beta"]  # the other member still forecast
    alerts = {a.kind: a for a in load_alerts(ctx.registry, day)}
    assert set(alerts) == {EXCLUDED_LEDGER, BELOW_FLOOR}  # beta's own alert still comes out
    excluded = alerts[EXCLUDED_LEDGER]
    assert (excluded.member, excluded.reference) == ("alpha", f"main.beancount:{broken_line}")
    assert f"main.beancount:{broken_line}" in excluded.message and "montant mal écrit « 12,50 »" in excluded.message
    assert any("ALERTE" in line and "exclu" in line for line in log)
    assert last_runs(ctx.registry)[DAILY].message == outcome.message


def test_scheduler_run_with_a_broken_member_exits_0_and_says_so(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    main_file = ctx.ledgers_dir / "beta" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + '\n2026-02-01 open Assets:bank\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["scheduler", "--ledgers", str(ctx.ledgers_dir), "--rules", str(ctx.rules_dir),
                                       "--run", "daily", "--as-of", "2026-04-20"])
    assert result.exit_code == 0, result.output
    assert "beta" in result.output and "exclu" in result.output and "1 prévision(s)" in result.output


def test_monthly_job_writes_the_previous_month_once(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    outcome = monthly_job(ctx, dt.date(2026, 4, 1))
    assert outcome.status == "ok", outcome.message
    path = ctx.reports_dir / "2026-03.pdf"
    assert outcome.path == path and path.exists()
    text = " ".join(page.extract_text() for page in PdfReader(str(path)).pages)
    assert "mars 2026" in text and "Livres arrêtés au 31/03/2026" in text
    content = path.read_bytes()
    again = monthly_job(ctx, dt.date(2026, 4, 2))  # a catch-up the next day: same month, nothing rewritten
    assert again.status == "skipped"
    assert path.read_bytes() == content and sorted(p.name for p in ctx.reports_dir.iterdir()) == ["2026-03.pdf"]
    assert monthly_job(ctx, dt.date(2026, 5, 1)).path == ctx.reports_dir / "2026-04.pdf"


def test_monthly_job_without_books_for_the_month_fails_cleanly(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    outcome = monthly_job(ctx, dt.date(2026, 1, 1))  # December 2025: the books start in 2026
    assert outcome.status == "failed" and "aucun livre pour 2025-12" in outcome.message
    assert not ctx.reports_dir.exists() or list(ctx.reports_dir.iterdir()) == []


# ------------------------------------------------------------------------------------------- APScheduler


def test_triggers_in_paris_time() -> None:
    now = dt.datetime(2026, 11, 30, 7, 0, tzinfo=PARIS)
    runs = next_runs(now)
    assert runs[DAILY] == dt.datetime(2026, 12, 1, 6, 30, tzinfo=PARIS)
    assert runs[MONTHLY] == dt.datetime(2026, 12, 1, 7, 0, tzinfo=PARIS)
    assert runs[DAILY].utcoffset() == dt.timedelta(hours=1)
    summer = next_runs(dt.datetime(2026, 3, 28, 12, 0, tzinfo=PARIS))  # clocks go forward on 29/03
    assert summer[DAILY] == dt.datetime(2026, 3, 29, 6, 30, tzinfo=PARIS)
    assert summer[DAILY].utcoffset() == dt.timedelta(hours=2)
    assert summer[MONTHLY] == dt.datetime(2026, 4, 1, 7, 0, tzinfo=PARIS)
    assert next_runs(dt.datetime(2026, 12, 1, 6, 0, tzinfo=PARIS))[DAILY].date() == dt.date(2026, 12, 1)


class RecordingExecutor(BaseExecutor):  # type: ignore[misc]  # APScheduler ships no types
    """Runs nothing: records the run times APScheduler submits for each job."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[tuple[str, list[dt.datetime]]] = []

    def _do_submit_job(self, job, run_times):  # type: ignore[no-untyped-def]
        self.submitted.append((job.id, list(run_times)))
        self._run_job_success(job.id, [])


def _missed_week(registry: Registry, ctx: JobContext, coalesce: bool) -> RecordingExecutor:
    executor = RecordingExecutor()
    scheduler = build_scheduler(ctx.ledgers_dir, ctx.rules_dir, ctx.reports_dir, registry,
                                scheduler_class=BlockingScheduler, jobstore=MemoryJobStore(), executor=executor)
    week_ago = dt.datetime.now(PARIS).replace(hour=6, minute=30, second=0, microsecond=0) - dt.timedelta(days=7)
    scheduler.modify_job(DAILY, next_run_time=week_ago, coalesce=coalesce)

    def stop(event: JobSubmissionEvent) -> None:
        scheduler.shutdown(wait=False)

    scheduler.add_listener(stop, EVENT_JOB_SUBMITTED)
    scheduler.start()  # processes the due jobs once, then the listener stops it: no sleeping
    return executor


def test_a_missed_week_coalesces_into_one_run(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    executor = _missed_week(ctx.registry, ctx, coalesce=True)
    assert [job for job, _ in executor.submitted] == [DAILY]
    [(_, run_times)] = executor.submitted
    assert len(run_times) == 1
    late_by = dt.datetime.now(PARIS) - run_times[0]
    assert dt.timedelta(0) <= late_by <= dt.timedelta(seconds=DAILY_GRACE_SECONDS)  # within grace: it does run
    uncoalesced = _missed_week(ctx.registry, ctx, coalesce=False)
    assert len(uncoalesced.submitted[0][1]) in (7, 8)  # what coalescing saves


def test_jobs_are_stored_in_the_registry_and_listed(group: tuple[JobContext, list[str]]) -> None:
    ctx, _ = group
    assert daily_job(ctx, dt.date(2026, 4, 20)).status == "ok"
    scheduler = build_scheduler(ctx.ledgers_dir, ctx.rules_dir, ctx.reports_dir, ctx.registry,
                                scheduler_class=BackgroundScheduler)
    scheduler.start(paused=True)  # persists the jobs into the registry's job store; runs nothing
    for job in scheduler.get_jobs():
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time > 0
        assert str(job.trigger.timezone) == "Europe/Paris"
    scheduler.shutdown(wait=False)
    result = CliRunner().invoke(main, ["jobs", "--ledgers", str(ctx.ledgers_dir), "--rules", str(ctx.rules_dir),
                                       "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    jobs = {j["id"]: j for j in doc["jobs"]}
    assert jobs[DAILY]["scheduled"] is True and jobs[MONTHLY]["scheduled"] is True
    assert jobs[DAILY]["next_run"].endswith(("T06:30:00+01:00", "T06:30:00+02:00"))
    assert jobs[DAILY]["last_run"]["status"] == "ok" and jobs[DAILY]["last_run"]["run_for"] == "2026-04-20"
    assert jobs[MONTHLY]["last_run"] is None
    text = CliRunner().invoke(main, ["jobs", "--ledgers", str(ctx.ledgers_dir), "--rules", str(ctx.rules_dir)])
    assert "Dernier résultat (20/04/2026) : réussi" in text.output and "jamais exécuté" in text.output


def test_scheduler_run_once_from_the_command_line(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    args = ["scheduler", "--ledgers", str(ledgers), "--rules", str(rules), "--run", "daily", "--as-of", "2026-04-20"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "2 prévision(s) enregistrée(s), 1 alerte(s)" in first.stdout
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0 and "déjà exécuté" in second.stdout
    monthly = CliRunner().invoke(main, ["scheduler", "--ledgers", str(ledgers), "--rules", str(rules),
                                        "--run", "monthly", "--as-of", "2026-04-01"])
    assert monthly.exit_code == 0, monthly.output
    assert (tmp_path / "reports" / "2026-03.pdf").exists()
    bad = CliRunner().invoke(main, ["scheduler", "--ledgers", str(ledgers), "--rules", str(rules),
                                    "--daily-at", "25:00"])
    assert bad.exit_code == 2 and "heure invalide" in bad.output
