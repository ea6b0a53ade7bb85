"""Learned categorisation: the counter-account of a bank line, from the member's own reviewed history.

smart_importer's `PredictPostings` (a linear SVM over the labels, as its beangulp hook does) is trained
on the member's past operations of the same bank account; it only fills lines that neither an open
invoice nor a rule of `rules/categories.toml` has categorised, and only when the history is big enough
and holds a past operation on the predicted account that shares a distinctive word with the label.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import beangulp
from beancount.core import data
from beancount.core.amount import Amount

from comptasso.importing.matching import distinctive_words
from comptasso.importing.statement import BankLine

#: Metadata of an entry whose counter-account was learnt (flag `!`: the bookkeeper reviews it).
LEARNED_KEY = "categorisation"
LEARNED_VALUE = "apprise"
#: Metadata of the entries BanquAsso writes: the engine's, not the member's categorisation.
_ENGINE_KEY = "advance"

Spans = dict[str, tuple[dt.date, dt.date | None]]


def open_spans(entries: Iterable[data.Directive]) -> Spans:
    """Each account's opening date and closing date (None while open)."""
    spans: Spans = {}
    for entry in entries:
        if isinstance(entry, data.Open):
            spans[entry.account] = (entry.date, None)
        elif isinstance(entry, data.Close) and entry.account in spans:
            spans[entry.account] = (spans[entry.account][0], entry.date)
    return spans


def is_open(spans: Spans, account: str, day: dt.date) -> bool:
    """The account is open on that day (opened on or before it, not yet closed)."""
    span = spans.get(account)
    return span is not None and span[0] <= day and (span[1] is None or day < span[1])


def counter_account(entry: data.Transaction, bank_account: str) -> str | None:
    """The one other account of a two-posting operation on the bank account, else None."""
    accounts = [p.account for p in entry.postings]
    if len(accounts) != 2 or accounts.count(bank_account) != 1:
        return None
    return next(a for a in accounts if a != bank_account)


def history(existing: Sequence[data.Directive], bank_account: str, suspense: str,
            as_of: dt.date | None = None) -> list[data.Transaction]:
    """The past operations a model may learn from: reviewed (`*`), two postings, one on this bank account.

    Left out: lines still to review (`!`, including earlier learnt ones), the suspense account, invoice
    payments (a link: the invoice matcher books those), BanquAsso's entries, accounts closed since, and
    anything dated after `as_of` (a result as of a day depends only on what is dated on or before it).
    """
    spans = open_spans(existing)
    out = []
    for entry in existing:
        if not isinstance(entry, data.Transaction) or entry.flag != "*" or entry.links:
            continue
        if as_of is not None and entry.date > as_of:
            continue
        if _ENGINE_KEY in entry.meta:
            continue
        counter = counter_account(entry, bank_account)
        if counter is None or counter == suspense:
            continue
        if all(a in spans and spans[a][1] is None for a in (bank_account, counter)):
            out.append(entry)
    return out


def supported(label: str, account: str, past: Sequence[data.Transaction], bank_account: str) -> bool:
    """Some past operation booked on `account` shares a distinctive word with the label."""
    words = distinctive_words(label)
    return any(counter_account(entry, bank_account) == account
               and words & distinctive_words(f"{entry.payee or ''} {entry.narration}") for entry in past)


def learn_accounts(lines: Sequence[BankLine], bank_account: str, existing: Sequence[data.Directive],
                   importer: beangulp.Importer, *, suspense: str, min_history: int, currency: str,
                   source: str, as_of: dt.date | None = None) -> list[str | None]:
    """The learnt counter-account of each line, or None (too little history, or no support for it)."""
    past = history(existing, bank_account, suspense, as_of)
    if not lines or len(past) < min_history:
        return [None] * len(lines)
    from smart_importer import PredictPostings  # scikit-learn loads slowly: only when there is work

    singles: list[data.Directive] = [
        data.Transaction(data.new_metadata(source, line.line), line.date, "!", None, line.label, data.EMPTY_SET,
                         data.EMPTY_SET, [data.Posting(bank_account, Amount(line.amount, currency),
                                                       None, None, None, None)])
        for line in lines
    ]
    known: list[data.Directive] = [e for e in existing if isinstance(e, (data.Open, data.Close))]
    predictor = PredictPostings(denylist_accounts=[suspense])
    [(_, predicted, _, _)] = predictor.hook([(source, singles, bank_account, importer)], known + list(past))
    spans = open_spans(existing)
    out: list[str | None] = []
    for line, entry in zip(lines, predicted, strict=True):
        account = counter_account(entry, bank_account) if isinstance(entry, data.Transaction) else None
        ok = account is not None and is_open(spans, account, line.date) and supported(line.label, account, past,
                                                                                     bank_account)
        out.append(account if ok else None)
    return out
