"""Registry against ledgers: every advance's events, the lender's receivable and the borrower's debt agree.

Under a convention de trésorerie (`pivot` given) the pivot's ledger is checked too: each event must
be in the three engine files, and each hop of an advance (lender → pivot, pivot → borrower) must
show the outstanding principal on both current accounts 4511 — the payer's receivable and the
payee's debt — for that advance and, over all advances, for each pair.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from beancount.core import data

from banquasso.registry import codes
from banquasso.registry.postings import EngineEntry, advance_entries, hops, principal_accounts
from banquasso.registry.snapshot import ZERO, AdvanceView, PaymentView
from banquasso.terms.policy import AccountsPolicy
from comptasso.books.group import Group, Member
from comptasso.money import fr_date, fr_money
from comptasso.problems import Problem, at


@dataclass(frozen=True)
class AdvanceBalance:
    """One advance as the registry and the two ledgers see it, as of a day."""

    id: str
    lender: str
    borrower: str
    registry_outstanding: Decimal
    lender_receivable: Decimal
    borrower_debt: Decimal
    ok: bool
    pivot: str | None = None  # the organisme pivot (convention de trésorerie), whose two accounts were checked too


@dataclass(frozen=True)
class Reconciliation:
    """Every advance's balances and every mismatch found (as problems naming file and line)."""

    as_of: dt.date
    advances: tuple[AdvanceBalance, ...]
    mismatches: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _legs(entry: data.Transaction) -> list[tuple[str, Decimal]]:
    return sorted((p.account, p.units.number) for p in entry.postings
                  if p.units is not None and p.units.number is not None)


def _expected_legs(entry: EngineEntry) -> list[tuple[str, Decimal]]:
    return sorted((leg.account, leg.amount) for leg in entry.legs)


def _tagged(entries: Iterable[data.Directive], as_of: dt.date,
            exclude: frozenset[str]) -> dict[str, dict[str, list[data.Transaction]]]:
    """Transactions carrying `advance:` metadata: advance id → event → entries."""
    out: dict[str, dict[str, list[data.Transaction]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        if isinstance(entry, data.Transaction) and entry.date <= as_of and "advance" in entry.meta:
            event = str(entry.meta.get("event", ""))
            if event not in exclude:
                out[str(entry.meta["advance"])][event].append(entry)
    return out


def _account_total(entries: Iterable[data.Directive], account: str, as_of: dt.date, exclude: frozenset[str],
                   advance: str | None = None) -> Decimal:
    total = ZERO
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > as_of:
            continue
        if str(entry.meta.get("event", "")) in exclude:
            continue
        if advance is not None and str(entry.meta.get("advance", "")) != advance:
            continue
        total += sum((p.units.number for p in entry.postings
                      if p.account == account and p.units is not None and p.units.number is not None), ZERO)
    return total


def _coded(problem: Problem, code: str, subject: str) -> Problem:
    return replace(problem, code=code, subject=subject)


def _check_event(view: AdvanceView, payment: PaymentView, side: str, member: Member, expected: EngineEntry,
                 found: Sequence[data.Transaction], engine_file: str, ignore_flags: frozenset[str]) -> list[Problem]:
    where = f"avance {view.id}, {payment.event}"
    if not found:
        return [Problem(engine_file, 0, f"{where} : écriture absente du livre {side} {member.id} "
                                        f"(le registre l'a : {fr_money(payment.principal + payment.interest)} "
                                        f"le {fr_date(payment.date)})", code=codes.RECONCILE_MISSING,
                        subject=view.id)]
    problems = []
    if len(found) > 1:
        problems.append(_coded(at(found[1].meta, f"{where} : écriture en double dans le livre {side} {member.id}"),
                               codes.RECONCILE_DUPLICATE, view.id))
    entry = found[0]
    if entry.date != payment.date:
        problems.append(_coded(at(entry.meta, f"{where} : datée du {fr_date(entry.date)} dans le livre {side}, "
                                              f"du {fr_date(payment.date)} au registre"),
                               codes.RECONCILE_DATE, view.id))
    if _legs(entry) != _expected_legs(expected):
        got = ", ".join(f"{a} {n}" for a, n in _legs(entry))
        want = ", ".join(f"{a} {n}" for a, n in _expected_legs(expected))
        problems.append(_coded(at(entry.meta, f"{where} : montants différents dans le livre {side} {member.id} "
                                              f"({got}) et au registre ({want})"), codes.RECONCILE_AMOUNTS, view.id))
    if payment.event not in ignore_flags and entry.flag != payment.flag:
        state = "confirmée" if payment.flag == "*" else "non confirmée"
        problems.append(_coded(at(entry.meta, f"{where} : marque « {entry.flag} » dans le livre {side}, "
                                              f"mais l'écriture est {state} au registre (« {payment.flag} » attendu)"),
                               codes.RECONCILE_FLAG, view.id))
    return problems


def reconcile(
    views: Sequence[AdvanceView],
    group: Group,
    ledgers: Mapping[str, Sequence[data.Directive]],
    accounts: AccountsPolicy,
    as_of: dt.date,
    engine_files: Mapping[str, str],
    *,
    exclude_events: frozenset[str] = frozenset(),
    ignore_flags: frozenset[str] = frozenset(),
    pivot: str | None = None,
) -> Reconciliation:
    """Compare the registry's advances with every member ledger, as of `as_of`.

    Each registry event dated on or before `as_of` must be in both engine files exactly once, with
    the same date, accounts, amounts and flag; every ledger entry tagged `advance:` must be a
    registry event; and for every lender/borrower pair, the whole balance of the lender's receivable
    account and of the borrower's debt account (hand entries included) must equal what the registry
    says is outstanding. `exclude_events` leaves out events about to be written (a write's pre-check).
    With `pivot` (convention de trésorerie), the same holds of the pivot's ledger and of each hop
    through it, on the current accounts `accounts.group_receivable` / `accounts.group_payable`.
    """
    tagged = {member_id: _tagged(entries, as_of, exclude_events) for member_id, entries in ledgers.items()}
    known = {view.id for view in views}
    problems: list[Problem] = []
    balances: list[AdvanceBalance] = []
    pairs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    middle = group.member(pivot) if pivot is not None else None
    receivable_for, payable_for = principal_accounts(accounts, pivot)
    for view in views:
        lender, borrower = group.member(view.lender), group.member(view.borrower)
        members = {view.lender, view.borrower, *([pivot] if pivot is not None else [])}
        before = len(problems)
        events = set()
        for payment in view.payments:
            if payment.date > as_of or payment.event in exclude_events:
                continue
            events.add(payment.event)
            expected = advance_entries(view.id, payment.kind, payment.event, payment.date, payment.principal,
                                       payment.interest, payment.flag, lender, borrower, accounts, group.currency,
                                       middle)
            for entry in expected:
                member = group.member(entry.member)
                side = _side(view, member.id, pivot)
                found = tagged[member.id].get(view.id, {}).get(payment.event, [])
                problems += _check_event(view, payment, side, member, entry, found,
                                         engine_files[member.id], ignore_flags)
        for member_id in ledgers:
            for event, entries in tagged[member_id].get(view.id, {}).items():
                if event not in events or member_id not in members:
                    for stray in entries:
                        name = event or "sans event"
                        problems.append(_coded(at(stray.meta, f"avance {view.id} : écriture « {name} » "
                                                              f"inconnue du registre dans le livre de {member_id}"),
                                               codes.RECONCILE_UNKNOWN_EVENT, view.id))
        outstanding = view.outstanding_on(as_of) - sum(
            (p.principal if p.kind == "disbursement" else -p.principal
             for p in view.payments if p.event in exclude_events and p.date <= as_of), ZERO)
        seen: dict[str, Decimal] = {}
        for payer, payee in hops(view.lender, view.borrower, pivot):
            pairs[(payer, payee)] += outstanding
            checks = ((payer, receivable_for(payee), 1, "créance", _side(view, payer, pivot)),
                      (payee, payable_for(payer), -1, "dette", _side(view, payee, pivot)))
            for member_id, account, sign, what, side in checks:
                on_account = f" sur {account}" if pivot is not None else ""
                total = _account_total(ledgers[member_id], account, as_of, exclude_events, view.id)
                amount = total if sign > 0 else -total
                seen.setdefault(member_id, amount)
                if amount != outstanding:
                    problems.append(Problem(engine_files[member_id], 0, (
                        f"avance {view.id} : {what} de {fr_money(amount)}{on_account} dans le livre {side} "
                        f"{member_id}, {fr_money(outstanding)} restant dû au registre"),
                        code=codes.RECONCILE_BALANCE, subject=view.id))
        balances.append(AdvanceBalance(view.id, view.lender, view.borrower, outstanding,
                                       seen.get(view.lender, ZERO), seen.get(view.borrower, ZERO),
                                       len(problems) == before, pivot))
    problems += _unknown_advances(tagged, known)
    problems += _pair_totals(group, ledgers, (receivable_for, payable_for), as_of, exclude_events, pairs,
                             engine_files)
    return Reconciliation(as_of, tuple(balances), tuple(problems))


def _unknown_advances(tagged: Mapping[str, Mapping[str, Mapping[str, list[data.Transaction]]]],
                      known: set[str]) -> list[Problem]:
    return [
        _coded(at(entry.meta, f"avance inconnue du registre « {advance} » dans le livre de {member_id}"),
               codes.RECONCILE_UNKNOWN_ADVANCE, advance)
        for member_id, advances in tagged.items()
        for advance, events in advances.items() if advance not in known
        for entries in events.values()
        for entry in entries
    ]


def _side(view: AdvanceView, member_id: str, pivot: str | None) -> str:
    """How a member stands in an advance, for messages: « du prêteur », « du pivot », « de l'emprunteur »."""
    if member_id == pivot:
        return "du pivot"
    return "du prêteur" if member_id == view.lender else "de l'emprunteur"


def _pair_totals(group: Group, ledgers: Mapping[str, Sequence[data.Directive]],
                 accounts: tuple[Callable[[str], str], Callable[[str], str]],
                 as_of: dt.date, exclude: frozenset[str], pairs: Mapping[tuple[str, str], Decimal],
                 engine_files: Mapping[str, str]) -> list[Problem]:
    """Every member's advance accounts, hand entries included, hold exactly what the registry says.

    `pairs` is what each payer (lender, or pivot) is owed by each payee; `accounts` the payer's
    receivable and the payee's debt account for a counterpart (`postings.principal_accounts`).
    """
    receivable_for, payable_for = accounts
    problems = []
    for lender in group.members:
        for borrower in group.members:
            if lender.id == borrower.id:
                continue
            expected = pairs.get((lender.id, borrower.id), ZERO)
            checks = (
                (lender.id, receivable_for(borrower.id), expected, "créance sur", borrower.id),
                (borrower.id, payable_for(lender.id), -expected, "dette envers", lender.id),
            )
            for member_id, account, want, what, other in checks:
                total = _account_total(ledgers[member_id], account, as_of, exclude)
                if total == want:
                    continue
                strays = [e for e in ledgers[member_id] if isinstance(e, data.Transaction) and e.date <= as_of
                          and "advance" not in e.meta and any(p.account == account for p in e.postings)]
                problems.append(Problem(engine_files[member_id], 0, (
                    f"{member_id} : le compte {account} ({what} {other}) solde à {fr_money(total)}, "
                    f"le registre attend {fr_money(want)}"), code=codes.RECONCILE_ACCOUNT, subject=account))
                problems += [_coded(at(e.meta, f"écriture hors BanquAsso sur le compte des avances {account} "
                                               f"(sans métadonnée « advance ») dans le livre de {member_id}"),
                                    codes.RECONCILE_STRAY, account)
                             for e in strays]
    return problems
