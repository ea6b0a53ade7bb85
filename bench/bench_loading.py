"""Loading the group: cold (serial, parallel) and cached, against bean-check on the same ledgers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from beancount import loader

from bench.common import Result, demo_group, generated_group, read_directives, rules_dir, timed
from comptasso.books import cache as books_cache
from comptasso.books.facade import open_books
from comptasso.books.group import load_group


def _bean_check_all(ledgers: Path) -> None:
    group, _ = load_group(ledgers)
    assert group is not None
    bean_check = Path(sys.executable).parent / "bean-check"
    for member in group.members:
        subprocess.run([str(bean_check), str(member.ledger)], check=True, capture_output=True,
                       env={"BEANCOUNT_DISABLE_LOAD_CACHE": "1", "PATH": "/usr/bin:/bin"})


def _beancount_loader_all(ledgers: Path) -> None:
    group, _ = load_group(ledgers)
    assert group is not None
    loader.initialize(use_cache=False)
    for member in group.members:
        loader.load_file(str(member.ledger))


def _ours(ledgers: Path, cache_dir: Path | None, jobs: int, memory: bool = False, read: bool = False) -> None:
    """`open_books`; unless `memory`, as a new process would (nothing kept in this process's memory); with
    `read`, every member's directives are read too (a cached ledger's are unpickled when first used)."""
    if not memory:
        books_cache.forget_memory()
    books, _ = open_books(ledgers, rules_dir(), cache_dir=cache_dir or False, jobs=jobs)
    assert books is not None
    if read:
        read_directives(books)


def _measure(label: str, ledgers: Path) -> list[Result]:
    check = timed(lambda: _bean_check_all(ledgers), repeat=1)
    inproc = timed(lambda: _beancount_loader_all(ledgers), repeat=1)
    cold = timed(lambda: _ours(ledgers, None, 1), repeat=1)
    cold_par = timed(lambda: _ours(ledgers, None, 2), repeat=1)
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    try:
        _ours(ledgers, cache, 2)
        warm = timed(lambda: _ours(ledgers, cache, 2), repeat=3)
        warm_read = timed(lambda: _ours(ledgers, cache, 2, read=True), repeat=3)
        _ours(ledgers, cache, 2, memory=True)
        memory = timed(lambda: _ours(ledgers, cache, 2, memory=True), repeat=3)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return [
        Result(f"{label}: Beancount loader in-process", inproc, "bean-check (one process per ledger)", check),
        Result(f"{label}: open_books cold, 1 process", cold, "bean-check", check),
        Result(f"{label}: open_books cold, 2 processes", cold_par, "bean-check", check),
        Result(f"{label}: open_books cached (as a new process; directives left unread)", warm, "bean-check", check),
        Result(f"{label}: open_books cached, every member's directives read (unpickled)", warm_read, "bean-check",
               check),
        Result(f"{label}: open_books again in the same process (kept in memory, files hashed)", memory,
               "bean-check", check),
    ]


def run() -> list[Result]:
    return _measure("demo (6 members × 3 years)", demo_group()) + _measure(
        "generated (50 members × 3 years)", generated_group(50))
