"""Bank lines that pay an open invoice: same amount, its reference or its third party in the label, in time."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.importing.statement import BankLine
from comptasso.model.chart import auxiliary, is_customer, is_supplier
from comptasso.model.invoices import extract_invoices

#: How long after its due date a payment still settles an invoice, and how early before issue it may come.
LATE_DAYS = 90
EARLY_DAYS = 7
_WORD = re.compile(r"[a-z0-9]+")
#: Words too common in bank labels and names to identify a third party.
_COMMON = frozenset({"vir", "virement", "sepa", "prlv", "prelevement", "cb", "carte", "de", "du", "des", "la",
                     "le", "les", "et", "sa", "sarl", "sas", "asso", "association", "service", "ville", "recu",
                     "emis", "facture", "ref", "avec", "pour", "sur", "par"})


@dataclass(frozen=True)
class OpenInvoice:
    """An invoice not yet settled, with the third-party account a payment is booked against."""

    link: str
    account: str
    open_amount: Decimal  # signed as the bank sees the payment: + for a customer, − for a supplier
    issued_on: dt.date
    due: dt.date | None
    payee: str | None
    narration: str


def distinctive_words(text: str) -> set[str]:
    """The words of a label or a name that can tell a third party apart (no bank jargon, 3 letters or more)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return {w for w in _WORD.findall(plain) if len(w) >= 3 and w not in _COMMON}


def _compact(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]", "", plain)


def open_invoices(entries: Sequence[data.Directive]) -> list[OpenInvoice]:
    """The invoices of a ledger that still have an open amount, with their 401/411 account."""
    invoices, _ = extract_invoices(entries)
    heads: dict[str, data.Transaction] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for link in entry.links:
                heads.setdefault(link, entry)
    out = []
    for invoice in invoices:
        if invoice.open_amount <= 0:
            continue
        head = heads[invoice.link]
        test = is_customer if invoice.kind == "client" else is_supplier
        accounts = [p.account for p in head.postings if test(p.account)]
        if not accounts:
            continue
        out.append(OpenInvoice(invoice.link, accounts[0], invoice.cash_sign * invoice.open_amount,
                               invoice.issued_on, invoice.due, head.payee, invoice.narration))
    return out


def mentions(invoice: OpenInvoice, label: str) -> bool:
    """The label names the invoice: its reference (link) or a distinctive word of its third party."""
    if _compact(invoice.link) and _compact(invoice.link) in _compact(label):
        return True
    party = " ".join(filter(None, (invoice.payee, (auxiliary(invoice.account) or "").replace("-", " "))))
    return bool(distinctive_words(party) & distinctive_words(label))


def in_window(invoice: OpenInvoice, day: dt.date) -> bool:
    """From a week before the invoice to three months after its due date (or its date, without one)."""
    last = (invoice.due or invoice.issued_on) + dt.timedelta(days=LATE_DAYS)
    return invoice.issued_on - dt.timedelta(days=EARLY_DAYS) <= day <= last


def matching_invoice(line: BankLine, invoices: Iterable[OpenInvoice], taken: set[str]) -> OpenInvoice | None:
    """The one open invoice a bank line pays (same amount, named in the label, in time), or None.

    When several qualify, the one whose reference is in the label wins; still several: none (ambiguous,
    left to the rules and to review).
    """
    found = [i for i in invoices if i.link not in taken and i.open_amount == line.amount
             and in_window(i, line.date) and mentions(i, line.label)]
    if len(found) > 1:
        found = [i for i in found if _compact(i.link) in _compact(line.label)]
    return found[0] if len(found) == 1 else None
