"""The memo of a day's plan, capacity and forecast, keyed on the content of everything they read.

The key (`memo_key`, the one place it is made) hashes: what is memoised and its parameters, the day,
every member ledger's files (the SHA-256 the books cache already computed), the group and funders as
read, the policy, the registry's whole state (every advance and its events) and the code of the
engine. A changed input gives another key, so a memo is never stale: it is only ever absent.

Results are pickled under `var/cache/memo/` (beside the books cache), one file per key, written to a
temporary file and renamed, so two processes may share the folder; a file whose stored key differs
from its name's (a truncated or foreign file) is ignored.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from banquasso.registry.db import DB_URL_ENV, database_url, open_registry
from banquasso.registry.desk import load_views
from banquasso.terms.policy import Policy
from comptasso import problems
from comptasso.books.facade import GroupBooks, default_cache_dir

T = TypeVar("T")

#: How many results the memo folder keeps; the oldest are removed beyond.
MEMO_FILES = 64
MEMO_FOLDER = "memo"


@functools.cache
def code_digest() -> str:
    """The SHA-256 of the engine's source (banquasso and comptasso): a new version never reads an old memo."""
    sha = hashlib.sha256()
    for root in (Path(__file__).resolve().parents[1], Path(problems.__file__).resolve().parent):
        for path in sorted(root.rglob("*.py")):
            sha.update(str(path.relative_to(root)).encode())
            sha.update(path.read_bytes())
    return sha.hexdigest()


def registry_state(ledgers_dir: Path) -> str:
    """The registry's whole state as text (every advance, with its events); '' when there is no registry yet."""
    url = database_url(ledgers_dir)
    if not os.environ.get(DB_URL_ENV) and not Path(url.removeprefix("sqlite:///")).exists():
        return ""
    registry = open_registry(ledgers_dir, url)
    try:
        return url + "\n" + "\n".join(repr(v) for v in load_views(registry))
    finally:
        registry.close()


def books_state(books: GroupBooks) -> str:
    """The books as read: the group, the funders, and each member ledger's files with their SHA-256."""
    lines = [repr(books.group), repr(books.reference)]
    for member_id in sorted(books.ledgers):
        ledger = books.ledgers[member_id]
        lines.append(f"{member_id} {ledger.files.digests!r} {ledger.files.includes!r}")
    return "\n".join(lines)


def memo_key(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, **params: object) -> str:
    """The memo key of `kind` (plan, capacity, forecast) for these inputs: the SHA-256 of their content."""
    parts = [kind, as_of.isoformat(), repr(sorted(params.items())), code_digest(), books_state(books),
             policy.model_dump_json(), registry_state(books.group.ledgers_dir)]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def memo_dir(books: GroupBooks) -> Path:
    """`var/cache/memo/` beside the ledgers folder (or under COMPTASSO_CACHE_DIR)."""
    return default_cache_dir(books.group.ledgers_dir) / MEMO_FOLDER


def recall(folder: Path, key: str) -> Any | None:
    """The result stored under `key`, or None (absent, unreadable or another key's)."""
    try:
        with (folder / f"{key}.pickle").open("rb") as handle:
            stored_key, value = pickle.load(handle)  # noqa: S301 - our own folder, written by `remember`
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return None
    return value if stored_key == key else None


def remember(folder: Path, key: str, value: object) -> None:
    """Store `value` under `key` atomically (temp file + rename); a write that fails is only a lost memo."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pickle")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, value), handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(tmp).replace(folder / f"{key}.pickle")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns)
    for path in files[:-MEMO_FILES]:
        path.unlink(missing_ok=True)


def memoised(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, compute: Callable[[], T],
             **params: object) -> T:
    """`compute()`, or its stored result when every input is unchanged since it was stored."""
    key = memo_key(kind, books, policy, as_of, **params)
    folder = memo_dir(books)
    found = recall(folder, key)
    if found is not None:
        value: T = found
        return value
    value = compute()
    remember(folder, key, value)
    return value
