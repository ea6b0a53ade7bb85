"""Cached ledgers' directives unpickled when first used: a plain list to every reader, read only when needed."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from beancount.core import data
from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.forecast.daily import readable
from banquasso.pool.plan import memoised_plan
from banquasso.terms.policy import load_policy
from comptasso.books import cache
from comptasso.books.deferred import FILLING, DeferredEntries, StaleLedgerError
from comptasso.books.facade import GroupBooks, default_cache_dir, open_books
from comptasso.books.loading import Entries
from tests.conftest import write_group

AS_OF = dt.date(2026, 11, 30)
LEDGER = """
option "operating_currency" "EUR"
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-02 * "Apport" "Fonds associatifs"
  Assets:512-Banque  100.00 EUR
  Equity:102-Fonds-Associatifs
"""


def _deferred(items: list[Any]) -> list[Any]:
    def never() -> list[data.Directive]:
        raise AssertionError("the bytes unpickle: no fallback")

    return cast("list[Any]", DeferredEntries.of(pickle.dumps(items), never))


def _then(entries: list[Any], name: str, *args: Any, **kwargs: Any) -> list[Any]:
    """Call the list method `name`, then give the list's items."""
    getattr(entries, name)(*args, **kwargs)
    return list(entries)


# Each list operation, as a function of the list; a copy of the items is what it must act on.
OPERATIONS: dict[str, Callable[[list[object]], object]] = {
    "__len__": len, "__iter__": list, "__reversed__": lambda e: list(reversed(e)),
    "__getitem__": lambda e: (e[1], e[-1], e[1:]), "__setitem__": lambda e: _then(e, "__setitem__", 0, "z"),
    "__delitem__": lambda e: _then(e, "__delitem__", 0), "__contains__": lambda e: ("b" in e, "q" in e),
    "__eq__": lambda e: e == ["a", "b", "c"], "__ne__": lambda e: e != ["a", "b", "c"],
    "__lt__": lambda e: e < ["b"], "__le__": lambda e: e <= ["a", "b", "c"], "__gt__": lambda e: e > ["a"],
    "__ge__": lambda e: e >= ["a", "b", "d"], "__add__": lambda e: e + ["d"],  # noqa: RUF005
    "__iadd__": lambda e: list(e.__iadd__(["d"])), "__mul__": lambda e: e * 2, "__rmul__": lambda e: 2 * e,
    "__imul__": lambda e: list(e.__imul__(2)), "__repr__": repr, "__sizeof__": lambda e: e.__sizeof__() > 0,
    "copy": lambda e: e.copy(), "index": lambda e: e.index("c"), "count": lambda e: e.count("a"),
    "append": lambda e: _then(e, "append", "d"), "extend": lambda e: _then(e, "extend", ["d"]),
    "insert": lambda e: _then(e, "insert", 1, "d"), "pop": lambda e: (e.pop(), list(e)),
    "remove": lambda e: _then(e, "remove", "b"), "reverse": lambda e: _then(e, "reverse"),
    "sort": lambda e: _then(e, "sort", reverse=True), "clear": lambda e: _then(e, "clear"),
}


def test_every_list_operation_has_a_case() -> None:
    assert set(OPERATIONS) == set(FILLING)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_deferred_list_answers_each_operation_as_the_list_it_holds(name: str) -> None:
    operation = OPERATIONS[name]
    deferred = _deferred(["a", "b", "c"])
    assert operation(deferred) == operation(["a", "b", "c"])
    assert type(deferred) is Entries  # filled, it is a plain Entries: no cost on later reads


def test_a_deferred_list_fills_for_right_addition_bool_pickle_and_copy() -> None:
    assert ["z"] + _deferred(["a"]) == ["z", "a"]  # noqa: RUF005 -- list + deferred: C code reads the storage
    assert bool(_deferred(["a"])) and not bool(_deferred([]))
    assert pickle.loads(pickle.dumps(_deferred(["a", "b"]))) == ["a", "b"]
    assert copy.copy(_deferred(["a"])) == ["a"]
    assert copy.deepcopy(_deferred(["a"])) == ["a"]
    assert sorted(_deferred(["b", "a"])) == ["a", "b"]
    assert tuple(_deferred(["a"])) == ("a",)
    assert list(_deferred(["a"])) == ["a"]


def test_filling_keeps_the_object_its_weak_references_and_its_items_once() -> None:
    deferred = _deferred(list(range(1000)))
    ref = weakref.ref(deferred)
    before = id(deferred)
    threads = [threading.Thread(target=len, args=(deferred,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert ref() is deferred and id(deferred) == before
    assert list(deferred) == list(range(1000))  # filled once, not once per thread


def test_bytes_that_do_not_unpickle_are_read_from_the_fallback() -> None:
    deferred: list[Any] = DeferredEntries.of(b"\x80\x05 not a pickle", lambda: ["again"])  # type: ignore[list-item]
    assert list(deferred) == ["again"]


def _books(ledgers: Path, rules: Path) -> GroupBooks:
    books, problems = open_books(ledgers, rules, jobs=1)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return books


def test_a_cached_ledger_is_read_deferred_and_equal_to_a_parsed_one(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"asso-a": LEDGER, "asso-b": LEDGER})
    parsed = _books(ledgers, rules)
    cache.forget_memory()  # as a new process
    cached = _books(ledgers, rules)
    entries = cached.ledgers["asso-a"].entries
    assert type(entries) is DeferredEntries
    assert entries == parsed.ledgers["asso-a"].entries
    assert type(entries) is Entries


def test_a_damaged_cache_is_parsed_again_and_a_changed_ledger_is_never_mixed_in(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"asso-a": LEDGER})
    parsed = _books(ledgers, rules)
    path = next(default_cache_dir(ledgers).glob("asso-a-*.pickle"))
    stored = cache.load(path)
    assert isinstance(stored, tuple)
    key, header, _ = stored
    cache.store(path, (key, header, b"\x80\x05 damaged"))
    cache.forget_memory()
    assert _books(ledgers, rules).ledgers["asso-a"].entries == parsed.ledgers["asso-a"].entries
    cache.forget_memory()
    stale = _books(ledgers, rules).ledgers["asso-a"].entries  # checked fresh, not yet read
    main = ledgers / "asso-a" / "main.beancount"
    main.write_text(main.read_text() + "\n; changed after the check\n")
    with pytest.raises(StaleLedgerError, match="a changé pendant sa lecture"):
        len(stale)


def test_after_one_member_s_edit_the_plan_reads_no_other_member_s_directives(tmp_path: Path) -> None:
    members = {f"asso-{n}": LEDGER for n in "abcd"}
    ledgers, rules = write_group(tmp_path, members)
    policy, problems = load_policy(rules)
    assert policy is not None, problems
    memoised_plan(readable(_books(ledgers, rules).without_broken(), AS_OF), policy, AS_OF)
    main = ledgers / "asso-b" / "main.beancount"
    main.write_text(main.read_text() + '\n2026-11-30 * "Paiement"\n  Assets:512-Banque  -10.00 EUR\n'
                    "  Equity:102-Fonds-Associatifs\n")
    cache.forget_memory()
    books = _books(ledgers, rules)
    plan = memoised_plan(readable(books.without_broken(), AS_OF), policy, AS_OF)
    assert plan.as_of == AS_OF
    kinds = {member: type(ledger.entries).__name__ for member, ledger in books.ledgers.items()}
    assert kinds == {"asso-a": "DeferredEntries", "asso-b": "Entries", "asso-c": "DeferredEntries",
                     "asso-d": "DeferredEntries"}


def test_the_books_start_is_known_without_reading_any_directive(tmp_path: Path) -> None:
    from banquasso.forecast.daily import books_start

    ledgers, rules = write_group(tmp_path, {"asso-a": LEDGER, "asso-b": LEDGER.replace("2026-01-0", "2025-06-0")})
    assert books_start(_books(ledgers, rules)) == dt.date(2025, 6, 1)
    cache.forget_memory()
    books = _books(ledgers, rules)
    assert books_start(books) == dt.date(2025, 6, 1)
    assert {type(ledger.entries) for ledger in books.ledgers.values()} == {DeferredEntries}
    assert Entries().first_date is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=8), st.lists(st.sampled_from(sorted(OPERATIONS)), min_size=1, max_size=6))
def test_any_sequence_of_list_operations_acts_on_a_deferred_list_as_on_the_list(
        items: list[int], names: list[str]) -> None:
    letters = [chr(ord("a") + i) for i in items]
    deferred, plain = _deferred(letters), list[object](letters)
    for name in names:
        try:
            expected: object = OPERATIONS[name](plain)
        except (IndexError, ValueError) as exc:  # an empty list popped, an absent item removed…
            with pytest.raises(type(exc)):
                OPERATIONS[name](deferred)
            continue
        assert OPERATIONS[name](deferred) == expected
        assert list(deferred) == plain
