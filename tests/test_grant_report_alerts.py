"""The morning job warns about comptes rendus financiers due within 60 days, and late ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from banquasso.registry.db import open_registry
from banquasso.scheduler.jobs import JobContext, daily_job
from banquasso.watch.grant_reports import REPORT_ALERT
from banquasso.watch.monitoring import load_alerts
from tests.conftest import write_group
from tests.test_grant_files import LEDGER, SENT


def _alerts(tmp_path: Path, ledger: str, day: dt.date) -> dict[str, str]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": ledger})
    registry = open_registry(ledgers)
    try:
        outcome = daily_job(JobContext(ledgers, rules, tmp_path / "reports", registry, log=lambda _: None), day)
        assert outcome.status == "ok", outcome.message
        return {a.reference: a.message for a in load_alerts(registry, day) if a.kind == REPORT_ALERT}
    finally:
        registry.close()


def test_due_and_late_reports_are_alerted(tmp_path: Path) -> None:
    alerts = _alerts(tmp_path, LEDGER, dt.date(2027, 5, 15))
    assert set(alerts) == {"CR-1", "OLD-1"}
    assert "CR-1 à remettre au plus tard le 30/06/2027" in alerts["CR-1"]
    assert "OLD-1 en retard depuis le 30/06/2026" in alerts["OLD-1"]


def test_no_alert_before_the_60_days_nor_once_sent(tmp_path: Path) -> None:
    assert set(_alerts(tmp_path / "a", LEDGER, dt.date(2027, 4, 30))) == {"OLD-1"}
    assert set(_alerts(tmp_path / "b", LEDGER + SENT, dt.date(2027, 7, 1))) == {"OLD-1"}
