"""Fava pages never wait for the solver: the memo answers, and after a save the previous plan is shown, marked."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from banquasso.fava_ext.worker import Pages
from banquasso.pool import allocation as allocation_module
from banquasso.pool import plan as plan_module
from tests.test_fava_ext import AS_OF, EXT, Site, text_of

CLOCK = dt.datetime(2026, 11, 30, 9, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site(tmp_path, monkeypatch)


def _gate() -> tuple[threading.Event, threading.Event, Callable[[str], Callable[[], str]]]:
    started, release = threading.Event(), threading.Event()

    def slow(value: str) -> Callable[[], str]:
        def compute() -> str:
            started.set()
            assert release.wait(10)
            return value
        return compute

    return started, release, slow


def test_pages_answer_at_once_and_recompute_in_the_background() -> None:
    pages: Pages[str] = Pages(clock=lambda: CLOCK)
    calls: list[str] = []

    def counted(value: str) -> Callable[[], str]:
        def compute() -> str:
            calls.append(value)
            return value
        return compute

    first = pages.show("pool", 1, counted("a"))
    assert (first.value, first.computed_at, first.recomputing, calls) == ("a", CLOCK, False, ["a"])
    assert pages.show("pool", 1, counted("x")).value == "a" and calls == ["a"]
    started, release, slow = _gate()
    shown = pages.show("pool", 2, slow("b"))  # files changed: the old result at once, marked
    assert (shown.value, shown.recomputing) == ("a", True)
    assert started.wait(5) and pages.recomputing("pool")
    assert pages.show("pool", 2, slow("c")).recomputing  # no second recompute while one runs
    release.set()
    pages.wait(5)
    done = pages.show("pool", 2, lambda: "never")
    assert (done.value, done.recomputing) == ("b", False)


def test_a_failed_background_recompute_keeps_the_previous_result() -> None:
    pages: Pages[str] = Pages()
    pages.show("pool", 1, lambda: "a")

    def broken() -> str:
        raise RuntimeError("panne")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(threading, "excepthook", lambda _args: None)
        assert pages.show("pool", 2, broken).value == "a"
        pages.wait(5)
    assert not pages.recomputing("pool")
    assert pages.show("pool", 2, lambda: "b").value == "a"  # a new recompute starts
    pages.wait(5)
    assert pages.show("pool", 2, lambda: "never").value == "b"


def _extension(site: Site) -> Any:
    ledger = site.app.config["LEDGERS"][site.group]
    return next(e for e in ledger.extensions._exts if e.name == "BanquAssoExtension")


def _pool(site: Site) -> dict[str, Any]:
    doc: dict[str, Any] = site.client().get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}").get_json()
    return doc


def test_the_pool_page_answers_from_the_memo_without_the_solver(site: Site,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    before = _pool(site)
    assert before["recomputing"] is False and before["computed_at"]

    def no_solver(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the solver ran")

    monkeypatch.setattr(allocation_module, "allocate", no_solver)  # plan.py imports it when it solves
    _extension(site)._pages = Pages()  # a fresh server process: nothing in memory, the memo on disk
    again = _pool(site)
    assert again["plan"] == before["plan"] and again["capacity"] == before["capacity"]


def test_after_a_save_the_pool_page_shows_the_previous_plan_marked(site: Site,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = _pool(site)
    started, release, _ = _gate()
    real = plan_module.plan_group

    def slow_plan(*args: Any, **kwargs: Any) -> plan_module.Plan:
        started.set()
        assert release.wait(20)
        return real(*args, **kwargs)

    monkeypatch.setattr(plan_module, "plan_group", slow_plan)
    velo = site.ledgers / "velo-gap" / "main.beancount"
    velo.write_text(velo.read_text(encoding="utf-8") +
                    '\n2026-11-01 custom "prevision" Expenses:641-Salaires "Prime" -3000.00 EUR "unique" 2026-12-05\n',
                    encoding="utf-8")
    try:
        during = _pool(site)
        assert during["recomputing"] is True
        assert during["plan"] == before["plan"] and during["computed_at"] == before["computed_at"]
        html = text_of(site.client().get(f"/{site.group}/{EXT}/?as_of={AS_OF}").get_data(as_text=True))
        assert "recalcul en cours" in html and "Calculé le" in html
        assert started.wait(20)
    finally:
        release.set()
        _extension(site)._pages.wait(30)
    after = _pool(site)
    assert after["recomputing"] is False
    assert after["plan"]["total_need"] != before["plan"]["total_need"]
    html = text_of(site.client().get(f"/{site.group}/{EXT}/?as_of={AS_OF}").get_data(as_text=True))
    assert "recalcul en cours" not in html


def test_a_large_groups_pool_page_is_solved_in_a_child_process(site: Site,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The child (`banquasso plan` and `capacity`, forced here by BANQUASSO_PLAN_IN_CHILD=1) fills the memo;
    Fava's own process reads the plan without ever running the solver, and shows what `plan --json` says."""
    from click.testing import CliRunner

    from banquasso.commands.main import main as banquasso
    from banquasso.fava_ext import child_solve

    monkeypatch.setenv(child_solve.CHILD_ENV, "1")
    ran: list[list[str]] = []
    real = child_solve.solve_in_child

    def counted(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> bool:
        ran.append([str(ledgers_dir), as_of.isoformat()])
        return real(ledgers_dir, rules_dir, as_of)

    def no_solver(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the solver ran in Fava's process")

    monkeypatch.setattr(child_solve, "solve_in_child", counted)
    monkeypatch.setattr(allocation_module, "allocate", no_solver)
    page = _pool(site)
    assert ran == [[str(site.ledgers), AS_OF]]
    monkeypatch.undo()
    cli = CliRunner().invoke(banquasso, ["plan", "--ledgers", str(site.ledgers), "--rules", str(site.rules),
                                         "--as-of", AS_OF, "--json"])
    assert cli.exit_code == 0, cli.output
    plan = json.loads(cli.stdout)
    assert [a["amount"] for a in page["plan"]["advances"]] == [a["amount"] for a in plan["advances"]]
    assert page["plan"]["total_unmet"] == plan["total_unmet"]


def test_the_child_is_for_large_groups_unless_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    from banquasso.fava_ext import child_solve

    monkeypatch.delenv(child_solve.CHILD_ENV, raising=False)
    assert not child_solve.wanted(child_solve.CHILD_MEMBERS - 1) and child_solve.wanted(child_solve.CHILD_MEMBERS)
    monkeypatch.setenv(child_solve.CHILD_ENV, "0")
    assert not child_solve.wanted(500)
    monkeypatch.setenv(child_solve.CHILD_ENV, "1")
    assert child_solve.wanted(2)


def _touch_later(path: Path, text: str) -> None:
    import os

    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 5_000_000_000  # later than anything Fava has seen
    os.utime(path, ns=(stamp, stamp))


def test_after_a_save_the_pool_page_does_not_wait_for_fava_to_reload_the_group_view(site: Site) -> None:
    """The group view's BanquAsso pages read the files: Fava's reload of the view waits for Fava's own pages."""
    client = site.client()
    before = _pool(site)
    group_ledger = site.app.config["LEDGERS"][site.group]
    velo_ledger = site.app.config["LEDGERS"][site.velo]
    loaded, velo_loaded = group_ledger.all_entries, velo_ledger.all_entries
    _touch_later(site.ledgers / "velo-gap" / "main.beancount",
                 '\n2026-11-01 custom "prevision" Expenses:641-Salaires "Prime" -3000.00 EUR "unique" 2026-12-05\n')
    try:
        during = _pool(site)
        assert during["recomputing"] is True and during["plan"] == before["plan"]
        assert client.get(f"/{site.group}/{EXT}/?as_of={AS_OF}").status_code == 200
        assert client.get(f"/{site.group}/{EXT}/indicateurs?as_of={AS_OF}").status_code == 200
        assert group_ledger.all_entries is loaded  # Fava has not reloaded the 200-member-sized view
        assert client.get(f"/{site.velo}/{EXT}/?as_of={AS_OF}").status_code == 200
        assert velo_ledger.all_entries is not velo_loaded  # a member's page reloads its member, as Fava does
    finally:
        _extension(site)._pages.wait(30)
    assert client.get(f"/{site.group}/income_statement/").status_code == 200
    assert group_ledger.all_entries is not loaded  # Fava's own page of the group view reloads it
    after = _pool(site)
    assert after["plan"]["total_need"] != before["plan"]["total_need"]


def test_only_the_group_view_s_file_reading_pages_defer_fava_s_reload(site: Site) -> None:
    group = _extension(site)
    velo = next(e for e in site.app.config["LEDGERS"][site.velo].extensions._exts if e.name == "BanquAssoExtension")
    with site.app.test_request_context(f"/{site.group}/{EXT}/pool"):
        assert group.defers_reload("pool") and group.defers_reload("") and group.defers_reload("pool_data")
        assert not group.defers_reload("budget") and not group.defers_reload("tranches")
        assert not velo.defers_reload("") and not velo.defers_reload("forecast_data")
