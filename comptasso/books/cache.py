"""A content-keyed cache of parsed member ledgers, kept under `var/cache/` (never beside the books).

In front of the files, each process keeps the ledgers it last read or wrote (`MEMORY_LEDGERS` at
most, by main file and cache folder): a fresh one is handed back as the very same object, so that
`comptasso serve` holds each member's directives once — shared by Fava's member ledger, the
consolidated group view and the BanquAsso pages — and a later read only hashes the files to prove
them unchanged instead of unpickling them again. Freshness is checked on every read, in memory as
on disk: a changed file is always re-read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import beancount
from beancount.core import data

from comptasso import __version__
from comptasso.books.deferred import DeferredEntries, StaleLedgerError
from comptasso.books.loading import LedgerFiles, MemberLedger, digest, gc_paused, load_member_ledger
from comptasso.books.safety import expand_include
from comptasso.problems import Problem

#: 2: French Beancount messages and codes; 3: entries are `loading.Entries`; 4: the entries pickled apart,
#: unpickled when first read (`deferred.DeferredEntries`).
FORMAT = 4
#: How many parsed ledgers a process keeps in memory (the least recently used go first).
MEMORY_LEDGERS = 512

_memory: OrderedDict[tuple[str, str, str], MemberLedger] = OrderedDict()
_memory_lock = threading.Lock()


def _memory_key(cache_dir: Path, main: Path, allowed_plugins: frozenset[str]) -> tuple[str, str, str]:
    return str(Path(cache_dir).resolve()), str(Path(main).resolve()), _extra_key(allowed_plugins)


def _recall_memory(key: tuple[str, str, str]) -> MemberLedger | None:
    with _memory_lock:
        ledger = _memory.get(key)
        if ledger is not None:
            _memory.move_to_end(key)
    return ledger


def _keep_memory(key: tuple[str, str, str], ledger: MemberLedger) -> None:
    with _memory_lock:
        _memory[key] = ledger
        _memory.move_to_end(key)
        while len(_memory) > MEMORY_LEDGERS:
            _memory.popitem(last=False)


def forget_memory() -> None:
    """Drop the ledgers this process keeps in memory (the files under var/cache stay)."""
    with _memory_lock:
        _memory.clear()


def _extra_key(allowed_plugins: frozenset[str]) -> str:
    parts = [str(FORMAT), __version__, beancount.__version__, *sorted(allowed_plugins)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def cache_path(cache_dir: Path, main: Path) -> Path:
    """Where the cached ledger of a main file lives."""
    name = hashlib.sha256(str(Path(main).resolve()).encode()).hexdigest()[:24]
    return cache_dir / f"{Path(main).parent.name}-{name}.pickle"


def is_fresh(ledger: MemberLedger) -> bool:
    """True when no file of the ledger has changed and every include matches the same files."""
    for filename, expected in ledger.files.digests:
        try:
            if digest(filename) != expected:
                return False
        except OSError:
            return False
    return all(
        expand_include(match.file, match.pattern).matches == match.matches
        for match in ledger.files.includes
    )


def read(cache_dir: Path, main: Path, allowed_plugins: frozenset[str]) -> MemberLedger | None:
    """The cached ledger if it is still exactly what the files say, else None (memory first, then disk)."""
    key = _memory_key(cache_dir, main, allowed_plugins)
    kept = _recall_memory(key)
    if kept is not None and is_fresh(kept):
        return kept
    ledger = _read_file(cache_dir, main, allowed_plugins)
    if ledger is not None:
        _keep_memory(key, ledger)
    return ledger


def _read_file(cache_dir: Path, main: Path, allowed_plugins: frozenset[str]) -> MemberLedger | None:
    """The stored ledger, its directives left as the bytes read (`DeferredEntries`) until first used."""
    stored = load(cache_path(cache_dir, main))
    if not isinstance(stored, tuple) or len(stored) != 3:
        return None
    key, header, blob = stored
    if key != _extra_key(allowed_plugins) or not isinstance(header, LedgerHeader) or not isinstance(blob, bytes):
        return None
    entries = DeferredEntries.of(blob, partial(_parse_again, main, allowed_plugins, header), header.first_date)
    ledger = MemberLedger(header.member_id, entries, header.options, header.problems, header.files)
    return ledger if is_fresh(ledger) else None


@dataclass(frozen=True)
class LedgerHeader:
    """What a cache file holds of a ledger besides its directives: read at once, the directives when used."""

    member_id: str
    options: dict[str, Any]
    problems: tuple[Problem, ...]
    files: LedgerFiles
    first_date: dt.date | None = None  # the first directive's (`Entries.first_date`)


def _parse_again(main: Path, allowed_plugins: frozenset[str], header: LedgerHeader) -> list[data.Directive]:
    """The directives of a cached ledger whose pickled directives cannot be read: its files parsed again,
    provided they still are the files the cache was checked against (else `StaleLedgerError`)."""
    ledger = load_member_ledger(header.member_id, main, allowed_plugins)
    if ledger.files.digests != header.files.digests:
        raise StaleLedgerError(str(main))
    return list(ledger.entries)


def load(path: Path) -> object | None:
    """What `store` pickled into `path`, or None when it is absent or cannot be read (another version's
    classes, a truncated file): a cache that cannot be read is only computed again."""
    try:
        with path.open("rb") as handle, gc_paused():
            # A cache is this program's own file, written by `store` under var/cache/.
            return pickle.load(handle)  # type: ignore[no-any-return]  # noqa: S301
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return None


def write(cache_dir: Path, main: Path, allowed_plugins: frozenset[str], ledger: MemberLedger) -> None:
    """Store a ledger atomically (and in memory); a cache that cannot be written is simply skipped."""
    _keep_memory(_memory_key(cache_dir, main, allowed_plugins), ledger)
    header = LedgerHeader(ledger.member_id, ledger.options, ledger.problems, ledger.files, ledger.first_date)
    blob = pickle.dumps(list(ledger.entries), protocol=pickle.HIGHEST_PROTOCOL)
    store(cache_path(cache_dir, main), (_extra_key(allowed_plugins), header, blob))


def store(path: Path, value: object) -> bool:
    """Pickle `value` into `path` atomically: a temporary file in the same folder, then a rename.

    No fsync: a cache file lost in a crash is only computed again. Every cache of the project writes
    through here (the ledgers, the plan's memo, the members' facts). False when it cannot be
    written; no temporary file is left behind.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def keep_newest(folder: Path, keep: int) -> None:
    """Delete all but the `keep` most recently written `*.pickle` files of `folder` (a failure deletes no more)."""
    try:
        files = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
        for path in files[:-keep]:
            path.unlink(missing_ok=True)
    except OSError:
        return
