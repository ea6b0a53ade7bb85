"""The ledger writer: atomic and journaled across two files, idempotent, crash-safe and safe under concurrency."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
from beancount.parser import parser
from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.registry.db import DB_URL_ENV
from banquasso.registry.ledger_write import (
    FAULT_ENV,
    FAULT_EXIT,
    FileEdit,
    RecoveryConflictError,
    journal_path,
    recover,
    write_files,
    write_lock,
)
from banquasso.registry.postings import HEADER, Accounts, add_entries, blocks, disbursement, repayment, set_flag
from comptasso.problems import Problem
from tests.test_registry import make_group, propose_args, run

ID = "BQA-2026-0001"
ACCOUNTS = Accounts("Assets:512-Banque", "Assets:2748-Avances-BanquAsso:Emprunteur", "Income:768-Interets-BanquAsso",
                    "Assets:512-Banque", "Liabilities:1687-Avances-BanquAsso:Preteur",
                    "Expenses:6618-Interets-BanquAsso")


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests use the default SQLite registry under var/ (subprocesses inherit the environment)."""
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    monkeypatch.delenv(FAULT_ENV, raising=False)


def engine_files(ledgers: Path) -> dict[str, str]:
    return {m: (ledgers / m / "banquasso.beancount").read_text(encoding="utf-8") for m in ("preteur", "emprunteur")}


def cli(ledgers: Path, rules: Path, args: list[str], as_of: str, fault: str | None = None) -> subprocess.Popen[str]:
    """Start `banquasso ARGS` in another process (optionally killed at a step of the write)."""
    env = dict(os.environ)
    if fault:
        env[FAULT_ENV] = fault
    assert args[0] == "advance"  # the `advance` group alone: the whole CLI imports the solver, slow to start
    code = "from banquasso.commands.advance import advance_command; advance_command(prog_name='banquasso advance')"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args[1:], "--ledgers", str(ledgers),
         "--rules", str(rules), "--as-of", as_of],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, out + err


def approved_group(root: Path, amount: str = "10000.00") -> tuple[Path, Path]:
    ledgers, rules = make_group(root)
    assert run(propose_args(amount), ledgers, rules).exit_code == 0
    assert run(["advance", "approve", ID, "--by", "Marie", "--decision", "CA-2026-11"], ledgers, rules).exit_code == 0
    return ledgers, rules


DISBURSE = ["advance", "disburse", ID, "--on", "2026-12-01"]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The engine files once the disbursement is fully written (reference for the crash tests)."""
    ledgers, rules = approved_group(tmp_path_factory.mktemp("reference"))
    assert run(DISBURSE, ledgers, rules, "2026-12-01").exit_code == 0
    return engine_files(ledgers)


# --- the writer itself ----------------------------------------------------------------------------

def test_write_is_undone_in_both_files_when_the_check_fails(tmp_path: Path) -> None:
    ledgers, _ = make_group(tmp_path)
    before = engine_files(ledgers)
    edits = [FileEdit(ledgers / m / "banquasso.beancount", before[m] + f"; {m}\n") for m in before]
    problem = Problem("x.beancount", 3, "déséquilibre")
    with write_lock(ledgers, [e.path for e in edits]):
        seen_during_check: list[dict[str, str]] = []

        def check() -> list[Problem]:
            seen_during_check.append(engine_files(ledgers))
            return [problem]

        assert write_files(ledgers, edits, check) == [problem]
    assert seen_during_check == [{m: before[m] + f"; {m}\n" for m in before}]
    assert engine_files(ledgers) == before
    assert not journal_path(ledgers).exists()


def test_write_is_undone_when_an_exception_escapes(tmp_path: Path) -> None:
    ledgers, _ = make_group(tmp_path)
    before = engine_files(ledgers)
    edits = [FileEdit(ledgers / m / "banquasso.beancount", "; changé\n") for m in before]

    def check() -> list[Problem]:
        raise RuntimeError("disque plein")

    with write_lock(ledgers, [e.path for e in edits]), pytest.raises(RuntimeError):
        write_files(ledgers, edits, check)
    assert engine_files(ledgers) == before and not journal_path(ledgers).exists()


def test_recover_puts_back_what_a_journal_recorded(tmp_path: Path) -> None:
    ledgers, _ = make_group(tmp_path)
    before = engine_files(ledgers)
    target = ledgers / "preteur" / "banquasso.beancount"
    code = (f"import sys; from pathlib import Path; from banquasso.registry.ledger_write import *; "
            f"write_files(Path({str(ledgers)!r}), [FileEdit(Path({str(target)!r}), 'moitié\\n')], lambda: [])")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, FAULT_ENV: "renamed-1"}, check=False)
    assert done.returncode == FAULT_EXIT
    assert target.read_text(encoding="utf-8") == "moitié\n" and journal_path(ledgers).exists()
    with write_lock(ledgers, [target]):
        messages = recover(ledgers)
    assert len(messages) == 1 and "écriture interrompue annulée" in messages[0]
    assert engine_files(ledgers) == before and not journal_path(ledgers).exists()


def test_nothing_to_write_writes_nothing(tmp_path: Path) -> None:
    ledgers, _ = make_group(tmp_path)
    path = ledgers / "preteur" / "banquasso.beancount"
    stamp = path.stat().st_mtime_ns
    with write_lock(ledgers, [path]):
        assert write_files(ledgers, [FileEdit(path, path.read_text(encoding="utf-8"))], list) == []
    assert path.stat().st_mtime_ns == stamp and not journal_path(ledgers).exists()


# --- entries: idempotent, balanced, parseable ------------------------------------------------------

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)
days = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=40, deadline=None)
@given(principal=amounts, interest=st.one_of(st.just(Decimal("0.00")), amounts), day=days, flag=st.sampled_from("!*"))
def test_entries_are_balanced_parseable_and_never_written_twice(principal: Decimal, interest: Decimal, day: dt.date,
                                                                 flag: str) -> None:
    lender, borrower = disbursement(ID, f"{ID}/disburse", day, principal, flag, ACCOUNTS, ("Prêteur", 'Emp "B"'),
                                    ("preteur", "emprunteur"))
    back_l, back_b = repayment(ID, f"{ID}/repay-1", day, principal, interest, flag, ACCOUNTS,
                               ("Prêteur", "Emp"), ("preteur", "emprunteur"))
    for entries in ([lender, back_l], [borrower, back_b]):
        once, refused = add_entries(HEADER, entries, {"Assets:512-Banque"})
        twice, refused_again = add_entries(once, entries, {"Assets:512-Banque"})
        assert refused == refused_again == [] and twice == once
        assert set(blocks(once)) == {f"{ID}/disburse", f"{ID}/repay-1"}
        parsed, errors, _ = parser.parse_string("2026-01-01 open Assets:512-Banque\n" + once)
        assert errors == []
        transactions = [e for e in parsed if isinstance(e, data.Transaction)]
        assert len(transactions) == 2
        for entry in transactions:
            assert sum(_number(p) for p in entry.postings) == 0
            assert entry.flag == flag and entry.meta["advance"] == ID
        assert set_flag(set_flag(once, [f"{ID}/disburse"], "*"), [f"{ID}/disburse"], flag) == once


def test_same_event_with_other_content_is_refused() -> None:
    first, _ = disbursement(ID, f"{ID}/disburse", dt.date(2026, 12, 1), Decimal("100.00"), "!", ACCOUNTS,
                            ("A", "B"), ("preteur", "emprunteur"))
    other, _ = disbursement(ID, f"{ID}/disburse", dt.date(2026, 12, 1), Decimal("200.00"), "!", ACCOUNTS,
                            ("A", "B"), ("preteur", "emprunteur"))
    text, _ = add_entries(HEADER, [first], {"Assets:512-Banque"})
    again, refused = add_entries(text, [other], {"Assets:512-Banque"})
    assert again == text
    assert refused == [(f"l'événement « {ID}/disburse » est déjà écrit avec un autre contenu dans le livre de "
                        "preteur (ligne 4)")]


def test_accounts_are_opened_once_on_or_before_their_first_use() -> None:
    later, _ = disbursement(ID, f"{ID}/disburse", dt.date(2026, 12, 1), Decimal("1.00"), "!", ACCOUNTS,
                            ("A", "B"), ("preteur", "emprunteur"))
    earlier, _ = disbursement("BQA-2026-0002", "BQA-2026-0002/disburse", dt.date(2026, 11, 2), Decimal("1.00"), "!",
                              ACCOUNTS, ("A", "B"), ("preteur", "emprunteur"))
    text, _ = add_entries(HEADER, [later], {"Assets:512-Banque"})
    text, _ = add_entries(text, [earlier], {"Assets:512-Banque"})
    assert text.count("open Assets:2748-Avances-BanquAsso:Emprunteur") == 1
    assert "2026-11-02 open Assets:2748-Avances-BanquAsso:Emprunteur EUR" in text
    assert "open Assets:512-Banque" not in text


# --- crashes at every step ------------------------------------------------------------------------

STEPS = ["journal", "file-1", "renamed-1", "file-2", "renamed-2", "checked", "cleared"]


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_of_a_disbursement(tmp_path: Path, step: str, written: dict[str, str]) -> None:
    ledgers, rules = approved_group(tmp_path)
    before = engine_files(ledgers)
    code, output = finish(cli(ledgers, rules, DISBURSE, "2026-12-01", fault=step))
    assert code == FAULT_EXIT, output
    after_crash = engine_files(ledgers)
    for member, content in after_crash.items():
        assert content in (before[member], written[member]), f"{member} à moitié écrit après {step}"
    # Any command that takes the lock first finishes the interrupted write's undoing: never half.
    result = run(["reconcile"], ledgers, rules, "2026-12-01")
    now = engine_files(ledgers)
    if step == "cleared":  # both ledgers written, the registry not yet: reconcile names the entries
        assert now == written and result.exit_code == 1 and "inconnue du registre" in result.output
    else:
        assert now == before and result.exit_code == 0, result.output
    # Running the command again completes the disbursement, without any duplicate.
    again = run(DISBURSE, ledgers, rules, "2026-12-01")
    assert again.exit_code == 0, again.output
    assert engine_files(ledgers) == written
    assert all(text.count(f'event: "{ID}/disburse"') == 1 for text in written.values())
    assert run(["reconcile"], ledgers, rules, "2026-12-01").exit_code == 0


@pytest.mark.slow
@pytest.mark.parametrize(("args", "step"), [
    (["advance", "repay", ID, "--amount", "4000", "--on", "2026-12-10"], "renamed-1"),
    (["advance", "repay", ID, "--amount", "4000", "--on", "2026-12-10"], "cleared"),
    (["advance", "confirm", ID], "renamed-2"),
    (["advance", "confirm", ID], "cleared"),
])
def test_crash_during_a_repayment_or_a_confirmation(tmp_path: Path, args: list[str], step: str) -> None:
    ledgers, rules = approved_group(tmp_path)
    assert run(DISBURSE, ledgers, rules, "2026-12-01").exit_code == 0
    if args[1] == "repay":
        assert run(["advance", "confirm", ID], ledgers, rules, "2026-12-02").exit_code == 0
    before = engine_files(ledgers)
    code, output = finish(cli(ledgers, rules, args, "2026-12-10", fault=step))
    assert code == FAULT_EXIT, output
    again = run(args, ledgers, rules, "2026-12-10")
    assert again.exit_code == 0, again.output
    final = engine_files(ledgers)
    assert final != before
    for text in final.values():
        assert text.count(f'event: "{ID}/disburse"') == 1
        assert text.count(f'event: "{ID}/repay/2026-12-10-4000.00"') == (1 if args[1] == "repay" else 0)
        assert "\n2026-12-01 * " in text
    assert run(["reconcile"], ledgers, rules, "2026-12-10").exit_code == 0


# --- two processes at once ------------------------------------------------------------------------

@pytest.mark.slow
def test_two_processes_disbursing_the_same_advance_write_it_once(tmp_path: Path) -> None:
    ledgers, rules = approved_group(tmp_path)
    first, second = cli(ledgers, rules, DISBURSE, "2026-12-01"), cli(ledgers, rules, DISBURSE, "2026-12-01")
    results = sorted([finish(first), finish(second)])
    assert [code for code, _ in results] == [0, 0]  # the same bank operation: idempotent
    assert sum("déjà versée" in output for _, output in results) == 1
    for text in engine_files(ledgers).values():
        assert text.count(f'event: "{ID}/disburse"') == 1
    assert run(["reconcile"], ledgers, rules, "2026-12-01").exit_code == 0


@pytest.mark.slow
def test_disbursing_and_repaying_at_once_loses_nothing(tmp_path: Path) -> None:
    ledgers, rules = approved_group(tmp_path)
    second = propose_args("3000.00")
    second[second.index("--disburse-on") + 1] = "2026-12-02"
    assert run(second, ledgers, rules).exit_code == 0
    assert run(["advance", "approve", "BQA-2026-0002", "--by", "Marie", "--decision", "CA-2"],
               ledgers, rules).exit_code == 0
    assert run(DISBURSE, ledgers, rules, "2026-12-01").exit_code == 0
    assert run(["advance", "confirm", ID], ledgers, rules, "2026-12-01").exit_code == 0
    processes = [
        cli(ledgers, rules, ["advance", "repay", ID, "--amount", "3000", "--on", "2026-12-05"], "2026-12-05"),
        cli(ledgers, rules, ["advance", "disburse", "BQA-2026-0002", "--on", "2026-12-05"], "2026-12-05"),
        cli(ledgers, rules, ["advance", "repay", ID, "--amount", "2000", "--on", "2026-12-05"], "2026-12-05"),
    ]
    results = [finish(p) for p in processes]
    assert [code for code, _ in results] == [0, 0, 0], results
    for text in engine_files(ledgers).values():
        for event in (f"{ID}/disburse", f"{ID}/repay/2026-12-05-3000.00", f"{ID}/repay/2026-12-05-2000.00",
                      "BQA-2026-0002/disburse"):
            assert text.count(f'event: "{event}"') == 1, event
    result = run(["reconcile", "--json"], ledgers, rules, "2026-12-05")
    assert result.exit_code == 0, result.output
    import json

    outstanding = {a["id"]: a["registry_outstanding"] for a in json.loads(result.output)["advances"]}
    assert outstanding == {ID: "5000.00", "BQA-2026-0002": "3000.00"}


# --- recovery never destroys an edit --------------------------------------------------------------

def test_recovery_compares_each_file_with_the_journal_hashes(tmp_path: Path) -> None:
    ledgers = tmp_path / "ledgers"
    (ledgers / "m").mkdir(parents=True)
    target = ledgers / "m" / "banquasso.beancount"
    target.write_text("old\n", encoding="utf-8")
    with write_lock(ledgers, []):
        journal = journal_path(ledgers)
        journal.parent.mkdir(parents=True, exist_ok=True)
        import hashlib
        import json

        sha = hashlib.sha256(b"new\n").hexdigest()
        journal.write_text(json.dumps({"files": [{"path": str(target), "old": "old\n", "new_sha256": sha}]}),
                           encoding="utf-8")
        target.write_text("new\n", encoding="utf-8")  # the write had finished: put back as before
        assert recover(ledgers) and target.read_text(encoding="utf-8") == "old\n" and not journal.exists()
        journal.write_text(json.dumps({"files": [{"path": str(target), "old": "old\n", "new_sha256": sha}]}),
                           encoding="utf-8")
        target.write_text("edited by hand\n", encoding="utf-8")
        with pytest.raises(RecoveryConflictError) as caught:
            recover(ledgers)
        assert [p.code for p in caught.value.problems] == ["recovery-file-edited"]
        assert target.read_text(encoding="utf-8") == "edited by hand\n" and journal.exists()


def test_a_hand_edit_after_a_crash_stops_the_next_command_and_is_kept(tmp_path: Path) -> None:
    ledgers, rules = approved_group(tmp_path)
    code, output = finish(cli(ledgers, rules, DISBURSE, "2026-12-01", fault="renamed-1"))
    assert code == FAULT_EXIT, output
    edited = ledgers / "emprunteur" / "banquasso.beancount"
    text = edited.read_text(encoding="utf-8") + "; note ajoutée à la main après la panne\n"
    edited.write_text(text, encoding="utf-8")
    files = engine_files(ledgers)
    again = run(DISBURSE, ledgers, rules, "2026-12-01")
    assert again.exit_code == 1 and "modifié depuis" in again.output, again.output
    assert engine_files(ledgers) == files and journal_path(ledgers).exists()
    refused = run(["reconcile"], ledgers, rules, "2026-12-01")
    assert refused.exit_code == 1 and "modifié depuis" in refused.output
