"""Proposals: the plan of the day (idempotent, superseding the earlier days' still-proposed advances) or typed-in terms.

A plan is recorded once per day: re-running `advance propose` on the same day changes nothing. A
new day's plan supersedes every earlier still-proposed advance of a plan (state `superseded`, kept
with the reason in the audit log), except the lines the new plan proposes again unchanged. An
approved advance is committed: a plan never touches it, so its lender is never swapped. Typed-in
terms go through the commitment guard like an approval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial

from filelock import Timeout
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from banquasso.registry import codes, lifecycle
from banquasso.registry.desk import AbortError, Desk, Outcome, audit, busy
from banquasso.registry.guard import enforce
from banquasso.registry.ledger_write import write_lock
from banquasso.registry.models import Advance, ScheduleLine
from banquasso.registry.snapshot import snapshot
from banquasso.terms.schedule import ScheduleError, build_schedule
from comptasso.books.facade import GroupBooks, open_books
from comptasso.model.member import member_model
from comptasso.money import cents, fr_date, fr_money
from comptasso.problems import Problem

PLAN, MANUAL = "plan", "manual"


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


def check_proposal(desk: Desk, proposal: Proposal, books: GroupBooks | None) -> list[str]:
    """Why a proposal cannot be recorded at all (French), empty when it can (the limits are the guard's)."""
    reasons = []
    for role, member_id in (("prêteur", proposal.lender), ("emprunteur", proposal.borrower)):
        if member_id not in desk.group.ids:
            reasons.append(f"{role} inconnu « {member_id} » (membres : {', '.join(desk.group.ids)})")
    if proposal.lender == proposal.borrower:
        reasons.append("le prêteur et l'emprunteur doivent être deux membres différents")
    if proposal.amount <= 0 or cents(proposal.amount) != proposal.amount:
        reasons.append(f"montant invalide {proposal.amount} : un montant positif, au centime, est attendu")
    if proposal.repay_on <= proposal.disburse_on:
        reasons.append(f"le remboursement ({fr_date(proposal.repay_on)}) doit suivre le versement "
                       f"({fr_date(proposal.disburse_on)})")
    method = proposal.method or desk.policy.terms.default_method
    if method == "on-receipt" and proposal.convention is None:
        reasons.append("une avance remboursable à l'encaissement doit être garantie par une échéance de subvention")
    if proposal.convention is not None and books is not None and proposal.borrower in desk.group.ids:
        book = member_model(books.ledgers[proposal.borrower].entries).grants
        if proposal.convention not in book.grants:
            reasons.append(f"convention « {proposal.convention} » absente du livre de {proposal.borrower}")
        elif proposal.tranche_date is not None and not any(
                t.convention == proposal.convention and t.due == proposal.tranche_date for t in book.tranches):
            reasons.append(f"pas d'échéance le {fr_date(proposal.tranche_date)} pour la convention "
                           f"« {proposal.convention} »")
    return reasons


def same(advance: Advance, proposal: Proposal) -> bool:
    """Whether a recorded advance has exactly the proposal's terms."""
    return (advance.lender, advance.borrower, Decimal(advance.principal), advance.disburse_on, advance.repay_on,
            advance.convention, advance.tranche_date) == (
        proposal.lender, proposal.borrower, proposal.amount, proposal.disburse_on, proposal.repay_on,
        proposal.convention, proposal.tranche_date)


def _next_id(session: Session, year: int) -> tuple[str, int]:
    last = session.scalar(select(func.max(Advance.seq)).where(Advance.year == year)) or 0
    return f"BQA-{year:04d}-{last + 1:04d}", last + 1


def _new_advance(desk: Desk, session: Session, proposal: Proposal, origin: str) -> Advance:
    terms = desk.policy.terms
    advance_id, seq = _next_id(session, desk.as_of.year)
    advance = Advance(
        id=advance_id, year=desk.as_of.year, seq=seq, lender=proposal.lender,
        borrower=proposal.borrower, principal=proposal.amount, rate=terms.rate,
        method=proposal.method or terms.default_method, day_count=terms.day_count,
        grace_days=terms.grace_days, disburse_on=proposal.disburse_on, repay_on=proposal.repay_on,
        convention=proposal.convention, tranche_date=proposal.tranche_date,
        state=lifecycle.PROPOSED, proposed_on=desk.as_of, origin=origin)
    try:
        advance.lines = schedule_lines(advance, proposal.disburse_on)
    except ScheduleError as exc:
        raise AbortError(Outcome(None, (desk.problem(f"{advance_id} : {exc}", codes.PROPOSAL_INVALID, advance_id),))) \
            from None
    return advance


def _invalid(desk: Desk, index: int, proposal: Proposal, reasons: list[str]) -> Outcome:
    where = f"proposition {index} ({proposal.lender} → {proposal.borrower})"
    return Outcome(None, tuple(desk.problem(f"{where} : {r}", codes.PROPOSAL_INVALID) for r in reasons))


def propose(desk: Desk, proposals: Sequence[Proposal], books: GroupBooks | None) -> list[Outcome]:
    """Record typed-in advances as proposed, each checked by the commitment guard (a duplicate is skipped)."""
    outcomes: list[Outcome] = []
    for index, proposal in enumerate(proposals, start=1):
        reasons = check_proposal(desk, proposal, books)
        if reasons:
            outcomes.append(_invalid(desk, index, proposal, reasons))
            continue
        outcomes.append(_retry(partial(_propose_one, desk, proposal, books), desk))
    return outcomes


def _retry(operation: Callable[[], Outcome], desk: Desk, attempts: int = 5) -> Outcome:
    """Run an id-allocating operation again when a concurrent writer took the same id."""
    for _ in range(attempts):
        try:
            return operation()
        except IntegrityError:
            continue
        except Timeout:
            return busy(desk)
    return Outcome(None, (desk.problem("impossible d'attribuer un numéro d'avance : réessayez",
                                       codes.ID_ALLOCATION),))


def _propose_one(desk: Desk, proposal: Proposal, books: GroupBooks | None) -> Outcome:
    try:
        with write_lock(desk.ledgers_dir, []), desk.registry.session() as session, session.begin():
            live = (lifecycle.REJECTED, lifecycle.SUPERSEDED)
            for advance in session.scalars(select(Advance).where(Advance.state.not_in(live))):
                if same(advance, proposal):
                    raise AbortError(Outcome(snapshot(advance), messages=(
                        f"{advance.id} déjà enregistrée ({lifecycle.LABELS[advance.state]}) : rien à faire",)))
            advance = _new_advance(desk, session, proposal, MANUAL)
            view = snapshot(advance)
            override = None
            warnings: tuple[str, ...] = ()
            if desk.guard is not None:
                books = books if books is not None else _open(desk)
                verdict = enforce(desk, session, books, replace(view, state=lifecycle.APPROVED))
                if not verdict.ok:
                    raise AbortError(Outcome(None, verdict.problems))
                override, warnings = verdict.override, verdict.warnings
            if desk.dry_run:
                raise AbortError(Outcome(view, messages=(f"{advance.id} serait proposée (essai à blanc)",)))
            session.add(advance)
            session.flush()
            view = snapshot(advance)
            audit(session, desk, "propose", advance.id, None, view, override)
        message = (f"{view.id} proposée : {proposal.lender} prête {fr_money(proposal.amount)} à {proposal.borrower}"
                   + (f" ({override})" if override else ""))
        return Outcome(view, messages=(message, *warnings))
    except AbortError as abort:
        return abort.outcome


def _open(desk: Desk) -> GroupBooks:
    books, problems = open_books(desk.ledgers_dir, desk.rules_dir)
    errors = [p for p in problems if p.is_error]
    if books is None or errors:
        raise AbortError(Outcome(None, tuple(_coded_books(p) for p in errors or problems)))
    return books


def _coded_books(problem: Problem) -> Problem:
    return problem if problem.code else replace(problem, code=codes.BOOKS_INVALID)


def propose_plan(desk: Desk, proposals: Sequence[Proposal], books: GroupBooks | None) -> list[Outcome]:
    """Record the plan of the desk's day: once per day, superseding the earlier days' still-proposed lines."""
    outcomes: list[Outcome] = []
    valid: list[Proposal] = []
    for index, proposal in enumerate(proposals, start=1):
        reasons = check_proposal(desk, proposal, books)
        if reasons:
            outcomes.append(_invalid(desk, index, proposal, reasons))
        else:
            valid.append(proposal)
    return outcomes + _record_plan_retry(desk, valid)


def _record_plan_retry(desk: Desk, proposals: Sequence[Proposal], attempts: int = 5) -> list[Outcome]:
    for _ in range(attempts):
        try:
            return _record_plan(desk, proposals)
        except IntegrityError:
            continue
        except Timeout:
            return [busy(desk)]
    return [Outcome(None, (desk.problem("impossible d'attribuer un numéro d'avance : réessayez",
                                        codes.ID_ALLOCATION),))]


def _record_plan(desk: Desk, proposals: Sequence[Proposal]) -> list[Outcome]:
    day = desk.as_of
    try:
        with write_lock(desk.ledgers_dir, []), desk.registry.session() as session, session.begin():
            recorded = list(session.scalars(select(Advance).where(
                Advance.proposed_on == day, Advance.origin == PLAN).order_by(Advance.id)))
            if recorded:
                listed = ", ".join(a.id for a in recorded)
                raise AbortError(Outcome(None, messages=(
                    f"le plan du {fr_date(day)} est déjà enregistré ({listed}) : rien à faire",)))
            earlier = list(session.scalars(select(Advance).where(
                Advance.state == lifecycle.PROPOSED, Advance.proposed_on < day,
                (Advance.origin == PLAN) | Advance.origin.is_(None)).order_by(Advance.id)))
            outcomes: list[Outcome] = []
            kept: set[str] = set()
            for proposal in proposals:
                again = next((a for a in earlier if a.id not in kept and same(a, proposal)), None)
                if again is not None:
                    kept.add(again.id)
                    outcomes.append(Outcome(snapshot(again), messages=(
                        f"{again.id} déjà proposée le {fr_date(again.proposed_on)} : conservée",)))
                    continue
                advance = _new_advance(desk, session, proposal, PLAN)
                session.add(advance)  # a dry run rolls everything back below, after numbering like a real one
                session.flush()
                audit(session, desk, "propose", advance.id, None, snapshot(advance))
                outcomes.append(Outcome(snapshot(advance), messages=(
                    f"{advance.id} proposée : {proposal.lender} prête {fr_money(proposal.amount)} "
                    f"à {proposal.borrower}" + (" (essai à blanc)" if desk.dry_run else ""),)))
            for advance in earlier:
                if advance.id in kept:
                    continue
                before = snapshot(advance)
                advance.state = lifecycle.after(advance.state, "supersede")
                advance.closed_on = day
                reason = f"remplacée par le plan du {fr_date(day)}"
                audit(session, desk, "supersede", advance.id, before, snapshot(advance), reason)
                outcomes.append(Outcome(snapshot(advance), messages=(f"{advance.id} {reason}",)))
            if desk.dry_run:
                raise AbortError(Outcome(None, messages=tuple(m for o in outcomes for m in o.messages)))
        return outcomes
    except AbortError as abort:
        return [abort.outcome]
