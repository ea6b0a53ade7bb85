"""The bank importers on beangulp's `Importer` API: identify a file, extract entries, mark duplicates."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import beangulp
from beancount.core import data
from beancount.core.amount import Amount
from beangulp.extract import DUPLICATE

from comptasso.importing.banks import BankFormat
from comptasso.importing.categories import Categories
from comptasso.importing.learning import LEARNED_KEY, LEARNED_VALUE, learn_accounts
from comptasso.importing.matching import OpenInvoice, matching_invoice, open_invoices
from comptasso.importing.ofx import looks_like_ofx, ofx_encoding, read_ofx, read_statements
from comptasso.importing.statement import BankLine, read_csv
from comptasso.problems import Problem, ProblemsError

IMPORT_ID = "import-id"
IMPORT_SOURCE = "import-source"
OFX_ACCOUNT = "ofx-account"
FLAG_CATEGORISED = "*"
FLAG_TO_REVIEW = "!"
_CSV_SUFFIXES = (".csv", ".txt")
_OFX_SUFFIXES = (".ofx", ".qfx")


def import_id(account: str, line: BankLine, occurrence: int) -> str:
    """A stable id of a bank operation: the bank's own id (OFX FITID) or its content and rank that day."""
    key = f"{account}|fitid|{line.bank_id}" if line.bank_id else \
        f"{account}|{line.date.isoformat()}|{line.amount}|{line.label.casefold()}|{occurrence}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def duplicate_reason(entry: data.Directive) -> str | None:
    """Why beangulp's dedup marked an extracted entry, in French (None when it is new)."""
    existing = entry.meta.get(DUPLICATE)
    if existing is None:
        return None
    if getattr(existing, "meta", {}).get(IMPORT_ID) == entry.meta.get(IMPORT_ID):
        return "déjà importée"
    return "déjà saisie dans le livre"


@dataclass(frozen=True)
class Booking:
    """Where a bank line goes: its counter-account, flag, payee and links."""

    account: str
    flag: str
    payee: str | None = None
    links: frozenset[str] = data.EMPTY_SET


class BankImporter(beangulp.Importer):  # type: ignore[misc]  # beangulp ships no type hints
    """Import one bank's statements (CSV layout or OFX) into one bank account of one member."""

    def __init__(self, fmt: BankFormat, bank_account: str, member_id: str, categories: Categories,
                 *, currency: str = "EUR", target_file: str = "import.beancount", learn: bool = False,
                 as_of: dt.date | None = None):
        self.fmt = fmt
        self.learn = learn
        self.as_of = as_of  # learning reads only the history dated on or before it
        self.bank_account = bank_account
        self.member_id = member_id
        self.categories = categories
        self.currency = currency
        self.target_file = target_file

    @property
    def name(self) -> str:
        return f"comptasso.{self.fmt.id}"

    def identify(self, filepath: str) -> bool:
        path = Path(filepath)
        try:
            raw = path.read_bytes()[:8192]
        except OSError:
            return False
        if self.fmt.format == "ofx":
            head = raw.decode(ofx_encoding(raw), errors="replace")
            ok = path.suffix.lower() in _OFX_SUFFIXES or looks_like_ofx(head)
        else:
            head = raw.decode(self.fmt.encoding, errors="replace")
            ok = path.suffix.lower() in _CSV_SUFFIXES and not looks_like_ofx(head)
        return ok and (self.fmt.identify is None or re.search(self.fmt.identify, head) is not None)

    def account(self, filepath: str) -> data.Account:
        return self.bank_account

    def read(self, filepath: str) -> tuple[list[BankLine], list[Problem]]:
        """The statement's operations, or every malformed one as a problem (file and line).

        An OFX file's accounts must be known: each ACCTID mapped in rules/banks.toml to this member,
        or, without any mapping, a file of one account only (then the member's bank account).
        """
        if self.fmt.format == "ofx":
            encoding = None if self.fmt.encoding == "utf-8" else self.fmt.encoding
            lines, problems = read_ofx(Path(filepath), encoding)
            return lines, problems + self.account_problems(lines, filepath)
        return read_csv(Path(filepath), self.fmt)

    def account_problems(self, lines: Sequence[BankLine], filepath: str) -> list[Problem]:
        """Why the OFX accounts of these lines cannot be imported for this member (empty when they can)."""
        ids = sorted({line.account_id for line in lines if line.account_id})
        where = self.fmt.source
        out = []
        if not self.fmt.accounts:
            if len(ids) > 1:
                out.append(Problem(str(filepath), 0, f"le relevé contient {len(ids)} comptes ({', '.join(ids)}) : "
                                   f"associez chacun à un compte du livre dans {where.file} "
                                   f"([[banks.accounts]] de la banque « {self.fmt.id} »)",
                                   code="ofx-accounts-unmapped"))
            return out
        for acctid in ids:
            mapping = self.fmt.ofx_account(acctid)
            first = min(line.line for line in lines if line.account_id == acctid)
            if mapping is None:
                out.append(Problem(str(filepath), first, f"compte OFX « {acctid} » absent de {where.file} "
                                   f"(banque « {self.fmt.id} ») : ajoutez un [[banks.accounts]] acctid = \"{acctid}\" "
                                   "avec son membre et son compte du livre", code="ofx-account-unmapped",
                                   subject=acctid))
            elif mapping.member != self.member_id:
                out.append(Problem(str(filepath), first, f"compte OFX « {acctid} » associé au membre "
                                   f"« {mapping.member} », pas à « {self.member_id} » ({where.file})",
                                   code="ofx-account-other-member", subject=acctid))
        return out

    def ledger_account(self, line: BankLine) -> str:
        """The ledger account a line moves: its OFX account's mapping, else the importer's bank account."""
        if line.account_id:
            mapping = self.fmt.ofx_account(line.account_id)
            if mapping is not None and mapping.member == self.member_id:
                return mapping.account
        return self.bank_account

    def entries_for(self, lines: Sequence[BankLine], filepath: str,
                    existing: Sequence[data.Directive] = ()) -> list[data.Transaction]:
        """One balanced transaction per operation.

        A payment of an open invoice of `existing` (same amount, reference or third party in the label,
        in time) is booked against the invoice's 401/411 account with its link; any other line goes by
        the rules; a line no rule recognises gets, when learning is on, the counter-account learnt from
        the member's history (flag `!`, metadata `categorisation: "apprise"`), else the suspense account
        (flag `!`).
        """
        invoices = open_invoices(existing) if existing else []
        taken: set[str] = set()
        decided = [self.known_booking(line, invoices, taken) for line in lines]
        undecided = [index for index, booking in enumerate(decided) if booking is None]
        learnt = dict(zip(undecided, self.learnt_accounts([lines[i] for i in undecided], filepath, existing),
                          strict=True))
        seen: Counter[tuple[str, dt.date, Decimal, str]] = Counter()
        out = []
        for index, (line, known) in enumerate(zip(lines, decided, strict=True)):
            account = self.ledger_account(line)
            key = (account, line.date, line.amount, line.label.casefold())
            occurrence = seen[key]
            seen[key] += 1
            meta_values: dict[str, object] = {
                IMPORT_ID: import_id(account, line, occurrence),
                IMPORT_SOURCE: f"{Path(filepath).name}:{line.line}",
            }
            if line.account_id:
                meta_values[OFX_ACCOUNT] = line.account_id
            learned = learnt.get(index)
            if learned:
                meta_values[LEARNED_KEY] = LEARNED_VALUE
            booking = known or Booking(learned or self.categories.suspense_account, FLAG_TO_REVIEW)
            units = Amount(line.amount, self.currency)
            postings = [
                data.Posting(account, units, None, None, None, None),
                data.Posting(booking.account, -units, None, None, None, None),
            ]
            meta = data.new_metadata(self.target_file, 0, meta_values)
            out.append(data.Transaction(meta, line.date, booking.flag, booking.payee, line.label,
                                        data.EMPTY_SET, booking.links, postings))
        return out

    def known_booking(self, line: BankLine, invoices: Sequence[OpenInvoice], taken: set[str]) -> Booking | None:
        """The booking an open invoice (then taken) or a rule gives a line, else None (to learn or to review)."""
        invoice = matching_invoice(line, invoices, taken)
        if invoice is not None:
            taken.add(invoice.link)
            return Booking(invoice.account, FLAG_CATEGORISED, invoice.payee, frozenset({invoice.link}))
        rule = self.categories.categorise(line.label, line.amount, self.member_id)
        return None if rule is None else Booking(rule.account, FLAG_CATEGORISED, rule.payee)

    def learnt_accounts(self, lines: Sequence[BankLine], filepath: str,
                        existing: Sequence[data.Directive]) -> list[str | None]:
        """The learnt counter-account of each line (None: none learnt), each bank account on its own history."""
        out: list[str | None] = [None] * len(lines)
        if not self.learn or not lines:
            return out
        for account in dict.fromkeys(self.ledger_account(line) for line in lines):
            mine = [i for i, line in enumerate(lines) if self.ledger_account(line) == account]
            found = learn_accounts([lines[i] for i in mine], account, existing, self,
                                   suspense=self.categories.suspense_account,
                                   min_history=self.categories.learning_min_history, currency=self.currency,
                                   source=filepath, as_of=self.as_of)
            for i, learned in zip(mine, found, strict=True):
                out[i] = learned
        return out

    def extract(self, filepath: str, existing: data.Entries) -> data.Entries:
        lines, problems = self.read(filepath)
        if any(p.is_error for p in problems):
            raise ProblemsError(problems)
        entries: data.Entries = []
        entries.extend(self.entries_for(lines, filepath, existing))
        return entries

    def date(self, filepath: str) -> dt.date | None:
        """The statement's date, for `beangulp archive`: its closing date (OFX DTEND), else its last operation."""
        if self.fmt.format == "ofx":
            statements, _ = read_statements(Path(filepath))
            ends = [s.end or s.balance_date for s in statements]
            known = [d for d in ends if d is not None]
            if known:
                return max(known)
            days = [line.date for s in statements for line in s.lines]
            return max(days) if days else None
        lines, _ = read_csv(Path(filepath), self.fmt)
        return max((line.date for line in lines), default=None)

    def deduplicate(self, entries: data.Entries, existing: data.Entries) -> None:
        """Mark as duplicate (beangulp's `__duplicate__`) what the books already hold.

        An operation is a duplicate when an existing entry carries its `import-id` (imported before),
        or when an existing entry without `import-id` moves the same amount on the same bank account
        within `duplicate_window_days` days (entered by hand, or written by BanquAsso). Each existing
        entry stands for one operation only, so two identical operations need two entries.
        """
        by_id = {e.meta[IMPORT_ID]: e for e in existing
                 if isinstance(e, data.Transaction) and IMPORT_ID in e.meta}
        manual = [e for e in existing if isinstance(e, data.Transaction) and IMPORT_ID not in e.meta]
        window = dt.timedelta(days=self.categories.duplicate_window_days)
        used: set[int] = set()
        for entry in entries:
            if not isinstance(entry, data.Transaction):
                continue
            found = by_id.get(entry.meta.get(IMPORT_ID))
            if found is None:
                found = self._same_movement(entry, manual, window, used)
            if found is not None:
                entry.meta[DUPLICATE] = found

    def _same_movement(self, entry: data.Transaction, candidates: Sequence[data.Transaction],
                       window: dt.timedelta, used: set[int]) -> data.Transaction | None:
        units = entry.postings[0].units
        amount = None if units is None else units.number
        bank_account = entry.postings[0].account
        best: tuple[int, int] | None = None
        for index, other in enumerate(candidates):
            if index in used or abs(other.date - entry.date) > window:
                continue
            moved = sum((p.units.number for p in other.postings
                         if p.account == bank_account and p.units is not None and p.units.number is not None
                         and p.units.currency == self.currency), Decimal(0))
            if moved == amount:
                distance = abs((other.date - entry.date).days)
                if best is None or distance < best[0]:
                    best = (distance, index)
        if best is None:
            return None
        used.add(best[1])
        return candidates[best[1]]
