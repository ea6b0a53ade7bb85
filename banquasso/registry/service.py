"""The advance desk in one import: proposals, decisions, movements and the reads, from their own modules.

- `desk`: Desk, Outcome, the audit log and the registry reads (`load_view`, `load_views`, as of a day);
- `proposals`: the plan of the day (idempotent, superseding) and typed-in proposals;
- `decisions`: approve (re-checked by the commitment guard) and reject;
- `movements`: disburse, repay, confirm, cancel — both ledgers and the registry, decided under the lock;
- `guard`: the commitment guard's enforcement and the treasurer's audited override.
"""

from __future__ import annotations

from banquasso.registry.decisions import approve, reject
from banquasso.registry.desk import Desk, Guard, Outcome, Override, load_view, load_views, unknown
from banquasso.registry.movements import ALL_TIME, cancel, confirm, default_ref, disburse, engine_file, repay
from banquasso.registry.proposals import Proposal, propose, propose_plan, schedule_lines

__all__ = [
    "ALL_TIME", "Desk", "Guard", "Outcome", "Override", "Proposal", "approve", "cancel", "confirm", "default_ref",
    "disburse", "engine_file", "load_view", "load_views", "propose", "propose_plan", "reject", "repay",
    "schedule_lines", "unknown",
]
