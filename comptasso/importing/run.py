"""One import: read a statement, drop duplicates, append to the member's import file safely."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from beancount.core import data
from beancount.parser import printer
from beangulp.extract import DUPLICATE

from comptasso.atomic import atomic_write, locked
from comptasso.books.group import Member
from comptasso.books.loading import load_member_ledger
from comptasso.importing.categories import Categories
from comptasso.importing.importer import BankImporter, duplicate_reason
from comptasso.importing.learning import is_open, open_spans
from comptasso.problems import Problem

IMPORT_FILE = "import.beancount"
INCLUDE_LINE = f'include "{IMPORT_FILE}"'
HEADER = ("; Opérations importées des relevés bancaires par `comptasso import`.\n"
          "; Vous pouvez corriger un compte ici ou dans Fava ; gardez les métadonnées import-id.\n")


@dataclass(frozen=True)
class Duplicate:
    """An operation already in the books, and the entry that holds it."""

    entry: data.Transaction
    existing: data.Transaction
    reason: str


@dataclass(frozen=True)
class ImportResult:
    """What an import added (or would add, in a dry run), what it skipped, and every problem."""

    member_id: str
    source: Path
    target: Path
    added: tuple[data.Transaction, ...]
    duplicates: tuple[Duplicate, ...]
    problems: tuple[Problem, ...]
    include_added: bool
    written: bool

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


def account_problems(entries: Sequence[data.Transaction], existing: Sequence[data.Directive],
                     importer: BankImporter, ledger: Path) -> list[Problem]:
    """Each account an imported entry would use must be open in the member's ledger on its date."""
    spans = open_spans(existing)
    categories: Categories = importer.categories
    where = {rule.account: (rule.file, rule.line) for rule in reversed(categories.rules)}
    reported: set[str] = set()
    out = []
    for entry in entries:
        for posting in entry.postings:
            account = posting.account
            if account in reported or is_open(spans, account, entry.date):
                continue
            span = spans.get(account)
            reported.add(account)
            state = "n'est pas ouvert" if span is None else "n'est pas ouvert à cette date"
            file, line = where.get(account, (str(ledger), 0))
            out.append(Problem(file, line,
                               f"le compte « {account} » {state} dans le livre de {importer.member_id} "
                               f"(opération du {entry.date.strftime('%d/%m/%Y')} « {entry.narration} ») : "
                               f"ajoutez « {entry.date.isoformat()} open {account} » au livre "
                               "ou changez la règle de catégorisation"))
    return out


def render(entries: Sequence[data.Transaction]) -> str:
    """The Beancount text of the imported entries, one blank line between them."""
    return "\n".join(printer.format_entry(entry) for entry in entries)


def _include_missing(main_text: str) -> bool:
    return re.search(rf'^\s*include\s+"{re.escape(IMPORT_FILE)}"', main_text, re.MULTILINE) is None


def import_statement(member: Member, ledgers_dir: Path, allowed_plugins: frozenset[str],
                     importer: BankImporter, source: Path, as_of: dt.date, *, dry_run: bool = False) -> ImportResult:
    """Import a statement into `<member>/import.beancount`, under the member's lock.

    Nothing is written when any line is malformed, dated after `as_of`, or would use an account the
    ledger has not opened. The new file is written atomically, then the member ledger is loaded
    again; if it has an error, the previous content is put back and the error reported.
    """
    target = member.folder / IMPORT_FILE
    with locked(target, ledgers_dir):
        def result(added: Sequence[data.Transaction] = (), dups: Sequence[Duplicate] = (),
                   problems: Sequence[Problem] = (), include: bool = False, written: bool = False) -> ImportResult:
            return ImportResult(member.id, source, target, tuple(added), tuple(dups), tuple(problems),
                                include, written)

        ledger = load_member_ledger(member.id, member.ledger, allowed_plugins)
        errors = [p for p in ledger.problems if p.is_error]
        if errors:
            return result(problems=[Problem(str(member.ledger), 0, f"le livre de {member.id} a des erreurs : "
                                            "corrigez-les avant d'importer"), *errors])
        lines, problems = importer.read(str(source))
        late = [Problem(str(source), line.line, f"opération datée du {line.date.strftime('%d/%m/%Y')}, "
                        f"après la date de lecture {as_of.strftime('%d/%m/%Y')} (--as-of)")
                for line in lines if line.date > as_of]
        if problems or late:
            return result(problems=problems + late)
        entries = importer.entries_for(lines, str(source), list(ledger.entries))
        importer.deduplicate(list[data.Directive](entries), list(ledger.entries))
        added = [e for e in entries if DUPLICATE not in e.meta]
        dups = [Duplicate(e, e.meta[DUPLICATE], duplicate_reason(e) or "") for e in entries if DUPLICATE in e.meta]
        for entry in entries:
            entry.meta.pop(DUPLICATE, None)
        closed = account_problems(added, ledger.entries, importer, member.ledger)
        if closed:
            return result(added, dups, closed)
        main_text = member.ledger.read_text(encoding="utf-8")
        include = _include_missing(main_text)
        if dry_run or not added:
            return result(added, dups, include=include and bool(added))
        old = target.read_text(encoding="utf-8") if target.exists() else None
        body = (old if old is not None else HEADER).rstrip("\n") + "\n\n" + render(added)
        atomic_write(target, body)
        if include:
            atomic_write(member.ledger, main_text.rstrip("\n") + f"\n{INCLUDE_LINE}\n")
        after = load_member_ledger(member.id, member.ledger, allowed_plugins)
        broken = [p for p in after.problems if p.is_error]
        if broken:
            if include:
                atomic_write(member.ledger, main_text)
            if old is None:
                target.unlink()
            else:
                atomic_write(target, old)
            note = Problem(str(target), 0, "import annulé : le livre ne passait plus la vérification, "
                                           "le contenu précédent est rétabli")
            return result(added, dups, [note, *broken], include)
        return result(added, dups, include=include, written=True)
