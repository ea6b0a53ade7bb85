"""Facts of one member's books, memoised on the content of its ledger, in this process and across processes.

A fact is a value computed from one member's directives alone, named by what it is and its
parameters (`fact(entries, ("read", as_of), compute)`): the forecast's read of the member as of a
day, its net-cash figures at an opening, its earmarked cash, what it lent since a day. In a process
the facts of a loaded ledger are kept on its directive list (by identity, weakly held, like
`comptasso.model.member`), so they die with it.

Across processes, `load_facts` and `save_facts` keep each member's facts in a file of its own,
under `var/cache/facts/` (beside the books cache and the memo), with the SHA-256 of each of its
ledger files and its include globs (what the books cache read): `load_facts` gives a member back
its facts only when those are exactly its ledger's now, and `save_facts` writes only the members
that have new facts. A file's name hashes the group folder, the member, the engine's code
(`code_digest`), Beancount's version and the plugins allowed, so another version never reads it.
After an edit of one member, only that member's facts are computed and written again. The folder
keeps its newest files (`FACTS_FILES`, or twice the members); a file that cannot be read or
written is only a lost memo.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import beancount
from beancount.core import data

from comptasso import problems
from comptasso.books.cache import keep_newest, load, store
from comptasso.books.facade import GroupBooks, default_cache_dir
from comptasso.books.loading import MemberLedger

T = TypeVar("T")
FACTS_FOLDER = "facts"
#: Facts kept per member (the oldest go beyond): a day's plan reads at most 7 (its read, the net cash
#: at up to 3 openings, the earmarked cash, what was lent in up to 2 years); a backtest walks many days,
#: and each file is written again with all of them.
FACTS_KEPT = 8
#: Facts files the folder keeps at least (twice the members, when more); the oldest go beyond.
FACTS_FILES = 256
Facts = dict[Hashable, Any]


def code_files() -> list[tuple[Path, Path]]:
    """The engine's sources (banquasso and comptasso) as (package root, file), in the digest's order."""
    roots = (Path(__file__).resolve().parents[1], Path(problems.__file__).resolve().parent)
    return [(root, path) for root in roots for path in sorted(root.rglob("*.py"))]


@functools.cache
def code_digest() -> str:
    """The SHA-256 of the engine's source (banquasso and comptasso): a new version never reads an old memo."""
    sha = hashlib.sha256()
    for root, path in code_files():
        sha.update(str(path.relative_to(root)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


class _Registry:
    """The facts of each loaded directive list (by identity, weakly held), and whether some are new; thread-safe."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[weakref.ref[Sequence[data.Directive]], Facts]] = {}
        self._new: set[int] = set()
        self._loaded: set[int] = set()  # the lists whose stored facts `load_facts` already looked for
        self._lock = threading.Lock()

    def facts(self, entries: Sequence[data.Directive]) -> Facts | None:
        """The facts kept for `entries` (created empty), or None for a list that cannot be weakly referenced."""
        try:
            ref = weakref.ref(entries, self._forget)
        except TypeError:  # a plain list (an inline test ledger, Fava's own entries): no memo
            return None
        key = id(entries)
        with self._lock:
            held = self._facts.get(key)
            if held is None or held[0]() is not entries:
                held = (ref, {})
                self._facts[key] = held
                self._new.discard(key)
                self._loaded.discard(key)
            return held[1]

    def first_look(self, entries: Sequence[data.Directive]) -> bool:
        """Whether the stored facts of `entries` are looked for the first time (the next call says False)."""
        with self._lock:
            key = id(entries)
            found = key not in self._loaded
            self._loaded.add(key)
            return found

    def mark_new(self, entries: Sequence[data.Directive]) -> None:
        with self._lock:
            self._new.add(id(entries))

    def take_new(self, entries: Sequence[data.Directive]) -> bool:
        """Whether facts were computed for `entries` since the last call (which forgets it)."""
        with self._lock:
            key = id(entries)
            found = key in self._new
            self._new.discard(key)
            return found

    def _forget(self, ref: weakref.ref[Sequence[data.Directive]]) -> None:
        with self._lock:
            for key, (held, _) in list(self._facts.items()):
                if held is ref or held() is None:
                    del self._facts[key]
                    self._new.discard(key)
                    self._loaded.discard(key)


_REGISTRY = _Registry()


def fact(entries: Sequence[data.Directive], name: Hashable, compute: Callable[[], T]) -> T:
    """The fact `name` of a member's directives: kept, else `compute()` (a pure function of `entries`)."""
    facts = _REGISTRY.facts(entries)
    if facts is None:
        return compute()
    if name in facts:
        found: T = facts[name]
        return found
    value = compute()
    facts[name] = value
    while len(facts) > FACTS_KEPT:
        del facts[next(iter(facts))]
    _REGISTRY.mark_new(entries)
    return value


def _signature(ledger: MemberLedger) -> str:
    """What a member's facts were computed from: its ledger files' SHA-256 and include globs."""
    return f"{ledger.files.digests!r} {ledger.files.includes!r}"


def facts_dir(books: GroupBooks) -> Path:
    """The group's facts folder: `var/cache/facts/` beside the ledgers folder (or under COMPTASSO_CACHE_DIR)."""
    return default_cache_dir(books.group.ledgers_dir) / FACTS_FOLDER


def facts_path(books: GroupBooks, member_id: str) -> Path:
    """A member's facts file; its name hashes the ledgers folder, the member, the code and Beancount's setup."""
    return _facts_paths(books)(member_id)


def _facts_paths(books: GroupBooks) -> Callable[[str], Path]:
    """`facts_path` of each member of `books`, the folders resolved once (a resolve is a few system calls)."""
    folder, ledgers_dir = facts_dir(books), str(Path(books.group.ledgers_dir).resolve())
    setup = [code_digest(), beancount.__version__, *sorted(books.reference.allowed_plugins)]

    def path(member_id: str) -> Path:
        name = hashlib.sha256(chr(0).join([ledgers_dir, member_id, *setup]).encode()).hexdigest()[:32]
        return folder / f"{name}.pickle"

    return path


def load_facts(books: GroupBooks) -> None:
    """Give each member of `books` the facts stored for its ledger's content (none for a changed ledger).

    Each loaded ledger's file is read once: a later call for the same directives reads nothing.
    """
    paths = _facts_paths(books)
    for member_id, ledger in books.ledgers.items():
        facts = _REGISTRY.facts(ledger.entries)
        if facts is None or not _REGISTRY.first_look(ledger.entries):
            continue
        stored = load(paths(member_id))
        signature, found = stored if isinstance(stored, tuple) and len(stored) == 2 else (None, None)
        if signature == _signature(ledger) and isinstance(found, dict):
            for name, value in found.items():
                facts.setdefault(name, value)


def save_facts(books: GroupBooks) -> None:
    """Store the facts of every member some of whose facts were computed since (temp file + rename)."""
    written, paths = False, _facts_paths(books)
    for member_id, ledger in books.ledgers.items():
        facts = _REGISTRY.facts(ledger.entries)
        if facts and _REGISTRY.take_new(ledger.entries):
            store(paths(member_id), (_signature(ledger), dict(facts)))
            written = True
    if written:
        keep_newest(facts_dir(books), max(FACTS_FILES, 2 * len(books.ledgers)))

