"""Loading the group: content-keyed cache under var/, only changed members re-parsed, parallel = serial."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest
from beancount.core import data

from comptasso.books import facade as books_module
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.loading import MemberLedger, load_member_ledger
from tests.conftest import write_group

LEDGER = """
option "operating_currency" "EUR"
include "extra/*.beancount"
2024-01-01 open Assets:512-Banque
2024-01-01 open Equity:102-Fonds-Associatifs
2024-01-02 * "Apport" "Fonds associatifs"
  Assets:512-Banque  100.00 EUR
  Equity:102-Fonds-Associatifs
"""


@pytest.fixture
def group(tmp_path: Path) -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"asso-a": LEDGER, "asso-b": LEDGER, "asso-c": LEDGER})
    for member in ("asso-a", "asso-b", "asso-c"):
        (ledgers / member / "extra").mkdir()
        (ledgers / member / "extra" / "2024.beancount").write_text(
            '2024-03-01 * "Don"\n  Assets:512-Banque  5.00 EUR\n  Equity:102-Fonds-Associatifs\n')
    return ledgers, rules


@pytest.fixture
def parse_counter(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = load_member_ledger  # what the facade calls, until the patch below

    def counting(member_id: str, main: Path, allowed: frozenset[str]) -> MemberLedger:
        calls.append(member_id)
        return real(member_id, main, allowed)

    monkeypatch.setattr(books_module, "load_member_ledger", counting)
    return calls


def _load(ledgers: Path, rules: Path, cache_dir: Path, jobs: int = 1) -> GroupBooks:
    books, problems = open_books(ledgers, rules, cache_dir=cache_dir, jobs=jobs)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return books


def test_cache_hits_and_only_changed_member_reparsed(group: tuple[Path, Path], parse_counter: list[str],
                                                     tmp_path: Path) -> None:
    ledgers, rules = group
    cache_dir = tmp_path / "var" / "cache"
    first = _load(ledgers, rules, cache_dir)
    assert sorted(parse_counter) == ["asso-a", "asso-b", "asso-c"]
    assert len(list(cache_dir.glob("*.pickle"))) == 3
    parse_counter.clear()
    second = _load(ledgers, rules, cache_dir)
    assert parse_counter == []
    assert second.ledgers["asso-b"].entries == first.ledgers["asso-b"].entries
    # An included file of one member changes: only that member is parsed again.
    extra = ledgers / "asso-b" / "extra" / "2024.beancount"
    extra.write_text(extra.read_text().replace("5.00", "7.00"))
    third = _load(ledgers, rules, cache_dir)
    assert parse_counter == ["asso-b"]
    amounts = [p.units.number for e in third.ledgers["asso-b"].entries if isinstance(e, data.Transaction)
               for p in e.postings if p.account == "Assets:512-Banque" and p.units is not None]
    assert str(amounts[-1]) == "7.00"
    # A new file matching an include glob also invalidates that member only.
    parse_counter.clear()
    (ledgers / "asso-c" / "extra" / "2025.beancount").write_text("; vide\n")
    _load(ledgers, rules, cache_dir)
    assert parse_counter == ["asso-c"]


def test_rules_change_invalidates(group: tuple[Path, Path], parse_counter: list[str], tmp_path: Path) -> None:
    ledgers, rules = group
    cache_dir = tmp_path / "cache"
    _load(ledgers, rules, cache_dir)
    parse_counter.clear()
    (rules / "plugins.toml").write_text('allowed = ["beancount.plugins.leafonly"]\n')
    _load(ledgers, rules, cache_dir)
    assert sorted(parse_counter) == ["asso-a", "asso-b", "asso-c"]


def test_ledgers_folder_stays_clean(group: tuple[Path, Path], tmp_path: Path) -> None:
    ledgers, rules = group
    before = sorted(p.name for p in ledgers.rglob("*"))
    _load(ledgers, rules, tmp_path / "var" / "cache")
    _load(ledgers, rules, tmp_path / "var" / "cache")
    assert sorted(p.name for p in ledgers.rglob("*")) == before


def test_parallel_equals_serial(group: tuple[Path, Path], tmp_path: Path) -> None:
    ledgers, rules = group
    serial = _load(ledgers, rules, tmp_path / "c1", jobs=1)
    parallel = _load(ledgers, rules, tmp_path / "c2", jobs=2)
    for member in ("asso-a", "asso-b", "asso-c"):
        assert serial.ledgers[member].entries == parallel.ledgers[member].entries


def test_corrupt_cache_is_ignored(group: tuple[Path, Path], tmp_path: Path) -> None:
    ledgers, rules = group
    cache_dir = tmp_path / "cache"
    _load(ledgers, rules, cache_dir)
    for path in cache_dir.glob("*.pickle"):
        path.write_bytes(b"not a pickle")
    books = _load(ledgers, rules, cache_dir)
    assert len(books.ledgers["asso-a"].entries) == 4  # 2 open, 2 transactions


class _Cycle:
    """A garbage cycle standing for a resource only the collector frees (an unclosed connection)."""

    def __init__(self) -> None:
        self.me = self


def test_loading_leaves_garbage_cycles_to_the_collector(group: tuple[Path, Path]) -> None:
    """Loading must not freeze what awaits the collector: a frozen cycle would never be freed."""
    ledgers, _rules = group
    gc.collect()
    was_enabled = gc.isenabled()
    cycle = _Cycle()
    gone = weakref.ref(cycle)
    del cycle  # garbage now, but only the collector can free it
    ledger = load_member_ledger("asso-a", ledgers / "asso-a" / "main.beancount", frozenset())
    assert gc.isenabled() == was_enabled and ledger.entries
    gc.collect()
    assert gone() is None
    entries = weakref.ref(ledger.entries)
    del ledger
    assert entries() is None  # reference counting frees a replaced ledger (no cycle keeps it)


def test_the_server_collects_before_it_freezes_its_heap() -> None:
    from comptasso.web.serve import settle_heap

    cycle, alive = _Cycle(), _Cycle()
    gone, kept = weakref.ref(cycle), weakref.ref(alive)
    del cycle
    try:
        frozen = settle_heap()
        assert gone() is None  # the garbage was collected, not frozen
        assert frozen == gc.get_freeze_count() > 0 and id(alive) not in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()  # the rest of the suite runs with an ordinary collector
    assert kept() is alive


def test_the_server_s_start_pauses_the_collector_then_settles() -> None:
    from comptasso.web.serve import lasting_heap

    was_enabled = gc.isenabled()
    try:
        with lasting_heap():
            assert not gc.isenabled()
            cycle = _Cycle()
            gone = weakref.ref(cycle)
            del cycle
        assert gone() is None and gc.get_freeze_count() > 0
        assert gc.isenabled() == was_enabled
    finally:
        gc.unfreeze()
