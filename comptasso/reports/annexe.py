"""The annexe of the annual accounts (ANC 2018-06): methods, fixed assets, fonds dédiés, provisions,
contributions in kind, off-balance commitments (BanquAsso advances) and events after closing.

The fonds dédiés table is `comptasso.model.fonds_dedies.fund_movements`, the reading of the funds
`banquasso fonds-dedies` also makes: booked 19x movements by convention, unused part per earmarked grant.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.model.chart import has_prefix, pcg_number
from comptasso.model.fonds_dedies import FundMovement, fund_movements
from comptasso.money import ZERO, cents
from comptasso.problems import Problem
from comptasso.reports.annual import (
    AnnualAccounts,
    is_contribution_in_kind,
    is_depreciation,
    posting_amount,
    transactions,
)
from comptasso.reports.period import FinancialYear

#: Metadata of a contribution in kind saying how it was valued, and tag of an event after closing.
VALUATION_KEY = "valorisation"
POST_CLOSING_TAG = "evenement-posterieur"
ADVANCES_GRANTED = "2748"
ADVANCES_RECEIVED = "1687"


#: The methods every member follows, after the sentence naming the regulation (French).
METHODS = (
    "Principes : continuité d'exploitation, permanence des méthodes, indépendance des exercices, coût historique.",
    "Immobilisations : valeur d'acquisition ; amortissements et dépréciations selon les comptes 28 et 29.",
    "Subventions affectées non utilisées : inscrites en fonds dédiés (689), reprises (789) à leur utilisation.",
    "Contributions volontaires en nature : hors bilan et hors résultat, au pied du compte de résultat (86, 87).",
)


@dataclass(frozen=True)
class Movement:
    """One account's year: opening balance, increases, decreases, closing balance (shown positive)."""

    account: str
    opening: Decimal
    increases: Decimal
    decreases: Decimal

    @property
    def closing(self) -> Decimal:
        return self.opening + self.increases - self.decreases


@dataclass(frozen=True)
class InKind:
    """A contribution in kind (87) or its use (86) for the year, and how it was valued."""

    account: str
    n: Decimal
    n1: Decimal
    valuations: tuple[str, ...]


@dataclass(frozen=True)
class PostClosingEvent:
    """An entry after the closing date tagged #evenement-posterieur."""

    date: dt.date
    label: str
    amount: Decimal


@dataclass(frozen=True)
class Annexe:
    """The tables and statements of the annexe, for one member and one financial year."""

    member_name: str
    period: FinancialYear
    chart_name: str
    fixed_assets: tuple[Movement, ...]
    depreciation: tuple[Movement, ...]
    dedicated_funds: tuple[FundMovement, ...]
    provisions: tuple[Movement, ...]
    in_kind: tuple[InKind, ...]
    advances_granted: tuple[Movement, ...]
    advances_received: tuple[Movement, ...]
    events: tuple[PostClosingEvent, ...]
    problems: tuple[Problem, ...]

    @property
    def methods(self) -> tuple[str, ...]:
        """The accounting methods, in French."""
        regulation = (f"Les comptes de l'exercice {self.period.french} sont établis selon le règlement "
                      "ANC n° 2018-06 relatif aux comptes annuels des personnes morales de droit privé à but "
                      f"non lucratif (référentiel : {self.chart_name}).")
        return (regulation, *METHODS)


def _movements(entries: Sequence[data.Directive], period: FinancialYear, accept: object,
               sign: int) -> tuple[Movement, ...]:
    """Opening, increases and decreases of the accounts `accept(account)` selects; `sign` +1 debit, −1 credit."""
    assert callable(accept)
    opening: dict[str, Decimal] = defaultdict(lambda: ZERO)
    plus: dict[str, Decimal] = defaultdict(lambda: ZERO)
    minus: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in transactions(entries):
        if entry.date > period.end:
            continue
        for posting in entry.postings:
            if not accept(posting.account):
                continue
            value = sign * posting_amount(posting)
            if entry.date < period.start:
                opening[posting.account] += value
            elif value > 0:
                plus[posting.account] += value
            else:
                minus[posting.account] -= value
    accounts = sorted(set(opening) | set(plus) | set(minus))
    return tuple(m for m in (Movement(a, cents(opening[a]), cents(plus[a]), cents(minus[a])) for a in accounts)
                 if m.opening or m.increases or m.decreases)


def _is_fixed_asset(account: str) -> bool:
    number = pcg_number(account) or ""
    return account.startswith("Assets:") and number.startswith("2") and not is_depreciation(number)


def _is_fixed_depreciation(account: str) -> bool:
    return account.startswith("Assets:") and is_depreciation(pcg_number(account) or "")


def _in_kind(entries: Sequence[data.Directive], accounts: AnnualAccounts) -> tuple[InKind, ...]:
    valuations: dict[str, set[str]] = defaultdict(set)
    for entry in transactions(entries):
        if entry.date in accounts.period:
            for posting in entry.postings:
                if is_contribution_in_kind(posting.account):
                    value = entry.meta.get(VALUATION_KEY)
                    if isinstance(value, str) and value.strip():
                        valuations[posting.account].add(value.strip())
    return tuple(InKind(amount.account, amount.n, amount.n1, tuple(sorted(valuations[amount.account])))
                 for section in accounts.in_kind for line in section.lines for amount in line.accounts)


def build_annexe(entries: Sequence[data.Directive], accounts: AnnualAccounts, where: str = "") -> Annexe:
    """The annexe of `accounts` (built from the same entries, as of the same date)."""
    period = accounts.period
    known = [e for e in entries if e.date <= accounts.as_of]
    in_kind = _in_kind(known, accounts)
    problems: list[Problem] = []
    unvalued = [i.account for i in in_kind if i.n and not i.valuations and i.account.startswith("Income:")]
    if unvalued:
        problems.append(Problem(where, 0, "contributions en nature sans méthode de valorisation (métadonnée "
                                          f"« {VALUATION_KEY} ») : {', '.join(unvalued)}", "warning",
                                "in-kind-unvalued"))
    events = tuple(
        PostClosingEvent(e.date, " - ".join(p for p in (e.payee, e.narration) if p),
                         cents(sum((posting_amount(p) for p in e.postings if posting_amount(p) > 0), ZERO)))
        for e in transactions(known) if e.date > period.end and POST_CLOSING_TAG in (e.tags or ()))
    return Annexe(
        accounts.member_name, period, accounts.chart.name,
        fixed_assets=_movements(known, period, _is_fixed_asset, 1),
        depreciation=_movements(known, period, _is_fixed_depreciation, -1),
        dedicated_funds=tuple(fund_movements(known, period.start, period.end)),
        provisions=_movements(known, period, lambda a: has_prefix(a, "15"), -1),
        in_kind=in_kind,
        advances_granted=_movements(known, period, lambda a: has_prefix(a, ADVANCES_GRANTED), 1),
        advances_received=_movements(known, period, lambda a: has_prefix(a, ADVANCES_RECEIVED), -1),
        events=events,
        problems=tuple(problems),
    )


def _movement_json(m: Movement) -> dict[str, object]:
    return {"account": m.account, "opening": m.opening, "increases": m.increases, "decreases": m.decreases,
            "closing": m.closing}


def _fund_json(m: FundMovement) -> dict[str, object]:
    return {"convention": m.convention, "action": m.action, "account": m.account, "opening": m.opening,
            "increases": m.increases, "decreases": m.decreases, "closing": m.closing, "unused": m.unused,
            "released": m.released}


def annexe_json(annexe: Annexe) -> dict[str, object]:
    """The annexe as JSON (amounts as Decimals; dump_json writes them as strings)."""
    def table(rows: Sequence[Movement]) -> list[dict[str, object]]:
        return [_movement_json(m) for m in rows]
    return {
        "methodes": list(annexe.methods),
        "immobilisations": table(annexe.fixed_assets),
        "amortissements": table(annexe.depreciation),
        "fonds_dedies": [_fund_json(m) for m in annexe.dedicated_funds],
        "provisions": table(annexe.provisions),
        "contributions_en_nature": [{"account": i.account, "n": i.n, "n1": i.n1, "valorisation": list(i.valuations)}
                                    for i in annexe.in_kind],
        "engagements_hors_bilan": {"avances_accordees": table(annexe.advances_granted),
                                   "avances_recues": table(annexe.advances_received)},
        "evenements_posterieurs": [{"date": e.date, "label": e.label, "amount": e.amount} for e in annexe.events],
        "warnings": [str(p) for p in annexe.problems],
    }
