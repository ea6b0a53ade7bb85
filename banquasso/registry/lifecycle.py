"""The life of an advance as a pure state machine: which action is allowed in which state, and where it leads."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

PROPOSED, APPROVED, REJECTED = "proposed", "approved", "rejected"
DISBURSED, CONFIRMED, PARTLY_REPAID, REPAID = "disbursed", "confirmed", "partly_repaid", "repaid"
LATE, SUPERSEDED = "late", "superseded"
STATES = (PROPOSED, APPROVED, REJECTED, DISBURSED, CONFIRMED, PARTLY_REPAID, REPAID, SUPERSEDED)
#: The states whose money is committed: every commitment is checked against all of them.
COMMITTED = (APPROVED, DISBURSED, CONFIRMED, PARTLY_REPAID)

#: French labels of the states (and of `late`, which is derived from the schedule and the date).
LABELS: Mapping[str, str] = {
    PROPOSED: "proposée", APPROVED: "approuvée", REJECTED: "rejetée", DISBURSED: "versée",
    CONFIRMED: "confirmée", PARTLY_REPAID: "partiellement remboursée", REPAID: "remboursée",
    LATE: "en retard", SUPERSEDED: "remplacée",
}

#: action → states it may start from.
ALLOWED: Mapping[str, tuple[str, ...]] = {
    "approve": (PROPOSED,),
    "reject": (PROPOSED, APPROVED),
    "disburse": (APPROVED,),
    "confirm": (DISBURSED, CONFIRMED, PARTLY_REPAID, REPAID),
    "repay": (CONFIRMED, PARTLY_REPAID),
    "cancel": (DISBURSED, CONFIRMED, PARTLY_REPAID, REPAID),
    "supersede": (PROPOSED,),
}

_HINTS: Mapping[str, Mapping[str, str]] = {
    "approve": {REJECTED: "elle a été rejetée", APPROVED: "elle est déjà approuvée",
                SUPERSEDED: "un plan plus récent l'a remplacée (advance propose)"},
    "disburse": {PROPOSED: "elle doit d'abord être approuvée par le conseil du prêteur (advance approve)",
                 DISBURSED: "elle est déjà versée", CONFIRMED: "elle est déjà versée",
                 PARTLY_REPAID: "elle est déjà versée", REPAID: "elle est déjà versée et remboursée",
                 REJECTED: "elle a été rejetée"},
    "repay": {DISBURSED: "le versement n'est pas encore confirmé par la banque (advance confirm)",
              REPAID: "elle est déjà entièrement remboursée",
              PROPOSED: "elle n'a pas été versée", APPROVED: "elle n'a pas été versée",
              REJECTED: "elle a été rejetée"},
    "reject": {DISBURSED: "elle est déjà versée", CONFIRMED: "elle est déjà versée",
               PARTLY_REPAID: "elle est déjà versée", REPAID: "elle est déjà versée",
               REJECTED: "elle est déjà rejetée"},
    "confirm": {PROPOSED: "rien n'a été versé", APPROVED: "rien n'a été versé", REJECTED: "elle a été rejetée"},
    "cancel": {PROPOSED: "aucun mouvement à annuler", APPROVED: "aucun mouvement à annuler",
               REJECTED: "aucun mouvement à annuler"},
}

_VERBS: Mapping[str, str] = {
    "approve": "approuver", "reject": "rejeter", "disburse": "verser", "confirm": "confirmer",
    "repay": "rembourser", "cancel": "annuler un mouvement d'", "supersede": "remplacer",
}


def refusal(state: str, action: str) -> str | None:
    """Why `action` is not allowed in `state` (French), or None when it is."""
    if state in ALLOWED[action]:
        return None
    hint = _HINTS.get(action, {}).get(state, "")
    reason = f" : {hint}" if hint else ""
    verb = _VERBS[action]
    article = "d'" if verb[0] in "aeiouy" else "de "
    space = "" if verb.endswith("'") else " "
    return f"impossible {article}{verb}{space}une avance {LABELS[state]}{reason}"


def after(state: str, action: str, outstanding_after: Decimal | None = None) -> str:
    """The state an allowed action leads to (`repay` needs the principal still owed afterwards)."""
    if action == "approve":
        return APPROVED
    if action == "reject":
        return REJECTED
    if action == "supersede":
        return SUPERSEDED
    if action == "disburse":
        return DISBURSED
    if action == "confirm":
        return CONFIRMED if state == DISBURSED else state
    if action == "repay":
        return REPAID if outstanding_after == 0 else PARTLY_REPAID
    raise ValueError(f"unknown action {action!r}")


def after_cancel(kind: str, repayments_left: int, disbursement_confirmed: bool) -> str:
    """The state once the last movement (of `kind`) is cancelled."""
    if kind == "disbursement":
        return APPROVED
    if repayments_left:
        return PARTLY_REPAID
    return CONFIRMED if disbursement_confirmed else DISBURSED


def effective(state: str, late: bool) -> str:
    """The state shown to users: a running advance with a past-due unpaid line is `late`."""
    if late and state in (DISBURSED, CONFIRMED, PARTLY_REPAID):
        return LATE
    return state
