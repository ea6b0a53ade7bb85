"""Movements of money: disburse, repay, confirm, cancel — registry and both ledgers together, decided under the lock.

Every operation runs under `ledger_write.write_lock`: it first undoes an interrupted write (never
over a hand edit), reloads the books, reads the advance again inside the registry transaction and
checks its preconditions there (state, last movement, confirmation, idempotency key), checks that
the registry and both ledgers agree on the advance, writes the engine files (journaled, atomic,
bean-checked) and only then commits the registry. A crash after the ledgers and before the
registry commit is completed by running the command again: the entries already written are
recognised by their event key and not repeated.

In `convention-de-tresorerie` mode (`banquasso.terms.modes`) every operation locks, checks and writes
the pivot's ledger too: the entries go lender → pivot → borrower (`registry.postings.treasury_entries`).

Idempotency is by content: a disbursement or repayment carries the bank operation's reference
(`--ref`, default `<date>-<amount>`), and its event key is made of it, so the same repayment run
twice is written once. No movement is dated after the desk's day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from filelock import Timeout
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from banquasso.registry import codes, lifecycle
from banquasso.registry.balance import accrued_interest
from banquasso.registry.desk import AbortError, Desk, Outcome, audit, load_view, load_views, now, unknown
from banquasso.registry.guard import enforce
from banquasso.registry.ledger_write import FileEdit, RecoveryConflictError, recover, write_files, write_lock
from banquasso.registry.models import Advance, Payment, Posting
from banquasso.registry.postings import (
    CLEARED,
    PENDING,
    EngineEntry,
    add_entries,
    advance_entries,
    hops,
    principal_accounts,
    remove_events,
    render,
    set_flag,
)
from banquasso.registry.proposals import schedule_lines
from banquasso.registry.reconcile import reconcile
from banquasso.registry.snapshot import ZERO, AdvanceView, snapshot
from banquasso.terms.modes import pivot_member
from banquasso.terms.schedule import ScheduleError
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.group import Member
from comptasso.books.loading import load_member_ledger
from comptasso.model.checks import ENGINE_FILE, check_engine_file
from comptasso.money import cents, fr_date, fr_money
from comptasso.problems import Problem

ALL_TIME = dt.date(9999, 12, 31)
REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class Step:
    """What the preconditions, read under the lock, let an operation do: the events its pre-check leaves aside."""

    exclude: frozenset[str] = frozenset()
    ignore_flags: frozenset[str] = frozenset()


#: Under the lock, from the advance as just read: the step, or AbortError (a refusal, or nothing to do).
Preconditions = Callable[[AdvanceView], Step]
#: Under the lock: the edits of both files, the entries' text and the message; changes the ORM advance.
Prepare = Callable[[Session, Advance, GroupBooks], tuple[list[FileEdit], list[str], str]]


def engine_file(member: Member) -> Path:
    """The engine's own file beside a member's main ledger."""
    return member.folder / ENGINE_FILE


def default_ref(day: dt.date, amount: Decimal) -> str:
    """The bank reference used when none is given: the movement's date and amount (`2027-01-05-4000.00`)."""
    return f"{day.isoformat()}-{cents(amount)}"


def _refuse(desk: Desk, view: AdvanceView | None, advance_id: str, text: str, code: str) -> AbortError:
    return AbortError(Outcome(view, (desk.problem(f"{advance_id} : {text}", code, advance_id),)))


def _input_problem(desk: Desk, advance_id: str, on: dt.date, ref: str | None) -> Outcome | None:
    """A movement dated after the desk's day, or a malformed bank reference: refused before anything."""
    if on > desk.as_of:
        return Outcome(None, (desk.problem(
            f"{advance_id} : mouvement daté du {fr_date(on)}, après la date du jour {fr_date(desk.as_of)} "
            "(--as-of) : enregistrez-le le jour où la banque le passe", codes.MOVEMENT_AFTER_AS_OF, advance_id),))
    if ref is not None and not REF.match(ref):
        return Outcome(None, (desk.problem(
            f"{advance_id} : référence bancaire invalide « {ref} » (lettres, chiffres, . _ -, 40 caractères au plus)",
            codes.REF_INVALID, advance_id),))
    return None


def involved(desk: Desk, lender: str, borrower: str) -> tuple[Member, ...]:
    """The members whose ledgers an advance writes: lender and borrower, and the pivot in its mode."""
    pivot = pivot_member(desk.policy, desk.group)
    ids = dict.fromkeys([lender, *([pivot.id] if pivot else []), borrower])
    return tuple(desk.group.member(m) for m in ids)


def _opened_elsewhere(books: GroupBooks, member: Member) -> frozenset[str]:
    engine = str(engine_file(member).resolve())
    return frozenset(e.account for e in books.ledgers[member.id].entries
                     if isinstance(e, data.Open) and e.meta.get("filename") != engine)


def _checker(books: GroupBooks, members: Sequence[Member]) -> Callable[[], list[Problem]]:
    """bean-check of both ledgers after a write: Beancount's own loading pipeline, errors only."""
    def check() -> list[Problem]:
        problems = []
        for member in members:
            ledger = load_member_ledger(member.id, member.ledger, books.reference.allowed_plugins)
            problems += [p for p in ledger.problems if p.is_error]
        return problems
    return check


def _precheck(desk: Desk, books: GroupBooks, view: AdvanceView, step: Step) -> list[Problem]:
    """The registry and both ledgers must agree on this advance before anything is written (decided on codes)."""
    members = involved(desk, view.lender, view.borrower)
    problems = [p for m in members for p in check_engine_file(m, books.ledgers[m.id].options)]
    ledgers = {m.id: books.ledgers[m.id].entries for m in desk.group.members}
    files = {m.id: str(engine_file(m)) for m in desk.group.members}
    views = [view] + [v for v in load_views(desk.registry) if v.id != view.id]  # the others' entries are known
    pivot = desk.policy.pivot if pivot_member(desk.policy, desk.group) else None
    result = reconcile(views, desk.group, ledgers, desk.policy.accounts, ALL_TIME, files,
                       exclude_events=step.exclude, ignore_flags=step.ignore_flags, pivot=pivot)
    receivable_for, payable_for = principal_accounts(desk.policy.accounts, pivot)
    accounts = {account for payer, payee in hops(view.lender, view.borrower, pivot)
                for account in (receivable_for(payee), payable_for(payer))}
    folders = {m.folder.resolve() for m in members}
    problems += [p for p in result.mismatches
                 if p.subject == view.id or p.subject in accounts
                 or (p.code in codes.UNKNOWN_ENTRIES and Path(p.file).resolve().parent in folders)]
    if problems:
        problems.append(desk.problem(f"{view.id} : le registre et les livres ne concordent pas ; "
                                     "rien n'est écrit (voir banquasso reconcile)", codes.BOOKS_MISMATCH, view.id))
    return problems


def _ledger_operation(desk: Desk, advance_id: str, action: str, preconditions: Preconditions,
                      prepare: Prepare) -> Outcome:
    """Lock, recover, reload the books, re-read and re-check the advance, write both ledgers, commit the registry."""
    view = load_view(desk.registry, advance_id)
    if view is None:
        return unknown(desk, advance_id)
    members = involved(desk, view.lender, view.borrower)
    recovered: list[str] = []
    try:
        outcome = _locked_operation(desk, advance_id, action, preconditions, prepare, members, recovered)
    except Timeout:
        outcome = Outcome(view, (desk.problem("livres occupés par une autre écriture : réessayez",
                                              codes.REGISTRY_BUSY, advance_id),))
    return replace(outcome, messages=tuple(recovered) + outcome.messages) if recovered else outcome


def _locked_operation(desk: Desk, advance_id: str, action: str, preconditions: Preconditions, prepare: Prepare,
                      members: tuple[Member, ...], recovered: list[str]) -> Outcome:
    written = False
    try:
        with write_lock(desk.ledgers_dir, [m.ledger for m in members]):
            try:
                recovered.extend(recover(desk.ledgers_dir))
            except RecoveryConflictError as conflict:
                return Outcome(None, tuple(conflict.problems))
            books, problems = open_books(desk.ledgers_dir, desk.rules_dir)
            errors = [p for p in problems if p.is_error]
            if books is None or errors:
                return Outcome(None, tuple(p if p.code else replace(p, code=codes.BOOKS_INVALID)
                                           for p in errors or problems))
            with desk.registry.session() as session, session.begin():
                advance = session.get(Advance, advance_id, with_for_update=True)
                assert advance is not None
                before = snapshot(advance)
                step = preconditions(before)
                reason = lifecycle.refusal(advance.state, action)
                if reason:
                    raise _refuse(desk, before, advance_id, reason, codes.STATE_REFUSED)
                problems = _precheck(desk, books, before, step)
                if problems:
                    raise AbortError(Outcome(before, tuple(problems)))
                edits, texts, message = prepare(session, advance, books)
                if desk.dry_run:
                    dry = f"{message} (essai à blanc : rien n'est écrit)"
                    raise AbortError(Outcome(snapshot(advance), messages=(dry,), entries=tuple(texts)))
                problems = write_files(desk.ledgers_dir, edits, _checker(books, members))
                if problems:
                    raise AbortError(Outcome(before, (*problems, desk.problem(
                        f"{advance_id} : un livre ne passe plus bean-check après l'écriture ; "
                        "les livres sont remis comme avant", codes.WRITE_CHECK_FAILED, advance_id))))
                written = True
                session.flush()
                after = snapshot(advance)
                reason_text = session.info.pop("override", None)
                audit(session, desk, action, advance_id, before, after, reason_text)
            messages = (message,) + ((reason_text,) if reason_text else ())
            return Outcome(after, messages=messages, entries=tuple(texts))
    except AbortError as abort:
        return abort.outcome
    except SQLAlchemyError as exc:
        if not written:
            return Outcome(None, (desk.problem(f"{advance_id} : registre inaccessible ({exc.__class__.__name__}) ; "
                                               "rien n'est écrit", codes.REGISTRY_UNAVAILABLE, advance_id),))
        return Outcome(None, (desk.problem(
            f"{advance_id} : les livres sont écrits mais le registre n'a pas pu l'enregistrer "
            f"({exc.__class__.__name__}) ; "
            "relancez la même commande : les écritures déjà présentes ne seront pas dupliquées",
            codes.REGISTRY_NOT_RECORDED, advance_id),))


@dataclass(frozen=True)
class _Event:
    """One event to write: its registry payment and the entries of its members (two, or three with a pivot)."""

    payment: Payment
    entries: tuple[EngineEntry, ...]


def _add_event(desk: Desk, session: Session, books: GroupBooks, advance: Advance,
               event: _Event) -> tuple[list[FileEdit], list[str]]:
    """The edits of both engine files for a new event; the registry gets its payment and postings."""
    edits, refusals = [], []
    for entry in event.entries:
        member = desk.group.member(entry.member)
        path = engine_file(member)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new, why = add_entries(text, [entry], _opened_elsewhere(books, member))
        refusals += why
        edits.append(FileEdit(path, new))
    if refusals:
        raise AbortError(Outcome(snapshot(advance), tuple(desk.problem(r, codes.EVENT_CONFLICT, advance.id)
                                                     for r in refusals)))
    advance.payments.append(event.payment)
    stamp = now()
    for entry in event.entries:
        session.add(Posting(advance_id=advance.id, event=entry.event, member=entry.member, flag=entry.flag,
                            written_at=stamp))
    return edits, [render(e) for e in event.entries]


def _event(desk: Desk, advance: Advance, kind: str, event_key: str, day: dt.date,
           principal: Decimal, interest: Decimal, ref: str) -> _Event:
    lender, borrower = desk.group.member(advance.lender), desk.group.member(advance.borrower)
    seq = max((p.seq for p in advance.payments), default=0) + 1
    payment = Payment(seq=seq, kind=kind, event=event_key, date=day, principal=principal, interest=interest,
                      confirmed_on=None, ref=ref)
    entries = advance_entries(advance.id, kind, event_key, day, principal, interest, PENDING, lender, borrower,
                              desk.policy.accounts, desk.group.currency, pivot_member(desk.policy, desk.group))
    return _Event(payment, entries)


# --- disburse -------------------------------------------------------------------------------------

def disburse(desk: Desk, advance_id: str, on: dt.date, ref: str | None = None) -> Outcome:
    """Pay an approved advance, once the guard agrees: both ledgers get the entry (flag !), the registry the payment."""
    bad = _input_problem(desk, advance_id, on, ref)
    if bad:
        return bad
    event_key = f"{advance_id}/disburse"

    def preconditions(view: AdvanceView) -> Step:
        done = view.disbursement
        wanted = ref or default_ref(on, view.principal)
        if done is not None and done.date == on and (done.ref or default_ref(done.date, done.principal)) == wanted:
            raise AbortError(Outcome(view, messages=(
                f"{advance_id} déjà versée le {fr_date(on)} (réf. {done.ref or '—'}) : rien à faire",)))
        return Step(exclude=frozenset({event_key}))

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        if on >= advance.repay_on:
            raise _refuse(desk, snapshot(advance), advance_id,
                          f"versement le {fr_date(on)} au plus tôt à la date de remboursement prévue "
                          f"({fr_date(advance.repay_on)})", codes.MOVEMENT_INVALID)
        try:
            lines = schedule_lines(advance, on)
        except ScheduleError as exc:
            raise _refuse(desk, snapshot(advance), advance_id, str(exc), codes.MOVEMENT_INVALID) from None
        candidate = replace(snapshot(advance), disburse_on=on)
        verdict = enforce(desk, session, books, candidate)
        if not verdict.ok:
            raise AbortError(Outcome(snapshot(advance), verdict.problems))
        if verdict.override:
            session.info["override"] = verdict.override
        principal = Decimal(advance.principal)
        event = _event(desk, advance, "disbursement", event_key, on, principal, ZERO, ref or default_ref(on, principal))
        edits, texts = _add_event(desk, session, books, advance, event)
        advance.lines.clear()
        session.flush()
        advance.lines.extend(lines)
        advance.state = lifecycle.after(advance.state, "disburse")
        advance.disbursed_on = on
        warned = "".join(f"\n{warning}" for warning in verdict.warnings)  # limits.dependence = "warn"
        return edits, texts, (f"{advance_id} versée le {fr_date(on)} : {fr_money(principal)} "
                              f"de {advance.lender} à {advance.borrower} (à confirmer à réception du relevé bancaire)"
                              f"{warned}")

    return _ledger_operation(desk, advance_id, "disburse", preconditions, prepare)


# --- repay ----------------------------------------------------------------------------------------

def repay(desk: Desk, advance_id: str, amount: Decimal, on: dt.date, ref: str | None = None) -> Outcome:
    """Record a repayment (interest accrued since the last movement first, the rest on the principal), once per ref."""
    bad = _input_problem(desk, advance_id, on, ref)
    if bad:
        return bad
    if amount <= 0 or cents(amount) != amount:
        return Outcome(load_view(desk.registry, advance_id), (desk.problem(
            f"{advance_id} : montant invalide {amount} : un montant positif, au centime, est attendu",
            codes.MOVEMENT_INVALID, advance_id),))
    bank_ref = ref or default_ref(on, amount)
    event_key = f"{advance_id}/repay/{bank_ref}"

    def preconditions(view: AdvanceView) -> Step:
        done = next((p for p in view.payments if p.event == event_key), None)
        if done is not None:
            if (done.date, done.total) == (on, amount):
                already = (f"{advance_id} : remboursement de {fr_money(amount)} du {fr_date(on)} "
                           f"(réf. {bank_ref}) déjà enregistré : rien à faire")
                raise AbortError(Outcome(view, messages=(already,)))
            raise _refuse(desk, view, advance_id,
                          f"la référence « {bank_ref} » est déjà celle du remboursement de {fr_money(done.total)} "
                          f"du {fr_date(done.date)} : un autre remboursement exige une autre --ref",
                          codes.REF_CONFLICT)
        return Step(exclude=frozenset({event_key}))

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        current = snapshot(advance)
        problem = _repay_problem(current, amount, on)
        if problem:
            raise _refuse(desk, current, advance_id, problem, codes.MOVEMENT_INVALID)
        interest = min(amount, accrued_interest(current, on))
        principal = amount - interest
        event = _event(desk, advance, "repayment", event_key, on, principal, interest, bank_ref)
        edits, texts = _add_event(desk, session, books, advance, event)
        left = current.outstanding - principal
        advance.state = lifecycle.after(advance.state, "repay", left)
        return edits, texts, (f"{advance_id} : remboursement de {fr_money(amount)} le {fr_date(on)} "
                              f"(capital {fr_money(principal)}, intérêts {fr_money(interest)}) ; "
                              f"reste dû {fr_money(left)}")

    return _ledger_operation(desk, advance_id, "repay", preconditions, prepare)


def _repay_problem(view: AdvanceView, amount: Decimal, on: dt.date) -> str | None:
    last = max(p.date for p in view.payments)
    if on < last:
        return f"remboursement daté du {fr_date(on)}, avant le dernier mouvement de l'avance ({fr_date(last)})"
    interest = accrued_interest(view, on)
    owed = view.outstanding + interest
    if amount > owed:
        return (f"remboursement de {fr_money(amount)} supérieur à ce qui reste dû le {fr_date(on)} : "
                f"{fr_money(owed)} (capital {fr_money(view.outstanding)}, intérêts {fr_money(interest)})")
    return None


# --- confirm --------------------------------------------------------------------------------------

def confirm(desk: Desk, advance_id: str, event: str | None = None) -> Outcome:
    """The bank movement is seen: the entries turn from ! to * in both ledgers (decided on the advance as read now)."""
    chosen: list[frozenset[str]] = []

    def preconditions(view: AdvanceView) -> Step:
        if event is not None and not any(p.event == event for p in view.payments):
            known = ", ".join(p.event for p in view.payments) or "aucun"
            raise _refuse(desk, view, advance_id, f"événement inconnu « {event} » (événements : {known})",
                          codes.EVENT_UNKNOWN)
        pending = [p for p in view.payments if p.confirmed_on is None and (event is None or p.event == event)]
        if not pending and view.state in lifecycle.ALLOWED["confirm"]:
            raise AbortError(Outcome(view, messages=(f"{advance_id} : rien à confirmer, tout est déjà confirmé",)))
        early = [p for p in pending if p.date > desk.as_of]
        if early:
            raise _refuse(desk, view, advance_id,
                          f"le mouvement du {fr_date(early[0].date)} ({early[0].event}) n'a pas encore eu lieu "
                          f"au {fr_date(desk.as_of)} : la banque ne peut pas l'avoir passé",
                          codes.MOVEMENT_AFTER_AS_OF)
        events = frozenset(p.event for p in pending)
        chosen.append(events)
        return Step(ignore_flags=events)

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        events = chosen[-1]
        edits = []
        for member in involved(desk, advance.lender, advance.borrower):
            path = engine_file(member)
            edits.append(FileEdit(path, set_flag(path.read_text(encoding="utf-8"), sorted(events), CLEARED)))
        for payment in advance.payments:
            if payment.event in events:
                payment.confirmed_on = desk.as_of
        for posting in session.scalars(select(Posting).where(Posting.event.in_(events))):
            posting.flag = CLEARED
        if any(p.kind == "disbursement" and p.event in events for p in advance.payments):
            advance.state = lifecycle.after(advance.state, "confirm")
        listed = ", ".join(sorted(events))
        return edits, [], f"{advance_id} : {len(events)} mouvement(s) confirmé(s) par la banque ({listed})"

    return _ledger_operation(desk, advance_id, "confirm", preconditions, prepare)


# --- cancel ---------------------------------------------------------------------------------------

def cancel(desk: Desk, advance_id: str, event: str, reason: str) -> Outcome:
    """Correct a mistake: remove the last movement, still unconfirmed, from both ledgers and the registry.

    The audit log keeps the cancelled movement; a confirmed movement (`*`) is never removed, since
    the bank saw it: a real movement in the other direction is recorded instead. Whether the
    movement is the last one and unconfirmed is decided on the advance as read under the lock.
    """
    if not reason.strip():
        return Outcome(load_view(desk.registry, advance_id), (desk.problem(
            "l'annulation exige --reason (le motif)", codes.REASON_MISSING, advance_id),))

    def preconditions(view: AdvanceView) -> Step:
        last = view.payments[-1] if view.payments else None
        if last is None or last.event != event:
            what = f"le dernier est « {last.event} »" if last else "elle n'en a aucun"
            raise _refuse(desk, view, advance_id,
                          f"seul le dernier mouvement peut être annulé ({what}), pas « {event} »",
                          codes.CANCEL_NOT_LAST)
        if last.confirmed_on is not None:
            raise _refuse(desk, view, advance_id,
                          f"« {event} » est confirmé par la banque (le {fr_date(last.confirmed_on)}) et ne "
                          "peut plus être annulé ; enregistrez le mouvement inverse réel", codes.CANCEL_CONFIRMED)
        return Step(exclude=frozenset({event}))

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        edits = []
        for member in involved(desk, advance.lender, advance.borrower):
            path = engine_file(member)
            edits.append(FileEdit(path, remove_events(path.read_text(encoding="utf-8"), [event])))
        payment = next(p for p in advance.payments if p.event == event)
        advance.payments.remove(payment)
        for posting in session.scalars(select(Posting).where(Posting.event == event)):
            session.delete(posting)
        repayments = [p for p in advance.payments if p.kind == "repayment"]
        confirmed = any(p.kind == "disbursement" and p.confirmed_on for p in advance.payments)
        advance.state = lifecycle.after_cancel(payment.kind, len(repayments), confirmed)
        if payment.kind == "disbursement":
            advance.disbursed_on = None
        return edits, [], f"{advance_id} : mouvement « {event} » annulé ({reason.strip()})"

    return _ledger_operation(desk, advance_id, "cancel", preconditions, prepare)
