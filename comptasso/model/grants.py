"""Grants (subventions): notified conventions, their tranches, their receipts and FIFO matching."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data
from beancount.core.amount import Amount

from comptasso.model.chart import is_grant_receivable
from comptasso.problems import Problem, at

TRANCHE = "subvention-echeance"
ZERO = Decimal(0)


@dataclass(frozen=True)
class Source:
    """Where a directive was written."""

    file: str
    line: int

    @classmethod
    def of(cls, meta: data.Meta | None) -> Source:
        meta = meta or {}
        return cls(str(meta.get("filename", "")), int(meta.get("lineno", 0) or 0))


@dataclass(frozen=True)
class Grant:
    """A notified grant: one transaction booking the receivable on a 441 account."""

    convention: str
    funder: str | None
    notified_on: dt.date
    amount: Decimal
    account: str
    narration: str
    source: Source


@dataclass(frozen=True)
class Tranche:
    """An expected payment of a grant (`custom "subvention-echeance"`)."""

    convention: str
    due: dt.date
    amount: Decimal
    declared_on: dt.date
    source: Source


@dataclass(frozen=True)
class Receipt:
    """A payment received for a grant: credits its 441 account."""

    convention: str
    date: dt.date
    amount: Decimal
    source: Source


@dataclass(frozen=True)
class TrancheStatus:
    """A tranche after matching receipts first in, first out."""

    tranche: Tranche
    funder: str | None
    paid: Decimal
    completed_on: dt.date | None

    @property
    def open_amount(self) -> Decimal:
        return self.tranche.amount - self.paid

    @property
    def is_open(self) -> bool:
        return self.open_amount > 0

    @property
    def delay_days(self) -> int | None:
        """Receipt completing the tranche minus the tranche date (negative when early)."""
        if self.completed_on is None:
            return None
        return (self.completed_on - self.tranche.due).days


@dataclass(frozen=True)
class GrantBook:
    """Every grant of one ledger, with its tranches and receipts."""

    grants: dict[str, Grant]
    tranches: tuple[Tranche, ...]
    receipts: tuple[Receipt, ...]

    def statuses(self) -> list[TrancheStatus]:
        return match_receipts(self.grants, self.tranches, self.receipts)


def _grant_amount(entry: data.Transaction) -> tuple[Decimal, str | None]:
    total, account = ZERO, None
    for posting in entry.postings:
        if is_grant_receivable(posting.account) and posting.units is not None and posting.units.number is not None:
            total += posting.units.number
            account = account or posting.account
    return total, account


def _tranche(entry: data.Custom) -> Tranche | Problem:
    values = [v.value for v in entry.values]
    if (
        len(values) != 3
        or not isinstance(values[0], str)
        or not isinstance(values[1], dt.date)
        or not isinstance(values[2], Amount)
        or values[2].number is None
    ):
        return at(entry.meta, 'échéance de subvention mal formée : attendu "CONVENTION" DATE MONTANT EUR')
    if values[2].number <= 0:
        return at(entry.meta, f"échéance de subvention « {values[0]} » : le montant doit être positif")
    return Tranche(values[0], values[1], values[2].number, entry.date, Source.of(entry.meta))


def _read_grant_transaction(
    entry: data.Transaction, grants: dict[str, Grant], receipts: list[Receipt], problems: list[Problem],
) -> None:
    """Record the grant a transaction notifies or the receipt it books, or the problem it raises."""
    amount, account = _grant_amount(entry)
    convention = entry.meta.get("convention")
    if account is None or amount == 0:
        return
    if convention is None:
        if amount > 0:
            problems.append(at(entry.meta, "subvention à recevoir (441) sans métadonnée « convention »"))
        return
    convention = str(convention)
    if amount < 0:
        receipts.append(Receipt(convention, entry.date, -amount, Source.of(entry.meta)))
        return
    if convention in grants:
        first = grants[convention].source
        problems.append(at(entry.meta, f"convention « {convention} » déjà notifiée ({first.file}:{first.line})"))
        return
    funder = entry.meta.get("funder")
    if funder is None:
        problems.append(at(entry.meta, f"subvention « {convention} » sans métadonnée « funder »"))
    grants[convention] = Grant(
        convention, None if funder is None else str(funder), entry.date, amount,
        account, entry.narration or "", Source.of(entry.meta),
    )


def extract_grants(entries: Iterable[data.Directive]) -> tuple[GrantBook, list[Problem]]:
    """Find grants, tranches and receipts; report what breaks the grant conventions."""
    grants: dict[str, Grant] = {}
    tranches: list[Tranche] = []
    receipts: list[Receipt] = []
    problems: list[Problem] = []
    for entry in entries:
        if isinstance(entry, data.Transaction):
            _read_grant_transaction(entry, grants, receipts, problems)
        elif isinstance(entry, data.Custom) and entry.type == TRANCHE:
            tranche = _tranche(entry)
            if isinstance(tranche, Problem):
                problems.append(tranche)
            else:
                tranches.append(tranche)
    problems += [Problem(tranche.source.file, tranche.source.line,
                         f"échéance pour une convention inconnue « {tranche.convention} »")
                 for tranche in tranches if tranche.convention not in grants]
    problems += [Problem(receipt.source.file, receipt.source.line,
                         f"encaissement pour une convention inconnue « {receipt.convention} »")
                 for receipt in receipts if receipt.convention not in grants]
    return GrantBook(grants, tuple(tranches), tuple(receipts)), problems


def tranche_sum_warnings(book: GrantBook) -> list[Problem]:
    """A warning for each convention whose tranches do not sum to the notified amount."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for tranche in book.tranches:
        sums[tranche.convention] += tranche.amount
    out = []
    for convention, grant in book.grants.items():
        if sums.get(convention, ZERO) != grant.amount:
            out.append(Problem(
                grant.source.file, grant.source.line,
                f"convention « {convention} » : échéances {sums.get(convention, ZERO)} EUR "
                f"pour {grant.amount} EUR notifiés", "warning",
            ))
    return out


def match_receipts(
    grants: dict[str, Grant], tranches: Sequence[Tranche], receipts: Sequence[Receipt]
) -> list[TrancheStatus]:
    """Match receipts to tranches of their convention in order of tranche date (FIFO)."""
    by_convention: dict[str, list[Tranche]] = defaultdict(list)
    for tranche in tranches:
        by_convention[tranche.convention].append(tranche)
    paid: dict[Tranche, Decimal] = {}
    completed: dict[Tranche, dt.date] = {}
    for convention, items in by_convention.items():
        queue = sorted(items, key=lambda t: (t.due, t.declared_on, t.source.line))
        index = 0
        for receipt in sorted((r for r in receipts if r.convention == convention), key=lambda r: r.date):
            left = receipt.amount
            while left > 0 and index < len(queue):
                tranche = queue[index]
                take = min(left, tranche.amount - paid.get(tranche, ZERO))
                paid[tranche] = paid.get(tranche, ZERO) + take
                left -= take
                if paid[tranche] == tranche.amount:
                    completed[tranche] = receipt.date
                    index += 1
    statuses = []
    for tranche in tranches:
        grant = grants.get(tranche.convention)
        statuses.append(TrancheStatus(
            tranche, grant.funder if grant else None, paid.get(tranche, ZERO), completed.get(tranche)
        ))
    return statuses
