"""The two legal modes of the pool (`mode` in `rules/pool.toml`) and the one place that says which rules each skips.

- `prets` (default): bilateral loans between members, article L511-6 1° bis of the Code monétaire
  et financier and décret 2025-779 (R511-2-1-4): at most five years, and what a lender grants in a
  financial year at most 50 % of its trésorerie nette disponible at the year's opening.
- `convention-de-tresorerie`: treasury operations under a written *convention de trésorerie*
  with the groupement d'employeurs as *organisme pivot* (`pivot = "MEMBER_ID"`), article L511-7 I ter
  and décret 2025-780 (D511-2-1-5): every advance goes lender → pivot → borrower on current
  accounts 4511; the texts state no five-year and no 50 % cap for them, so neither is applied. The
  rate cap (TMOP), the approval and the attestation still apply.

Planner, capacity and guard ask `applies` (or `legal_max_days`) before a rule the mode may skip.
"""

from __future__ import annotations

from banquasso.terms.policy import LEGAL_MAX_DAYS, MODE_LOANS, MODE_TREASURY, Policy
from banquasso.terms.rules import LEGAL_MAX_DAYS_CODE, NET_CASH_CAP
from comptasso.books.group import Group, Member
from comptasso.problems import Problem

#: Problem code: `pivot` names no member of `group.toml`.
PIVOT_UNKNOWN = "policy-pivot-unknown"

#: The rules each mode does not apply, by their problem codes (docs/legal.md).
SKIPPED: dict[str, frozenset[str]] = {
    MODE_LOANS: frozenset(),
    MODE_TREASURY: frozenset({LEGAL_MAX_DAYS_CODE, NET_CASH_CAP}),
}


def applies(policy: Policy, code: str) -> bool:
    """True when the rule of that problem code applies in the policy's mode."""
    return code not in SKIPPED[policy.mode]


def legal_max_days(policy: Policy) -> int | None:
    """The legal longest advance in days (five years), or None in a mode without it."""
    return LEGAL_MAX_DAYS if applies(policy, LEGAL_MAX_DAYS_CODE) else None


def pivot_member(policy: Policy, group: Group) -> Member | None:
    """The pivot member in `convention-de-tresorerie` mode, None in `prets` mode (KeyError if unknown)."""
    if policy.mode != MODE_TREASURY or policy.pivot is None:
        return None
    return group.member(policy.pivot)


def pivot_problems(policy: Policy, group: Group, pool_file: str) -> list[Problem]:
    """A `pivot` that is not a member of the group: the policy cannot be used with these books."""
    if policy.mode != MODE_TREASURY or policy.pivot is None or policy.pivot in group.ids:
        return []
    known = ", ".join(group.ids)
    return [Problem(pool_file, 0, f"pivot : « {policy.pivot} » n'est pas un membre du groupe (membres : {known})",
                    code=PIVOT_UNKNOWN, subject="pivot")]
