"""One "today" for every command, page and job: the group's time zone (Europe/Paris), never the machine's date.

The clock is fixed at 22:30 UTC on 1 December 2026 and the machine's zone set to Pacific/Kiritimati
(UTC+14), where it is already 2 December at 12:30: every default `--as-of` must still say 1 December,
the day in Paris (23:30 there).
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main as banquasso
from banquasso.scheduler import jobs
from comptasso import clock
from comptasso.cli import util
from comptasso.cli.main import main as comptasso
from tests.conftest import write_group
from tests.forecast_helpers import OPEN, opening
from tests.test_statement import lending_group

ROOT = Path(__file__).resolve().parent.parent
FIXED = dt.datetime(2026, 12, 1, 22, 30, tzinfo=dt.UTC)
PARIS_DAY, KIRITIMATI_DAY = dt.date(2026, 12, 1), dt.date(2026, 12, 2)


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """22:30 UTC on 01/12/2026, on a machine set to Pacific/Kiritimati."""
    monkeypatch.setattr(clock, "utc_now", lambda: FIXED)
    monkeypatch.delenv(clock.TZ_ENV, raising=False)
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_machine_zone_would_give_another_day(fixed_clock: None) -> None:
    """The premise: at that moment the machine's local date is already the next day."""
    local = time.localtime(FIXED.timestamp())
    assert (local.tm_year, local.tm_mon, local.tm_mday) == (2026, 12, 2)


def test_today_is_the_day_in_paris(fixed_clock: None) -> None:
    assert clock.today() == util.today() == PARIS_DAY
    assert clock.now().isoformat() == "2026-12-01T23:30:00+01:00"
    assert clock.zone_label() == "heure de Paris"


def test_the_setting_moves_the_group_day(fixed_clock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.TZ_ENV, "Pacific/Kiritimati")
    assert clock.today() == util.today() == KIRITIMATI_DAY
    assert clock.zone_label() == "heure Pacific/Kiritimati"
    monkeypatch.setenv(clock.TZ_ENV, "America/Cayenne")  # UTC-3: still 1 December
    assert clock.today() == PARIS_DAY


def test_summer_time_is_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.TZ_ENV, raising=False)
    assert clock.today(dt.datetime(2026, 7, 14, 21, 59, tzinfo=dt.UTC)) == dt.date(2026, 7, 14)
    assert clock.today(dt.datetime(2026, 7, 14, 22, 0, tzinfo=dt.UTC)) == dt.date(2026, 7, 15)  # UTC+2
    assert clock.today(dt.datetime(2026, 1, 14, 22, 59, tzinfo=dt.UTC)) == dt.date(2026, 1, 14)  # UTC+1
    assert clock.today(dt.datetime(2026, 1, 14, 23, 0, tzinfo=dt.UTC)) == dt.date(2026, 1, 15)


def _group(tmp_path: Path) -> tuple[Path, Path]:
    return write_group(tmp_path, {"alpha": OPEN + opening("1000.00", "2026-01-02")})


def test_a_command_without_as_of_reads_the_books_at_the_paris_day(fixed_clock: None, tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = CliRunner().invoke(banquasso, ["forecast", "--json", "--horizon", "3", "--ledgers", str(ledgers),
                                            "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["as_of"] == "2026-12-01"
    assert [d["date"] for d in doc["members"][0]["days"]] == ["2026-12-02", "2026-12-03", "2026-12-04"]
    capacity = CliRunner().invoke(banquasso, ["capacity", "--json", "--ledgers", str(ledgers), "--rules", str(rules)])
    assert capacity.exit_code == 0, capacity.output
    assert json.loads(capacity.stdout)["as_of"] == "2026-12-01"


def test_the_jobs_are_planned_in_the_group_zone(fixed_clock: None, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = _group(tmp_path)
    args = ["jobs", "--json", "--ledgers", str(ledgers), "--rules", str(rules)]
    doc = json.loads(CliRunner().invoke(banquasso, args).stdout)
    assert doc["time_zone"] == "Europe/Paris"
    assert {j["id"]: j["next_run"] for j in doc["jobs"]}["daily"] == "2026-12-02T06:30:00+01:00"
    monkeypatch.setenv(clock.TZ_ENV, "Pacific/Kiritimati")
    doc = json.loads(CliRunner().invoke(banquasso, args).stdout)
    assert doc["time_zone"] == "Pacific/Kiritimati"
    assert {j["id"]: j["next_run"] for j in doc["jobs"]}["daily"] == "2026-12-03T06:30:00+14:00"
    trigger = jobs.triggers()[jobs.DAILY]
    assert str(trigger.timezone) == "Pacific/Kiritimati"


def test_the_morning_job_runs_for_the_paris_day(fixed_clock: None, tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    result = CliRunner().invoke(banquasso, ["scheduler", "--run", "daily", "--ledgers", str(ledgers),
                                            "--rules", str(rules)])
    assert result.exit_code == 0, result.output
    assert "du 01/12/2026 :" in result.stdout and "02/12/2026" not in result.stdout.split("\n")[-2]


def test_an_unknown_zone_is_a_clear_error_that_changes_nothing(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = _group(tmp_path)
    before = {p: p.read_bytes() for p in sorted(ledgers.rglob("*")) if p.is_file()}
    monkeypatch.setenv(clock.TZ_ENV, "Europe/Gap")
    for command, args in ((banquasso, ["forecast"]), (comptasso, ["check"])):
        result = CliRunner().invoke(command, [*args, "--ledgers", str(ledgers), "--rules", str(rules),
                                              "--as-of", "2026-06-30"])
        assert result.exit_code == 1, result.output
        assert "COMPTASSO_TZ: COMPTASSO_TZ : fuseau horaire inconnu « Europe/Gap »" in result.stderr
    assert {p: p.read_bytes() for p in sorted(ledgers.rglob("*")) if p.is_file()} == before
    with pytest.raises(clock.ClockError) as raised:
        clock.today()
    assert raised.value.code == clock.TIMEZONE_UNKNOWN


def test_a_process_started_under_another_zone_uses_paris(tmp_path: Path) -> None:
    """The same in a fresh process whose TZ is Kiritimati from the start (the clock fixed before the command)."""
    ledgers, rules = _group(tmp_path)
    code = (
        "import datetime as dt, sys\n"
        "from comptasso import clock\n"
        f"clock.utc_now = lambda: dt.datetime.fromisoformat('{FIXED.isoformat()}')\n"
        "from banquasso.commands.main import main\n"
        f"main(['forecast', '--json', '--horizon', '1', '--ledgers', {str(ledgers)!r}, '--rules', {str(rules)!r}])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != clock.TZ_ENV} | {"TZ": "Pacific/Kiritimati"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                          check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["as_of"] == "2026-12-01"


def _local_clock_calls(source: str, name: str) -> list[str]:
    """`date.today()`, `datetime.today()`, `datetime.now()` without a zone and `time.localtime()` calls."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr, owner = node.func.attr, ast.unparse(node.func.value)
            if (attr == "today" and owner.endswith(("date", "datetime"))) \
                    or (attr == "now" and owner.endswith("datetime") and not node.args and not node.keywords) \
                    or (attr == "localtime" and owner == "time"):
                out.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return out


def test_no_module_reads_the_machine_date() -> None:
    modules = sorted((ROOT / "comptasso").rglob("*.py")) + sorted((ROOT / "banquasso").rglob("*.py"))
    calls = [c for path in modules
             for c in _local_clock_calls(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert calls == []
    probe = "import datetime as dt\na = dt.date.today()\nb = dt.datetime.now()\nc = dt.datetime.now(dt.UTC)\n"
    assert _local_clock_calls(probe, "probe") == ["probe:2: dt.date.today()", "probe:3: dt.datetime.now()"]
