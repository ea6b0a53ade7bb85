"""`comptasso serve --scheduler`: BanquAsso's jobs run beside Fava, found through an entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from filelock import FileLock, Timeout

from banquasso.registry.db import open_registry, var_dir
from banquasso.scheduler.jobs import stored_next_runs
from banquasso.scheduler.serve_hook import SchedulerBusyError, start_beside_fava
from comptasso.cli.main import main
from comptasso.web import serve


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BANQUASSO_DB_URL", raising=False)


def _lock(ledgers: Path) -> FileLock:
    return FileLock(str(var_dir(ledgers) / "locks" / "scheduler.lock"), timeout=0)


def test_the_hook_starts_one_scheduler_per_group(demo_copy: tuple[Path, Path]) -> None:
    ledgers, rules = demo_copy
    stop = start_beside_fava(ledgers, rules)
    try:
        registry = open_registry(ledgers)
        try:
            runs = stored_next_runs(registry)
        finally:
            registry.close()
        assert set(runs) == {"daily", "monthly"} and all(runs.values())
        with pytest.raises(SchedulerBusyError, match="un autre planificateur tourne déjà"):
            start_beside_fava(ledgers, rules)
    finally:
        stop()
    start_beside_fava(ledgers, rules)()  # the lock was released: a new one starts, and stops


@pytest.mark.slow
def test_serve_with_scheduler_runs_it_while_fava_serves(demo_copy: tuple[Path, Path],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = demo_copy
    seen: list[bool] = []

    def fake_server(app: object, host: str, port: int) -> None:
        try:
            _lock(ledgers).acquire()
        except Timeout:
            seen.append(True)  # the scheduler holds its lock while Fava serves
        else:
            _lock(ledgers).release()
            seen.append(False)

    monkeypatch.setattr(serve, "run_server", fake_server)
    args = ["serve", "--ledgers", str(ledgers), "--rules", str(rules), "--port", "5123", "--scheduler"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert seen == [True]
    assert "Service « scheduler » démarré à côté de Fava." in result.output
    lock = _lock(ledgers)
    lock.acquire()  # released once Fava stops
    lock.release()


def test_unknown_side_service_is_a_usage_error(tmp_path: Path) -> None:
    import click

    with pytest.raises(click.UsageError, match="aucun service « nope » installé"):
        serve.start_side_service("nope", tmp_path, tmp_path)
