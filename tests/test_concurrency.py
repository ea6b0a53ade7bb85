"""Two processes at once on one advance: every state change is decided under the lock, on SQLite and PostgreSQL.

Each race starts two `banquasso advance …` processes together; whatever the order the lock gives
them, the outcome is one of the orders' outcomes, the registry and both ledgers agree
(`banquasso reconcile`), and no rule is broken.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from banquasso.registry.db import open_registry
from banquasso.registry.service import load_view
from tests.test_ledger_write import cli, engine_files, finish
from tests.test_registry import db_url, make_group, propose_args, run  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

ID1, ID2 = "BQA-2026-0001", "BQA-2026-0002"
REPAY_A = f"{ID1}/repay/2026-12-10-1000.00"


def _group(tmp_path: Path, pool: str | None = None) -> tuple[Path, Path]:
    ledgers, rules = make_group(tmp_path, pool=pool)
    assert run(propose_args(), ledgers, rules).exit_code == 0
    assert run(["advance", "approve", ID1, "--by", "M", "--decision", "CA"], ledgers, rules).exit_code == 0
    assert run(["advance", "disburse", ID1, "--on", "2026-12-01"], ledgers, rules, "2026-12-01").exit_code == 0
    return ledgers, rules


def _race(ledgers: Path, rules: Path, first: list[str], second: list[str], as_of: str) -> list[tuple[int, str]]:
    processes = [cli(ledgers, rules, first, as_of), cli(ledgers, rules, second, as_of)]
    return [finish(p) for p in processes]


def _reconciled(ledgers: Path, rules: Path, as_of: str) -> None:
    result = run(["reconcile"], ledgers, rules, as_of)
    assert result.exit_code == 0, result.output


@pytest.mark.usefixtures("db_url")
def test_cancel_racing_confirm_never_removes_a_confirmed_movement(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    confirm = ["advance", "confirm", ID1]
    cancel = ["advance", "cancel", ID1, "--event", f"{ID1}/disburse", "--by", "M", "--reason", "erreur"]
    (c_code, c_out), (x_code, x_out) = _race(ledgers, rules, confirm, cancel, "2026-12-01")
    view = load_view(open_registry(ledgers), ID1)
    assert view is not None
    if c_code == 0 and view.disbursement is not None:  # confirm first: the cancel saw a confirmed movement
        assert x_code == 1 and "confirmé par la banque" in x_out, x_out
        assert view.state == "confirmed"
        assert all('2026-12-01 * "BanquAsso"' in text for text in engine_files(ledgers).values())
    else:  # cancel first: nothing left to confirm
        assert x_code == 0 and c_code == 1, (c_out, x_out)
        assert view.state == "approved" and view.payments == ()
    _reconciled(ledgers, rules, "2026-12-01")


@pytest.mark.usefixtures("db_url")
def test_cancel_racing_repay_only_ever_cancels_the_last_movement(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert run(["advance", "confirm", ID1], ledgers, rules, "2026-12-01").exit_code == 0
    assert run(["advance", "repay", ID1, "--amount", "1000", "--on", "2026-12-10"],
               ledgers, rules, "2026-12-10").exit_code == 0
    repay = ["advance", "repay", ID1, "--amount", "2000", "--on", "2026-12-10"]
    cancel = ["advance", "cancel", ID1, "--event", REPAY_A, "--by", "M", "--reason", "erreur"]
    (r_code, r_out), (x_code, x_out) = _race(ledgers, rules, repay, cancel, "2026-12-10")
    assert r_code == 0, r_out
    view = load_view(open_registry(ledgers), ID1)
    assert view is not None
    events = [p.event for p in view.payments]
    if x_code == 0:  # the cancel went first, while REPAY_A was the last movement
        assert events == [f"{ID1}/disburse", f"{ID1}/repay/2026-12-10-2000.00"]
    else:
        assert "seul le dernier mouvement" in x_out, x_out
        assert events == [f"{ID1}/disburse", REPAY_A, f"{ID1}/repay/2026-12-10-2000.00"]
    _reconciled(ledgers, rules, "2026-12-10")
    # Every later repayment is still accepted.
    assert run(["advance", "repay", ID1, "--amount", "500", "--on", "2026-12-11"],
               ledgers, rules, "2026-12-11").exit_code == 0


@pytest.mark.usefixtures("db_url")
def test_the_same_repayment_run_twice_at_once_is_written_once(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert run(["advance", "confirm", ID1], ledgers, rules, "2026-12-01").exit_code == 0
    repay = ["advance", "repay", ID1, "--amount", "1000", "--on", "2026-12-10"]
    results = _race(ledgers, rules, repay, repay, "2026-12-10")
    assert [code for code, _ in results] == [0, 0], results
    assert sum("déjà enregistré" in out for _, out in results) == 1
    for text in engine_files(ledgers).values():
        assert text.count(f'event: "{REPAY_A}"') == 1
    view = load_view(open_registry(ledgers), ID1)
    assert view is not None and view.outstanding == 9000
    _reconciled(ledgers, rules, "2026-12-10")


@pytest.mark.usefixtures("db_url")
def test_two_approvals_on_one_borrower_the_second_sees_the_first(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path, pool="[limits]\nmax_advance_per_borrower = 18000\n")
    assert run(propose_args("9000.00"), ledgers, rules).exit_code == 0
    second = propose_args("9500.00")
    second[second.index("--disburse-on") + 1] = "2026-12-02"
    assert run(second, ledgers, rules).exit_code == 0
    approvals = [["advance", "approve", advance, "--by", "M", "--decision", "CA"] for advance in (ID1, ID2)]
    results = _race(ledgers, rules, approvals[0], approvals[1], "2026-11-30")
    assert sorted(code for code, _ in results) == [0, 1], results
    assert any("limits.max_advance_per_borrower" in out for code, out in results if code == 1)
    registry = open_registry(ledgers)
    states = sorted(v.state for v in (load_view(registry, ID1), load_view(registry, ID2)) if v is not None)
    assert states == ["approved", "proposed"]
