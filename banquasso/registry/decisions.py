"""The board's decisions on a proposed advance — approve (re-checked by the commitment guard) and reject.

Both run under the registry lock, in one transaction: the advance is read again there and its state
checked there, so two concurrent approvals on one borrower are decided one after the other, the
second seeing the first as committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from filelock import Timeout

from banquasso.registry import codes, lifecycle
from banquasso.registry.desk import AbortError, Desk, Outcome, audit, busy, unknown
from banquasso.registry.guard import enforce
from banquasso.registry.ledger_write import write_lock
from banquasso.registry.models import Advance
from banquasso.registry.snapshot import snapshot
from comptasso.books.facade import GroupBooks, open_books
from comptasso.money import fr_date

#: What a decision changes on the advance; returns why it cannot (French, with its code) or None.
Change = Callable[[Advance, Callable[[], GroupBooks]], tuple[str, str] | None]


def _registry_only(desk: Desk, advance_id: str, action: str, change: Change, message: str,
                   guarded: bool = False) -> Outcome:
    """An action that changes the registry only, under the registry lock and in one transaction."""
    try:
        with write_lock(desk.ledgers_dir, []), desk.registry.session() as session, session.begin():
            advance = session.get(Advance, advance_id, with_for_update=True)
            if advance is None:
                raise AbortError(unknown(desk, advance_id))
            reason = lifecycle.refusal(advance.state, action)
            if reason:
                raise AbortError(Outcome(snapshot(advance), (desk.problem(f"{advance_id} : {reason}",
                                                                     codes.STATE_REFUSED, advance_id),)))
            before = snapshot(advance)
            cache: list[GroupBooks] = []
            refused = change(advance, lambda: _books(desk, cache))
            if refused:
                text, code = refused
                raise AbortError(Outcome(before, (desk.problem(f"{advance_id} : {text}", code, advance_id),)))
            advance.state = lifecycle.after(advance.state, action)
            after = snapshot(advance)
            override: str | None = None
            warnings: tuple[str, ...] = ()
            if guarded:
                verdict = enforce(desk, session, _books(desk, cache), after)
                if not verdict.ok:
                    raise AbortError(Outcome(before, verdict.problems))
                override, warnings = verdict.override, verdict.warnings
            if desk.dry_run:
                raise AbortError(Outcome(after, messages=(f"{message} (essai à blanc : rien n'est enregistré)",
                                                          *warnings)))
            audit(session, desk, action, advance_id, before, after, override)
        return Outcome(after, messages=(message,) + ((override,) if override else ()) + warnings)
    except AbortError as abort:
        return abort.outcome
    except Timeout:
        return busy(desk)


def _books(desk: Desk, cache: list[GroupBooks]) -> GroupBooks:
    """The books, read once per operation (under the lock)."""
    if not cache:
        books, problems = open_books(desk.ledgers_dir, desk.rules_dir)
        errors = [p for p in problems if p.is_error]
        if books is None or errors:
            raise AbortError(Outcome(None, tuple(p if p.code else replace(p, code=codes.BOOKS_INVALID)
                                            for p in errors or problems)))
        cache.append(books)
    return cache[0]


@dataclass(frozen=True)
class Decision:
    """One board's decision approving an advance: its reference, the meeting's date and the body that met."""

    ref: str
    date: dt.date | None = None
    body: str | None = None


DEFAULT_BODY = "conseil d'administration"


def _decision_refusal(decision: Decision, advance: Advance, as_of: dt.date, side: str) -> tuple[str, str] | None:
    """Why a decision cannot be recorded (French, with its code), or None."""
    if decision.body is not None and not decision.body.strip():
        return f"l'instance qui décide pour {side} ne peut être vide (ex. « {DEFAULT_BODY} »)", codes.DECISION_MISSING
    if decision.date is None:
        return None
    if decision.date > as_of:
        return ((f"la décision {decision.ref} de {side} est datée du {fr_date(decision.date)}, après le "
                 f"{fr_date(as_of)} (--as-of) : une décision future ne peut être enregistrée"),
                codes.DECISION_DATE_FUTURE)
    if decision.date < advance.proposed_on:
        return ((f"la décision {decision.ref} de {side} est datée du {fr_date(decision.date)}, avant la "
                 f"proposition de l'avance le {fr_date(advance.proposed_on)}"), codes.DECISION_DATE_BEFORE_PROPOSAL)
    return None


def approve(desk: Desk, advance_id: str, by: str, decision: str, decision_date: dt.date | None = None,
            body: str | None = None, borrower: Decision | None = None) -> Outcome:
    """Record the lender's board approval (who, its decision, meeting date and body; the borrower's decision
    when both boards approve) once the guard agrees. The TMOP cap is read for the meeting's half-year."""
    lender = Decision(decision.strip(), decision_date, body)

    def change(advance: Advance, _books: Callable[[], GroupBooks]) -> tuple[str, str] | None:
        if not by.strip() or not decision.strip():
            return ("l'approbation exige --by (qui approuve) et --decision (référence de la décision du conseil)",
                    codes.DECISION_MISSING)
        refused = _decision_refusal(lender, advance, desk.as_of, "le prêteur")
        if borrower is not None:
            if not borrower.ref.strip():
                return ("la décision de l'emprunteur exige sa référence (--borrower-decision)",
                        codes.DECISION_MISSING)
            refused = refused or _decision_refusal(borrower, advance, desk.as_of, "l'emprunteur")
        if refused:
            return refused
        advance.approved_by, advance.decision, advance.approved_on = by.strip(), lender.ref, desk.as_of
        advance.decision_date = lender.date
        advance.decision_body = (lender.body or DEFAULT_BODY).strip() if lender.date or lender.body else None
        if borrower is not None:
            advance.borrower_decision, advance.borrower_decision_date = borrower.ref.strip(), borrower.date
            advance.borrower_body = (borrower.body or DEFAULT_BODY).strip()
        return None
    meeting = f" du {fr_date(decision_date)}" if decision_date else ""
    both = f" ; décision de l'emprunteur {borrower.ref}" if borrower is not None else ""
    return _registry_only(desk, advance_id, "approve", change,
                          f"{advance_id} approuvée par {by} (décision {decision}{meeting}{both})", guarded=True)


def reject(desk: Desk, advance_id: str, by: str, reason: str) -> Outcome:
    """Reject a proposed or approved advance, with who and why."""
    def change(advance: Advance, _books: Callable[[], GroupBooks]) -> tuple[str, str] | None:
        if not by.strip() or not reason.strip():
            return "le rejet exige --by (qui rejette) et --reason (le motif)", codes.REASON_MISSING
        advance.rejected_reason = f"{reason.strip()} ({by.strip()}, {fr_date(desk.as_of)})"
        advance.closed_on = desk.as_of
        return None
    return _registry_only(desk, advance_id, "reject", change, f"{advance_id} rejetée : {reason}")
