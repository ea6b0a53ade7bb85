"""Year-end closing (clôture): checks, then a lock — a hash chain over the closed year's entries — stored
beside the ledger, so any later change to a closed period is found (intangibilité, art. 420-5 PCG)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from beancount.core import data

from comptasso.model.chart import has_prefix
from comptasso.money import ZERO, cents, fr_date
from comptasso.problems import Problem, at
from comptasso.reports.annual import closing_problems, posting_amount, transactions
from comptasso.reports.fec import AUXILIARY_PREFIXES, invoice_link, opening_lines
from comptasso.reports.period import FinancialYear

LOCK_PATTERN = re.compile(r"^cloture-(\d{4}(?:-\d{4})?)\.json$")
GENESIS = "0" * 64
_SKIPPED_META = frozenset({"filename", "lineno"})


def lock_path(folder: Path, period: FinancialYear) -> Path:
    """`<member folder>/cloture-2025.json` (or `cloture-2024-2025.json` for a straddling year)."""
    return Path(folder) / f"cloture-{period.label}.json"


def _plain(value: object) -> object:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def entry_digest(entry: data.Transaction) -> str:
    """SHA-256 of what an entry says (date, flag, texts, tags, links, metadata, postings), not where it is."""
    meta = {k: _plain(v) for k, v in sorted((entry.meta or {}).items())
            if k not in _SKIPPED_META and not k.startswith("__")}
    postings = [[p.account, _plain(p.units.number if p.units else None), p.units.currency if p.units else None,
                 _plain(p.cost), _plain(p.price), p.flag] for p in entry.postings]
    canonical = {"date": entry.date.isoformat(), "flag": entry.flag, "payee": entry.payee,
                 "narration": entry.narration, "tags": sorted(entry.tags or ()), "links": sorted(entry.links or ()),
                 "meta": meta, "postings": postings}
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain(digests: Sequence[str]) -> str:
    """The hash chain: h0 = 0…0, hi = SHA-256(hi-1 + digest i); the last link seals them all."""
    link = GENESIS
    for digest in digests:
        link = hashlib.sha256((link + digest).encode("ascii")).hexdigest()
    return link


@dataclass(frozen=True)
class LockedEntry:
    """One entry of a closed year as the lock saw it."""

    date: dt.date
    file: str
    line: int
    digest: str


@dataclass(frozen=True)
class OpeningLine:
    """One line of the next year's à-nouveaux: account, invoice link (third parties), balance (debit +)."""

    account: str
    link: str | None
    amount: Decimal


@dataclass(frozen=True)
class ClosingLock:
    """The lock of one closed year."""

    member: str
    period: FinancialYear
    closed_on: dt.date
    entries: tuple[LockedEntry, ...]
    seal: str
    opening: tuple[OpeningLine, ...]


def locked_entries(entries: Sequence[data.Directive], period: FinancialYear,
                   folder: Path) -> list[tuple[data.Transaction, LockedEntry]]:
    """The year's transactions in the lock's order (date, then digest), each with what the lock records."""
    out = []
    for entry in transactions(entries):
        if entry.date in period:
            file = str(entry.meta.get("filename", ""))
            with contextlib.suppress(ValueError):
                file = str(Path(file).resolve().relative_to(Path(folder).resolve()))
            out.append((entry, LockedEntry(entry.date, file, int(entry.meta.get("lineno", 0) or 0),
                                           entry_digest(entry))))
    out.sort(key=lambda pair: (pair[1].date, pair[1].digest))
    return out


def lettering_problems(entries: Sequence[data.Directive], period: FinancialYear, where: str) -> list[Problem]:
    """Third-party groups (401/411 account, invoice link) whose balance at closing has the wrong side.

    A customer's group (411) may only be owed to the association (debit), a supplier's (401) only owed
    by it (credit): the other side means a payment lettered to the wrong invoice, or paid twice.
    """
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    first: dict[tuple[str, str], data.Transaction] = {}
    for entry in transactions(entries):
        link = invoice_link(entry)
        if entry.date > period.end or link is None:
            continue
        for posting in entry.postings:
            if has_prefix(posting.account, *AUXILIARY_PREFIXES):
                key = (posting.account, link)
                totals[key] += posting_amount(posting)
                first.setdefault(key, entry)
    out = []
    for (account, link), total in sorted(totals.items()):
        wrong = total < 0 if has_prefix(account, "411") else total > 0
        if wrong:
            found = at(first[(account, link)].meta, "")
            out.append(Problem(found.file or where, found.line,
                               f"lettrage « {link} » du compte {account} du mauvais côté au {period.end:%d/%m/%Y} "
                               f"({cents(total)} EUR) : règlement rattaché à la mauvaise facture ou payé deux fois",
                               code="lettering-unbalanced", subject=link))
    return out


def before_closing(entries: Sequence[data.Directive], period: FinancialYear, folder: Path, closed_on: dt.date,
                   where: str) -> list[Problem]:
    """Every reason the year cannot be closed (errors): not ended, already closed, previous year open,
    suspense account not at zero, entries still `!`, unbalanced lettering.

    Balance assertions are Beancount's: a ledger whose assertion fails never gets this far.
    """
    out: list[Problem] = []
    if closed_on < period.end:
        out.append(Problem(where, 0, f"exercice {period.label} non terminé : clôture possible à partir du "
                                     f"{fr_date(period.end)} (livres lus au {fr_date(closed_on)}, --as-of)",
                           code="year-not-ended"))
    if lock_path(folder, period).exists():
        out.append(Problem(str(lock_path(folder, period)), 0, f"exercice {period.label} déjà clôturé",
                           code="already-closed"))
    previous = period.previous()
    if any(e.date in previous for e in transactions(entries)) and not lock_path(folder, previous).exists():
        out.append(Problem(where, 0, f"exercice précédent {previous.label} non clôturé : clôturez-le d'abord",
                           code="previous-year-open"))
    out.extend(Problem(p.file, p.line, p.message, "error", p.code, p.subject)
               for p in closing_problems(entries, period, where))
    return out + lettering_problems(entries, period, where)


def close_year(entries: Sequence[data.Directive], member_id: str, period: FinancialYear, folder: Path,
               closed_on: dt.date) -> ClosingLock:
    """The lock of a checked year, with the next year's à-nouveaux detailed per third party and invoice."""
    pairs = locked_entries(entries, period, folder)
    records = tuple(record for _, record in pairs)
    known = [e for e in entries if e.date <= period.end]
    opening = tuple(OpeningLine(line.account, line.link if has_prefix(line.account, *AUXILIARY_PREFIXES) else None,
                                cents(line.amount)) for line in opening_lines(known, period.next().start))
    return ClosingLock(member_id, period, closed_on, records, chain([r.digest for r in records]), opening)


def lock_text(lock: ClosingLock) -> str:
    """The lock as JSON, one entry per line (so a problem can name the line of a locked entry)."""
    head = {"member": lock.member, "start": lock.period.start.isoformat(), "end": lock.period.end.isoformat(),
            "closed_on": lock.closed_on.isoformat(), "seal": lock.seal, "algorithm": "sha256-chain"}
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('  "a_nouveaux": [')
    opening = [json.dumps({"account": o.account, "link": o.link, "amount": str(o.amount)}, ensure_ascii=False)
               for o in lock.opening]
    lines += [f"    {item}," for item in opening[:-1]] + [f"    {item}" for item in opening[-1:]]
    lines.append("  ],")
    lines.append('  "entries": [')
    records = [json.dumps({"date": r.date.isoformat(), "file": r.file, "line": r.line, "digest": r.digest},
                          ensure_ascii=False) for r in lock.entries]
    lines += [f"    {item}," for item in records[:-1]] + [f"    {item}" for item in records[-1:]]
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


#: The first line of the lock's text that holds an entry (header, a_nouveaux and their brackets before).
def _first_entry_line(lock: ClosingLock) -> int:
    return 1 + 6 + 1 + len(lock.opening) + 1 + 1 + 1


def read_lock(path: Path) -> tuple[ClosingLock | None, list[Problem]]:
    """A lock file, or the problem that makes it unreadable."""
    try:
        raw: Any = json.loads(Path(path).read_text(encoding="utf-8"))
        start, end = dt.date.fromisoformat(raw["start"]), dt.date.fromisoformat(raw["end"])
        lock = ClosingLock(
            str(raw["member"]), FinancialYear(start, end), dt.date.fromisoformat(raw["closed_on"]),
            tuple(LockedEntry(dt.date.fromisoformat(e["date"]), str(e["file"]), int(e["line"]), str(e["digest"]))
                  for e in raw["entries"]),
            str(raw["seal"]),
            tuple(OpeningLine(str(o["account"]), o["link"], Decimal(o["amount"])) for o in raw["a_nouveaux"]),
        )
    except (OSError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
        return None, [Problem(str(path), 0, f"fichier de clôture illisible : {exc}", code="lock-unreadable")]
    return lock, []


def locks(folder: Path) -> list[tuple[Path, ClosingLock | None, list[Problem]]]:
    """Every lock of a member folder, in name order."""
    out = []
    for path in sorted(Path(folder).glob("cloture-*.json")):
        if LOCK_PATTERN.match(path.name):
            lock, problems = read_lock(path)
            out.append((path, lock, problems))
    return out


def find_lock(folder: Path, period: FinancialYear) -> ClosingLock | None:
    """The lock of a year, when it is closed and its file reads."""
    path = lock_path(folder, period)
    if not path.exists():
        return None
    lock, _ = read_lock(path)
    return lock


def closed_period_problems(folder: Path, entries: Sequence[data.Directive]) -> list[Problem]:
    """Every change to a closed year: an entry added or edited (at its file:line), one removed (at the
    lock's line that recorded it), or a lock file whose seal no longer matches its entries."""
    out: list[Problem] = []
    for path, lock, problems in locks(folder):
        out += problems
        if lock is None:
            continue
        if chain([r.digest for r in lock.entries]) != lock.seal:
            out.append(Problem(str(path), 0, f"fichier de clôture {lock.period.label} altéré : son sceau ne "
                                             "correspond plus aux écritures qu'il liste", code="lock-tampered"))
            continue
        recorded = {r.digest: index for index, r in enumerate(lock.entries)}
        current = locked_entries(entries, lock.period, folder)
        present = {record.digest for _, record in current}
        for entry, record in current:
            if record.digest not in recorded:
                out.append(at(entry.meta, f"écriture du {entry.date:%d/%m/%Y} modifiée ou ajoutée dans l'exercice "
                                          f"{lock.period.label}, clôturé le {lock.closed_on:%d/%m/%Y} "
                                          f"({path.name}) : passez une écriture de correction dans l'exercice "
                                          "ouvert"))
                out[-1] = Problem(out[-1].file, out[-1].line, out[-1].message, "error", "closed-period-changed",
                                  lock.period.label)
        first = _first_entry_line(lock)
        for index, record in enumerate(lock.entries):
            if record.digest not in present:
                out.append(Problem(str(path), first + index,
                                   f"écriture du {record.date:%d/%m/%Y} ({record.file}:{record.line} à la clôture) "
                                   f"supprimée ou modifiée dans l'exercice clôturé {lock.period.label}",
                                   "error", "closed-period-changed", lock.period.label))
    return out
