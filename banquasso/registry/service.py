"""The advance desk: propose, approve, reject, disburse, confirm, repay, cancel — registry and both ledgers together.

Every operation that writes ledgers runs under `ledger_write.write_lock`, first undoes an
interrupted write, reloads the books, checks that the registry and both ledgers agree on the
advance, writes the engine files (journaled, atomic, bean-checked) and only then commits the
registry. A crash after the ledgers and before the registry commit is completed by running the
command again: the entries already written are recognised by their event key and not repeated.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from beancount.core import data
from filelock import Timeout
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from banquasso.registry.ledger_write import FileEdit, recover, write_files, write_lock
from banquasso.terms.policy import Policy
from banquasso.registry.postings import (
    CLEARED,
    PENDING,
    EngineEntry,
    add_entries,
    event_entries,
    remove_events,
    render,
    set_flag,
)
from banquasso.registry import lifecycle
from banquasso.registry.balance import accrued_interest
from banquasso.registry.db import Registry
from banquasso.registry.models import Advance, AuditLog, Payment, Posting, ScheduleLine
from banquasso.registry.reconcile import reconcile
from banquasso.registry.snapshot import ZERO, AdvanceView, snapshot, view_json
from banquasso.terms.schedule import ScheduleError, build_schedule
from comptasso.books.facade import GroupBooks, open_books
from comptasso.model.checks import ENGINE_FILE, check_engine_file
from comptasso.model.grants import extract_grants
from comptasso.books.group import Group, Member
from comptasso.books.loading import load_member_ledger
from comptasso.money import cents, fr_money
from comptasso.problems import Problem

ALL_TIME = dt.date(9999, 12, 31)


@dataclass(frozen=True)
class Proposal:
    """An advance to record as proposed (a line of `banquasso plan`, or typed in)."""

    lender: str
    borrower: str
    amount: Decimal
    disburse_on: dt.date
    repay_on: dt.date
    convention: str | None = None
    tranche_date: dt.date | None = None
    method: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What an operation did: the advance afterwards, problems, messages, and the entries written."""

    advance: AdvanceView | None
    problems: tuple[Problem, ...] = ()
    messages: tuple[str, ...] = ()
    entries: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


@dataclass(frozen=True)
class Desk:
    """Where and as whom the operations run."""

    ledgers_dir: Path
    rules_dir: Path
    registry: Registry
    policy: Policy
    group: Group
    as_of: dt.date
    actor: str
    dry_run: bool = False

    def problem(self, message: str) -> Problem:
        """A problem about the registry itself (named by its location)."""
        return Problem(self.registry.label, 0, message)


class _Abort(Exception):
    """Leave the registry transaction without committing, with this outcome."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome)
        self.outcome = outcome


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _audit(session: Session, desk: Desk, action: str, advance_id: str | None,
           before: AdvanceView | None, after: AdvanceView | None) -> None:
    session.add(AuditLog(
        at=_now(), actor=desk.actor, action=action, advance_id=advance_id, as_of=desk.as_of,
        before=None if before is None else json.dumps(view_json(before), ensure_ascii=False),
        after=None if after is None else json.dumps(view_json(after), ensure_ascii=False),
    ))


def load_view(registry: Registry, advance_id: str) -> AdvanceView | None:
    """One advance of the registry, or None."""
    with registry.session() as session:
        advance = session.get(Advance, advance_id)
        return None if advance is None else snapshot(advance)


def load_views(registry: Registry) -> list[AdvanceView]:
    """Every advance of the registry, by id."""
    with registry.session() as session:
        return [snapshot(a) for a in session.scalars(select(Advance).order_by(Advance.id))]


def unknown(desk: Desk, advance_id: str) -> Outcome:
    known = ", ".join(v.id for v in load_views(desk.registry)[-5:]) or "aucune"
    return Outcome(None, (desk.problem(f"avance inconnue « {advance_id} » (dernières avances : {known})"),))


# --- schedule -------------------------------------------------------------------------------------

def _months_between(start: dt.date, end: dt.date) -> int:
    return max(1, (end.year - start.year) * 12 + end.month - start.month)


def schedule_lines(advance: Advance, start: dt.date) -> list[ScheduleLine]:
    """The advance's repayment lines for a disbursement on `start` (raises ScheduleError on bad terms)."""
    months = _months_between(start, advance.repay_on) if advance.method in ("linear", "annuity") else None
    schedule = build_schedule(
        Decimal(advance.principal), rate=Decimal(advance.rate), start=start, method=advance.method,
        day_count=advance.day_count, months=months, end=advance.repay_on, repay_on=advance.repay_on)
    return [ScheduleLine(n=line.n, date=line.date, principal=line.principal, interest=line.interest,
                         payment=line.payment, remaining=line.remaining) for line in schedule.lines]


# --- propose, approve, reject ---------------------------------------------------------------------

def _check_proposal(desk: Desk, proposal: Proposal, books: GroupBooks | None) -> list[str]:
    """Why a proposal cannot be recorded (French), empty when it can."""
    reasons = []
    for role, member_id in (("prêteur", proposal.lender), ("emprunteur", proposal.borrower)):
        if member_id not in desk.group.ids:
            reasons.append(f"{role} inconnu « {member_id} » (membres : {', '.join(desk.group.ids)})")
    if proposal.lender == proposal.borrower:
        reasons.append("le prêteur et l'emprunteur doivent être deux membres différents")
    if proposal.amount <= 0 or cents(proposal.amount) != proposal.amount:
        reasons.append(f"montant invalide {proposal.amount} : un montant positif, au centime, est attendu")
    if proposal.repay_on <= proposal.disburse_on:
        reasons.append(f"le remboursement ({proposal.repay_on.isoformat()}) doit suivre le versement "
                       f"({proposal.disburse_on.isoformat()})")
    elif (proposal.repay_on - proposal.disburse_on).days > desk.policy.limits.max_days:
        reasons.append(f"durée de {(proposal.repay_on - proposal.disburse_on).days} jours au-delà de "
                       f"limits.max_days = {desk.policy.limits.max_days}")
    method = proposal.method or desk.policy.terms.default_method
    if method == "on-receipt" and proposal.convention is None:
        reasons.append("une avance remboursable à l'encaissement doit être garantie par une échéance de subvention")
    if proposal.convention is not None and books is not None and proposal.borrower in desk.group.ids:
        book, _ = extract_grants(books.ledgers[proposal.borrower].entries)
        if proposal.convention not in book.grants:
            reasons.append(f"convention « {proposal.convention} » absente du livre de {proposal.borrower}")
        elif proposal.tranche_date is not None and not any(
                t.convention == proposal.convention and t.due == proposal.tranche_date for t in book.tranches):
            reasons.append(f"pas d'échéance le {proposal.tranche_date.isoformat()} pour la convention "
                           f"« {proposal.convention} »")
    return reasons


def _same(advance: Advance, proposal: Proposal) -> bool:
    return (advance.lender, advance.borrower, Decimal(advance.principal), advance.disburse_on, advance.repay_on,
            advance.convention, advance.tranche_date) == (
        proposal.lender, proposal.borrower, proposal.amount, proposal.disburse_on, proposal.repay_on,
        proposal.convention, proposal.tranche_date)


def _next_id(session: Session, year: int) -> tuple[str, int]:
    last = session.scalar(select(func.max(Advance.seq)).where(Advance.year == year)) or 0
    return f"BQA-{year:04d}-{last + 1:04d}", last + 1


def propose(desk: Desk, proposals: Sequence[Proposal], books: GroupBooks | None) -> list[Outcome]:
    """Record advances as proposed (a plan's line already recorded and not rejected is skipped)."""
    outcomes: list[Outcome] = []
    for index, proposal in enumerate(proposals, start=1):
        reasons = _check_proposal(desk, proposal, books)
        if reasons:
            where = f"proposition {index} ({proposal.lender} → {proposal.borrower})"
            outcomes.append(Outcome(None, tuple(desk.problem(f"{where} : {r}") for r in reasons)))
            continue
        outcomes.append(_propose_one(desk, proposal))
    return outcomes


def _propose_one(desk: Desk, proposal: Proposal, attempts: int = 5) -> Outcome:
    terms = desk.policy.terms
    for _ in range(attempts):
        try:
            with write_lock(desk.ledgers_dir, []), desk.registry.session() as session, session.begin():
                for advance in session.scalars(select(Advance).where(Advance.state != lifecycle.REJECTED)):
                    if _same(advance, proposal):
                        raise _Abort(Outcome(snapshot(advance), messages=(
                            f"{advance.id} déjà enregistrée ({lifecycle.LABELS[advance.state]}) : rien à faire",)))
                advance_id, seq = _next_id(session, desk.as_of.year)
                advance = Advance(
                    id=advance_id, year=desk.as_of.year, seq=seq, lender=proposal.lender,
                    borrower=proposal.borrower, principal=proposal.amount, rate=terms.rate,
                    method=proposal.method or terms.default_method, day_count=terms.day_count,
                    grace_days=terms.grace_days, disburse_on=proposal.disburse_on, repay_on=proposal.repay_on,
                    convention=proposal.convention, tranche_date=proposal.tranche_date,
                    state=lifecycle.PROPOSED, proposed_on=desk.as_of)
                try:
                    advance.lines = schedule_lines(advance, proposal.disburse_on)
                except ScheduleError as exc:
                    raise _Abort(Outcome(None, (desk.problem(f"{advance_id} : {exc}"),))) from None
                if desk.dry_run:
                    raise _Abort(Outcome(snapshot(advance),
                                         messages=(f"{advance_id} serait proposée (essai à blanc)",)))
                session.add(advance)
                session.flush()
                view = snapshot(advance)
                _audit(session, desk, "propose", advance_id, None, view)
            return Outcome(view, messages=(f"{advance_id} proposée : {proposal.lender} prête "
                                           f"{fr_money(proposal.amount)} à {proposal.borrower}",))
        except _Abort as abort:
            return abort.outcome
        except IntegrityError:
            continue
        except Timeout:
            return Outcome(None, (desk.problem("registre occupé par une autre commande : réessayez"),))
    return Outcome(None, (desk.problem("impossible d'attribuer un numéro d'avance : réessayez"),))


def _registry_only(desk: Desk, advance_id: str, action: str,
                   change: Callable[[Advance], str | None], message: str) -> Outcome:
    """An action that changes the registry only (approve, reject), under the registry lock."""
    try:
        with write_lock(desk.ledgers_dir, []), desk.registry.session() as session, session.begin():
            advance = session.get(Advance, advance_id, with_for_update=True)
            if advance is None:
                raise _Abort(unknown(desk, advance_id))
            reason = lifecycle.refusal(advance.state, action)
            if reason:
                raise _Abort(Outcome(snapshot(advance), (desk.problem(f"{advance_id} : {reason}"),)))
            before = snapshot(advance)
            refused = change(advance)
            if refused:
                raise _Abort(Outcome(before, (desk.problem(f"{advance_id} : {refused}"),)))
            advance.state = lifecycle.after(advance.state, action)
            after = snapshot(advance)
            if desk.dry_run:
                raise _Abort(Outcome(after, messages=(f"{message} (essai à blanc : rien n'est enregistré)",)))
            _audit(session, desk, action, advance_id, before, after)
        return Outcome(after, messages=(message,))
    except _Abort as abort:
        return abort.outcome
    except Timeout:
        return Outcome(None, (desk.problem("registre occupé par une autre commande : réessayez"),))


def approve(desk: Desk, advance_id: str, by: str, decision: str) -> Outcome:
    """Record the lender's board approval: who approved and the reference of its decision."""
    def change(advance: Advance) -> str | None:
        if not by.strip() or not decision.strip():
            return "l'approbation exige --by (qui approuve) et --decision (référence de la décision du conseil)"
        advance.approved_by, advance.decision, advance.approved_on = by.strip(), decision.strip(), desk.as_of
        return None
    return _registry_only(desk, advance_id, "approve", change,
                          f"{advance_id} approuvée par {by} (décision {decision})")


def reject(desk: Desk, advance_id: str, by: str, reason: str) -> Outcome:
    """Reject a proposed or approved advance, with who and why."""
    def change(advance: Advance) -> str | None:
        if not by.strip() or not reason.strip():
            return "le rejet exige --by (qui rejette) et --reason (le motif)"
        advance.rejected_reason = f"{reason.strip()} ({by.strip()}, {desk.as_of.isoformat()})"
        return None
    return _registry_only(desk, advance_id, "reject", change, f"{advance_id} rejetée : {reason}")


# --- the writing operations -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Event:
    """One event to write: its registry payment and the entries of both members."""

    payment: Payment
    entries: tuple[EngineEntry, EngineEntry]


def engine_file(member: Member) -> Path:
    """The engine's own file beside a member's main ledger."""
    return member.folder / ENGINE_FILE


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


def _precheck(desk: Desk, books: GroupBooks, view: AdvanceView, *, exclude: frozenset[str] = frozenset(),
              ignore_flags: frozenset[str] = frozenset()) -> list[Problem]:
    """The registry and both ledgers must agree on this advance before anything is written."""
    members = (desk.group.member(view.lender), desk.group.member(view.borrower))
    problems = [p for m in members for p in check_engine_file(m, books.ledgers[m.id].options)]
    ledgers = {m.id: books.ledgers[m.id].entries for m in desk.group.members}
    files = {m.id: str(engine_file(m)) for m in desk.group.members}
    views = [view] + [v for v in load_views(desk.registry) if v.id != view.id]  # the others' entries are known
    result = reconcile(views, desk.group, ledgers, desk.policy.accounts, ALL_TIME, files,
                       exclude_events=exclude, ignore_flags=ignore_flags)
    accounts = (desk.policy.accounts.lender_principal_for(view.borrower),
                desk.policy.accounts.borrower_principal_for(view.lender))
    folders = {members[0].folder.resolve(), members[1].folder.resolve()}
    problems += [p for p in result.mismatches
                 if view.id in p.message or any(a in p.message for a in accounts)
                 or ("inconnue du registre" in p.message and Path(p.file).resolve().parent in folders)]
    if problems:
        problems.append(desk.problem(f"{view.id} : le registre et les livres ne concordent pas ; "
                                     "rien n'est écrit (voir banquasso reconcile)"))
    return problems


def _ledger_operation(desk: Desk, advance_id: str, action: str,
                      prepare: Callable[[Session, Advance, GroupBooks], tuple[list[FileEdit], list[str], str]],
                      precheck: Callable[[GroupBooks, AdvanceView], list[Problem]]) -> Outcome:
    """Lock, recover, reload the books, check, write both ledgers, then commit the registry."""
    view = load_view(desk.registry, advance_id)
    if view is None:
        return unknown(desk, advance_id)
    lender, borrower = desk.group.member(view.lender), desk.group.member(view.borrower)
    recovered: list[str] = []
    try:
        outcome = _locked_operation(desk, advance_id, action, prepare, precheck, (lender, borrower), recovered)
    except Timeout:
        outcome = Outcome(view, (desk.problem("livres occupés par une autre écriture : réessayez"),))
    return replace(outcome, messages=tuple(recovered) + outcome.messages) if recovered else outcome


def _locked_operation(desk: Desk, advance_id: str, action: str,
                      prepare: Callable[[Session, Advance, GroupBooks], tuple[list[FileEdit], list[str], str]],
                      precheck: Callable[[GroupBooks, AdvanceView], list[Problem]],
                      members: tuple[Member, Member], recovered: list[str]) -> Outcome:
    lender, borrower = members
    view, written = None, False
    try:
        with write_lock(desk.ledgers_dir, [lender.ledger, borrower.ledger]):
            recovered.extend(recover(desk.ledgers_dir))
            books, problems = open_books(desk.ledgers_dir, desk.rules_dir)
            errors = [p for p in problems if p.is_error]
            if books is None or errors:
                return Outcome(view, tuple(errors or problems))
            with desk.registry.session() as session, session.begin():
                advance = session.get(Advance, advance_id, with_for_update=True)
                assert advance is not None
                reason = lifecycle.refusal(advance.state, action)
                if reason:
                    raise _Abort(Outcome(snapshot(advance), (desk.problem(f"{advance_id} : {reason}"),)))
                before = snapshot(advance)
                problems = precheck(books, before)
                if problems:
                    raise _Abort(Outcome(before, tuple(problems)))
                edits, texts, message = prepare(session, advance, books)
                if desk.dry_run:
                    raise _Abort(Outcome(snapshot(advance), messages=(f"{message} (essai à blanc : rien n'est écrit)",),
                                         entries=tuple(texts)))
                problems = write_files(desk.ledgers_dir, edits, _checker(books, (lender, borrower)))
                if problems:
                    raise _Abort(Outcome(before, tuple(problems) + (desk.problem(
                        f"{advance_id} : un livre ne passe plus bean-check après l'écriture ; "
                        "les deux livres sont remis comme avant"),)))
                written = True
                session.flush()
                after = snapshot(advance)
                _audit(session, desk, action, advance_id, before, after)
            return Outcome(after, messages=(message,), entries=tuple(texts))
    except _Abort as abort:
        return abort.outcome
    except SQLAlchemyError as exc:
        if not written:
            return Outcome(view, (desk.problem(f"{advance_id} : registre inaccessible ({exc.__class__.__name__}) ; "
                                               "rien n'est écrit"),))
        return Outcome(view, (desk.problem(
            f"{advance_id} : les livres sont écrits mais le registre n'a pas pu l'enregistrer "
            f"({exc.__class__.__name__}) ; "
            "relancez la même commande : les écritures déjà présentes ne seront pas dupliquées"),))


def _add_event(desk: Desk, session: Session, books: GroupBooks, advance: Advance,
               event: _Event) -> tuple[list[FileEdit], list[str]]:
    """The edits of both engine files for a new event; the registry gets its payment and postings."""
    lender, borrower = desk.group.member(advance.lender), desk.group.member(advance.borrower)
    edits, refusals = [], []
    for member, entry in zip((lender, borrower), event.entries, strict=True):
        path = engine_file(member)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        new, why = add_entries(text, [entry], _opened_elsewhere(books, member))
        refusals += why
        edits.append(FileEdit(path, new))
    if refusals:
        raise _Abort(Outcome(snapshot(advance), tuple(desk.problem(r) for r in refusals)))
    advance.payments.append(event.payment)
    now = _now()
    for member, entry in zip((lender, borrower), event.entries, strict=True):
        session.add(Posting(advance_id=advance.id, event=entry.event, member=member.id, flag=entry.flag,
                            written_at=now))
    return edits, [render(e) for e in event.entries]


def _event(desk: Desk, advance: Advance, kind: str, event_key: str, day: dt.date,
           principal: Decimal, interest: Decimal) -> _Event:
    lender, borrower = desk.group.member(advance.lender), desk.group.member(advance.borrower)
    payment = Payment(seq=len(advance.payments) + 1, kind=kind, event=event_key, date=day,
                      principal=principal, interest=interest, confirmed_on=None)
    entries = event_entries(advance.id, kind, event_key, day, principal, interest, PENDING, lender, borrower,
                            desk.policy.accounts, desk.group.currency)
    return _Event(payment, entries)


def disburse(desk: Desk, advance_id: str, on: dt.date) -> Outcome:
    """Pay an approved advance: both ledgers get the entry (flag !), the registry the disbursement."""
    event_key = f"{advance_id}/disburse"

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        if on >= advance.repay_on:
            raise _Abort(Outcome(snapshot(advance), (desk.problem(
                f"{advance_id} : versement le {on.isoformat()} au plus tôt à la date de remboursement prévue "
                f"({advance.repay_on.isoformat()})"),)))
        try:
            lines = schedule_lines(advance, on)
        except ScheduleError as exc:
            raise _Abort(Outcome(snapshot(advance), (desk.problem(f"{advance_id} : {exc}"),))) from None
        event = _event(desk, advance, "disbursement", event_key, on, Decimal(advance.principal), ZERO)
        edits, texts = _add_event(desk, session, books, advance, event)
        advance.lines.clear()
        session.flush()
        advance.lines.extend(lines)
        advance.state = lifecycle.after(advance.state, "disburse")
        advance.disbursed_on = on
        return edits, texts, (f"{advance_id} versée le {on.isoformat()} : {fr_money(Decimal(advance.principal))} "
                              f"de {advance.lender} à {advance.borrower} (à confirmer à réception du relevé bancaire)")

    return _ledger_operation(desk, advance_id, "disburse", prepare,
                             lambda books, view: _precheck(desk, books, view, exclude=frozenset({event_key})))


def repay(desk: Desk, advance_id: str, amount: Decimal, on: dt.date) -> Outcome:
    """Record a repayment: interest accrued since the last payment first, the rest on the principal."""
    def key(view: AdvanceView) -> str:
        return f"{advance_id}/repay-{len(view.repayments) + 1}"  # read under the lock: concurrent repayments queue

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        current = snapshot(advance)
        problem = _repay_problem(current, amount, on)
        if problem:
            raise _Abort(Outcome(current, (desk.problem(f"{advance_id} : {problem}"),)))
        interest = min(amount, accrued_interest(current, on))
        principal = amount - interest
        event = _event(desk, advance, "repayment", key(current), on, principal, interest)
        edits, texts = _add_event(desk, session, books, advance, event)
        left = current.outstanding - principal
        advance.state = lifecycle.after(advance.state, "repay", left)
        return edits, texts, (f"{advance_id} : remboursement de {fr_money(amount)} le {on.isoformat()} "
                              f"(capital {fr_money(principal)}, intérêts {fr_money(interest)}) ; "
                              f"reste dû {fr_money(left)}")

    return _ledger_operation(desk, advance_id, "repay", prepare,
                             lambda books, current: _precheck(desk, books, current, exclude=frozenset({key(current)})))


def _repay_problem(view: AdvanceView, amount: Decimal, on: dt.date) -> str | None:
    if amount <= 0 or cents(amount) != amount:
        return f"montant invalide {amount} : un montant positif, au centime, est attendu"
    last = max(p.date for p in view.payments)
    if on < last:
        return f"remboursement daté du {on.isoformat()}, avant le dernier mouvement de l'avance ({last.isoformat()})"
    interest = accrued_interest(view, on)
    owed = view.outstanding + interest
    if amount > owed:
        return (f"remboursement de {fr_money(amount)} supérieur à ce qui reste dû le {on.isoformat()} : "
                f"{fr_money(owed)} (capital {fr_money(view.outstanding)}, intérêts {fr_money(interest)})")
    return None


def confirm(desk: Desk, advance_id: str, event: str | None = None) -> Outcome:
    """The bank movement is seen: the entries turn from ! to * in both ledgers."""
    view = load_view(desk.registry, advance_id)
    if view is None:
        return unknown(desk, advance_id)
    pending = [p for p in view.payments if p.confirmed_on is None and (event is None or p.event == event)]
    if event is not None and not any(p.event == event for p in view.payments):
        known = ", ".join(p.event for p in view.payments) or "aucun"
        return Outcome(view, (desk.problem(f"{advance_id} : événement inconnu « {event} » (événements : {known})"),))
    if not pending and view.state in lifecycle.ALLOWED["confirm"]:
        return Outcome(view, messages=(f"{advance_id} : rien à confirmer, tout est déjà confirmé",))
    early = [p for p in pending if p.date > desk.as_of]
    if early:
        return Outcome(view, (desk.problem(
            f"{advance_id} : le mouvement du {early[0].date.isoformat()} ({early[0].event}) n'a pas encore eu lieu "
            f"au {desk.as_of.isoformat()} : la banque ne peut pas l'avoir passé"),))
    events = frozenset(p.event for p in pending)

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        edits = []
        for member_id in (advance.lender, advance.borrower):
            path = engine_file(desk.group.member(member_id))
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

    return _ledger_operation(desk, advance_id, "confirm", prepare,
                             lambda books, current: _precheck(desk, books, current, ignore_flags=events))


def cancel(desk: Desk, advance_id: str, event: str, reason: str) -> Outcome:
    """Correct a mistake: remove the last movement, still unconfirmed, from both ledgers and the registry.

    The audit log keeps the cancelled movement; a confirmed movement (`*`) is never removed, since
    the bank saw it: a real movement in the other direction is recorded instead.
    """
    view = load_view(desk.registry, advance_id)
    if view is None:
        return unknown(desk, advance_id)
    if not reason.strip():
        return Outcome(view, (desk.problem("l'annulation exige --reason (le motif)"),))
    last = view.payments[-1] if view.payments else None
    if last is None or last.event != event:
        what = f"le dernier est « {last.event} »" if last else "elle n'en a aucun"
        return Outcome(view, (desk.problem(
            f"{advance_id} : seul le dernier mouvement peut être annulé ({what}), pas « {event} »"),))
    if last.confirmed_on is not None:
        return Outcome(view, (desk.problem(
            f"{advance_id} : « {event} » est confirmé par la banque (le {last.confirmed_on.isoformat()}) et ne "
            "peut plus être annulé ; enregistrez le mouvement inverse réel"),))

    def prepare(session: Session, advance: Advance, books: GroupBooks) -> tuple[list[FileEdit], list[str], str]:
        edits = []
        for member_id in (advance.lender, advance.borrower):
            path = engine_file(desk.group.member(member_id))
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

    return _ledger_operation(desk, advance_id, "cancel", prepare,
                             lambda books, current: _precheck(desk, books, current, exclude=frozenset({event})))
