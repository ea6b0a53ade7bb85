"""Issue 19 as behaviour: a member page reads only its member and never waits; the quick plan imports no solver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main as banquasso
from banquasso.fava_ext import BanquAssoExtension
from banquasso.forecast import daily
from tests.test_fava_ext import AS_OF, EXT, Site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("COMPTASSO_CACHE_DIR", str(tmp_path / "cache"))
    return Site(tmp_path, monkeypatch)


@contextmanager
def counting_member_forecasts() -> Iterator[Counter[str]]:
    """Count every call of `forecast_member`, by the member it forecasts."""
    code = daily.forecast_member.__code__
    seen: Counter[str] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            seen[frame.f_locals["books"].member_id] += 1

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


def _extension(site: Site, slug: str) -> BanquAssoExtension:
    ledger = site.app.config["LEDGERS"][slug]
    found: BanquAssoExtension = next(e for e in ledger.extensions._exts if e.name == "BanquAssoExtension")
    return found


def test_the_member_page_forecasts_only_its_member(site: Site) -> None:
    client = site.client()
    with counting_member_forecasts() as seen:
        doc = client.get(f"/{site.velo}/{EXT}/forecast_data?as_of={AS_OF}").get_json()
    assert seen == Counter({"velo-gap": 1}), seen
    assert doc["members"][0]["min_balance"] == "-2000.00"  # the hand-computed figure of test_fava_ext
    with counting_member_forecasts() as seen:  # the pool page still forecasts the whole group
        assert client.get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}").status_code == 200
    assert set(seen) == {"velo-gap", "ressourcerie"}, seen


def test_the_member_page_answers_while_the_engine_lock_is_held(site: Site) -> None:
    client = site.client()
    held, release = threading.Event(), threading.Event()
    locks = [_extension(site, slug)._pages.engine_lock for slug in (site.velo, site.group)]

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(30)
        for lock in locks:
            lock.release()

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert held.wait(5)
    answers: list[int] = []
    request = threading.Thread(
        target=lambda: answers.append(client.get(f"/{site.velo}/{EXT}/forecast_data?as_of={AS_OF}").status_code),
        daemon=True)
    try:
        request.start()
        request.join(20)
        assert answers == [200], "the member page waited for the engine's lock"
    finally:
        release.set()
        holder.join(5)


def test_the_quick_plan_path_does_not_import_the_solver(site: Site) -> None:
    """Nor the registry's ORM: reading a memoised plan needs neither scipy nor SQLAlchemy."""
    args = ["plan", "--ledgers", str(site.ledgers), "--rules", str(site.rules), "--as-of", AS_OF, "--json"]
    first = CliRunner().invoke(banquasso, args)
    assert first.exit_code == 0, first.output
    script = (
        "import sys\n"
        "from banquasso.commands.main import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'sqlalchemy')"
        " or m in ('banquasso.pool.allocation', 'banquasso.pool.solver'))), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", "import json\n" + script], capture_output=True, text=True,
                          env={**os.environ}, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(first.stdout)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
    assert "Programme linéaire" not in done.stderr  # answered from the quick memo, nothing solved


@contextmanager
def counting_allocations() -> Iterator[list[int]]:
    """Count every call of the allocation program (`banquasso.pool.allocation.allocate`)."""
    from banquasso.pool import allocation

    code = allocation.allocate.__code__
    seen: list[int] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            seen.append(1)

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


def test_the_second_statement_solves_nothing(site: Site, tmp_path: Path) -> None:
    args = ["statement", "--ledgers", str(site.ledgers), "--rules", str(site.rules), "--as-of", AS_OF,
            "--month", AS_OF[:7]]
    pdfs = []
    counts = []
    for name in ("first", "second"):
        pdf = tmp_path / f"{name}.pdf"
        with counting_allocations() as seen:
            done = CliRunner().invoke(banquasso, [*args, "-o", str(pdf)])
        assert done.exit_code == 0, done.output
        counts.append(len(seen))
        pdfs.append(pdf.read_bytes())
    assert counts[0] >= 1 and counts[1] == 0, counts
    assert pdfs[0] == pdfs[1]
    plan = CliRunner().invoke(banquasso, ["plan", *args[1:7], "--json"])  # the same day's plan: the memo answers
    assert plan.exit_code == 0, plan.output


def test_the_memo_key_is_the_same_in_every_process(site: Site) -> None:
    """The key hashes the funders and plugins as read: a set's order follows the process's string hash."""
    script = (
        "import datetime as dt\nfrom pathlib import Path\n"
        "from comptasso.books.facade import open_books\nfrom banquasso.terms.policy import load_policy\n"
        "from banquasso.pool.memo import memo_key\n"
        f"books, _ = open_books(Path({str(site.ledgers)!r}), Path({str(site.rules)!r}))\n"
        f"policy, _ = load_policy(Path({str(site.rules)!r}))\n"
        "print(memo_key('plan', books, policy, dt.date(2026, 11, 30), horizon=91))\n"
    )
    keys = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2", "3")}
    assert len(keys) == 1, keys


def test_the_first_pool_page_reads_the_plan_the_command_memoised(site: Site) -> None:
    args = ["--ledgers", str(site.ledgers), "--rules", str(site.rules), "--as-of", AS_OF, "--json"]
    for command in ("plan", "capacity"):
        done = CliRunner().invoke(banquasso, [command, *args])
        assert done.exit_code == 0, done.output
    with counting_allocations() as seen:
        page = site.client().get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}")
    assert page.status_code == 200
    assert seen == [], "the pool page solved the plan again"


def test_the_statement_command_imports_neither_the_scheduler_nor_the_mail() -> None:
    """`banquasso statement` without --send: no APScheduler, no SMTP delivery loaded (they cost half a second)."""
    script = ("import json, sys\nfrom banquasso.commands.main import main as banquasso\n"
              "banquasso.get_command(None, 'statement')\n"
              "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'apscheduler'"
              " or m.startswith(('banquasso.delivery', 'banquasso.scheduler')))))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
