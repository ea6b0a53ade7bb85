"""Stable codes of the registry's problems: code decides on these, never on the French message.

docs/advances.md lists them with the rule codes of `banquasso.terms.rules`.
"""

from __future__ import annotations

ADVANCE_UNKNOWN = "advance-unknown"
STATE_REFUSED = "advance-state-refused"
PROPOSAL_INVALID = "proposal-invalid"
REGISTRY_BUSY = "registry-busy"
REGISTRY_UNAVAILABLE = "registry-unavailable"
REGISTRY_NOT_RECORDED = "registry-not-recorded"
ID_ALLOCATION = "advance-id-allocation"
DECISION_MISSING = "decision-missing"
DECISION_DATE_FUTURE = "decision-date-future"
DECISION_DATE_BEFORE_PROPOSAL = "decision-date-before-proposal"
BOOKS_INVALID = "books-invalid"
BOOKS_MISMATCH = "books-registry-mismatch"
WRITE_CHECK_FAILED = "ledger-write-check-failed"
EVENT_CONFLICT = "ledger-event-conflict"
MOVEMENT_INVALID = "movement-invalid"
MOVEMENT_AFTER_AS_OF = "movement-after-as-of"
REF_INVALID = "movement-ref-invalid"
REF_CONFLICT = "movement-ref-conflict"
EVENT_UNKNOWN = "movement-event-unknown"
CANCEL_NOT_LAST = "cancel-not-last-movement"
CANCEL_CONFIRMED = "cancel-confirmed-movement"
REASON_MISSING = "reason-missing"
OVERRIDE_FORBIDDEN = "override-forbidden-by-law"
OVERRIDE_NOT_ALLOWED = "override-not-allowed"
RECOVERY_EDITED = "recovery-file-edited"

#: Reconciliation codes (banquasso.registry.reconcile).
RECONCILE_MISSING = "reconcile-entry-missing"
RECONCILE_DUPLICATE = "reconcile-entry-duplicate"
RECONCILE_DATE = "reconcile-date-differs"
RECONCILE_AMOUNTS = "reconcile-amounts-differ"
RECONCILE_FLAG = "reconcile-flag-differs"
RECONCILE_UNKNOWN_EVENT = "reconcile-unknown-event"
RECONCILE_UNKNOWN_ADVANCE = "reconcile-unknown-advance"
RECONCILE_BALANCE = "reconcile-balance-differs"
RECONCILE_ACCOUNT = "reconcile-account-balance"
RECONCILE_STRAY = "reconcile-stray-entry"
#: Entries of the ledgers that the registry does not know (decides whether a write may go ahead).
UNKNOWN_ENTRIES = frozenset({RECONCILE_UNKNOWN_EVENT, RECONCILE_UNKNOWN_ADVANCE})
