"""The group's books: one facade over the group file, the reference files and every member ledger."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from beancount.core import data

from comptasso.books import cache
from comptasso.books.group import Group, Member, load_group
from comptasso.books.loading import MemberLedger, gc_paused, load_member_ledger
from comptasso.books.reference import Reference, load_reference
from comptasso.problems import Problem

Progress = Callable[[str], None]
#: The code of the warning that names a member left out of a computation because its ledger is broken.
MEMBER_EXCLUDED = "member-excluded"


@dataclass(frozen=True)
class Exclusion:
    """A member left out of the group's computations: its ledger has errors (on loading, or on reading)."""

    member_id: str
    name: str
    problems: tuple[Problem, ...]

    def warning(self) -> Problem:
        """The French warning that names the member and where its ledger first fails (file:line)."""
        first = self.problems[0]
        more = f" (et {len(self.problems) - 1} autre(s) erreur(s))" if len(self.problems) > 1 else ""
        return Problem(first.file, first.line,
                       f"membre « {self.member_id} » ({self.name}) exclu des calculs du groupe : son livre a "
                       f"des erreurs — {first.message}{more}", "warning", MEMBER_EXCLUDED, self.member_id)

    def to_json(self) -> dict[str, object]:
        """`{"id", "problems": ["file:line: message"]}`, the element of a JSON output's `excluded` list."""
        return {"id": self.member_id, "problems": [str(p) for p in self.problems]}


@dataclass(frozen=True)
class GroupBooks:
    """Everything read from `ledgers/` and `rules/`: the group, its funders and each member's ledger."""

    group: Group
    reference: Reference
    ledgers: Mapping[str, MemberLedger]
    problems: tuple[Problem, ...]
    excluded: tuple[Exclusion, ...] = ()

    @property
    def members(self) -> tuple[Member, ...]:
        return self.group.members

    def ledger(self, member_id: str) -> MemberLedger:
        self.group.member(member_id)
        return self.ledgers[member_id]

    def all_problems(self) -> list[Problem]:
        out = list(self.problems)
        for member in self.group.members:
            out.extend(self.ledgers[member.id].problems)
        return out

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.all_problems())

    def broken(self) -> tuple[Exclusion, ...]:
        """The members whose ledger has errors (Beancount's or the loader's), in the group's order."""
        out = []
        for member in self.group.members:
            errors = tuple(p for p in self.ledgers[member.id].problems if p.is_error)
            if errors:
                out.append(Exclusion(member.id, member.name, errors))
        return tuple(out)

    def without_broken(self) -> GroupBooks:
        """The same books without the members whose ledger is broken, listed in `excluded`.

        Every computation of the group (forecast, capacity, plan, the morning job) runs on these:
        one member's broken ledger is reported and left out, it never stops the others' results.
        """
        return self.exclude(self.broken())

    def exclude(self, exclusions: Iterable[Exclusion]) -> GroupBooks:
        """The same books without the members of `exclusions`, which are added to `excluded`."""
        added = tuple(exclusions)
        if not added:
            return self
        gone = {e.member_id for e in added}
        members = tuple(m for m in self.group.members if m.id not in gone)
        ledgers = {m.id: self.ledgers[m.id] for m in members}
        return replace(self, group=replace(self.group, members=members), ledgers=ledgers,
                       excluded=self.excluded + added)


def default_cache_dir(ledgers_dir: Path) -> Path:
    """`var/cache` beside the ledgers folder, or `$COMPTASSO_CACHE_DIR`."""
    env = os.environ.get("COMPTASSO_CACHE_DIR")
    return Path(env) if env else Path(ledgers_dir).resolve().parent / "var" / "cache"


def _load_one(args: tuple[str, Path, frozenset[str]]) -> MemberLedger:
    member_id, main, allowed = args
    return load_member_ledger(member_id, main, allowed)


def load_one(member_id: str, main: Path, allowed: frozenset[str], cache_dir: Path | None) -> MemberLedger:
    """One member's ledger: the cached one when fresh (this process's memory, then var/cache), else parsed."""
    hit = cache.read(cache_dir, main, allowed) if cache_dir else None
    if hit is not None:
        return hit
    ledger = load_member_ledger(member_id, main, allowed)
    if cache_dir:
        cache.write(cache_dir, main, allowed, ledger)
    return ledger


def load_ledgers(
    members: Iterable[Member],
    allowed: frozenset[str],
    cache_dir: Path | None,
    jobs: int = 1,
    progress: Progress | None = None,
) -> dict[str, MemberLedger]:
    """Load members from the cache where fresh, parse the others (in parallel if jobs > 1)."""
    result: dict[str, MemberLedger] = {}
    todo: list[Member] = []
    for member in members:
        hit = cache.read(cache_dir, member.ledger, allowed) if cache_dir else None
        if hit is not None:
            result[member.id] = hit
        else:
            todo.append(member)
    if progress and todo:
        progress(f"Lecture de {len(todo)} livre(s) sur {len(result) + len(todo)}…")
    work = [(m.id, m.ledger, allowed) for m in todo]
    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=min(jobs, len(work))) as pool, gc_paused():
            loaded = list(pool.map(_load_one, work))
    else:
        loaded = [_load_one(w) for w in work]
    for member, ledger in zip(todo, loaded, strict=True):
        result[member.id] = ledger
        if cache_dir:
            cache.write(cache_dir, member.ledger, allowed, ledger)
    return result


def open_books(
    ledgers_dir: Path,
    rules_dir: Path,
    *,
    cache_dir: Path | bool | None = True,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> tuple[GroupBooks | None, list[Problem]]:
    """Read the group: `group.toml`, `rules/`, then every member ledger (cached by content)."""
    group, problems = load_group(Path(ledgers_dir))
    reference, ref_problems = load_reference(Path(rules_dir))
    problems += ref_problems
    if group is None:
        return None, problems
    if cache_dir is True:
        cache_dir = default_cache_dir(group.ledgers_dir)
    elif cache_dir is False:
        cache_dir = None
    jobs = jobs if jobs is not None else min(os.cpu_count() or 1, 4)
    ledgers = load_ledgers(group.members, reference.allowed_plugins, cache_dir, jobs, progress)
    books = GroupBooks(group, reference, ledgers, tuple(problems))
    return books, books.all_problems()


def as_of(entries: Iterable[data.Directive], day: dt.date) -> list[data.Directive]:
    """The directives that exist at the end of `day` (dated on or before it)."""
    return [entry for entry in entries if entry.date <= day]
