"""Customer (411) and supplier (401) invoices, tied to their payments by a Beancount link."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from beancount.core import data

from comptasso.model.chart import is_customer, is_supplier, is_treasury
from comptasso.model.grants import Source
from comptasso.problems import Problem, at

Kind = Literal["client", "fournisseur"]


@dataclass(frozen=True)
class Invoice:
    """An invoice and what is still open of it (positive; 411 brings cash in, 401 takes it out)."""

    link: str
    kind: Kind
    issued_on: dt.date
    due: dt.date | None
    amount: Decimal
    open_amount: Decimal
    narration: str
    source: Source

    @property
    def cash_sign(self) -> int:
        return 1 if self.kind == "client" else -1


def _third_party_total(entry: data.Transaction, kind: Kind) -> Decimal:
    test = is_customer if kind == "client" else is_supplier
    return sum((p.units.number for p in entry.postings
                if test(p.account) and p.units is not None and p.units.number is not None), Decimal(0))


def _invoice_kind(entry: data.Transaction) -> Kind | None:
    """A linked transaction on 401/411 without any treasury posting is an invoice."""
    if not entry.links or any(is_treasury(p.account) for p in entry.postings):
        return None
    if any(is_customer(p.account) for p in entry.postings):
        return "client"
    if any(is_supplier(p.account) for p in entry.postings):
        return "fournisseur"
    return None


def extract_invoices(entries: Iterable[data.Directive]) -> tuple[list[Invoice], list[Problem]]:
    """Every invoice with its open amount after the payments carrying its link."""
    transactions = [e for e in entries if isinstance(e, data.Transaction) and e.links]
    problems: list[Problem] = []
    heads: dict[str, tuple[data.Transaction, Kind]] = {}
    for entry in transactions:
        kind = _invoice_kind(entry)
        if kind is None:
            continue
        for link in sorted(entry.links):
            heads.setdefault(link, (entry, kind))
        due = entry.meta.get("echeance")
        if due is None:
            problems.append(at(entry.meta, "facture liée sans métadonnée « echeance » (ex. echeance: 2026-12-15)"))
        elif not isinstance(due, dt.date):
            problems.append(at(entry.meta, f"« echeance » doit être une date AAAA-MM-JJ, pas « {due} »"))
    balance: dict[str, Decimal] = defaultdict(Decimal)
    for entry in transactions:
        for link in entry.links:
            if link in heads:
                balance[link] += _third_party_total(entry, heads[link][1])
    invoices = []
    for link, (entry, kind) in heads.items():
        total = _third_party_total(entry, kind)
        sign = 1 if kind == "client" else -1
        due = entry.meta.get("echeance")
        invoices.append(Invoice(
            link, kind, entry.date, due if isinstance(due, dt.date) else None,
            sign * total, max(sign * balance[link], Decimal(0)), entry.narration or "", Source.of(entry.meta),
        ))
    invoices.sort(key=lambda i: (i.issued_on, i.link))
    return invoices, problems
