"""The commitment guard's enforcement: inside the registry lock and transaction, against every committed advance.

`approve`, `disburse` and `propose` with typed-in terms call `enforce` with the advance as it would
stand once committed. The rules themselves (`banquasso.terms.rules`) and the projection that feeds
them (`banquasso.pool.guard`) are the planner's; the desk's `guard` brings them in. A refusal names
each rule's policy key and figures. The treasurer of the lender may override a rule the policy sets
(`--force --reason`, written to the audit log with the user), never one the law sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from banquasso.registry import codes, lifecycle
from banquasso.registry.desk import Desk
from banquasso.registry.models import Advance
from banquasso.registry.snapshot import AdvanceView, snapshot
from banquasso.terms.rules import Breach
from comptasso.books.facade import GroupBooks
from comptasso.problems import Problem


@dataclass(frozen=True)
class Verdict:
    """The guard's answer: the problems that refuse the commitment, or the audited override that lets it pass."""

    problems: tuple[Problem, ...] = ()
    override: str | None = None
    #: The breaches the policy only warns of (`limits.dependence = "warn"`), as French messages.
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def committed_views(session: Session, excluding: str | None = None) -> list[AdvanceView]:
    """Every approved or running advance of the group, read in the caller's transaction."""
    query = select(Advance).where(Advance.state.in_(lifecycle.COMMITTED)).order_by(Advance.id)
    return [snapshot(a) for a in session.scalars(query) if a.id != excluding]


def enforce(desk: Desk, session: Session, books: GroupBooks, candidate: AdvanceView) -> Verdict:
    """Every rule the candidate would break once committed; an allowed override passes (and says why)."""
    if desk.guard is None:
        return Verdict()
    found = desk.guard(books, desk.policy, committed_views(session, candidate.id), candidate, desk.as_of)
    warnings = tuple(f"Avertissement : {candidate.id} : {b.message}" for b in found if b.warning)
    breaches = [b for b in found if not b.warning]
    if not breaches:
        return Verdict(warnings=warnings)
    problems = [desk.problem(f"{candidate.id} : {b.message}", b.code, b.key) for b in breaches]
    refusal = _override_refusal(desk, candidate, breaches)
    if refusal is not None:
        return Verdict((*problems, refusal), warnings=warnings)
    keys = ", ".join(f"{b.key} ({b.code})" for b in breaches)
    override = desk.override
    assert override is not None
    return Verdict(override=f"dérogation de {override.user or desk.actor} à {keys} : {override.reason.strip()}",
                   warnings=warnings)


def _override_refusal(desk: Desk, candidate: AdvanceView, breaches: Sequence[Breach]) -> Problem | None:
    """Why the breaches may not be overridden (no --force, a legal cap, not the lender's treasurer), or None."""
    override = desk.override
    if override is None:
        return desk.problem(
            f"{candidate.id} : engagement refusé, rien n'est enregistré (dérogation motivée du trésorier du prêteur : "
            "--force --reason, sauf plafonds légaux)", codes.STATE_REFUSED, candidate.id)
    legal = [b for b in breaches if b.legal]
    if legal:
        keys = ", ".join(b.key for b in legal)
        return desk.problem(f"{candidate.id} : dérogation impossible, la loi l'interdit ({keys})",
                            codes.OVERRIDE_FORBIDDEN, candidate.id)
    if override.treasurer_of != candidate.lender:
        return desk.problem(
            f"{candidate.id} : seul·e le·la trésorier·e de {candidate.lender} (rôle treasurer dans rules/users.toml) "
            f"peut déroger ; « {override.user or desk.actor} » ne l'est pas", codes.OVERRIDE_NOT_ALLOWED, candidate.id)
    if not override.reason.strip():
        return desk.problem(f"{candidate.id} : la dérogation exige --reason (le motif)",
                            codes.REASON_MISSING, candidate.id)
    return None
