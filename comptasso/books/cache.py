"""A content-keyed cache of parsed member ledgers, kept under `var/cache/` (never beside the books)."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import beancount

from comptasso import __version__
from comptasso.books.loading import MemberLedger, digest, gc_paused
from comptasso.books.safety import expand_include

FORMAT = 3  # 2: French Beancount messages and codes; 3: entries are `loading.Entries`


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
    """The cached ledger if it is still exactly what the files say, else None."""
    path = cache_path(cache_dir, main)
    try:
        with path.open("rb") as handle, gc_paused():
            # The cache is this program's own file, written by `write` below under var/cache/.
            key, ledger = pickle.load(handle)  # noqa: S301
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError, TypeError):
        return None
    if key != _extra_key(allowed_plugins) or not isinstance(ledger, MemberLedger):
        return None
    return ledger if is_fresh(ledger) else None


def write(cache_dir: Path, main: Path, allowed_plugins: frozenset[str], ledger: MemberLedger) -> None:
    """Store a ledger atomically; a cache that cannot be written is simply skipped."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((_extra_key(allowed_plugins), ledger), handle, protocol=pickle.HIGHEST_PROTOCOL)
        Path(tmp).replace(cache_path(cache_dir, main))
    except OSError:
        return
