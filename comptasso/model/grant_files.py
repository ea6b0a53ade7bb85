"""Grant files (*dossiers de subvention*): a convention's metadata, payments, evidence and compte rendu.

The notification transaction of a grant (SPEC section 4) may carry, besides `convention` and `funder`:
`action` (the action it finances), `notifiee` (the notification date, default the transaction's date),
`depot` (the day the application was filed), `conditions` (text), `fonds_dedies: TRUE` (earmarked,
see `comptasso.model.fonds_dedies`) and `fin_exercice` (the last day of the financial year the grant
is for; default 31 December of the notification's year). `custom "compte-rendu" "REF"` dated the day
the compte rendu financier was sent records it.

The compte rendu financier (CERFA 15059) is due within 6 months after the end of that financial year;
the legal payment deadline is 60 days after notification (loi 2000-321 art. 10, as amended by loi 2021-875).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.model.grants import Grant, GrantBook, Source, TrancheStatus

REPORT = "compte-rendu"
LEGAL_PAYMENT_DAYS = 60
REPORT_MONTHS = 6
WARN_DAYS = 60
ZERO = Decimal(0)

#: Status codes of a grant file (decided on in code), and their French labels.
NOTIFIED, PARTLY_PAID, PAID = "notified", "partly-paid", "paid"
REPORT_DUE, REPORT_LATE, REPORT_SENT = "report-due", "report-late", "report-sent"
LABELS = {NOTIFIED: "notifiée", PARTLY_PAID: "payée en partie", PAID: "payée", REPORT_DUE: "compte rendu à rendre",
          REPORT_LATE: "compte rendu en retard", REPORT_SENT: "compte rendu envoyé"}


@dataclass(frozen=True)
class GrantFile:
    """One convention as the treasurer follows it, as of a day."""

    grant: Grant
    action: str | None
    notified_on: dt.date
    filed_on: dt.date | None
    conditions: str | None
    earmarked: bool
    year_end: dt.date
    received: Decimal
    expected: Decimal
    report_sent_on: dt.date | None
    documents: tuple[str, ...]
    as_of: dt.date

    @property
    def legal_deadline(self) -> dt.date:
        """The legal payment deadline: 60 days after notification."""
        return self.notified_on + dt.timedelta(days=LEGAL_PAYMENT_DAYS)

    @property
    def report_due(self) -> dt.date:
        """The compte rendu financier is due 6 months after the end of the grant's financial year."""
        return add_months(self.year_end, REPORT_MONTHS)

    @property
    def payment_status(self) -> str:
        if self.expected <= 0:
            return PAID
        return PARTLY_PAID if self.received > 0 else NOTIFIED

    @property
    def report_status(self) -> str | None:
        """`report-sent`, `report-late` after the due day, `report-due` from 60 days before it, else None."""
        if self.report_sent_on is not None:
            return REPORT_SENT
        if self.as_of > self.report_due:
            return REPORT_LATE
        if self.as_of >= self.report_due - dt.timedelta(days=WARN_DAYS):
            return REPORT_DUE
        return None

    @property
    def status(self) -> str:
        """The one status shown first: a late or due report, else how far it is paid."""
        report = self.report_status
        return report if report in (REPORT_LATE, REPORT_DUE) else self.payment_status


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clipped to the month's end (31/12 + 6 months → 30/06)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, last if day.day == calendar.monthrange(day.year, day.month)[1] else min(day.day, last))


def _date(value: object) -> dt.date | None:
    return value if isinstance(value, dt.date) else None


def _notification(entries: Sequence[data.Directive], grant: Grant) -> data.Transaction | None:
    for entry in entries:
        if isinstance(entry, data.Transaction) and Source.of(entry.meta) == grant.source:
            return entry
    return None


def reports_sent(entries: Sequence[data.Directive]) -> dict[str, dt.date]:
    """The first `custom "compte-rendu" "REF"` date of each convention."""
    out: dict[str, dt.date] = {}
    for entry in entries:
        if isinstance(entry, data.Custom) and entry.type == REPORT and entry.values:
            ref = entry.values[0].value
            if isinstance(ref, str):
                out.setdefault(ref, entry.date)
    return out


def documents_of(entries: Sequence[data.Directive], convention: str) -> tuple[str, ...]:
    """The evidence attached to a convention: `document` directives and `document` metadata of its entries."""
    out = []
    for entry in entries:
        meta = entry.meta or {}
        if str(meta.get("convention", "")) != convention:
            continue
        if isinstance(entry, data.Document):
            out.append(entry.filename)
        elif "document" in meta:
            out.append(str(meta["document"]))
    return tuple(out)


def grant_files(entries: Sequence[data.Directive], book: GrantBook, statuses: Sequence[TrancheStatus],
                as_of: dt.date) -> list[GrantFile]:
    """Every convention known on the as-of day, as a grant file (in notification order)."""
    known = [e for e in entries if e.date <= as_of]
    sent = reports_sent(known)
    out = []
    for grant in sorted(book.grants.values(), key=lambda g: (g.notified_on, g.convention)):
        entry = _notification(known, grant)
        meta = entry.meta if entry is not None else {}
        notified = _date(meta.get("notifiee")) or grant.notified_on
        year_end = _date(meta.get("fin_exercice")) or dt.date(notified.year, 12, 31)
        received = sum((r.amount for r in book.receipts if r.convention == grant.convention and r.date <= as_of),
                       ZERO)
        mine = [s for s in statuses if s.tranche.convention == grant.convention]
        expected = sum((s.open_amount for s in mine), ZERO) if mine else grant.amount - received
        conditions = meta.get("conditions")
        action = meta.get("action")
        out.append(GrantFile(
            grant, None if action is None else str(action), notified, _date(meta.get("depot")),
            None if conditions is None else str(conditions), str(meta.get("fonds_dedies", "")).lower() in (
                "true", "oui", "vrai"), year_end, received, expected, sent.get(grant.convention),
            documents_of(known, grant.convention), as_of))
    return out
