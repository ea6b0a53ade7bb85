"""A member's facts (its forecast read, net cash, earmarked cash, what it lent) are memoised on its ledger's
content across processes: computed again when, and only when, that member's files change."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from banquasso.forecast import facts, flows
from banquasso.forecast.daily import readable
from banquasso.pool import guard
from banquasso.pool.plan import memoised_plan, plan_group
from banquasso.terms.policy import load_policy
from comptasso.books import cache
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import write_group
from tests.test_plan import BORROWER, LENDER, POOL

AS_OF = dt.date(2026, 11, 30)


@pytest.fixture
def group(tmp_path: Path) -> tuple[Path, Path]:
    return write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)


def _fresh(ledgers: Path, rules: Path) -> GroupBooks:
    """The books as a new process reads them: from the cache files, with no ledger (and no fact) in memory."""
    cache.forget_memory()
    books, problems = open_books(ledgers, rules)
    assert books is not None, problems
    return books


def _count(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, member_of: Any) -> list[Any]:
    """The members `module.name` is computed for (as `member_of` names them), in order of the calls."""
    calls: list[Any] = []
    real = getattr(module, name)

    def counted(*args: Any) -> Any:
        calls.append(member_of(*args))
        return real(*args)

    monkeypatch.setattr(module, name, counted)
    return calls


def _append(ledgers: Path, member: str, text: str) -> None:
    main = ledgers / member / "main.beancount"
    main.write_text(main.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_reads_are_computed_again_when_and_only_when_the_ledger_changes(group: tuple[Path, Path],
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    calls = _count(monkeypatch, flows, "_read_member", lambda member_id, entries, as_of: member_id)
    first = readable(_fresh(ledgers, rules), AS_OF)
    assert sorted(calls) == ["emprunte", "prete"]
    assert all(facts.facts_path(first, m).exists() for m in ("prete", "emprunte"))
    calls.clear()
    again = readable(_fresh(ledgers, rules), AS_OF)
    assert calls == []  # every member's read is the stored one
    for member in ("prete", "emprunte"):
        entries = again.ledgers[member].entries
        read, found = flows._read_member(member, entries, AS_OF)
        assert flows.read_member(member, entries, AS_OF) == (read, list(found))  # the stored read is the computed one
    calls.clear()
    _append(ledgers, "emprunte", "\n; une note\n")
    readable(_fresh(ledgers, rules), AS_OF)
    assert calls == ["emprunte"]  # only the edited member is read again
    calls.clear()
    readable(_fresh(ledgers, rules), AS_OF + dt.timedelta(days=-1))
    assert sorted(calls) == ["emprunte", "prete"]  # another day is another fact


def test_a_changed_read_is_the_new_one(group: tuple[Path, Path]) -> None:
    ledgers, rules = group
    before = readable(_fresh(ledgers, rules), AS_OF)
    opening = flows.read_member("emprunte", before.ledgers["emprunte"].entries, AS_OF)[0].opening_balance
    _append(ledgers, "emprunte", '\n2026-11-30 * "Don"\n  Assets:512-Banque  100.00 EUR\n'
                                 "  Equity:102-Fonds-Associatif\n")
    after = readable(_fresh(ledgers, rules), AS_OF)
    assert flows.read_member("emprunte", after.ledgers["emprunte"].entries, AS_OF)[0].opening_balance == opening + 100


def test_the_plan_reads_the_net_cash_of_a_changed_lender_only(group: tuple[Path, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    policy, _ = load_policy(rules)
    assert policy is not None
    cold = memoised_plan(readable(_fresh(ledgers, rules), AS_OF), policy, AS_OF)
    calls = _count(monkeypatch, guard, "opening_figures", lambda entries, *rest: id(entries))
    _append(ledgers, "emprunte", "\n; une note\n")  # the borrower edited: the plan's memo misses...
    books = readable(_fresh(ledgers, rules), AS_OF)
    after = memoised_plan(books, policy, AS_OF)
    assert calls == []  # ...but the lender's net cash at its openings is the stored one
    assert after == cold
    _append(ledgers, "prete", "\n; une note\n")
    books = readable(_fresh(ledgers, rules), AS_OF)
    assert memoised_plan(books, policy, AS_OF) == cold
    assert calls and set(calls) == {id(books.ledgers["prete"].entries)}  # the edited lender's, read again
    assert plan_group(books, policy, AS_OF) == cold  # without any memo, the same plan


class Computed:
    """A computation that counts its runs and returns how many there were."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self) -> int:
        self.runs += 1
        return self.runs


def test_a_plain_list_keeps_no_fact() -> None:
    compute, entries = Computed(), list[Any]()
    assert [facts.fact(entries, ("x",), compute) for _ in range(2)] == [1, 2]


def test_facts_kept_per_ledger_are_bounded() -> None:
    from comptasso.books.loading import Entries

    entries = Entries([])
    for day in range(facts.FACTS_KEPT + 5):
        facts.fact(entries, ("day", day), Computed())
    compute = Computed()
    assert facts.fact(entries, ("day", 0), compute) == 1 and compute.runs == 1  # the oldest went
    assert facts.fact(entries, ("day", facts.FACTS_KEPT + 4), compute) == 1 and compute.runs == 1  # kept
    assert facts.fact(entries, ("day", 0), compute) == 1 and compute.runs == 1  # kept since computed again


def test_the_facts_folder_keeps_its_newest_files(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    books = _fresh(ledgers, rules)
    folder = facts.facts_dir(books)
    folder.mkdir(parents=True)
    old = [folder / f"old-{n}.pickle" for n in range(4)]
    for n, path in enumerate(old):
        path.write_bytes(b"")
        os.utime(path, ns=(n, n))
    monkeypatch.setattr(facts, "FACTS_FILES", 3)
    readable(books, AS_OF)  # two members' facts written; the folder keeps 4 (twice the members): two old go
    assert sorted(p.name for p in folder.glob("*.pickle") if p.name.startswith("old-")) == ["old-2.pickle",
                                                                                          "old-3.pickle"]
    assert all(facts.facts_path(books, m).exists() for m in ("prete", "emprunte"))


def test_read_group_alone_uses_and_leaves_the_stored_reads(group: tuple[Path, Path],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement reads the group with `read_group` (no `readable` first): the stored reads answer it too."""
    from banquasso.forecast.daily import read_group

    ledgers, rules = group
    calls = _count(monkeypatch, flows, "_read_member", lambda member_id, entries, as_of: member_id)
    outlook, problems = read_group(_fresh(ledgers, rules), AS_OF)
    assert outlook is not None, problems
    assert sorted(calls) == ["emprunte", "prete"]
    calls.clear()
    again, _ = read_group(_fresh(ledgers, rules), AS_OF)
    assert calls == [] and again is not None
    assert [m.member_id for m in again.members] == [m.member_id for m in outlook.members]


def test_stored_facts_are_read_once_per_loaded_ledger(group: tuple[Path, Path],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    readable(_fresh(ledgers, rules), AS_OF)
    books = _fresh(ledgers, rules)
    opened: list[Path] = []
    real_open = Path.open

    def counting_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.parent == facts.facts_dir(books):
            opened.append(self)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", counting_open)
    facts.load_facts(books)
    assert len(opened) == 2
    facts.load_facts(books)
    assert len(opened) == 2  # the same directives: nothing read again
