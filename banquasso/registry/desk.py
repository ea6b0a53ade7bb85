"""The advance desk: where and as whom registry operations run, what they return, the audit trail, the reads."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from banquasso.registry import codes
from banquasso.registry.db import Registry
from banquasso.registry.models import Advance, AuditLog
from banquasso.registry.snapshot import AdvanceView, snapshot, view_as_of, view_json
from banquasso.terms.policy import Policy
from banquasso.terms.rules import Breach
from comptasso.books.facade import GroupBooks
from comptasso.books.group import Group
from comptasso.problems import Problem

#: The commitment guard: every rule an advance would break against the whole committed state.
#: `(books, policy, committed advances, the advance to commit, as-of day) -> breaches`.
Guard = Callable[[GroupBooks, Policy, Sequence[AdvanceView], AdvanceView, dt.date], list[Breach]]


@dataclass(frozen=True)
class Override:
    """The treasurer's audited override (`--force --reason`): why, whose treasurer, who (a users.toml login)."""

    reason: str
    treasurer_of: str | None
    user: str = ""


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

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(p.code for p in self.problems)


@dataclass(frozen=True)
class Desk:
    """Where and as whom the operations run; `guard` re-checks every commitment (None: unit tests only)."""

    ledgers_dir: Path
    rules_dir: Path
    registry: Registry
    policy: Policy
    group: Group
    as_of: dt.date
    actor: str
    dry_run: bool = False
    guard: Guard | None = None
    override: Override | None = None

    def problem(self, message: str, code: str, subject: str = "") -> Problem:
        """A problem about the registry itself (named by its location)."""
        return Problem(self.registry.label, 0, message, code=code, subject=subject)


class AbortError(Exception):
    """Leave the registry transaction without committing, with this outcome."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome)
        self.outcome = outcome


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def audit(session: Session, desk: Desk, action: str, advance_id: str | None,
          before: AdvanceView | None, after: AdvanceView | None, reason: str | None = None) -> None:
    """Append one record to the audit log (who, what, the advance before and after, and why)."""
    session.add(AuditLog(
        at=now(), actor=desk.actor, action=action, advance_id=advance_id, as_of=desk.as_of,
        before=None if before is None else json.dumps(view_json(before), ensure_ascii=False),
        after=None if after is None else json.dumps(view_json(after), ensure_ascii=False),
        reason=reason,
    ))


def load_view(registry: Registry, advance_id: str, as_of: dt.date | None = None) -> AdvanceView | None:
    """One advance of the registry (as it stood at the end of `as_of` when given), or None."""
    with registry.session() as session:
        advance = session.get(Advance, advance_id)
        view = None if advance is None else snapshot(advance)
    return view if view is None or as_of is None else view_as_of(view, as_of)


def load_views(registry: Registry, as_of: dt.date | None = None) -> list[AdvanceView]:
    """Every advance of the registry, by id; with `as_of`, only what was known at the end of that day."""
    with registry.session() as session:
        views = [snapshot(a) for a in session.scalars(select(Advance).order_by(Advance.id))]
    if as_of is None:
        return views
    return [v for v in (view_as_of(view, as_of) for view in views) if v is not None]


def unknown(desk: Desk, advance_id: str) -> Outcome:
    known = ", ".join(v.id for v in load_views(desk.registry)[-5:]) or "aucune"
    return Outcome(None, (desk.problem(f"avance inconnue « {advance_id} » (dernières avances : {known})",
                                       codes.ADVANCE_UNKNOWN, advance_id),))


def busy(desk: Desk) -> Outcome:
    return Outcome(None, (desk.problem("registre occupé par une autre commande : réessayez", codes.REGISTRY_BUSY),))
