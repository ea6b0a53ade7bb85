"""The memo of a day's plan, capacity and forecast, keyed on the content of everything they read.

The key (`memo_key`, the one place it is made) hashes: what is memoised and its parameters, the day,
every member ledger's files (the SHA-256 the books cache already computed), the group and funders as
read, the policy, the registry's whole state (every advance and its events) and the code of the
engine. A changed input gives another key, so a memo is never stale: it is only ever absent.

Results are pickled under `var/cache/memo/` (beside the books cache), one file per key, written to a
temporary file and renamed, so two processes may share the folder; a file whose stored key differs
from its name's (a truncated or foreign file) is ignored.

Before any ledger is read, `recall_quick` answers from the memo on the files' stamps alone: beside
each result, a quick entry (`quick-….pickle`) lists every input file — everything under the ledgers
and rules folders, the registry's SQLite files, the engine's sources — with its size, modification
time, inode and SHA-256. When every file's stamp is unchanged the stored key is the key of today's
inputs, and no ledger is loaded; a file whose stamp changed is hashed, and the entry still holds when
its content is the same (a touch, a save without change). Any other difference, a file more or less,
or a registry that is not a SQLite file is a miss: the caller reads the books and `memoised` answers
by content, then stores a new quick entry — only after checking that every input it stamps is still
what the result was computed from.

Below the plan's key, `memoised_on` keys a step on the content of its own inputs (`content_key`):
the plan's solving step is keyed on the allocation program built from the books (`pool.plan`), so
an edit that leaves the program as it was (a comment, a narration, an entry the forecast does not
read) reads the books again but does not solve again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from banquasso.forecast.facts import code_digest, code_files
from banquasso.registry.location import database_url, registry_exists
from banquasso.terms.policy import Policy, load_policy
from comptasso.books.cache import keep_newest, load, store
from comptasso.books.facade import Exclusion, GroupBooks, default_cache_dir
from comptasso.books.group import load_group
from comptasso.books.reference import load_reference

T = TypeVar("T")

#: How many results the memo folder keeps; the oldest are removed beyond.
MEMO_FILES = 64
MEMO_FOLDER = "memo"


QUICK_PREFIX = "quick-"
#: Files under the ledgers folder that are no input: Beancount's own load cache beside a ledger.
IGNORED_SUFFIXES = (".picklecache",)


def registry_state(ledgers_dir: Path) -> str:
    """The registry's whole state as text (every advance, with its events); '' when there is no registry yet."""
    url = database_url(ledgers_dir)
    if not registry_exists(ledgers_dir):
        return ""
    from banquasso.registry.db import open_registry  # SQLAlchemy: only once the books are read (lazy)
    from banquasso.registry.desk import load_views

    registry = open_registry(ledgers_dir, url)
    try:
        return url + "\n" + "\n".join(stable_repr(v) for v in load_views(registry))
    finally:
        registry.close()


def stable_repr(value: object) -> str:
    """`repr`, the same in every process: sets and frozensets (whose order follows the per-process string
    hash) are written sorted, inside dataclasses, mappings and sequences too."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(stable_repr(v) for v in value)) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{f.name}={stable_repr(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({inner})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{stable_repr(k)}: {stable_repr(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(stable_repr(v) for v in value) + "]"
    return repr(value)


def books_state(books: GroupBooks) -> str:
    """The books as read: the group, the funders, and each member ledger's files with their SHA-256."""
    lines = [stable_repr(books.group), stable_repr(books.reference)]
    for member_id in sorted(books.ledgers):
        ledger = books.ledgers[member_id]
        lines.append(f"{member_id} {ledger.files.digests!r} {ledger.files.includes!r}")
    return "\n".join(lines)


def memo_key(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, **params: object) -> str:
    """The memo key of `kind` (plan, capacity, forecast) for these inputs: the SHA-256 of their content."""
    return _key(kind, books, policy, as_of, registry_state(books.group.ledgers_dir), params)


def _key(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, registry: str,
         params: Mapping[str, object]) -> str:
    parts = [kind, as_of.isoformat(), repr(sorted(params.items())), code_digest(), books_state(books),
             policy.model_dump_json(), registry]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def memo_dir(books: GroupBooks) -> Path:
    """`var/cache/memo/` beside the ledgers folder (or under COMPTASSO_CACHE_DIR)."""
    return default_cache_dir(books.group.ledgers_dir) / MEMO_FOLDER


def recall(folder: Path, key: str) -> Any | None:
    """The result stored under `key`, or None (absent, unreadable or another key's)."""
    stored = load(folder / f"{key}.pickle")
    if not isinstance(stored, tuple) or len(stored) != 2:
        return None
    stored_key, value = stored
    return value if stored_key == key else None


def remember(folder: Path, key: str, value: object) -> None:
    """Store `value` under `key` atomically (temp file + rename); a write that fails is only a lost memo."""
    if store(folder / f"{key}.pickle", (key, value)):
        keep_newest(folder, MEMO_FILES)


def memoised(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, compute: Callable[[], T],
             *, also: str = "", **params: object) -> T:
    """`compute()`, or its stored result when every input is unchanged since it was stored.

    Either way the quick entry of these inputs is (re)written, so that the next `recall_quick` of
    the same question answers before reading any ledger. `also` is what else the result was
    computed from, beyond the books, the policy and the registry's advances (the statement's
    forecast snapshots): it enters the key, not the quick question (the quick path stamps the
    registry's file, which holds it).
    """
    registry = registry_state(books.group.ledgers_dir)
    key = _key(kind, books, policy, as_of, registry + also, params)
    folder = memo_dir(books)
    found = recall(folder, key)
    if found is not None:
        value: T = found
    else:
        value = compute()
        remember(folder, key, value)
    remember_quick(kind, books, policy, as_of, key, registry, **params)
    return value


def content_key(kind: str, *parts: object) -> str:
    """The memo key of a step (`kind`) computed from `parts` alone: the SHA-256 of their `stable_repr` and the code."""
    text = "\x00".join([kind, code_digest(), *(stable_repr(part) for part in parts)])
    return hashlib.sha256(text.encode()).hexdigest()


def memoised_on(folder: Path, key: str, kind: type[T], compute: Callable[[], T]) -> T:
    """`compute()`, or the value of type `kind` stored under `key` (a `content_key`) in `folder`."""
    found = recall(folder, key)
    if isinstance(found, kind):
        return found
    value = compute()
    remember(folder, key, value)
    return value


# ------------------------------------------------------------------------ the quick path (file stamps)


@dataclass(frozen=True)
class Stamp:
    """One input file as the quick path checks it: stat first, content (SHA-256) only on a mismatch."""

    path: str
    size: int
    mtime_ns: int
    inode: int
    sha256: str

    def same_stat(self, stat: os.stat_result) -> bool:
        return (stat.st_size, stat.st_mtime_ns, stat.st_ino) == (self.size, self.mtime_ns, self.inode)


@dataclass(frozen=True)
class Front:
    """The books a memoised result was computed on, as a command prints them beside it."""

    names: Mapping[str, str]
    excluded: tuple[Exclusion, ...]


@dataclass(frozen=True)
class Quick:
    """A quick entry: the stamps of every input file, and the memo key their content gave."""

    question: str
    stamps: tuple[Stamp, ...]
    key: str
    front: Front


def quick_question(kind: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date, **params: object) -> str:
    """What is asked, independently of the files' content: the name of its quick entry."""
    parts = [kind, as_of.isoformat(), repr(sorted(params.items())), str(Path(ledgers_dir).resolve()),
             str(Path(rules_dir).resolve()), database_url(Path(ledgers_dir))]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _sqlite_files(ledgers_dir: Path) -> list[Path] | None:
    """The registry's SQLite file and its journals; None when the registry is not a SQLite file."""
    url = database_url(ledgers_dir)
    if not url.startswith("sqlite:///"):
        return None
    db = Path(url.removeprefix("sqlite:///"))
    return [db, *(db.with_name(db.name + suffix) for suffix in ("-wal", "-journal", "-shm"))]


def input_files(ledgers_dir: Path, rules_dir: Path) -> list[Path] | None:
    """Every file a result may depend on, sorted; None when one of them cannot be stamped (a server registry)."""
    registry = _sqlite_files(ledgers_dir)
    if registry is None:
        return None
    cache = default_cache_dir(Path(ledgers_dir)).resolve()
    found = [p for folder in (Path(ledgers_dir).resolve(), Path(rules_dir).resolve()) for p in _files_under(folder)
             if not p.is_relative_to(cache)]  # a cache folder set inside the books is no input
    return sorted({*found, *(p for p in registry if p.exists()), *(path for _root, path in code_files())})


def _files_under(folder: Path) -> Iterator[Path]:
    for path in folder.rglob("*"):
        if not path.name.endswith(IGNORED_SUFFIXES) and path.is_file():
            yield path


def _quick_path(folder: Path, question: str) -> Path:
    return folder / f"{QUICK_PREFIX}{question}.pickle"


def recall_quick(kind: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date,
                 **params: object) -> tuple[Any, Front] | None:
    """The stored result and its books' front, when no input file changed since; None: read the books.

    Reads no ledger: only the files' stamps, and the content of a file whose stamp changed.
    """
    folder = default_cache_dir(Path(ledgers_dir)) / MEMO_FOLDER
    question = quick_question(kind, ledgers_dir, rules_dir, as_of, **params)
    entry = load(_quick_path(folder, question))
    if not isinstance(entry, Quick) or entry.question != question:
        return None
    files = input_files(ledgers_dir, rules_dir)
    if files is None or [str(p) for p in files] != [s.path for s in entry.stamps]:
        return None
    current = [_current(stamp) for stamp in entry.stamps]
    if any(s is None for s in current):
        return None
    value = recall(folder, entry.key)
    if value is None:
        return None
    stamps = tuple(s for s in current if s is not None)
    if stamps != entry.stamps:  # touched, not changed: stamp them anew, the next call hashes nothing
        _write_quick(folder, replace(entry, stamps=stamps))
    return value, entry.front


def _current(stamp: Stamp) -> Stamp | None:
    """The stamp of the file now if its content is the stamped one (hashed only when its stat differs), else None."""
    try:
        stat = Path(stamp.path).stat()
    except OSError:
        return None
    if stamp.same_stat(stat):
        return stamp
    if stat.st_size != stamp.size:
        return None
    now = _stamp(Path(stamp.path))
    return now if now is not None and now.sha256 == stamp.sha256 else None


def _sha(path: str) -> str:
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _stamp(path: Path) -> Stamp | None:
    """The stamp of a file, or None when it changed while it was hashed."""
    try:
        before = path.stat()
        sha = _sha(str(path))
        after = path.stat()
    except OSError:
        return None
    same = (before.st_size, before.st_mtime_ns, before.st_ino) == (after.st_size, after.st_mtime_ns, after.st_ino)
    return Stamp(str(path), after.st_size, after.st_mtime_ns, after.st_ino, sha) if same else None


def remember_quick(kind: str, books: GroupBooks, policy: Policy, as_of: dt.date, key: str, registry: str,
                   **params: object) -> None:
    """Store the quick entry of a result keyed `key`, if every input it stamps is still what `key` was made of.

    The stamps are taken first; then the ledgers' hashes, the group, the funders, the policy, the
    registry and the code are read again and compared with the books the result was computed on: an
    input that changed meanwhile leaves no quick entry (the next call reads the books).
    """
    ledgers_dir, rules_dir = books.group.ledgers_dir, books.reference.rules_dir
    files = input_files(ledgers_dir, rules_dir)
    if files is None:
        return
    stamps = [_stamp(path) for path in files]
    if any(s is None for s in stamps):
        return
    stamped = tuple(s for s in stamps if s is not None)
    if not _still_current(books, policy, stamped) or registry_state(ledgers_dir) != registry:
        return
    question = quick_question(kind, ledgers_dir, rules_dir, as_of, **params)
    front = Front({m.id: m.name for m in books.group.members}, books.excluded)
    _write_quick(memo_dir(books), Quick(question, stamped, key, front))


def _write_quick(folder: Path, entry: Quick) -> None:
    """Store a quick entry atomically (temp file + rename); a write that fails is only a lost shortcut."""
    store(_quick_path(folder, entry.question), entry)


def _still_current(books: GroupBooks, policy: Policy, stamps: tuple[Stamp, ...]) -> bool:
    """Whether the stamped files hold exactly the inputs the books, the policy and the code were read from."""
    by_path = {s.path: s.sha256 for s in stamps}
    for ledger in books.ledgers.values():
        if any(by_path.get(str(Path(name).resolve())) != sha for name, sha in ledger.files.digests):
            return False
    code = hashlib.sha256()
    for root, path in code_files():
        code.update(str(path.relative_to(root)).encode())
        code.update(path.read_bytes())
    if code.hexdigest() != code_digest():
        return False
    group, _ = load_group(books.group.ledgers_dir)
    reference, _ = load_reference(books.reference.rules_dir)
    fresh_policy, _ = load_policy(books.reference.rules_dir)
    if group is None or repr(reference) != repr(books.reference) or fresh_policy is None:
        return False
    kept = {m.id for m in books.group.members}
    gone = {e.member_id for e in books.excluded}
    if {m.id for m in group.members} != kept | gone:
        return False
    same_group = repr(replace(group, members=tuple(m for m in group.members if m.id in kept))) == repr(books.group)
    return same_group and fresh_policy.model_dump_json() == policy.model_dump_json()
