"""Plain data types of a synthetic ledger: postings, transactions, directives, invoices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from comptasso.synthetic.basics import ZERO

#: Sort ranks within one day: balance assertions first, then transactions, then previsions.
RANK_BALANCE, RANK_TRANSACTION, RANK_PREVISION = 0, 1, 2


@dataclass(frozen=True)
class Posting:
    """One leg of a transaction."""

    account: str
    amount: Decimal


@dataclass(frozen=True)
class Transaction:
    """A balanced transaction, with metadata, links and directives written right after it."""

    date: date
    payee: str
    narration: str
    postings: tuple[Posting, ...]
    meta: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()
    followers: tuple[str, ...] = ()

    def delta(self, account: str) -> Decimal:
        """What this transaction moves on one account."""
        return sum((p.amount for p in self.postings if p.account == account), ZERO)


@dataclass(frozen=True)
class Directive:
    """A one-line directive (balance, custom) written after its date."""

    date: date
    body: str
    rank: int


Entry = Transaction | Directive


@dataclass(frozen=True)
class Party:
    """A customer or supplier: its auxiliary account component and its name."""

    aux: str
    name: str


@dataclass(frozen=True)
class InvoiceSpec:
    """An invoice before numbering: issued, due, amount, counterpart and its payments."""

    issued: date
    due: date
    amount: Decimal
    account: str
    party: Party
    label: str
    payments: tuple[tuple[date, Decimal], ...]

    @property
    def is_customer(self) -> bool:
        return self.account.startswith("Income:")


@dataclass
class Book:
    """The entries of one member ledger, in creation order (sorted when written)."""

    bank: str
    entries: list[tuple[int, Entry]] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append((len(self.entries), entry))

    def add_first(self, entry: Entry) -> None:
        """Add an entry written before every other entry of its day (the opening balances)."""
        self.entries.append((-1, entry))

    def extend(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.add(entry)

    def sorted_entries(self) -> list[Entry]:
        def key(item: tuple[int, Entry]) -> tuple[date, int, int]:
            seq, entry = item
            rank = entry.rank if isinstance(entry, Directive) else RANK_TRANSACTION
            return entry.date, rank, seq
        return [entry for _, entry in sorted(self.entries, key=key)]

    def transactions(self) -> list[Transaction]:
        return [e for _, e in self.entries if isinstance(e, Transaction)]
